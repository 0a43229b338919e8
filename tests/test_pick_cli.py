"""The pick commands as a user runs them: output checked, bad input -> one line on stderr, exit 2."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
TUNER = str(Path(sys.executable).parent / "tuner")


def errors(stderr: str) -> list[str]:
    """stderr without TensorFlow's absl start-up lines (printed whatever TF_CPP_MIN_LOG_LEVEL says)."""
    return [
        ln for ln in stderr.strip().splitlines() if ln and not re.match(r"(WARNING: All log messages|[IWE]\d{4} )", ln)
    ]


def tuner(results: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TUNER_RESULTS=str(results), COLUMNS="200", TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([TUNER, *args], capture_output=True, text=True, env=env, timeout=300)


def test_leaderboard_json_contract_and_order(pick_results):
    run = tuner(pick_results, "leaderboard", "pick", "--all", "--format", "json")
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [r["state"] for r in rows] == ["feasible", "feasible", "rejected"]
    for key in (
        "trial",
        "state",
        "int8_accuracy",
        "float_accuracy",
        "latency_ms",
        "ram_bytes",
        "flash_bytes",
        "train_seconds",
        "reason",
        "params",
        "latency_ms_low",
        "latency_ms_high",
        "int8_drop_flag",
    ):
        assert key in rows[0]
    # ranked on validation (val_score), not on the test split's int8 accuracy
    assert rows[0]["val_score"] >= rows[1]["val_score"] and "val_score" in rows[2]
    assert rows[2]["reason"].startswith("flash") and rows[2]["int8_accuracy"] is None
    assert isinstance(rows[0]["ram_bytes"], int) and rows[0]["params"]["units1"] in (8, 16)


def test_leaderboard_table_sort_weights_csv(pick_results):
    run = tuner(pick_results, "leaderboard", "pick", "--all")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "float acc" in out and "int8 acc" in out and "latency ms (band)" in out and "train s act/est" in out
    assert "rejected" in out and "budget 200 kB" in out
    assert "rejected" not in tuner(pick_results, "leaderboard", "pick").stdout
    fast = json.loads(tuner(pick_results, "leaderboard", "pick", "--sort", "latency_ms", "--format", "json").stdout)
    assert [r["latency_ms"] for r in fast] == sorted(r["latency_ms"] for r in fast)
    scored = json.loads(
        tuner(
            pick_results,
            "leaderboard",
            "pick",
            "--weights",
            "accuracy=1,latency=0.3,ram=0.1",
            "--format",
            "json",
        ).stdout
    )
    assert all(r["score"] is not None for r in scored)
    assert [r["score"] for r in scored] == sorted((r["score"] for r in scored), reverse=True)
    assert "score" in tuner(pick_results, "leaderboard", "pick", "--weights", "latency=1").stdout
    csv = tuner(pick_results, "leaderboard", "pick", "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("trial,state,float_accuracy,int8_accuracy") and len(csv) == 3


def test_show_prints_params_layers_and_confusion_matrices(pick_results):
    run = tuner(pick_results, "show", "pick", "best")
    assert run.returncode == 0, run.stderr
    for text in (
        "Parameters",
        "units1",
        "Per-layer estimate",
        "FULLY_CONNECTED",
        "SOFTMAX",
        "Confusion matrix, float",
        "Confusion matrix, int8",
        "training s actual / estimated",
    ):
        assert text in run.stdout, text
    info = json.loads(tuner(pick_results, "show", "pick", "best", "--json").stdout)
    assert info["state"] == "feasible" and len(info["metrics"]["int8_confusion"]) == 7
    assert info["params"]["epochs"] == 2 and info["estimate"]["layers"]


def test_export_then_report(pick_results, tmp_path):
    run = tuner(pick_results, "export", "pick", "--trial", "best", "--out", str(tmp_path / "w"))
    assert run.returncode == 0, run.stderr
    assert "model_int8.h" in run.stdout and "tuner retrain" in run.stdout
    run = tuner(pick_results, "report", "pick")
    assert run.returncode == 0 and (pick_results / "pick" / "report.html").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["export", "empty"], "sweep 'empty' has no trials yet"),
        (["export", "none-fit"], "sweep 'none-fit' has no feasible candidate"),
        (["export", "pick", "--trial", "99"], "sweep 'pick' has no trial 99; it has trials 0..2"),
        (["export", "pick", "--trial", "first"], "trial must be a number or 'best', got 'first'"),
        (["export", "ghost"], "no sweep named 'ghost'"),
        (["show", "pick", "12"], "sweep 'pick' has no trial 12"),
        (["leaderboard", "pick", "--sort", "speed"], "cannot sort by 'speed'"),
        (["leaderboard", "pick", "--weights", "accuracy"], "--weights needs NAME=NUMBER pairs"),
        (["retrain", "missing.yaml"], "config file not found: missing.yaml"),
    ],
)
def test_bad_input_is_one_line_exit_2(pick_results, tmp_path, args, message):
    run = tuner(pick_results, *args)
    assert run.returncode == 2, (run.stdout, run.stderr)
    err = errors(run.stderr)
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], run.stderr
    assert "Traceback" not in run.stderr


def test_export_into_non_empty_out_needs_force(pick_results, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    run = tuner(pick_results, "export", "pick", "--out", str(out))
    assert run.returncode == 2 and "add --force" in run.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    run = tuner(pick_results, "export", "pick", "--out", str(out), "--force")
    assert run.returncode == 0 and not (out / "keep.txt").exists() and (out / "model_int8.h").is_file()


def test_retrain_edited_config_with_invalid_value(pick_results, tmp_path):
    import yaml

    run = tuner(pick_results, "export", "pick", "--out", str(tmp_path / "w"))
    assert run.returncode == 0, run.stderr
    cfg = tmp_path / "w" / "config.yaml"
    raw = yaml.safe_load(cfg.read_text())
    raw["preprocessing"]["dsp"] = "wavelet"
    cfg.write_text(yaml.safe_dump(raw))
    run = tuner(pick_results, "retrain", str(cfg), "--out", str(tmp_path / "r"))
    assert run.returncode == 2 and "dsp 'wavelet' is unknown for motion" in run.stderr
    assert len(errors(run.stderr)) == 1 and not (tmp_path / "r").exists()
