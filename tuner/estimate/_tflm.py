"""Exact arena from the tflite-micro Python interpreter, run in a subprocess.

A too-small arena, or an int8 SOFTMAX whose input scale TFLM rejects, aborts or segfaults
the process (STACK-NOTES section 3), so the interpreter never runs in the caller's process.
The child allocates with a generous arena and prints the RecordingMicroAllocator report
(this tflite-micro build writes it to stderr); the parent parses head and tail.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass

_CHILD = r"""
import sys
from tflite_micro.python.tflite_micro import runtime
buf = open(sys.argv[1], "rb").read()
ip = runtime.Interpreter.from_bytes(buf, arena_size=int(sys.argv[2]))
ip.print_allocations()
sys.stderr.flush()
"""


@dataclass(frozen=True)
class TflmArena:
    total: int
    head: int
    tail: int


class TflmError(RuntimeError):
    """tflite-micro could not load the model (reason in the message)."""


def exact_arena(model: bytes, arena_size: int | None = None, timeout_s: float = 60.0) -> TflmArena:
    size = arena_size or max(1 << 20, 16 * len(model))
    with tempfile.NamedTemporaryFile(suffix=".tflite", delete=False) as f:
        f.write(model)
        path = f.name
    try:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, path, str(size)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
        )
    finally:
        os.unlink(path)
    text = proc.stderr + proc.stdout
    m = {k: re.search(rf"Arena allocation {k} (\d+) bytes", text) for k in ("total", "head", "tail")}
    if proc.returncode != 0 or not all(m.values()):
        lines = [ln for ln in text.strip().splitlines() if ln.strip() and "Traceback" not in ln]
        why = lines[-1] if lines else f"exit code {proc.returncode}"
        if proc.returncode < 0:
            why = f"killed by signal {-proc.returncode} ({why})"
        raise TflmError(f"tflite-micro could not allocate the model: {why}")
    return TflmArena(*(int(m[k].group(1)) for k in ("total", "head", "tail")))
