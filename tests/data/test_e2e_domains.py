"""End to end per domain: a 2-trial, 1-epoch sweep on the bundled demo data ends with a feasible int8 row."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
@pytest.mark.parametrize("space", ["image", "audio"])
def test_short_sweep_has_a_feasible_int8_winner(tmp_path: Path, space: str) -> None:
    if space == "audio" and shutil.which("espeak-ng") is None:
        pytest.skip("the audio demo needs espeak-ng (apt-get install espeak-ng)")
    env = {
        **os.environ,
        "TUNER_RESULTS": str(tmp_path),
        "TUNER_CACHE": os.environ.get("TUNER_CACHE", str(tmp_path)),
    }
    exe = str(Path(sys.executable).parent / "tuner")
    p = subprocess.run(
        [exe, "sweep", "--space", space, "--name", "e2e", "--trials", "2", "--epochs", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    board = subprocess.run(
        [exe, "leaderboard", "e2e", "--format", "json"], capture_output=True, text=True, env=env, timeout=120
    )
    rows = json.loads(board.stdout)
    feasible = [r for r in rows if r["state"] == "feasible"]
    assert feasible, rows
    best = feasible[0]
    assert best["ram_bytes"] <= 256 * 1024
    tdir = tmp_path / "e2e" / "trials" / str(best["trial"])
    assert (tdir / "model_int8.tflite").exists()
    # the accuracy is the int8 confusion matrix's diagonal over the test split
    m = json.loads((tdir / "metrics.json").read_text())
    cm = m["int8_confusion"]
    assert sum(map(sum, cm)) == m["n_test"] > 0
    assert best["int8_accuracy"] == pytest.approx(sum(cm[i][i] for i in range(len(cm))) / m["n_test"])
