"""Target profiles: one contract suite over every bundled profile, and bad-profile errors."""

from __future__ import annotations

import pytest
import yaml

from tuner.errors import InputError
from tuner.estimate._calibration_data import measurements
from tuner.paths import TARGETS_DIR
from tuner.targets import DEFAULT_TARGET, KERNEL_FAMILIES, LATENCY_UNITS, list_targets, load_target

REQUIRED_IDS = {
    "nano33ble",
    "nucleo-l4r5zi",
    "nucleo-h7a3zi",
    "portenta-h7",
    "nrf5340dk",
    "ek-ra6m4",
    "ek-ra8d1",
    "xg24",
    "nucleo-g0b1re",
    "rp2040",
    "esp32",
    "esp32-s3",
    "esp32-c3",
}
IDS = sorted(p.stem for p in TARGETS_DIR.glob("*.yaml"))


def test_required_targets_present():
    ids = {t.id for t in list_targets()}
    assert REQUIRED_IDS <= ids and len(ids) >= 14
    assert DEFAULT_TARGET == "nano33ble"
    assert any(t.core == "cortex-m55" for t in list_targets())
    assert {t.kernels for t in list_targets()} == {"cmsis-nn", "cmsis-nn-helium", "esp-nn", "mvp"}
    assert set(KERNEL_FAMILIES) == {"cmsis-nn", "cmsis-nn-helium", "esp-nn", "reference", "mvp"}


@pytest.mark.parametrize("tid", IDS)
def test_profile_contract(tid):
    t = load_target(tid)
    assert t.id == tid
    assert t.clock_hz > 1e6 and t.ram_bytes >= 64 * 1024 and t.flash_bytes >= 256 * 1024
    assert set(t.latency.cycles_per_unit) == set(LATENCY_UNITS)
    assert 0 < t.latency.band_low <= 1 <= t.latency.band_high
    # every figure cites a source
    for s in (
        t.source,
        t.latency.source,
        t.runtime_ram_bytes.source,
        t.flash_framework_bytes.source,
        t.code_size_factor.source,
        t.dsp_source,
    ):
        assert len(s) > 10
    assert "datasheet" in t.source.lower() or "product specification" in t.source.lower()
    assert "calibration" in t.latency.source
    measured = {m.board for m in measurements() if m.family == t.kernels and m.weight > 0}
    assert t.latency.calibrated == (tid in measured)
    # the memory facts that drive the wbyte unit, with their source
    assert len(t.memory.source) > 10 and t.memory.cycles_per_byte > 0
    if t.memory.flash_wait_states is not None and t.memory.flash_read_bytes and t.memory.weights_in == "internal-flash":
        assert t.memory.cycles_per_byte == pytest.approx(
            (t.memory.flash_wait_states + 1) / t.memory.flash_read_bytes, rel=1e-3
        )
    assert t.latency.cycles_per_unit["wbyte"] > 0


def test_nano33ble_facts():
    t = load_target("nano33ble")
    assert (t.mcu, t.core, t.clock_hz, t.ram_bytes, t.flash_bytes, t.kernels) == (
        "nRF52840",
        "cortex-m4f",
        64_000_000,
        256 * 1024,
        1024 * 1024,
        "cmsis-nn",
    )


def _write(tmp_path, data, name="board.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return p


def _base():
    return yaml.safe_load((TARGETS_DIR / "nano33ble.yaml").read_text())


def test_user_profile_by_path(tmp_path):
    d = _base()
    d["id"] = "mine"
    assert load_target(str(_write(tmp_path, d))).id == "mine"


def test_unknown_target_lists_known_ids():
    with pytest.raises(InputError, match=r"unknown target 'foo'; known targets: .*esp32-s3.*nano33ble"):
        load_target("foo")


def test_missing_profile_path(tmp_path):
    with pytest.raises(InputError, match="target profile not found"):
        load_target(str(tmp_path / "none.yaml"))


def test_negative_clock(tmp_path):
    d = _base()
    d["clock_hz"] = -64_000_000
    with pytest.raises(InputError, match=r"field `clock_hz`: Input should be greater than 0, got -64000000"):
        load_target(str(_write(tmp_path, d)))


def test_missing_field(tmp_path):
    d = _base()
    del d["ram_bytes"]
    with pytest.raises(InputError, match=r"field `ram_bytes`: Field required"):
        load_target(str(_write(tmp_path, d)))


def test_missing_coefficient(tmp_path):
    d = _base()
    del d["latency"]["cycles_per_unit"]["mac_dw"]
    with pytest.raises(InputError, match=r"latency.cycles_per_unit.*missing \['mac_dw'\]"):
        load_target(str(_write(tmp_path, d)))


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda t: t["dsp_cycles_per_op"].__setitem__("log", -5.0), r"dsp_cycles_per_op values must be >= 0"),
        (lambda t: t["dsp_cycles_per_op"].__setitem__("tanh", 9.0), r"has unknown op kinds \['tanh'\]"),
        (lambda t: t["dsp_cycles_per_op"].pop("fft"), r"dsp_cycles_per_op must give every op kind .*missing \['fft'\]"),
    ],
)
def test_dsp_costs_follow_the_same_rules_as_latency_costs(tmp_path, edit, message):
    d = _base()
    edit(d)
    with pytest.raises(InputError, match=message):
        load_target(str(_write(tmp_path, d)))


def test_unknown_kernel_family(tmp_path):
    d = _base()
    d["kernels"] = "tpu"
    with pytest.raises(InputError, match=r"field `kernels`.*'tpu'"):
        load_target(str(_write(tmp_path, d)))


@pytest.mark.parametrize("text, match", [("id: [unclosed\n", "not valid YAML"), ("- a\n- b\n", "expected a mapping")])
def test_bad_yaml(tmp_path, text, match):
    with pytest.raises(InputError, match=match):
        load_target(str(_write(tmp_path, text)))


def test_error_message_is_one_line(tmp_path):
    d = _base()
    d["clock_hz"] = -1
    d["ram_bytes"] = "lots"
    with pytest.raises(InputError) as exc:
        load_target(str(_write(tmp_path, d)))
    assert "\n" not in str(exc.value)


def test_profile_of_the_old_latency_model_says_what_to_do(tmp_path):
    d = _base()
    del d["memory"]
    for k in ("mac_1x1", "tail", "mac_dw3", "wbyte", "mvp_mac", "mvp_out"):
        del d["latency"]["cycles_per_unit"][k]
    with pytest.raises(InputError, match=r"predates the per-kernel latency model .*re-run `tuner calibrate`"):
        load_target(str(_write(tmp_path, d)))
