"""`--workers N`: N worker processes on this machine sharing the sweep's study.

Each worker is a fresh Python process (`python -m tuner.sweep._worker_entry NAME INDEX DEADLINE`) with its own
TensorFlow, limited to cores // N intra-op and inter-op threads so that N workers do not fight over
the cores. Workers die with the parent (PR_SET_PDEATHSIG), so `kill -9` of `tuner sweep` leaves no
stray trainers; `--resume` then re-runs what was running. The parent trains nothing: it polls the
study for the progress display and collects exit codes. Logs: `results/<name>/workers/<i>.log`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from tuner.errors import InputError


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def run_processes(settings: Any, deadline: float | None, emit: Any) -> None:
    import optuna

    from tuner.sweep.records import TrialRecord
    from tuner.sweep.resume import is_interrupted, open_storage
    from tuner.sweep.settings import storage_url, sweep_dir

    folder = sweep_dir(settings.name)
    logs = folder / "workers"
    logs.mkdir(parents=True, exist_ok=True)
    n = threads_per_worker(settings.workers)
    env = {
        **os.environ,
        "TF_NUM_INTRAOP_THREADS": str(n),
        "TF_NUM_INTEROP_THREADS": str(n),
        "OMP_NUM_THREADS": str(n),
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
    }
    if settings.storage is not None:  # sweep.yaml holds the URL without its password: hand it over in memory
        env["TUNER_STORAGE"] = storage_url(settings)
    procs = []
    for i in range(settings.workers):
        log = open(logs / f"{i}.log", "w")
        cmd = [sys.executable, "-m", "tuner.sweep._worker_entry", settings.name, str(i), repr(deadline or 0.0)]
        procs.append(
            (
                subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent),
                log,
            )
        )
    emit("stage", stage=f"{settings.workers} workers, {n} TensorFlow thread(s) each")
    study = optuna.load_study(study_name=settings.name, storage=open_storage(storage_url(settings)))
    reported: set[int] = set()
    try:
        while True:
            alive = any(p.poll() is None for p, _ in procs)
            recs = [
                TrialRecord.from_frozen(t)
                for t in study.get_trials(deepcopy=False)
                if not is_interrupted(t) and t.state != optuna.trial.TrialState.WAITING
            ]
            done = [r for r in recs if r.state.is_finished()]
            for r in done:
                if r.trial not in reported:
                    reported.add(r.trial)
                    emit(
                        "result",
                        number=r.trial,
                        state=r.state.value,
                        reason=r.reason,
                        int8_accuracy=r.metrics.get("int8_accuracy"),
                    )
            emit("progress", done=len(done), total=settings.trials, records=done)
            running = [r.trial for r in recs if not r.state.is_finished()]
            emit(
                "stage",
                stage=f"{settings.workers} workers; running trial(s) {running}" if running else "workers",
            )
            if not alive:
                break
            time.sleep(1.0)
    finally:
        for p, log in procs:
            if p.poll() is None:
                p.terminate()
            p.wait()
            log.close()
    bad = [(i, p.returncode) for i, (p, _) in enumerate(procs) if p.returncode != 0]
    if bad:
        i, rc = bad[0]
        tail = (logs / f"{i}.log").read_text().strip().splitlines()[-1:] or [""]
        if rc == 2:
            raise InputError(tail[0].removeprefix("error: "))
        raise RuntimeError(f"worker {i} exited with code {rc}: {tail[0]} (log: {logs / f'{i}.log'})")
