"""TensorFlow's thread settings for the small models a TinyML search trains: each op on one thread
(intra-op 1), independent ops side by side (inter-op: the cores).

Measured on 2 cores (`python benchmarks/epoch_speed.py --only-threads`, docs/engines.md): these
models' ops are too small to gain from being split over cores, and the split costs more than it
saves: intra-op 1 trains conv1d, conv2d, DS-CNN and MobileNet epochs 1.3-1.6x faster than
TensorFlow's default (intra-op = cores). It also makes a training's numbers independent of the core
count and of the process that runs it (a sum split over threads adds in another order), so the
final ranking's folds can train in other processes with the same scores.

`TF_NUM_INTRAOP_THREADS` / `TF_NUM_INTEROP_THREADS` in the environment win over these settings."""

from __future__ import annotations

import os

INTRA_ENV = "TF_NUM_INTRAOP_THREADS"
INTER_ENV = "TF_NUM_INTEROP_THREADS"


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def intra_op() -> int:
    """Threads per op: the environment's, else 1."""
    return _env_int(INTRA_ENV) or 1


def inter_op(processes: int = 1) -> int:
    """Ops run side by side in each of `processes` TensorFlow processes: the environment's, else
    the cores shared between them (at least 1)."""
    return _env_int(INTER_ENV) or max(1, cores() // processes)


def child_env(processes: int) -> dict[str, str]:
    """The environment of one of `processes` TensorFlow child processes (`--workers`, the final
    ranking's fold processes): these settings, which `configure` there applies, and a quiet start."""
    return {
        **os.environ,
        INTRA_ENV: str(intra_op()),
        INTER_ENV: str(inter_op(processes)),
        "OMP_NUM_THREADS": str(intra_op()),
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
    }


def configure(processes: int = 1) -> bool:
    """Apply `intra_op()` and `inter_op(processes)` to this process's TensorFlow. Call before it runs
    an op. False if it already ran one with another intra-op setting (its threads are then fixed:
    training is slower, and a fold trained here scores differently from one trained in a child)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op())
        tf.config.threading.set_inter_op_parallelism_threads(inter_op(processes))
    except RuntimeError:  # "... cannot be modified after initialization"
        return tf.config.threading.get_intra_op_parallelism_threads() == intra_op()
    return True


def _env_int(name: str) -> int:
    try:
        return max(0, int(os.environ.get(name, "") or 0))
    except ValueError:
        return 0
