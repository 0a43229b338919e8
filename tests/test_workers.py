"""--workers N: N processes share the study, split the cores, and hit the exact trial total."""

from __future__ import annotations

import os
import subprocess
import sys

import optuna
import pytest

from tuner.sweep.workers import threads_per_worker

CLI = [sys.executable, "-c", "from tuner.cli import main; main()"]


def test_threads_are_split_between_workers(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert [threads_per_worker(n) for n in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]


@pytest.mark.slow
def test_two_workers_share_the_study(tmp_path):
    env = {**os.environ, "TUNER_RESULTS": str(tmp_path)}
    args = ["sweep", "--name", "par", "--trials", "4", "--epochs", "1", "--workers", "2", "--engine", "tpe"]
    r = subprocess.run(CLI + args, env=env, capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, r.stderr[-2000:]
    trials = optuna.load_study(study_name="par", storage=f"sqlite:///{tmp_path / 'par' / 'study.db'}").get_trials()
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    assert all(t.state.is_finished() for t in trials)
    workers = {t.system_attrs["worker"] for t in trials}
    assert len(workers) == 2 and os.getpid() not in {int(w.rsplit(":", 1)[1]) for w in workers}
    logs = sorted(p.name for p in (tmp_path / "par" / "workers").iterdir())
    assert logs == ["0.log", "1.log"]
    assert "Leaderboard: par" in r.stdout
