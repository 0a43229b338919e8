"""Silence chatty native code (TF converter, TFLM) by redirecting file descriptors 1 and 2."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    if os.environ.get("TUNER_VERBOSE"):
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def import_tensorflow_quietly(lean: bool = False) -> bool:
    """Import TensorFlow once with its start-up banner (absl, oneDNN, CPU features) silenced,
    keep its Python logger to errors (no retracing warnings in the sweep display), and set its
    threads for small models (tuner.threads) unless it already runs. False: it ran already, with
    other threads (tuner.threads.configure).

    `lean`: for the tuner's own processes (the CLI's sweep, its post and fold processes), Keras is
    imported without scikit-learn: Keras imports it only for `keras.wrappers` (scikit-learn
    estimators around a Keras model), which the tuner does not use, and it cost 0.7 s of each
    process's start (scikit-learn and scipy.stats). Not for the Python API, whose caller may use
    those wrappers. A later `import sklearn` (the bundled scikit-learn data sets) works as usual."""
    from tuner import threads

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return threads.configure()
    with quiet(), _without("sklearn" if lean and "sklearn" not in sys.modules else None):
        import keras  # noqa: F401
        import tensorflow as tf
    set_threads = threads.configure()
    tf.get_logger().setLevel("ERROR")
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    return set_threads


@contextlib.contextmanager
def _without(module: str | None) -> Iterator[None]:
    """`import module` raises ImportError inside (a None entry in sys.modules), as if not installed."""
    if module is None:
        yield
        return
    sys.modules[module] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.modules.get(module, 0) is None:
            del sys.modules[module]
