"""Runner with the real pipeline: the pre-training rejection and bad input (one line, exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tuner.errors import CandidateRejected

CLI = [sys.executable, "-c", "from tuner.cli import entry; entry()"]


def _sweep(tmp_path, *args, timeout=180):
    env = {**os.environ, "TUNER_RESULTS": str(tmp_path)}
    return subprocess.run(CLI + ["sweep", *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--engine", "cmaes"], "error: unknown engine 'cmaes'; known: tpe, nsga2, random, grid, hyperband, bayesian"),
        (["--engine", "grid"], "error: grid search needs every float parameter to have a `step`"),
        (["--name", "missing", "--resume"], "error: no sweep named 'missing' to resume"),
        (["--trials", "0"], "error: --trials must be >= 1, got 0"),
        (
            ["--storage", "postgresql+psycopg://postgres@127.0.0.1:1/none"],
            "error: cannot open storage postgresql+psycopg://postgres@127.0.0.1:1/none: OperationalError",
        ),
        (["--engine", "bayesian", "--workers", "2"], "error: --engine bayesian keeps keras-tuner's search state"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    r = _sweep(tmp_path, *args)
    assert r.returncode == 2, r.stderr[-1500:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), r.stderr
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.slow
def test_budgets_no_candidate_can_meet_are_refused_before_training(tmp_path):
    r = _sweep(tmp_path, "--name", "tight", "--ram-kb", "1", "--epochs", "1")
    assert r.returncode == 2
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert errors == [r.stderr.strip().splitlines()[-1]]  # the only line of ours (TensorFlow may log before)
    assert errors[0].startswith("error: no candidate meets the budgets: all 16 candidates pre-checked were over budget")
    assert "RAM" in errors[0] and "> budget 1 kB" in errors[0]
    assert not (tmp_path / "tight").exists()


@pytest.mark.slow
def test_pre_training_rejection_trains_nothing():
    from tuner.budgets import Budgets
    from tuner.pipeline import Problem, run_candidate
    from tuner.targets import load_target

    params = {
        "window_ms": 2000,
        "stride_ms": 1000,
        "dsp": "raw",
        "family": "conv1d",
        "layers": 2,
        "units1": 32,
        "units2": 32,
        "kernel_size": 5,
        "dropout": 0.1,
        "learning_rate": 0.001,
        "epochs": 30,
        "batch_size": 32,
        "patience": 8,
    }
    problem = Problem.from_source(
        "seglearn-watch", load_target("nano33ble"), Budgets(train_seconds=20 * 60), domain="motion"
    )
    problem.features(params)  # data windowing is cached per preprocessing setting
    epochs = []  # how fast the rejection is: benchmarks/precheck_speed.py
    problem.budgets = Budgets(latency_ms=2e-3, train_seconds=0.5)
    with pytest.raises(CandidateRejected) as info:
        run_candidate(params, problem, on_epoch=lambda e, logs: epochs.append(e))
    assert epochs == []
    reason = info.value.reason
    assert "latency" in reason and "> budget 0.002 ms" in reason
    assert "Estimated training time (" in reason and ") is larger than the limit (0m 0s)" in reason
    assert info.value.margins["latency"] > 0 and info.value.margins["train_time"] > 0


def test_checkpoint_leaves_a_complete_study_db_while_a_connection_stays_open(tmp_path):
    import shutil
    import sqlite3

    from tuner.sweep.resume import checkpoint

    db = tmp_path / "study.db"
    held = sqlite3.connect(db)  # the sweep's own pooled connection, still open (a notebook)
    held.execute("PRAGMA journal_mode=WAL")
    held.execute("CREATE TABLE t (x INTEGER)")
    held.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(500)])
    held.commit()
    assert (tmp_path / "study.db-wal").stat().st_size > 0  # the writes are in the log, not in study.db

    def rows_in_a_copy_of_the_db_alone() -> int:
        copy = tmp_path / "copy" / "study.db"
        shutil.rmtree(copy.parent, ignore_errors=True)
        copy.parent.mkdir()
        shutil.copy(db, copy)
        with sqlite3.connect(copy) as con:
            try:
                return con.execute("SELECT COUNT(*) FROM t").fetchone()[0]
            except sqlite3.OperationalError:  # the table itself is still in the log
                return 0

    assert rows_in_a_copy_of_the_db_alone() == 0
    checkpoint(f"sqlite:///{db}")
    assert rows_in_a_copy_of_the_db_alone() == 500
    assert (tmp_path / "study.db-wal").stat().st_size == 0
    checkpoint("postgresql://u@localhost:1/x")  # other storages: nothing to do, nothing opened
    held.close()
