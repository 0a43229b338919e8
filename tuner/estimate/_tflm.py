"""Exact arena from the tflite-micro Python interpreter, run outside the caller's process.

A too-small arena, or an int8 SOFTMAX whose input scale TFLM rejects, aborts or segfaults the
process, so the interpreter never runs in the caller's process. A worker
process imports tflite-micro once (~0.1-0.2 s) and is kept; for each request it forks a child
that allocates the model (~5-10 ms) and writes the RecordingMicroAllocator report (this
tflite-micro build prints it to stderr) to a log file. A crash kills only that child; the worker
reports the signal and the last line the child printed. tflite-micro ships Linux wheels only,
and the worker relies on fork. A worker inherited through fork is never shared: each process
starts its own.
"""

from __future__ import annotations

import atexit
import os
import re
import selectors
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass

_WORKER = r"""
import os, sys
from tflite_micro.python.tflite_micro import runtime


def allocate(path, size, log_path, n_inputs):
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 2)
    try:
        with open(path, "rb") as f:
            ip = runtime.Interpreter.from_bytes(f.read(), arena_size=size)
        ip.print_allocations()
        if n_inputs:
            import numpy as np

            for i in range(n_inputs):
                d = ip.get_input_details(i)
                ip.set_input(np.zeros(d["shape"], dtype=d["dtype"]), i)
            ip.invoke()
        code = 0
    except Exception as exc:
        os.write(2, ("\nerror " + repr(exc).replace("\n", " ") + "\n").encode())
        code = 3
    sys.stderr.flush()
    os._exit(code)


inp, out = sys.stdin.buffer, sys.stdout.buffer
while True:
    line = inp.readline()
    if not line:
        break
    path, size, log_path, n_inputs = line.decode().rstrip("\n").split("\t")
    pid = os.fork()
    if pid == 0:
        allocate(path, int(size), log_path, int(n_inputs))
    _, code = os.waitpid(pid, 0)
    if os.WIFSIGNALED(code):
        status = "signal %d" % os.WTERMSIG(code)
    else:
        status = "ok" if os.WEXITSTATUS(code) == 0 else "error"
    out.write(status.encode() + b"\n")
    out.flush()
"""


@dataclass(frozen=True)
class TflmArena:
    total: int
    head: int
    tail: int


class TflmError(RuntimeError):
    """tflite-micro could not load the model (reason in the message)."""


class _Worker:
    def __init__(self) -> None:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        self.owner = os.getpid()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None and self.owner == os.getpid()

    def ask(self, path: str, arena_size: int, log_path: str, timeout_s: float, n_inputs: int = 0) -> str | None:
        """'ok', 'error' or 'signal N'; None if the worker died or timed out. With `n_inputs`, the
        child also invokes the model once on zero inputs."""
        try:
            self.proc.stdin.write(f"{path}\t{arena_size}\t{log_path}\t{n_inputs}\n".encode())
            self.proc.stdin.flush()
        except OSError:
            return None
        fd = self.proc.stdout.fileno()
        buf = b""
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while not buf.endswith(b"\n"):
                if not sel.select(timeout_s):
                    self.kill()
                    return None
                chunk = os.read(fd, 64)
                if not chunk:
                    return None
                buf += chunk
        return buf.decode().strip()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        if self.owner == os.getpid() and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()


_lock = threading.Lock()
_worker: _Worker | None = None


def _shutdown() -> None:
    global _worker
    if _worker is not None:
        _worker.close()
    _worker = None


atexit.register(_shutdown)


def _read(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "no output"


def exact_arena(model: bytes, arena_size: int | None = None, timeout_s: float = 60.0, n_inputs: int = 0) -> TflmArena:
    """Allocate `model` in tflite-micro; its arena report (head, tail, total bytes). With `n_inputs`
    (the model's input count), also invoke it once on zero inputs."""
    global _worker
    size = arena_size or max(2 << 20, 16 * len(model))
    with tempfile.NamedTemporaryFile(suffix=".tflite", delete=False) as f:
        f.write(model)
        path = f.name
    log_path = path + ".log"
    try:
        with _lock:
            if _worker is None or not _worker.alive():
                _worker = _Worker()
            status = _worker.ask(path, size, log_path, timeout_s, n_inputs)
            if status is None:
                _worker.kill()
                _worker = None
                raise TflmError("tflite-micro could not allocate the model: the worker process died or timed out")
        text = _read(log_path)
    finally:
        for p in (path, log_path):
            if os.path.exists(p):
                os.unlink(p)
    if status.startswith("signal"):
        raise TflmError(f"tflite-micro could not allocate the model: killed by {status} ({_last_line(text)})")
    m = {k: re.search(rf"Arena allocation {k} (\d+) bytes", text) for k in ("total", "head", "tail")}
    if status != "ok" or not all(m.values()):
        raise TflmError(f"tflite-micro could not allocate the model: {_last_line(text)}")
    return TflmArena(*(int(m[k].group(1)) for k in ("total", "head", "tail")))


def tflm_accepts(model: bytes, arena_size: int, invoke: bool = False, timeout_s: float = 60.0) -> bool:
    """Whether tflite-micro allocates `model` in `arena_size` bytes (and, with `invoke`, runs it once
    on zero inputs). Runs outside the caller's process: a too-small arena can abort it."""
    n_inputs = 0
    if invoke:
        from tuner.estimate._graph import parse

        n_inputs = len(parse(model).inputs)
    try:
        exact_arena(model, arena_size=arena_size, timeout_s=timeout_s, n_inputs=n_inputs)
        return True
    except TflmError:
        return False


def smallest_arena(model: bytes, guess: int = 0, step: int = 8, timeout_s: float = 60.0) -> int:
    """Smallest arena size (to `step` bytes) with which tflite-micro allocates `model`; TflmError if
    it cannot at any size (e.g. an op it lacks). `guess` is a size expected to be close (the
    analytical arena). TFLM's reported total is usually within 16 B of the minimum, except when
    Prepare-time temporaries exceed the planned head (dense nets), which only trying sizes reveals."""
    # generous size: it does not change the plan, and a too-small arena fails (or crashes the
    # worker) before the report is printed
    report = exact_arena(model, arena_size=max(2 << 20, 4 * guess + len(model)), timeout_s=timeout_s)

    def works(size: int) -> bool:
        return tflm_accepts(model, size, timeout_s=timeout_s)

    hi = max(guess, report.total)
    while not works(hi):
        hi += max(1024, hi // 4)
        if hi > 64 * report.total + (1 << 24):
            raise TflmError("tflite-micro could not allocate the model at any arena size tried")
    # search downwards from the guess (usually within 64 B of the minimum) in growing steps
    gap = 8 * step
    lo = hi - gap
    while lo > step and works(lo):
        hi, gap = lo, gap * 4
        lo = max(step, hi - gap)
    while hi - lo > step:
        mid = (lo + hi) // 2
        if works(mid):
            hi = mid
        else:
            lo = mid
    return hi
