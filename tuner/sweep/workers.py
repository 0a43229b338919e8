"""`--workers N`: N worker processes on this machine sharing the sweep's study.

Each worker is a fresh Python process (`python -m tuner.sweep._worker_entry NAME INDEX DEADLINE`) with its own
TensorFlow, each op on one thread and cores // N ops side by side (tuner.threads), so that N
workers do not fight over the cores. Workers die with the parent (PR_SET_PDEATHSIG), so `kill -9`
of `tuner sweep` leaves no stray trainers; `--resume` then re-runs what was running. The parent
trains nothing: it polls the study for the progress display and collects exit codes.
Logs: `results/<name>/workers/<i>.log`.

A worker that dies (SIGKILL, the kernel's OOM killer, a crash in native code) is restarted; its trial
is failed and re-run once by the next free worker (`tuner.sweep.resume`). A worker that dies
MAX_RESTARTS_PER_WORKER times in a row without any trial finishing in between is not restarted.
TUNER_WORKER_MEMORY_MB caps each worker's address space (RLIMIT_AS), so a candidate that needs more
fails with MemoryError, or kills only its worker, not the machine; with it set, even one worker
runs in its own process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from tuner.errors import InputError

MEMORY_ENV = "TUNER_WORKER_MEMORY_MB"
MAX_RESTARTS_PER_WORKER = 3  # deaths in a row, with no trial finished in between, before giving up on a worker
STOP_GRACE_S = 15.0  # a stopped worker's time to record its running trial as interrupted


def threads_per_worker(workers: int) -> int:
    """Ops each worker runs side by side (inter-op threads; each op on one thread, tuner.threads)."""
    from tuner import threads

    return threads.inter_op(workers)


def memory_limit_bytes() -> int | None:
    """Address-space limit of each worker (TUNER_WORKER_MEMORY_MB), None when unset. InputError if
    not a positive number."""
    raw = os.environ.get(MEMORY_ENV, "").strip()
    if not raw:
        return None
    try:
        mb = float(raw)
    except ValueError:
        mb = 0.0
    if not mb > 0:
        raise InputError(f"{MEMORY_ENV} must be a positive number of megabytes, got {raw!r}")
    return int(mb * (1 << 20))


def _child_setup(limit: int | None) -> Any:
    def setup() -> None:  # pragma: no cover - runs in the child before exec
        import ctypes
        import resource

        # die with the parent: no stray trainers after kill -9 of `tuner sweep` (best effort: glibc only)
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass
        if limit:  # a candidate over it gets MemoryError (failed) or kills only this worker (re-queued)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return setup


def run_processes(settings: Any, deadline: float | None, emit: Any) -> None:
    import optuna

    from tuner import threads
    from tuner.sweep import final_ranking
    from tuner.sweep.records import TrialRecord
    from tuner.sweep.resume import is_interrupted, open_storage
    from tuner.sweep.settings import storage_url, sweep_dir

    folder = sweep_dir(settings.name)
    logs = folder / "workers"
    logs.mkdir(parents=True, exist_ok=True)
    n = threads_per_worker(settings.workers)
    env = threads.child_env(settings.workers)
    if settings.storage is not None:  # sweep.yaml holds the URL without its password: hand it over in memory
        env["TUNER_STORAGE"] = storage_url(settings)
    setup = _child_setup(memory_limit_bytes())

    def spawn(i: int, mode: str = "w") -> tuple[subprocess.Popen, Any]:
        log = open(logs / f"{i}.log", mode)
        cmd = [sys.executable, "-m", "tuner.sweep._worker_entry", settings.name, str(i), repr(deadline or 0.0)]
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=setup), log

    procs = [spawn(i) for i in range(settings.workers)]
    restarts = [0] * settings.workers  # deaths in a row of each worker
    finished_at = [0] * settings.workers  # trials finished when it last died
    n_done = 0
    emit("stage", stage=f"{settings.workers} workers, {n} TensorFlow inter-op thread(s) each")
    study = optuna.load_study(study_name=settings.name, storage=open_storage(storage_url(settings)))
    ranked_before = dict(study.user_attrs.get(final_ranking.SECONDS) or {})
    reported: set[int] = set()
    try:
        while True:
            for i, (p, log) in enumerate(procs):
                # killed or crashed (not done, not bad input): its trial is re-queued by the others or
                # by its successor, which also keeps the sweep at N workers
                if p.poll() is None or p.returncode in (0, 2):
                    continue
                if n_done > finished_at[i]:  # the sweep moved on since its last death: a new streak
                    restarts[i] = 0
                if restarts[i] < MAX_RESTARTS_PER_WORKER:
                    restarts[i] += 1
                    finished_at[i] = n_done
                    log.write(f"\n[tuner] worker {i} exited with code {p.returncode}; restarting it\n")
                    log.close()
                    emit("stage", stage=f"worker {i} exited with code {p.returncode}; restarting it")
                    procs[i] = spawn(i, "a")
            alive = any(p.poll() is None for p, _ in procs)
            recs = [
                TrialRecord.from_frozen(t)
                for t in study.get_trials(deepcopy=False)
                if not is_interrupted(t) and t.state != optuna.trial.TrialState.WAITING
            ]
            done = [r for r in recs if r.state.is_finished()]
            n_done = len(done)
            for r in done:
                if r.trial not in reported:
                    reported.add(r.trial)
                    emit(
                        "result",
                        number=r.trial,
                        state=r.state.value,
                        reason=r.reason,
                        int8_accuracy=r.metrics.get("int8_accuracy"),
                        val_score=r.metrics.get("val_score"),
                        metric=r.metrics.get("metric"),
                    )
            emit("progress", done=len(done), total=settings.trials, records=done)
            running = [r.trial for r in recs if not r.state.is_finished()]
            stage = f"{settings.workers} workers; running trial(s) {running}" if running else "workers"
            if not running:  # the workers' final ranking (one worker at a time), if it has begun
                folds = sum(len(v) - 1 for v in (study.user_attrs.get(final_ranking.FOLD_SCORES) or {}).values())
                stage = f"final ranking: {folds} fold trainings so far" if folds else stage
            emit("stage", stage=stage, trial=None)
            if not alive:
                break
            time.sleep(1.0)
    finally:
        # Stopped early (Ctrl-C, an error): ask each live worker to stop as Ctrl-C does, so it records
        # its running trial as interrupted (re-run by --resume); terminate one that does not stop.
        live = [p for p, _ in procs if p.poll() is None]
        for p in live:
            p.send_signal(signal.SIGINT)
        stop = time.monotonic() + STOP_GRACE_S
        for p, log in procs:
            try:
                p.wait(timeout=max(0.0, stop - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.terminate()
                p.wait()
            log.close()
    bad = [(i, p.returncode) for i, (p, _) in enumerate(procs) if p.returncode != 0]
    note = final_ranking.note_since(ranked_before, study.user_attrs)
    if note and not bad:
        emit("note", text=note)
    if bad:
        i, rc = bad[0]
        tail = (logs / f"{i}.log").read_text().strip().splitlines()[-1:] or [""]
        if rc == 2:
            raise InputError(tail[0].removeprefix("error: "))
        raise RuntimeError(f"worker {i} exited with code {rc}: {tail[0]} (log: {logs / f'{i}.log'})")
