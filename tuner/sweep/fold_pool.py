"""The final ranking's fold trainings, several at a time in child processes.

One TensorFlow process trains the search's small models about as fast on one core as on two
(tuner.threads), so after the search the cross-validation folds train in `processes` children, each
with the cores shared out (`python -m tuner.sweep.fold_pool`, fed by pickles on stdin/stdout, like
the `--workers` children: they die with the sweep, even on kill -9). Every op runs on one thread in
the sweep and in the children alike, so a fold scores the same wherever it trains.

One of the trainers is a thread of this process (`here`): the sweep's process has TensorFlow
imported and only waits during the final ranking, so a thread there trains at once while the
children still import TensorFlow (4-5 s each), and one import fewer is paid: the demo's final
ranking took 22-36% less wall time, with the same fold scores (docs/engines.md, fourteenth round).
`Inline` trains in this process instead (one core, or children that could not start). The
children's output: `results/<name>/final_ranking/<i>.log`."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

MAX_PROCESSES = 4  # a candidate has at most K-1 = 4 folds to train; more children mostly guess
Task = tuple[Any, dict[str, Any], int, "float | None", "int | None"]  # key, params, fold index, limit, epochs


def processes_for(k: int) -> int:
    """Children worth starting for K folds on this machine (0: train in this process)."""
    from tuner import threads

    n = min(threads.cores(), k - 1, MAX_PROCESSES)
    return n if n >= 2 else 0


class Inline:
    """Trains each started fold in this process when `wait` is called (one at a time)."""

    def __init__(self, folds: list[Any]) -> None:
        self.folds = folds
        self.slots = 1
        self._todo: list[Task] = []

    def start(self, key: Any, params: dict[str, Any], fold: int, limit: float | None, epochs: int | None) -> None:
        self._todo.append((key, params, fold, limit, epochs))

    def wait(self) -> tuple[Any, tuple[float, float] | BaseException]:
        key, params, fold, limit, epochs = self._todo.pop(0)
        return key, _train(self.folds, params, fold, limit, epochs)

    def close(self) -> None:
        self._todo.clear()
        forget_kept()


class Pool:
    """`processes` children, and with `here` a thread of this process, each training one fold at a
    time from a shared queue; `wait` returns the next to finish. A child that dies hands its fold back
    as an exception (RuntimeError) and takes no more; with none left, `wait` trains what is queued in
    this process."""

    def __init__(
        self,
        folds: list[Any],
        processes: int,
        log_dir: Path | None = None,
        background: bool = False,
        here: bool = False,
    ) -> None:
        from tuner import threads
        from tuner.sweep.workers import _child_setup, memory_limit_bytes

        self._here = int(here)  # trainers in this process: 0 or 1
        env = threads.child_env(processes + self._here)  # the thread here trains too
        setup = _child_setup(memory_limit_bytes())  # TUNER_WORKER_MEMORY_MB caps these too

        def preexec() -> None:  # pragma: no cover - runs in the child before exec
            setup()
            if background:
                _idle_priority()

        blob = pickle.dumps(folds, protocol=pickle.HIGHEST_PROTOCOL)
        self._folds = folds
        self._live = processes + self._here
        self._lock = threading.Lock()
        self._closing = False
        self._todo: queue.Queue[Task | None] = queue.Queue()
        self._done: queue.Queue[tuple[Any, Any]] = queue.Queue()
        self._procs: list[subprocess.Popen] = []
        self._logs: list[Any] = []
        if log_dir:
            log_dir.mkdir(parents=True, exist_ok=True)
        for i in range(processes):
            err = open(log_dir / f"{i}.log", "a") if log_dir else subprocess.DEVNULL  # noqa: SIM115
            self._logs.append(err)
            self._procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tuner.sweep.fold_pool"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    env=env,
                    preexec_fn=preexec,
                )
            )
        for i in range(processes):  # the children import TensorFlow side by side while these feed them
            threading.Thread(target=self._serve, args=(i, blob), daemon=True).start()
        if here:
            threading.Thread(target=self._serve_here, daemon=True).start()

    @property
    def slots(self) -> int:
        return max(1, self._live)

    def start(self, key: Any, params: dict[str, Any], fold: int, limit: float | None, epochs: int | None) -> None:
        self._todo.put((key, params, fold, limit, epochs))

    def _serve(self, i: int, blob: bytes) -> None:
        p = self._procs[i]
        task: Task | None = None
        try:
            assert p.stdin is not None and p.stdout is not None
            p.stdin.write(blob)  # already a pickle: the folds, once per child
            p.stdin.flush()
            while (task := self._todo.get()) is not None:
                try:
                    _send(p.stdin, task[1:])
                except OSError:
                    self._todo.put(task)  # this child was gone before it got the fold: another trains it
                    task = None
                    raise
                self._done.put((task[0], pickle.load(p.stdout)))
                task = None
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            if self._closing:
                return
            with self._lock:
                self._live -= 1
            log.warning("fold process %d died (exit %s): %s", i, p.poll(), exc)
            if task is not None:
                self._done.put((task[0], RuntimeError(f"fold process {i} died (exit {p.poll()}): {exc}")))

    def _serve_here(self) -> None:
        """A trainer in this process, taking folds from the same queue as the children."""
        while (task := self._todo.get()) is not None:
            result = _train(self._folds, *task[1:])
            if not self._closing:
                self._done.put((task[0], result))

    def wait(self) -> tuple[Any, tuple[float, float] | BaseException]:
        while True:
            try:
                return self._done.get(timeout=0.5)
            except queue.Empty:
                if self._live > 0:
                    continue
            try:  # no child left: train the next queued fold here
                task = self._todo.get_nowait()
            except queue.Empty:
                continue
            if task is not None:
                return task[0], _train(self._folds, *task[1:])

    def finished(self) -> list[tuple[Any, tuple[float, float] | BaseException]]:
        """The folds finished since the last call, without waiting."""
        out = []
        with contextlib.suppress(queue.Empty):
            while True:
                out.append(self._done.get_nowait())
        return out

    def close(self) -> None:
        self._closing = True
        for p in self._procs:
            if p.poll() is None:
                p.kill()
        for _ in range(len(self._procs) + self._here):
            self._todo.put(None)
        for p in self._procs:
            p.wait()
            for f in (p.stdin, p.stdout):
                with contextlib.suppress(OSError):  # a pipe to a dead child
                    if f:
                        f.close()
        for f in self._logs:
            if f is not subprocess.DEVNULL:
                f.close()
        forget_kept()  # `wait` trains here when no child is left: that model is not needed any more


def _idle_priority() -> None:  # pragma: no cover - runs in the child before exec
    """Run only on CPU time nothing else wants. In one test beside a training, the training's
    epochs took 30-50% longer with the fold process at nice 10 and 3% longer at SCHED_IDLE; in a
    sweep pair the search's fits still took 32% longer (docs/engines.md, twelfth round)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux
        os.nice(19)


def open_background(folds: list[Any], log_dir: Path | None = None) -> Pool | None:
    """One fold process at idle priority (tuner.sweep.folds_ahead); None if it cannot start."""
    try:
        return Pool(folds, 1, log_dir, background=True)
    except (OSError, pickle.PicklingError, TypeError) as exc:
        log.warning("no fold process during the search (%s)", exc)
        return None


def open_pool(folds: list[Any], k: int, log_dir: Path | None = None) -> Pool | Inline:
    n = processes_for(k)
    if n:
        try:
            return Pool(folds, n - 1, log_dir, here=True)
        except (OSError, pickle.PicklingError, TypeError) as exc:
            log.warning("fold processes did not start (%s); the folds train in this process", exc)
    return Inline(folds)


def _send(pipe: BinaryIO | None, obj: Any) -> None:
    assert pipe is not None
    pickle.dump(obj, pipe, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.flush()


def _train(
    folds: list[Any], params: dict[str, Any], fold: int, limit: float | None, epochs: int | None
) -> tuple[float, float] | BaseException:
    from tuner import pipeline

    try:
        return pipeline.fold_score(params, folds[fold], limit, epochs, keep=_kept())
    except Exception as exc:  # noqa: BLE001 - reported to the final ranking, which scores the fold 0
        return exc
    finally:
        _cleanup()


_KEPT = threading.local()  # per trainer (the thread here, or a child): the last candidate's compiled model


def _kept() -> dict[str, Any]:
    if not hasattr(_KEPT, "fold"):
        _KEPT.fold = {}
    return _KEPT.fold


def forget_kept() -> None:
    """Drop this trainer's kept model (the final ranking is over)."""
    _kept().clear()


def _cleanup() -> None:
    from tuner.sweep.runner import _keras_cleanup

    _keras_cleanup()


def _child(stdin: BinaryIO, stdout: BinaryIO) -> None:  # pragma: no cover - runs in the child
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the sweep, which kills this child
    from tuner._quiet import import_tensorflow_quietly

    import_tensorflow_quietly(lean=True)  # threads from the environment the pool set
    gc.freeze()  # TensorFlow's objects: not scanned by every job's collection (runner._keras_cleanup)
    folds = pickle.load(stdin)
    while True:
        try:
            params, fold, limit, epochs = pickle.load(stdin)
        except EOFError:
            return
        result = _train(folds, params, fold, limit, epochs)
        try:
            pickle.dumps(result)
        except Exception:  # noqa: BLE001 - an exception that does not pickle goes back as its text
            result = RuntimeError(repr(result))
        _send(stdout, result)


if __name__ == "__main__":  # pragma: no cover
    # the pickles travel on the original stdout; anything TensorFlow prints goes to stderr (the log)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    _child(sys.stdin.buffer, out)
