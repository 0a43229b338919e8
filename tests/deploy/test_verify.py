"""`tuner verify` end to end on real tiny sweeps: a motion winner (the shared `pick` sweep) and an audio
winner; a tampered bundle fails at the stage that was broken; bad input exits 2."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tuner.deploy.cross import toolchain_missing

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("gcc") is None or toolchain_missing() is not None,
        reason="needs gcc and gcc-arm-none-eabi + libnewlib-arm-none-eabi (the README test command installs them)",
    ),
]
TUNER = str(Path(sys.executable).parent / "tuner")


def _cli(*args: str, env_results: Path) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "TUNER_RESULTS": str(env_results)}
    return subprocess.run([TUNER, *args], capture_output=True, text=True, env=env, timeout=900)


def _check_twin(r, int8_confusion: list, core: str = "cortex-m4f") -> None:
    """The contract of issue 11: accuracy within 0.5 points, inputs >= 99.9% equal and never > 1 step."""
    assert r.ok, r.reason
    assert abs(r.twin_accuracy - r.leaderboard_int8_accuracy) <= 0.005
    assert r.equal_share >= 0.999 and r.max_step <= 1
    assert r.header_quantization[1] == r.model_quantization[1]
    assert r.n_inputs == np.asarray(int8_confusion).sum()  # the whole test split the leaderboard used
    assert r.core == core and r.cross["text_bytes"] > 0 and r.cross["bss_bytes"] == r.dsp_buffer_bytes
    assert r.libm and set(r.cross["undefined"]) <= set(r.libm)
    e = r.emulation
    assert e["instructions"] > r.raw_len  # every raw value is read at least once
    assert e["max_step_vs_host"] == 0 and r.emulated_equals_host
    assert e["dsp_ms"] == pytest.approx(e["instructions"] * e["cpi"] / 64e6 * 1e3)


@pytest.fixture
def motion_export(results, tmp_path):
    import tuner

    return tuner.export("pick", "best", tmp_path / "w")


def test_motion_winner_verifies_and_show_lists_the_dsp(results, motion_export):
    import tuner

    p = _cli("verify", str(motion_export), env_results=results)
    assert p.returncode == 0, p.stdout + p.stderr
    r = json.loads((motion_export / "verify.json").read_text())
    best = tuner.leaderboard("pick").iloc[0]
    assert r["leaderboard_int8_accuracy"] == pytest.approx(best.int8_accuracy)
    assert f"host twin {r['twin_accuracy']:.4f}" in p.stdout and "PASS" in p.stdout
    assert f"{r['emulation']['instructions']:,} instructions" in p.stdout
    by_name = tuner.verify("pick")  # the sweep's best trial, exported to a temporary folder
    _check_twin(by_name, tuner.show("pick", "best")["metrics"]["int8_confusion"])
    assert by_name.twin_accuracy == r["twin_accuracy"] and by_name.n_inputs == r["n_inputs"]
    shown = tuner.show("pick", "best")["deploy"]
    assert shown["dsp_buffer_bytes"] == r["dsp_buffer_bytes"] > 0
    assert shown["cross"]["text_bytes"] == r["cross"]["text_bytes"]
    assert shown["emulation"]["instructions"] == r["emulation"]["instructions"]
    out = _cli("show", "pick", "best", env_results=results).stdout
    assert "DSP code B (cortex-m4f, -Os)" in out and f"{r['cross']['text_bytes']:,}" in out


def _shift_first_mean(src: str) -> str:
    m = re.search(r"k_mean\[\d+\] = \{\s*([-+0-9.eE]+)f", src)
    return src[: m.start(1)] + repr(float(m.group(1)) + 100.0) + src[m.end(1) :]


@pytest.mark.parametrize(
    "stage, file, edit",
    [
        ("DSP", "dsp.c", _shift_first_mean),
        ("quantization", "dsp.h", lambda s: re.sub(r"(TUNER_INPUT_ZERO_POINT \()(-?\d+)", r"\g<1>99", s)),
        (
            "network",
            "metrics.json",
            lambda s: json.dumps({**json.loads(s), "metrics": {**json.loads(s)["metrics"], "int8_accuracy": 0.01}}),
        ),
    ],
)
def test_a_tampered_bundle_fails_at_the_broken_stage(results, motion_export, stage, file, edit):
    f = motion_export / file
    f.write_text(edit(f.read_text()))
    p = _cli("verify", str(motion_export), env_results=results)
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"FAILED at stage {stage}:" in p.stdout
    assert json.loads((motion_export / "verify.json").read_text())["stage"] == stage


def test_bad_input_exits_2_with_one_line(results, tmp_path):
    for ref, match in (
        (str(tmp_path), "is not an export folder"),
        ("no-such-sweep", "'no-such-sweep' is neither an export folder nor a sweep"),
    ):
        p = _cli("verify", ref, env_results=results)
        assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and match in p.stderr, p.stderr
    (tmp_path / "config.yaml").write_text("x: 1\n")
    p = _cli("verify", str(tmp_path), env_results=results)
    assert p.returncode == 2 and "lacks metrics.json" in p.stderr


AUDIO_SPACE = {
    "name": "audio-tiny",
    "domain": "audio",
    "data": "keywords",
    "fixed": {
        "epochs": 2,
        "batch_size": 32,
        "patience": 2,
        "window_ms": 1000,
        "dsp": "mfcc",
        "frame_ms": 32,
        "frame_stride_ms": 32,
        "n_filters": 20,
        "n_coeffs": 10,
        "family": "conv1d",
        "layers": 2,
        "units1": 8,
        "units2": 16,
        "kernel_size": 3,
        "dropout": 0.0,
        "learning_rate": 0.005,
    },
    "params": {"units1": {"type": "categorical", "choices": [8]}},
}


def test_audio_winner_verifies(tmp_path, monkeypatch):
    if shutil.which("espeak-ng") is None:
        pytest.skip("the keywords demo data needs espeak-ng (apt-get install espeak-ng)")
    import tuner

    monkeypatch.setenv("TUNER_RESULTS", str(tmp_path / "results"))
    space = tmp_path / "audio-tiny.yaml"
    space.write_text(yaml.safe_dump(AUDIO_SPACE))
    tuner.sweep(space=str(space), name="kws", trials=1, engine="grid", seed=0)
    out = tuner.export("kws", "best", tmp_path / "kws-winner")
    deploy = json.loads((out / "metrics.json").read_text())["deploy"]
    assert deploy["dsp_block"] == "audio-mfcc" and deploy["raw_len"] == 16000
    _check_twin(tuner.verify(out), tuner.show("kws", "best")["metrics"]["int8_confusion"])


@pytest.mark.parametrize(
    "target, sized, note",
    [
        ("esp32-s3", False, "xtensa-lx7 is not an Arm Cortex-M core"),
        ("alif-e7-hp", True, "no emulator model for cortex-m55"),
        ("nucleo-g0b1re", True, None),  # Cortex-M0+: soft float, emulated
    ],
)
def test_cores_without_an_emulator_keep_the_cost_model_and_say_so(results, motion_export, target, sized, note):
    import tuner

    cfg = motion_export / "config.yaml"
    cfg.write_text(re.sub(r"(?m)^target: .*$", f"target: {target}", cfg.read_text()))
    r = tuner.verify(motion_export)
    assert r.ok and r.target == target
    assert ("text_bytes" in r.cross) == sized
    if note is None:
        assert r.emulation["instructions"] > 0 and r.emulated_equals_host and r.cross["runtime"]  # __aeabi_f*
    else:
        assert r.emulation is None and note in r.emulation_note and "cost model" in r.emulation_note


MOTION_BOTH_SPACE = {
    "name": "motion-both-tiny",
    "domain": "motion",
    "data": "seglearn-watch",
    "fixed": {
        "epochs": 2,
        "batch_size": 32,
        "patience": 2,
        "window_ms": 2000,
        "stride_ms": 1000,
        "dsp": "stats_spectral",
        "fft_length": 32,
        "filter": "lowpass",
        "filter_cutoff_hz": 10,
        "spectrum": "power_edges",
        "power_edges": "0.5,2,5,10",
        "family": "dense",
        "layers": 1,
        "dropout": 0.0,
        "learning_rate": 0.005,
    },
    "params": {"units1": {"type": "categorical", "choices": [16]}},
}


def test_motion_stats_spectral_winner_verifies(tmp_path, monkeypatch):
    """Statistics + spectral in one dsp.c: the twin's inputs equal Python's, emulated equals host."""
    import tuner

    monkeypatch.setenv("TUNER_RESULTS", str(tmp_path / "results"))
    space = tmp_path / "motion-both-tiny.yaml"
    space.write_text(yaml.safe_dump(MOTION_BOTH_SPACE))
    tuner.sweep(space=str(space), name="both", trials=1, engine="grid", seed=0, repeats=1)
    out = tuner.export("both", "best", tmp_path / "both-winner")
    deploy = json.loads((out / "metrics.json").read_text())["deploy"]
    assert deploy["dsp_block"] == "motion-stats_spectral" and deploy["raw_len"] == 100 * 6
    # 7 statistics x 6 axes, then per axis std, skewness, kurtosis and 3 bands
    assert "#define TUNER_DSP_OUT_LEN 78 " in (out / "dsp.h").read_text()
    _check_twin(tuner.verify(out), tuner.show("both", "best")["metrics"]["int8_confusion"])


def test_a_sweep_name_with_a_dot_is_a_sweep_not_a_path(tmp_path, monkeypatch):
    import tuner.exporter
    from tuner.deploy.verify import resolve
    from tuner.errors import InputError

    root = tmp_path / "results"
    (root / "run.v2").mkdir(parents=True)
    (root / "run.v2" / "sweep.yaml").write_text("name: run.v2\n")
    monkeypatch.setenv("TUNER_RESULTS", str(root))
    monkeypatch.chdir(tmp_path)
    calls = []
    monkeypatch.setattr(tuner.exporter, "export_trial", lambda *args: calls.append(args) or args[2])
    # was: "run.v2 is not an export folder" (its '.v2' read as a file suffix)
    assert resolve("run.v2", tmp_path / "work") == tmp_path / "work" / "export"
    assert calls == [("run.v2", "best", tmp_path / "work" / "export")]
    for ref in ("winner.d", "other.v2", "results/run.v2", "no/such/folder"):
        with pytest.raises(InputError, match=rf"^{re.escape(ref)} is not an export folder \(no config.yaml\)"):
            resolve(ref, tmp_path / "work")
    with pytest.raises(InputError, match=r"^'no-such' is neither an export folder nor a sweep in "):
        resolve("no-such", tmp_path / "work")
    assert len(calls) == 1
