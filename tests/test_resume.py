"""Crash-safe resume with a real process: kill -9 a sweep mid-trial, resume it, lose and duplicate
nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "from tuner.cli import entry; entry()"]


def _trials(db):
    if not db.exists():
        return []
    try:
        return optuna.load_study(study_name="crash", storage=f"sqlite:///{db}").get_trials()
    except Exception:  # the study is being created
        return []


def test_kill_9_then_resume(tmp_path):
    env = {**os.environ, "TUNER_RESULTS": str(tmp_path)}
    args = ["sweep", "--name", "crash", "--trials", "4", "--epochs", "3", "--engine", "random", "--seed", "3"]
    proc = subprocess.Popen(CLI + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "crash" / "study.db"
    deadline = time.time() + 240
    while time.time() < deadline:
        ts = _trials(db)
        done = [t for t in ts if t.state == optuna.trial.TrialState.COMPLETE]
        running = [t for t in ts if t.state == optuna.trial.TrialState.RUNNING and t.params]
        if done and running:
            break
        assert proc.poll() is None, "the sweep ended before it could be killed"
        time.sleep(0.3)
    else:
        pytest.fail("no trial finished in time")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {t.number: t for t in _trials(db) if t.state.is_finished()}
    # the trial training, and the one before it when its post stages ran beside (tuner.sweep.post_pool)
    killed = [t for t in _trials(db) if t.state == optuna.trial.TrialState.RUNNING]
    assert before and 1 <= len(killed) <= 2

    r = subprocess.run(
        CLI + ["sweep", "--name", "crash", "--trials", "4", "--resume"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    after = {t.number: t for t in _trials(db)}
    # finished trials are kept as they were
    for n, t in before.items():
        assert after[n].state == t.state and after[n].params == t.params
        assert after[n].user_attrs.get("int8_accuracy") == t.user_attrs.get("int8_accuracy")
    # a killed trial is failed with a reason and re-run once with the same candidate
    for dead in killed:
        k = after[dead.number]
        assert k.state == optuna.trial.TrialState.FAIL and k.user_attrs["interrupted"] is True
        assert k.user_attrs["reason"].startswith("worker died while running")
        retries = [t for t in after.values() if t.user_attrs.get("retry_of") == dead.number]
        assert len(retries) == 1 and retries[0].params == dead.params and retries[0].state.is_finished()
    # exactly --trials trials count, nothing left running, numbers unique and dense
    counted = [t for t in after.values() if not t.user_attrs.get("interrupted")]
    assert len(counted) == 4
    assert all(t.state.is_finished() for t in after.values())
    assert sorted(after) == list(range(len(after)))
    assert "Leaderboard: crash" in r.stdout


def _running_trial(storage, worker):
    study = optuna.create_study(study_name="s", storage=storage, load_if_exists=True)
    trial = study.ask()
    trial.suggest_int("width", 1, 64)
    study._storage.set_trial_system_attr(trial._trial_id, "worker", worker)
    return study, trial


def test_a_dead_pid_on_this_host_is_recovered_and_requeued(tmp_path):
    import socket

    from tuner.sweep.resume import budget_used, recover_interrupted

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    study, trial = _running_trial(f"sqlite:///{tmp_path / 'a.db'}", f"{socket.gethostname()}:{dead.pid}")
    _, alive = _running_trial(f"sqlite:///{tmp_path / 'a.db'}", f"{socket.gethostname()}:{os.getpid()}")
    assert recover_interrupted(study, requeue=True) == [trial.number]
    t = study.trials[trial.number]
    assert t.state == optuna.trial.TrialState.FAIL and t.user_attrs["interrupted"] is True
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert len(waiting) == 1 and waiting[0].params == {} and waiting[0].user_attrs["retry_of"] == trial.number
    assert waiting[0].system_attrs["fixed_params"] == trial.params
    assert budget_used(study) == (2, 1)  # the live trial and the queued re-run; the dead one does not count


def test_a_stale_heartbeat_from_another_host_is_recovered(tmp_path):
    from tuner.sweep.resume import recover_interrupted

    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'h.db'}", heartbeat_interval=1, grace_period=1)
    study, trial = _running_trial(storage, "another-machine:1234")
    study._storage.record_heartbeat(trial._trial_id)
    assert recover_interrupted(study, requeue=False) == []  # within the grace period
    time.sleep(2.2)
    assert recover_interrupted(study, requeue=False) == [trial.number]
    assert study.trials[trial.number].user_attrs["reason"] == "worker died while running (killed or crashed)"
    assert not study.get_trials(states=(optuna.trial.TrialState.WAITING,))


def test_a_failing_heartbeat_is_logged_and_training_goes_on(monkeypatch, caplog):
    from optuna.exceptions import StorageInternalError

    from tuner.sweep import resume

    class Storage:
        beats = 0

        def get_heartbeat_interval(self):
            return 1

        def record_heartbeat(self, trial_id):
            self.beats += 1
            if self.beats > 1:  # the first beat (on entry) works, the next ones hit a lost connection
                raise StorageInternalError("connection to the database lost")

    monkeypatch.setattr(resume, "HEARTBEAT_S", 0.05)
    storage = Storage()
    with resume.Heartbeat(storage, 7):
        deadline = time.time() + 10
        while storage.beats < 3 and time.time() < deadline:
            time.sleep(0.05)
    assert storage.beats >= 3
    assert "heartbeat of trial id 7 not recorded: connection to the database lost" in caplog.text
