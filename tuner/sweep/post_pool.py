"""A trained candidate's int8 conversion, evaluations and exact estimate in a child process, while
the sweep's process trains the next candidate.

A sweep process trains on about one core (one thread per op, tuner.threads), so the other one idles
during `fit`; the work after it (tuner.pipeline.post_stages: 1-2.5 s per trial on 2 cores) runs
there instead of between two trainings. The child (`python -m tuner.sweep.post_pool`, fed pickles
on stdin/stdout like the fold processes, dying with the sweep) rebuilds the model from its weights
and gives the same tflite and figures as the sweep's process (`tests/test_post_pool.py`). A child
that dies is not restarted: its job, and every later one, runs in the sweep's process.
Its output: `results/<name>/post_process.log`."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)
OFF_ENV = "TUNER_OVERLAP"  # "0": every trial's post stages run in the sweep's process


def wanted(workers: int, engine: str) -> bool:
    """Overlap one trial's post stages with the next training: one worker on 2+ cores, an Optuna
    engine (keras-tuner's Hyperband and Bayesian tuners are told each result before the next ask)."""
    from tuner import threads

    if os.environ.get(OFF_ENV, "1") == "0":
        return False
    return workers == 1 and threads.cores() >= 2 and engine not in ("hyperband", "bayesian")


class PostProcess:
    """One child running `post_stages` one job at a time; `submit` returns at once, `result` waits."""

    def __init__(self, log_path: Path | None = None) -> None:
        from tuner import threads
        from tuner.sweep.workers import _child_setup, memory_limit_bytes

        if log_path:
            log_path.parent.mkdir(parents=True, exist_ok=True)
        self._err = open(log_path, "a") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self._proc: subprocess.Popen | None = subprocess.Popen(
            [sys.executable, "-m", "tuner.sweep.post_pool"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            env=threads.child_env(threads.cores()),  # one op at a time: the sweep trains on the rest
            preexec_fn=_child_setup(memory_limit_bytes()),
        )
        self._job: Any = None
        self._out: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()  # the child has imported TensorFlow (3-5 s)
        threading.Thread(target=self._wait_ready, daemon=True).start()

    def _wait_ready(self) -> None:
        p = self._proc
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if p is not None and p.stdout is not None and p.stdout.read(1) == READY:
                self._ready.set()

    def submit(self, job: Any) -> None:
        """Start `job` (a tuner.pipeline.PostJob with its weights); one at a time."""
        assert self._thread is None, "collect the previous result first"
        self._job, self._out = job, None
        if not self._ready.is_set():  # still importing: waiting for it would cost more than the job
            self._out = _run(job)
        elif self._proc is not None:
            self._thread = threading.Thread(target=self._exchange, daemon=True)
            self._thread.start()

    def _exchange(self) -> None:
        p = self._proc
        try:
            assert p is not None and p.stdin is not None and p.stdout is not None
            pickle.dump(self._job, p.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            p.stdin.flush()
            self._out = pickle.load(p.stdout)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            log.warning("post process died (exit %s): %s; the sweep's process takes over", p and p.poll(), exc)
            self._out = _DIED

    def result(self) -> dict[str, Any] | BaseException:
        """The submitted job's post_stages output, or the exception it raised."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        out, job = self._out, self._job
        self._job = self._out = None
        if out is _DIED or (out is None and self._proc is None):
            self._stop()
            return _run(job)
        return out

    def _stop(self) -> None:
        p, self._proc = self._proc, None
        if p is None:
            return
        if p.poll() is None:
            p.kill()
        p.wait()
        for f in (p.stdin, p.stdout):
            with contextlib.suppress(OSError):
                if f:
                    f.close()

    def close(self) -> None:
        self._stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._err is not subprocess.DEVNULL:
            self._err.close()


_DIED = object()
READY = b"R"  # the child's first byte: jobs go to it from then on


def _run(job: Any) -> dict[str, Any] | BaseException:
    from tuner.pipeline import post_stages
    from tuner.sweep.runner import _keras_cleanup

    try:
        return post_stages(None, job)
    except Exception as exc:  # noqa: BLE001 - the trial is recorded as failed by the sweep
        return exc
    finally:
        _keras_cleanup()


def _child(stdin: BinaryIO, stdout: BinaryIO) -> None:  # pragma: no cover - runs in the child
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the sweep, which kills this child
    from tuner._quiet import import_tensorflow_quietly

    import_tensorflow_quietly(lean=True)  # threads from the environment PostProcess set
    gc.freeze()  # TensorFlow's objects: not scanned by every job's collection (runner._keras_cleanup)
    stdout.write(READY)
    stdout.flush()
    while True:
        try:
            job = pickle.load(stdin)
        except EOFError:
            return
        out = _run(job)
        try:
            pickle.dumps(out)
        except Exception:  # noqa: BLE001 - an exception that does not pickle goes back as its text
            out = RuntimeError(repr(out))
        pickle.dump(out, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    # the pickles travel on the original stdout; anything TensorFlow prints goes to stderr (the log)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    _child(sys.stdin.buffer, out)
