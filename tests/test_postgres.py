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
import yaml

URL = os.environ.get("TUNER_TEST_POSTGRES")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not URL, reason="TUNER_TEST_POSTGRES is not set (.ci/run starts PostgreSQL and sets it)"),
]
CLI = [sys.executable, "-c", "from tuner.cli import entry; entry()"]


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


def _with_password(url: str, password: str) -> str:
    head, _, tail = url.partition("://")
    cred, _, host = tail.rpartition("@")
    return f"{head}://{cred.partition(':')[0]}:{password}@{host}"


def test_the_storage_password_never_reaches_a_file_a_log_or_the_report(tmp_path):
    # trust auth ignores the password, so a made-up one exercises every path that could leak it
    password = f"Pw{uuid.uuid4().hex[:12]}"
    url = _with_password(URL, password)
    name = f"pg-{uuid.uuid4().hex[:8]}"
    results = tmp_path / "results"
    base = {k: v for k, v in os.environ.items() if k not in ("TUNER_STORAGE", "OPTUNA_STORAGE")}
    env = {**base, "TUNER_RESULTS": str(results), "COLUMNS": "200"}
    with_env = {**env, "TUNER_STORAGE": url}
    outputs = []

    def run(args, e=env, code=0):
        r = subprocess.run(CLI + args, env=e, capture_output=True, text=True, timeout=600)
        assert r.returncode == code, r.stderr[-2000:]
        outputs.append(r.stdout + r.stderr)
        return r

    sweep = ["sweep", "--name", name, "--trials", "2", "--epochs", "1", "--engine", "random"]
    run([*sweep, "--storage", url, "--workers", "2"])  # workers: their logs and their URL hand-over
    run([*sweep, "--trials", "3", "--resume"], e=with_env)  # resumed with the URL from the environment
    run(["leaderboard", name, "--all", "--format", "csv", "--storage", url])
    run(["show", name, "best"], e=with_env)
    run(["export", name], e=with_env)
    run(["report", name], e=with_env)
    refused = run(["leaderboard", name], code=2)  # no flag, no env: the stored URL has no password
    assert refused.stderr.strip().splitlines() == [
        f"error: the sweep's storage {URL.partition('@')[0]}:***@{URL.partition('@')[2]} needs its password, "
        "which is never saved: pass the full URL with --storage or in the TUNER_STORAGE environment variable"
    ]

    folder = results / name
    files = [p for p in folder.rglob("*") if p.is_file()]
    names = {p.relative_to(folder).as_posix() for p in files}
    assert {"sweep.yaml", "leaderboard.csv", "report.html", "workers/0.log", "export/config.yaml"} <= names
    assert [p for p in files if password.encode() in p.read_bytes()] == []
    assert all(password not in out for out in outputs)
    saved = yaml.safe_load((folder / "sweep.yaml").read_text())
    assert saved["storage"] == f"{URL.partition('@')[0]}:***@{URL.partition('@')[2]}"
    study = optuna.load_study(study_name=name, storage=URL)
    assert study.user_attrs["settings"]["storage"] == saved["storage"]
    assert password not in json.dumps([t.user_attrs for t in study.trials] + [study.user_attrs])
    assert len(study.trials) == 3
