"""The DSP cost model against emulated instruction counts of the generated C: data file, fit, band."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import sys
from pathlib import Path

import pytest

from tuner.estimate import DspCost, estimate_tflite
from tuner.estimate import _dsp_fit as F
from tuner.targets import DSP_OPS, list_targets, load_target

_GRID = Path(__file__).resolve().parents[2] / "benchmarks" / "_dsp_grid.py"


def _grid():
    if "_dsp_grid" not in sys.modules:  # the benchmark's grid and emulation helper (dataclasses need the entry)
        spec = importlib.util.spec_from_file_location("_dsp_grid", _GRID)
        sys.modules["_dsp_grid"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules["_dsp_grid"])
    return sys.modules["_dsp_grid"]


def test_data_file_counts_are_those_of_the_cost_models():
    """The shipped rows were emulated on the configurations the cost models still count the same way."""
    g = _grid()
    rows = F.rows()
    assert len(rows) >= 100 and set(F.emulated_cores()) >= {"cortex-m0plus", "cortex-m4f", "cortex-m7"}
    blocks = {r.block for r in rows}
    assert blocks == {b for b in (c.block for c in g.GRID)}
    for key in {r.config: r for r in rows}:
        c = json.loads(key)
        pre, _ = g.build(c["block"], c["params"], c["source"])
        assert {r.core: r.ops for r in rows if r.config == key} == dict.fromkeys(
            {r.core for r in rows if r.config == key}, pre.cost().ops
        ), key


def test_conformal_order_statistics():
    # n = 19, 90%: the floor(20 * 0.05) = 1st and ceil(20 * 0.95) = 19th smallest ratios
    ratios = [1 + i / 100 for i in range(19)]
    assert F.conformal(ratios) == (1.0, 1.18)
    # too few to reach the quantile: the extremes
    assert F.conformal([0.9, 1.2, 1.0]) == (0.9, 1.2)


def test_fit_recovers_known_costs():
    """Rows generated from a known table (div 14, add 1, cmp 2, log 40) give that table back."""
    truth = {"add": 1.0, "div": 14.0, "cmp": 2.0, "log": 40.0}
    shapes = [{"add": 4, "div": 2, "cmp": 2}, {"add": 1, "log": 1}, {"div": 1, "log": 3}, {"cmp": 5, "add": 1}]
    rows = [
        F.Row(
            "b",
            "S",
            "c",
            str(i),
            int(sum(truth[k] * n * 1000 for k, n in s.items())),
            1.0,
            1.0,
            1.0,
            {k: n * 1000 for k, n in s.items()},
            0.0,
        )  # fmt: skip
        for i, s in enumerate(shapes)
    ]
    table = F.fit(rows)
    for k, v in truth.items():
        assert table[k] == pytest.approx(v, rel=1e-6)
    assert table["exp"] == table["trig"] == table["log"]  # unfitted kinds take the log's cost
    assert set(table) == set(DSP_OPS)


@pytest.mark.parametrize("core", ["cortex-m4f", "cortex-m0plus", "cortex-m7", "cortex-m55", "xtensa-lx6"])
def test_band_is_not_zero_and_holds_the_held_out_rows(core):
    t = F.core_table(core)
    assert t.band_low < 0.95 and t.band_high > 1.05
    if core in F.emulated_cores():  # the band covers >= 90% of the held-out rows it was drawn from
        held = [*F.held_out(core, "block"), *F.held_out(core, "group")]
        inside = sum(t.band_low <= r.cycles / p <= t.band_high for r, p in held)
        assert inside / len(held) >= 0.9
    else:
        like = F.TRANSFER[core][0]
        assert t.band_low < F.core_table(like).band_low and t.band_high > F.core_table(like).band_high


def test_every_bundled_target_carries_its_core_table():
    for t in list_targets():
        c = F.core_table(t.core)
        assert t.dsp_cycles_per_op == c.cycles_per_op
        assert (t.dsp_band_low, t.dsp_band_high) == (c.band_low, c.band_high)
        assert "emulated instruction counts" in t.dsp_source


def test_dsp_band_enters_the_latency_band(models):
    t = load_target("nano33ble")
    dsp = DspCost({"fft": 1000, "mac": 500, "log": 10}, buffer_bytes=2048)
    nn = estimate_tflite(models["conv"], t, exact=False)
    e = estimate_tflite(models["conv"], t, dsp=dsp, exact=False)
    assert e.dsp_latency_ms > 0
    assert e.latency_ms_low == pytest.approx(nn.latency_ms_low + e.dsp_latency_ms * t.dsp_band_low)
    assert e.latency_ms_high == pytest.approx(nn.latency_ms_high + e.dsp_latency_ms * t.dsp_band_high)
    old = t.model_copy(update={"dsp_band_low": None, "dsp_band_high": None})
    e_old = estimate_tflite(models["conv"], old, dsp=dsp, exact=False)
    assert e_old.latency_ms_high == pytest.approx(nn.latency_ms_high + e.dsp_latency_ms * 4.0)
    assert any("no DSP band" in n for n in e_old.notes)


# Small configurations (a few hundred thousand instructions at most): two per block on the M4F, one on the M0+.
_M = {"rate_hz": 50.0, "n_channels": 3}
_A = {"rate_hz": 16000.0}
_SPEC = {"dsp": "spectral", "window_ms": 640, "fft_length": 16, "spectrum": "power_edges"}
SMALL = [
    ("motion-raw", {"dsp": "raw", "window_ms": 200}, _M),
    ("motion-raw", {"dsp": "raw", "window_ms": 500}, {"rate_hz": 50.0, "n_channels": 6}),
    ("motion-stats", {"dsp": "stats", "window_ms": 400}, _M),
    ("motion-stats", {"dsp": "stats", "window_ms": 1000}, {"rate_hz": 50.0, "n_channels": 6}),
    ("motion-spectral", {"dsp": "spectral", "window_ms": 640, "fft_length": 16}, _M),
    ("motion-spectral", {**_SPEC, "filter": "highpass", "filter_cutoff_hz": 5, "power_edges": "0.5,2,5,10"}, _M),
    # not in the fitted grid: priced by the table fitted on stats and spectral alone (out of sample in block too)
    ("motion-stats_spectral", {"dsp": "stats_spectral", "window_ms": 400, "fft_length": 16}, _M),
    ("motion-stats_spectral", {**_SPEC, "dsp": "stats_spectral", "filter": "lowpass", "filter_cutoff_hz": 5}, _M),
    ("audio-spectrogram", {"dsp": "spectrogram", "window_ms": 48, "fft_length": 128, "frame_stride_ms": 16}, _A),
    ("audio-spectrogram", {"dsp": "spectrogram", "window_ms": 64, "fft_length": 256, "frame_stride_ms": 16}, _A),
    ("audio-mfe", {"dsp": "mfe", "window_ms": 60, "frame_ms": 20, "frame_stride_ms": 20, "n_filters": 20}, _A),
    ("audio-mfe", {"dsp": "mfe", "window_ms": 64, "frame_ms": 32, "frame_stride_ms": 16, "n_filters": 32}, _A),
    (
        "audio-mfcc",
        {"dsp": "mfcc", "window_ms": 60, "frame_ms": 20, "frame_stride_ms": 20, "n_filters": 20, "n_coeffs": 10},
        _A,
    ),  # fmt: skip
    (
        "audio-mfcc",
        {"dsp": "mfcc", "window_ms": 64, "frame_ms": 32, "frame_stride_ms": 16, "n_filters": 40, "n_coeffs": 13},
        _A,
    ),  # fmt: skip
    ("image", {"resolution": 8, "color": "grayscale"}, {"source_shape": [16, 16, 3]}),
    ("image", {"resolution": 12, "color": "rgb"}, {"source_shape": [28, 28, 1]}),
    ("tabular", {}, {"n_features": 4}),
    ("tabular", {}, {"n_features": 30}),
]
_CASES = [(core, *c) for i, c in enumerate(SMALL) for core in (["cortex-m4f"] + (["cortex-m0plus"] if i % 2 else []))]


@pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("arm-none-eabi-objcopy") is None,
    reason="needs gcc-arm-none-eabi and libnewlib-arm-none-eabi (the README test command installs them)",
)
@pytest.mark.parametrize(("core", "block", "params", "source"), _CASES, ids=[f"{c[0]}-{c[1]}" for c in _CASES])
def test_shipped_table_prices_the_emulated_c_within_the_band(tmp_path, core, block, params, source):
    """Configurations smaller than any fitted one (out of sample in size), emulated now."""
    from tuner.deploy.cross import core_spec

    g = _grid()
    pre, raw = g.build(block, params, source, seed=3)
    instructions = g.emulate(pre, raw, [core], tmp_path)[core]
    emulated = instructions * core_spec(core).cpi
    t = F.core_table(core)
    model = F.predict(t.cycles_per_op, pre.cost().ops)
    assert t.band_low <= emulated / model <= t.band_high, (emulated, model, emulated / model)
    # and the emulated work is not trivial: the band is not met by a model of nothing
    assert math.isfinite(model) and model > 0.2 * emulated


def test_estimate_command_prints_the_dsp_share_and_band(models, tmp_path, monkeypatch, capsys):
    from tuner.cli import estimate_cmd as cmd

    dsp = DspCost({"fft": 1000, "mac": 500, "log": 10}, buffer_bytes=2048)
    monkeypatch.setattr(cmd, "_model_and_dsp", lambda path: (models["conv"], dsp))
    monkeypatch.setenv("COLUMNS", "250")
    cmd.estimate_cmd(tmp_path / "config.yaml", target="nano33ble", json_out=False, fast=True)
    out = capsys.readouterr().out
    t = load_target("nano33ble")
    ms = dsp.cycles(t) / t.clock_hz * 1e3
    assert f"of which DSP {ms:.2f} ms (x{t.dsp_band_low:g} .. x{t.dsp_band_high:g})" in out
