"""`tuner estimate`, `tuner targets`, `tuner calibrate`: output and exit codes."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

# reuse the tiny-model fixture of tests/estimate/conftest.py
_spec = importlib.util.spec_from_file_location("_estimate_models", Path(__file__).parent / "estimate" / "conftest.py")
_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)
models = _conftest.models


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    code = "import sys; from tuner.cli import entry; sys.argv = ['tuner', *sys.argv[1:]]; entry()"
    env = {**__import__("os").environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=120, env=env
    )


def test_targets_json():
    p = run("targets", "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    ids = {r["id"] for r in rows}
    assert {"nano33ble", "esp32-s3", "rp2040"} <= ids
    r = next(r for r in rows if r["id"] == "nano33ble")
    assert (r["core"], r["clock_hz"], r["ram_bytes"], r["flash_bytes"], r["kernels"]) == (
        "cortex-m4f",
        64_000_000,
        262144,
        1048576,
        "cmsis-nn",
    )


def test_targets_table():
    p = run("targets")
    assert p.returncode == 0 and "nano33ble" in p.stdout and "esp-nn" in p.stdout
    from tuner.targets import load_target

    for tid in ("nano33ble", "ek-ra6m4"):
        t = load_target(tid)
        line = next(x for x in p.stdout.splitlines() if x.strip().startswith(tid))
        kind = "calibrated" if t.latency.calibrated else "transferred"
        assert kind in line and f"x{t.latency.band_low:.2f} .. x{t.latency.band_high:.2f}" in line
    assert "transferred" in next(x for x in p.stdout.splitlines() if "nano33ble" in x)


def test_targets_table_piped_into_a_narrow_pipe_cuts_no_cell():
    env = {**__import__("os").environ, "COLUMNS": "60"}
    code = "import sys; from tuner.cli import entry; sys.argv = ['tuner', 'targets']; entry()"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    assert "…" not in p.stdout
    assert any(x.strip().startswith("nucleo-l4r5zi ") and "cmsis-nn" in x for x in p.stdout.splitlines())


def test_estimate_json(models):
    p = run("estimate", str(models["small_cnn_path"]), "--target", "ek-ra6m4", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["target"] == "ek-ra6m4" and d["arena_method"] == "tflite-micro"
    assert d["macs"] == 14 * 14 * 8 * 9 + 12 * 12 * 8 * 9 + 288 * 16 + 48
    assert d["latency_ms_low"] < d["latency_ms"] < d["latency_ms_high"]
    assert len(d["layers"]) == 7 and d["ram_bytes"] > d["arena_bytes"] > 0 and d["flash_bytes"] > d["model_bytes"]


def test_estimate_table(models):
    p = run("estimate", str(models["residual_path"]), "--target", "nano33ble", "--fast")
    assert p.returncode == 0, p.stderr
    for word in ("CONV_2D", "ADD", "latency", "band", "naive baseline", "RAM", "flash"):
        assert word in p.stdout


@pytest.mark.parametrize(
    "args, match",
    [
        (["estimate", "MODEL", "--target", "nope"], "error: unknown target 'nope'; known targets:"),
        (["estimate", "missing.tflite"], "error: file not found: missing.tflite"),
        (["estimate", "JUNK"], "error: not a TFLite flatbuffer"),
        (["estimate", "MODEL", "--target", "BADYAML"], "error: invalid target profile .*clock_hz"),
        # was exit 0 and a profile at the base target's clock: 0 read as "not given"
        (
            ["calibrate", "CSV", "--clock-hz", "0", "--out", "o.yaml"],
            r"error: Invalid value for '--clock-hz': Input should be greater than or equal to 1$",
        ),
    ],
)
def test_bad_input_exit_2_one_line(models, tmp_path, args, match):
    import re

    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a model at all")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nclock_hz: -5\n")
    csv = tmp_path / "m.csv"
    csv.write_text(f"model,latency_ms\n{models['small_cnn_path']},12.5\n")
    subst = {"MODEL": str(models["conv_path"]), "JUNK": str(junk), "BADYAML": str(bad), "CSV": str(csv)}
    p = run(*[subst.get(a, a) for a in args], cwd=tmp_path)
    assert not (tmp_path / "o.yaml").exists()
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
    assert re.search(match, p.stderr)


def test_calibrate_then_estimate(models, tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text(f"model,latency_ms\n{models['small_cnn_path']},12.5\n{models['residual_path']},3.0\n")
    out = tmp_path / "my-board.yaml"
    p = run("calibrate", "--target", "nano33ble", str(csv), "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert out.is_file() and "my-board" in p.stdout
    p = run("estimate", str(models["small_cnn_path"]), "--target", str(out), "--json", "--fast")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["target"] == "my-board"
    assert d["latency_ms"] == pytest.approx(12.5, rel=0.35)  # 2 rows: a shared scale, not an exact fit


def test_config_without_pipeline_is_input_error(tmp_path, monkeypatch):
    from tuner.cli.estimate_cmd import _model_and_dsp
    from tuner.errors import InputError

    cfg = tmp_path / "config.yaml"
    cfg.write_text("candidate: {family: dense}\n")
    monkeypatch.setitem(sys.modules, "tuner.pipeline", None)  # import fails as if not written yet
    with pytest.raises(InputError, match="estimating a CONFIG.yaml needs the sweep pipeline; pass a .tflite"):
        _model_and_dsp(cfg)


def test_config_target_is_the_default(tmp_path):
    from tuner.cli.estimate_cmd import _config_target

    cfg = tmp_path / "config.yaml"
    cfg.write_text("target: esp32-s3\ncandidate: {family: dense}\n")
    assert _config_target(cfg) == "esp32-s3"
    cfg.write_text("candidate: {family: dense}\n")
    assert _config_target(cfg) is None
    assert _config_target(tmp_path / "model.tflite") is None


def test_calibrate_out_that_cannot_be_written_is_one_line(models, tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text(f"model,latency_ms\n{models['small_cnn_path']},12.5\n{models['residual_path']},3.0\n")
    (tmp_path / "a-file").write_text("in the way")
    out = tmp_path / "a-file" / "boards" / "my-board.yaml"
    p = run("calibrate", "--target", "nano33ble", str(csv), "--out", str(out))
    assert p.returncode == 2, p.stderr[-1500:]
    assert p.stderr.strip().splitlines() == [
        f"error: cannot write --out {out}: Not a directory; "
        "a part of the path is a file, not a folder; pick another path"
    ]
    assert sorted(f.name for f in tmp_path.iterdir()) == ["a-file", "m.csv"]
