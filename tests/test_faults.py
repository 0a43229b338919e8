"""Faults during a sweep (tests/_faults.py): each is recorded as failed or re-queued, the sweep
reaches its count, and no trial is lost or duplicated. Long versions: benchmarks/faults.py."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import optuna
import pytest

from tests._faults import FAULTY_WIDTH, SPACE, audit, install, worker_env

TRIALS = 8  # the grid over the 8 widths: each candidate once


@pytest.fixture
def sweep(tmp_path, monkeypatch):
    """run(kind, **settings) -> audit of the finished sweep; worker processes get the fault pipeline too."""
    from tuner.sweep import SweepSettings, run_sweep

    (tmp_path / "faults.yaml").write_text(SPACE)
    monkeypatch.setenv("TUNER_RESULTS", str(tmp_path / "results"))

    def run(kind: str, epoch_s: float = 0.0, **kw):
        for k, v in worker_env(kind, epoch_s).items():
            monkeypatch.setenv(k, v)
        install(monkeypatch.setattr)
        kw.setdefault("trials", TRIALS)
        kw.setdefault("engine", "grid")
        name = kw.pop("name", f"f-{kind}")
        settings = SweepSettings.checked(name=name, space=str(tmp_path / "faults.yaml"), **kw)
        folder = run_sweep(settings)
        storage = kw.get("storage") or f"sqlite:///{folder / 'study.db'}"
        study = optuna.load_study(study_name=name, storage=storage)
        return audit(study, kw["trials"]), study, folder

    return run


def _faulty(study):
    return [t for t in study.get_trials() if t.user_attrs["candidate"]["width"] == FAULTY_WIDTH]


def test_a_candidate_with_nan_loss_is_failed(sweep):
    a, study, folder = sweep("nan")
    assert (a["trials"], a["faults"], a["requeued"], a["lost"], a["duplicated"]) == (TRIALS, 1, 0, 0, 0)
    (t,) = _faulty(study)
    assert t.state == optuna.trial.TrialState.FAIL
    assert t.user_attrs["reason"].startswith("training diverged (NaN/inf loss or weights)")
    assert "CandidateFailed" in (folder / "trials" / str(t.number) / "error.txt").read_text()


def test_a_converter_crash_is_failed(sweep):
    a, study, _ = sweep("convert")
    assert (a["trials"], a["faults"], a["requeued"], a["lost"], a["duplicated"]) == (TRIALS, 1, 0, 0, 0)
    (t,) = _faulty(study)
    assert t.user_attrs["reason"].startswith("int8 conversion failed: Could not translate MLIR to FlatBuffer")


def test_a_full_disk_while_writing_a_trial_fails_it_and_leaves_no_half_written_files(sweep):
    a, study, folder = sweep("disk-injected")  # ENOSPC half-way through the faulty trial's metrics.json
    assert (a["trials"], a["faults"], a["requeued"], a["lost"], a["duplicated"]) == (TRIALS, 1, 0, 0, 0)
    (t,) = _faulty(study)
    assert t.user_attrs["reason"].startswith("could not write the trial's files: [Errno 28] No space left on device")
    assert sorted(p.name for p in (folder / "trials" / str(t.number)).iterdir()) == ["candidate.yaml", "error.txt"]
    ok = next(x for x in study.get_trials() if x.user_attrs["state"] == "feasible")
    assert (folder / "trials" / str(ok.number) / "model_int8.tflite").stat().st_size == 4096


def test_a_candidate_over_the_memory_limit_is_failed_in_its_worker_process(sweep, monkeypatch):
    monkeypatch.setenv("TUNER_WORKER_MEMORY_MB", "4000")  # TensorFlow alone reserves ~2.5 GB of addresses
    a, study, folder = sweep("oom")
    assert (a["trials"], a["faults"], a["requeued"], a["lost"], a["duplicated"]) == (TRIALS, 1, 0, 0, 0)
    (t,) = _faulty(study)
    assert t.user_attrs["reason"].startswith("out of memory (MemoryError): Unable to allocate")
    workers = {x.system_attrs["worker"] for x in study.get_trials()}
    assert len(workers) == 1 and str(os.getpid()) not in {w.rsplit(":", 1)[1] for w in workers}
    assert (folder / "workers" / "0.log").exists()


def test_candidates_that_kill_their_worker_are_rerun_once_then_failed(sweep, monkeypatch):
    # 4 such candidates on 2 workers: 8 deaths, each worker restarted 4 times (the sweep keeps going
    # while trials finish between deaths)
    monkeypatch.setenv("TUNER_FAULT_WIDTHS", "24,40,56,64")
    a, study, folder = sweep("die", workers=2)
    assert (a["trials"], a["faults"], a["requeued"], a["lost"], a["duplicated"]) == (TRIALS, 8, 4, 0, 0)
    faulty = [t for t in study.get_trials() if t.user_attrs["candidate"]["width"] in (24, 40, 56, 64)]
    first = {t.number: t for t in faulty if t.user_attrs.get("interrupted")}
    retries = [t for t in faulty if "retry_of" in t.user_attrs]
    assert len(first) == len(retries) == 4 and {t.user_attrs["retry_of"] for t in retries} == set(first)
    for t in retries:
        assert t.state == optuna.trial.TrialState.FAIL and "interrupted" not in t.user_attrs
        assert t.params == first[t.user_attrs["retry_of"]].params
        why = t.user_attrs["reason"]
        assert why.startswith(f"worker died twice running this candidate (trial {t.user_attrs['retry_of']} ")
    logs = "".join(p.read_text() for p in (folder / "workers").iterdir())
    assert logs.count("exited with code -9; restarting it") == 8


URL = os.environ.get("TUNER_TEST_POSTGRES")


@pytest.mark.skipif(not URL, reason="TUNER_TEST_POSTGRES is not set (.ci/run starts PostgreSQL and sets it)")
def test_sigkill_of_one_of_four_workers_on_postgresql_mid_trial(sweep):
    name = f"kill-{uuid.uuid4().hex[:8]}"
    killed: list[int] = []
    errors: list[str] = []  # what the watcher saw while waiting (shown if it never killed)

    def kill_one() -> None:  # SIGKILL the worker of the first trial seen running (3 s per trial)
        from sqlalchemy.exc import SQLAlchemyError

        deadline, storage = time.time() + 240, None
        while time.time() < deadline and not killed:
            try:
                storage = storage or optuna.storages.RDBStorage(URL)  # one connection pool for the whole watch
                study = optuna.load_study(study_name=name, storage=storage)
                running = study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
            except (KeyError, SQLAlchemyError) as exc:  # not created yet, tables being created, busy server
                errors.append(repr(exc))
                time.sleep(0.2)
                continue
            for t in running:
                pid = int(t.system_attrs.get("worker", ":0").rsplit(":", 1)[1] or 0)
                if pid and "retry_of" not in t.user_attrs:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:  # that worker just ended: watch the next trial
                        continue
                    killed.append(t.number)
                    return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_one)
    killer.start()
    a, study, _ = sweep("none", epoch_s=1.0, name=name, storage=URL, workers=4)
    killer.join()
    assert len(killed) == 1, f"no running trial seen; watcher errors: {errors[-3:]}"
    assert (a["trials"], a["faults"], a["requeued"], a["lost"], a["duplicated"]) == (TRIALS, 1, 1, 0, 0)
    (retry,) = [t for t in study.get_trials() if t.user_attrs.get("retry_of") == killed[0]]
    assert retry.state == optuna.trial.TrialState.COMPLETE and retry.params == study.trials[killed[0]].params
    assert len({t.system_attrs["worker"] for t in study.get_trials()}) >= 4  # the killed one was replaced
