"""Two workers ("machines": separate results folders) share one sweep through PostgreSQL.

Needs TUNER_TEST_POSTGRES (set by .ci/run, which starts a throwaway PostgreSQL), e.g.
postgresql+psycopg://postgres@localhost:5499/tuner_test
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import optuna
import pytest

URL = os.environ.get("TUNER_TEST_POSTGRES")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not URL, reason="TUNER_TEST_POSTGRES is not set (.ci/run starts PostgreSQL and sets it)"),
]
CLI = [sys.executable, "-c", "from tuner.cli import main; main()"]


def test_two_workers_share_one_study(tmp_path):
    name = f"pg-{uuid.uuid4().hex[:8]}"
    args = ["sweep", "--name", name, "--storage", URL, "--trials", "5", "--epochs", "1", "--engine", "random"]
    procs = []
    for machine in ("a", "b"):  # the same command on two "machines" (own results folders)
        env = {**os.environ, "TUNER_RESULTS": str(tmp_path / machine)}
        procs.append(subprocess.Popen(CLI + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=400) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
    trials = optuna.load_study(study_name=name, storage=URL).get_trials()
    assert len(trials) == 5  # exact total, no overshoot
    assert sorted(t.number for t in trials) == list(range(5))
    assert all(t.state.is_finished() for t in trials)
    params = [json.dumps(t.user_attrs["candidate"], sort_keys=True) for t in trials]
    assert len(set(params)) == 5  # the two workers sample different candidates
    workers = {t.system_attrs["worker"] for t in trials}
    assert len(workers) == 2  # both machines trained


def test_a_second_machine_must_repeat_the_settings(tmp_path):
    name = f"pg-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=URL).set_user_attr(
        "settings",
        {
            "name": name,
            "space": "motion",
            "target": "nano33ble",
            "data": None,
            "engine": "tpe",
            "trials": 5,
            "timeout": None,
            "epochs": 1,
            "latency_ms": None,
            "ram_kb": None,
            "flash_kb": None,
            "max_train_minutes": None,
            "storage": URL,
            "workers": 1,
            "seed": 0,
        },
    )
    env = {**os.environ, "TUNER_RESULTS": str(tmp_path)}
    r = subprocess.run(
        CLI + ["sweep", "--name", name, "--storage", URL, "--engine", "random", "--epochs", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert "has different settings: engine='tpe' (stored) vs 'random'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
