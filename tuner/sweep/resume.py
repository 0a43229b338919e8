"""Crash safety: storage with heartbeats, the trial budget, and trials whose worker died.

Budget: a sweep has `--trials` trials in total. Every trial in the study counts, except the ones a
dead worker left behind ("interrupted": user attr set when we fail them). Workers check the count
and ask for a new trial while holding a lock (a file lock next to SQLite, a PostgreSQL advisory
lock), so N workers on M machines never overshoot.

Interrupted trials: a trial left RUNNING by a worker that died (kill -9, power loss) is found by
pid (same host) or by a stale heartbeat (any host, RDB storages other than SQLite), marked FAIL
with `interrupted=True` and a reason, and its params are enqueued so the next free worker re-runs
the same candidate (`retry_of` = the old number). keras-tuner engines re-issue the trial from their
own saved state instead.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import logging
import os
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HEARTBEAT_S = 10  # seconds between heartbeats of a running trial (non-SQLite storages)
GRACE_S = 60  # a running trial without heartbeat for this long belongs to a dead worker
UNTAGGED_S = 120  # a running trial that no worker claimed for this long was asked by a dead one


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def _wal(engine: Any) -> None:
    """SQLite in write-ahead-log mode with normal sync: a trial writes ~30 attributes, one commit
    each, and with the default journal every commit syncs the disk (0.41 s vs 0.10 s for 30 on
    this 2-core machine under load). Still crash-safe; a power cut may lose the last commits,
    which --resume re-runs."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    engine.dispose()  # connections opened while creating the schema predate the pragmas


def checkpoint(url: str) -> None:
    """Move a SQLite study's write-ahead log into `study.db` (and empty the log), so the file is
    complete on its own when a sweep returns: SQLite does that only when the last connection
    closes, which in a notebook or test process that keeps the study open is never, and a copy of
    study.db alone would then miss the sweep's writes. No-op for other storages."""
    if not is_sqlite(url):
        return
    import sqlite3

    from sqlalchemy.engine import make_url

    path = make_url(url).database
    if not path or path == ":memory:":
        return
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def open_storage(url: str) -> Any:
    """An Optuna RDBStorage; heartbeats on shared (non-SQLite) storages. InputError if unreachable."""
    import warnings

    import optuna

    from tuner.errors import InputError
    from tuner.sweep.storage import scrub, storage_problem

    kwargs: dict[str, Any] = {}
    if not is_sqlite(url):
        kwargs = {"heartbeat_interval": HEARTBEAT_S, "grace_period": GRACE_S}
        if url.startswith("postgresql"):
            kwargs["engine_kwargs"] = {"connect_args": {"connect_timeout": 10}}
    for attempt in range(4):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = optuna.storages.RDBStorage(url, **kwargs)
            if is_sqlite(url):
                _wal(storage.engine)
            return storage
        except Exception as exc:
            # Two workers creating the schema of an empty database at once: the loser retries.
            if type(exc).__name__ in ("IntegrityError", "ProgrammingError") and attempt < 3:
                time.sleep(1.0 + attempt)
                continue
            raise InputError(scrub(f"cannot open storage {storage_problem(url, exc)}", url)) from None
    raise AssertionError("unreachable")


@contextlib.contextmanager
def ask_lock(storage: Any, url: str, name: str, lock_dir: Path) -> Iterator[None]:
    """Serialize 'count the budget, then ask' across workers sharing the study."""
    if is_sqlite(url):
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / "ask.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    elif url.startswith("postgresql"):
        from sqlalchemy import text

        key = zlib.crc32(f"tuner:{name}".encode())
        with storage.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
    else:  # other RDBs: no cross-process lock; the total may overshoot by up to workers-1
        yield


def is_interrupted(ft: Any) -> bool:
    return bool(ft.user_attrs.get("interrupted"))


def budget_used(study: Any) -> tuple[int, int]:
    """(trials counting toward --trials, trials WAITING to be run)."""
    import optuna

    used = waiting = 0
    for t in study.get_trials(deepcopy=False):
        if is_interrupted(t):
            continue
        used += 1
        waiting += t.state == optuna.trial.TrialState.WAITING
    return used, waiting


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead(ft: Any, stale_ids: set[int]) -> bool:
    owner = ft.system_attrs.get("worker", "")
    host, _, pid = owner.rpartition(":")
    if ft._trial_id in stale_ids:
        return True
    if not owner:  # asked but never tagged: tagging follows asking within milliseconds
        start = ft.datetime_start
        return start is not None and (datetime.datetime.now() - start).total_seconds() > UNTAGGED_S
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
    return False


def recover_interrupted(study: Any, requeue: bool) -> list[int]:
    """Fail trials left RUNNING by dead workers; enqueue their params again if `requeue`.

    Call under `ask_lock`. Returns the numbers of the trials recovered.
    """
    import optuna

    storage = study._storage
    stale: set[int] = set()
    if storage.get_heartbeat_interval() if hasattr(storage, "get_heartbeat_interval") else None:
        stale = set(storage._get_stale_trial_ids(study._study_id))
    out = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if not _dead(t, stale):
            continue
        if "retry_of" in t.user_attrs:  # the candidate itself may kill its worker (OOM, native crash)
            fail_dead_retry(study, t)
        else:
            mark_interrupted(study, t, "worker died while running (killed or crashed)", requeue)
        out.append(t.number)
    return out


def mark_interrupted(study: Any, ft: Any, why: str, requeue: bool) -> None:
    """Fail a trial whose worker died; it does not count toward --trials, and its params are
    enqueued again (once) if `requeue`."""
    again = "; re-run as a new trial" if requeue else ""
    if _fail(study, ft, why + again, {"interrupted": True}) and requeue and ft.params:
        study.enqueue_trial(dict(ft.params), user_attrs={"retry_of": ft.number})


def fail_dead_retry(study: Any, ft: Any) -> None:
    """A re-run whose worker died too: the candidate is failed (it counts toward --trials) rather
    than re-queued forever."""
    why = (
        f"worker died twice running this candidate (trial {ft.user_attrs['retry_of']} and this re-run); "
        "out of memory or a crash in native code?"
    )
    _fail(study, ft, why, {})


def _fail(study: Any, ft: Any, why: str, attrs: dict[str, Any]) -> bool:
    """FAIL a RUNNING trial with a reason; False if another worker finished or failed it in between."""
    import optuna
    from optuna.exceptions import UpdateFinishedTrialError

    storage = study._storage
    try:
        for k, v in {**attrs, "state": "failed", "reason": why}.items():
            storage.set_trial_user_attr(ft._trial_id, k, v)
        storage.set_trial_state_values(ft._trial_id, optuna.trial.TrialState.FAIL)
    except UpdateFinishedTrialError:
        return False
    return True


class Heartbeat:
    """Records a heartbeat for a running trial every HEARTBEAT_S seconds (shared storages only)."""

    def __init__(self, storage: Any, trial_id: int) -> None:
        self.storage, self.trial_id = storage, trial_id
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if getattr(self.storage, "get_heartbeat_interval", lambda: None)():
            self.storage.record_heartbeat(self.trial_id)
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        from optuna.exceptions import StorageInternalError
        from sqlalchemy.exc import SQLAlchemyError

        while not self._stop.wait(HEARTBEAT_S):
            try:
                self.storage.record_heartbeat(self.trial_id)
            except (StorageInternalError, SQLAlchemyError) as exc:  # a transient storage error must not kill training
                log.warning("heartbeat of trial id %d not recorded: %s", self.trial_id, str(exc).splitlines()[0])

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
