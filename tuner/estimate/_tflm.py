"""Exact arena from the tflite-micro Python interpreter, run in a separate process.

A too-small arena, or an int8 SOFTMAX whose input scale TFLM rejects, aborts or segfaults the
process (STACK-NOTES section 3), so the interpreter never runs in the caller's process. A
worker process is started on first use and kept (importing tflite-micro costs ~0.1-0.2 s, an
allocation ~10 ms); it allocates each model with a generous arena and returns the
RecordingMicroAllocator report, which this tflite-micro build writes to stderr (fd 2 is
redirected around the call, so C-level output is caught). A worker that crashes is replaced
on the next call; a worker inherited through fork is never shared: each process starts its own.
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
inp, out = sys.stdin.buffer, sys.stdout.buffer
while True:
    line = inp.readline()
    if not line:
        break
    path, size, err_path = line.decode().rstrip("\n").split("\t")
    tmp = open(err_path, "w+b")
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(tmp.fileno(), 2)
    status = "ok"
    try:
        with open(path, "rb") as f:
            ip = runtime.Interpreter.from_bytes(f.read(), arena_size=int(size))
        ip.print_allocations()
        del ip
    except Exception as exc:
        status = "error " + repr(exc).replace("\n", " ")
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
    tmp.seek(0)
    msg = (status + "\n" + tmp.read().decode(errors="replace")).encode()
    out.write(b"%d\n" % len(msg))
    out.write(msg)
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
        self.pid_owner = os.getpid()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None and self.pid_owner == os.getpid()

    def _read(self, n: int | None, timeout_s: float) -> bytes:
        """A line (n=None) or n bytes from the worker's stdout, or b'' if it died or timed out."""
        fd = self.proc.stdout.fileno()
        buf = b""
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while n is None and not buf.endswith(b"\n") or n is not None and len(buf) < n:
                if not sel.select(timeout_s):
                    self.kill()
                    return b""
                chunk = os.read(fd, 1 if n is None else n - len(buf))
                if not chunk:
                    return b""
                buf += chunk
        return buf

    def ask(self, path: str, arena_size: int, err_path: str, timeout_s: float) -> str | None:
        """The worker's reply, or None if it died (crash) or timed out."""
        try:
            self.proc.stdin.write(f"{path}\t{arena_size}\t{err_path}\n".encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        head = self._read(None, timeout_s)
        if not head:
            return None
        body = self._read(int(head), timeout_s)
        return body.decode(errors="replace") if body else None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        if self.pid_owner == os.getpid() and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()


_lock = threading.Lock()
_worker: _Worker | None = None


def _shutdown() -> None:
    if _worker is not None:
        _worker.close()


atexit.register(_shutdown)


def _last_line(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip()]
    except OSError:
        return "no output"
    return lines[-1][:200] if lines else "no output"


def exact_arena(model: bytes, arena_size: int | None = None, timeout_s: float = 60.0) -> TflmArena:
    """Allocate `model` in tflite-micro and return its arena report (head, tail, total bytes)."""
    global _worker
    size = arena_size or max(2 << 20, 16 * len(model))
    with tempfile.NamedTemporaryFile(suffix=".tflite", delete=False) as f:
        f.write(model)
        path = f.name
    err_path = path + ".log"
    try:
        with _lock:
            if _worker is None or not _worker.alive():
                _worker = _Worker()
            reply = _worker.ask(path, size, err_path, timeout_s)
            if reply is None:
                try:
                    code = _worker.proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    code = None
                _worker.kill()
                _worker = None
                why = f"killed by signal {-code}" if code is not None and code < 0 else "no reply"
                raise TflmError(f"tflite-micro could not allocate the model: {why} ({_last_line(err_path)})")
    finally:
        for p in (path, err_path):
            if os.path.exists(p):
                os.unlink(p)
    status, _, text = reply.partition("\n")
    m = {k: re.search(rf"Arena allocation {k} (\d+) bytes", text) for k in ("total", "head", "tail")}
    if status != "ok" or not all(m.values()):
        lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
        why = lines[-1] if lines else status
        raise TflmError(f"tflite-micro could not allocate the model: {why}")
    return TflmArena(*(int(m[k].group(1)) for k in ("total", "head", "tail")))
