"""Fault injection for sweeps, shared by tests/test_faults.py (short runs in CI) and
benchmarks/faults.py (long runs).

A sweep runs through the real runner, workers, storage and outcome recording; the pipeline is a
fake (`fault_run_candidate`, milliseconds per trial, `EPOCH_S` seconds per epoch) except for the
faulty candidate (width == FAULTY_WIDTH), which meets a real fault:
- nan: tuner.train.train on a tiny Keras net with learning rate 1e20 (the loss becomes NaN);
- convert: tuner.quantize.to_int8 on a net with CUMPROD, which the int8 converter refuses;
- oom: allocates more than the worker's address-space limit (TUNER_WORKER_MEMORY_MB) -> MemoryError;
- die: SIGKILL of its own worker (what the kernel's OOM killer does), so it dies on every attempt;
- disk: writes its files; on a full disk (a small tmpfs) they fail; disk-injected: the write of
  its metrics.json raises OSError(ENOSPC) half-way.
A worker process picks the fake up through tests/_fault_site/sitecustomize.py when TUNER_FAULT is
set. `audit` counts what the study holds afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import time
import types
from pathlib import Path
from typing import Any

FAULTY_WIDTH = 24  # the faulty candidate (TUNER_FAULT_WIDTHS lists others)


def space(n: int = 8) -> str:
    """A search space of `n` candidates: widths 8, 16, ..., 8n (a grid sweep visits each once)."""
    widths = ", ".join(str(8 * (i + 1)) for i in range(n))
    return f"""
name: faults
domain: motion
data: seglearn-watch
fixed: {{epochs: 3}}
params:
  width: {{type: categorical, choices: [{widths}]}}
"""


SPACE = space()


def _diverge() -> None:
    import keras
    import numpy as np

    from tuner.train import train

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 3, 64)
    layers = [keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3, activation="softmax")]
    model = keras.Sequential([keras.Input((4,)), *layers])
    train(model, x, y, x, y, {"learning_rate": 1e20, "epochs": 3, "batch_size": 8})


def _unconvertible() -> None:
    import keras
    import numpy as np
    import tensorflow as tf

    from tuner.quantize import to_int8

    class CumProd(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            return tf.math.cumprod(x, axis=-1)

    model = keras.Sequential([keras.Input((4,)), CumProd(), keras.layers.Dense(3, activation="softmax")])
    to_int8(model, np.ones((8, 4), np.float32), n_samples=4)


def _exhaust_memory() -> None:
    import resource

    import numpy as np

    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit == resource.RLIM_INFINITY:  # never without a limit: it would take the machine down
        raise RuntimeError("the oom fault needs TUNER_WORKER_MEMORY_MB (RLIMIT_AS) to be set")
    np.ones(limit // 8 + (1 << 20))  # more float64s than the whole address space allows


def fault_run_candidate(
    params: dict, problem: Any, on_event: Any = None, on_epoch: Any = None, stages: Any = None
) -> Any:
    from tuner.pipeline import CandidateResult

    emit = on_event or (lambda *a, **k: None)
    kind = os.environ.get("TUNER_FAULT", "")
    epoch_s = float(os.environ.get("TUNER_FAULT_EPOCH_S", "0"))
    width = params["width"]
    est = {"latency_ms": width / 8.0, "ram_bytes": 1000 * width, "flash_bytes": 2000 * width, "macs": 100 * width}
    emit("precheck", estimate=est, est_train_seconds=1.0)
    faulty = str(width) in os.environ.get("TUNER_FAULT_WIDTHS", str(FAULTY_WIDTH)).split(",")
    if faulty and kind == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    curve = []
    for e in range(3):
        time.sleep(epoch_s)
        curve.append(0.5 + width / 256 * (e + 1) / 3)
        if on_epoch:
            on_epoch(e, {"val_accuracy": curve[-1]})
    if faulty and kind == "nan":
        _diverge()
    if faulty and kind == "convert":
        _unconvertible()
    if faulty and kind == "oom":
        _exhaust_memory()
    metrics = {
        "float_accuracy": curve[-1],
        "int8_accuracy": curve[-1],
        "train_seconds": 3 * epoch_s,
        "est_train_seconds": 1.0,
        "epochs_run": 3,
        "n_train": 100,
        "history": {"val_accuracy": curve},
    }
    blob = int(os.environ.get("TUNER_FAULT_BLOB", "4096"))  # bytes of the fake .tflite written per trial
    return CandidateResult("feasible", "", metrics, est, tflite=bytes(blob))


def enospc_save_artifacts(real: Any) -> Any:
    """`save_artifacts` that, for the faulty candidates, fails half-way through metrics.json with ENOSPC."""
    import errno

    def save(folder: Path, params: dict, res: Any) -> None:
        if str(params["width"]) not in os.environ.get("TUNER_FAULT_WIDTHS", str(FAULTY_WIDTH)).split(","):
            return real(folder, params, res)
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "metrics.json").write_text('{"float_acc')  # the disk fills up mid-file
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(Path(folder) / "metrics.json"))

    return save


def fake_problem(budgets: Any = None) -> Any:
    from tuner.budgets import Budgets

    return types.SimpleNamespace(epochs=None, budgets=budgets or Budgets(), host=None, seed=0, calls=[], folds=[])


def install(patch: Any = None) -> None:
    """Swap the pipeline for the fault pipeline (`patch` = pytest's monkeypatch.setattr in tests)."""
    import builtins

    import tuner.estimate.training_time
    import tuner.pipeline
    from tuner.estimate.training_time import HostThroughput
    from tuner.sweep import runner

    put = patch or builtins.setattr
    from tuner.sweep import post_pool

    put(post_pool, "wanted", lambda *a: False)  # the fake replaces run_candidate, which overlapped trials skip
    put(tuner.pipeline, "run_candidate", fault_run_candidate)
    from_source = classmethod(lambda cls, data, target, budgets, *a, **k: fake_problem(budgets))
    put(tuner.pipeline.Problem, "from_source", from_source)
    put(runner, "check_budgets_reachable", lambda settings, space, target, budgets, **kw: fake_problem(budgets))
    put(runner, "_load_problem", lambda settings, space, target: fake_problem(settings.budgets(target)))
    put(runner, "_fit_space", lambda settings, space, problem, emit: (settings, space))  # no data to fit to
    put(runner, "_keras_cleanup", lambda: None)
    put(tuner.estimate.training_time, "refreshed_host", lambda folder, *_: HostThroughput(0.1, 1e-3, 1e-9))
    if os.environ.get("TUNER_FAULT") == "disk-injected":
        put(tuner.pipeline, "save_artifacts", enospc_save_artifacts(tuner.pipeline.save_artifacts))


def worker_env(kind: str, epoch_s: float = 0.0, **extra: str) -> dict[str, str]:
    """Environment for a sweep whose worker processes run the fault pipeline."""
    root = Path(__file__).resolve().parent.parent
    path = os.pathsep.join([str(root), str(root / "tests" / "_fault_site"), os.environ.get("PYTHONPATH", "")])
    return {
        **os.environ,
        "PYTHONPATH": path,
        "TUNER_FAULT": kind,
        "TUNER_FAULT_EPOCH_S": str(epoch_s),
        "TF_NUM_INTRAOP_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        **extra,
    }


def audit(study: Any, trials: int) -> dict[str, Any]:
    """What the study holds after a sweep of `trials` trials.

    - counted: trials that count toward --trials (all but those a dead worker left, "interrupted");
    - faults: trials recorded as failed (interrupted ones included);
    - requeued: interrupted trials whose candidate was run again (`retry_of`);
    - lost: trials missing from the count, left unfinished, or interrupted without a re-run;
    - duplicated: trials over the count, or a candidate recorded twice among counted trials
      without being declared a re-use (`duplicate_of`).
    """
    ts = study.get_trials(deepcopy=False)
    counted = [t for t in ts if not t.user_attrs.get("interrupted")]
    interrupted = [t for t in ts if t.user_attrs.get("interrupted")]
    retried = {t.user_attrs.get("retry_of") for t in ts}
    unfinished = [t for t in ts if not t.state.is_finished()]
    trained = [t for t in counted if "duplicate_of" not in t.user_attrs]
    keys = [json.dumps(t.user_attrs.get("candidate"), sort_keys=True) for t in trained]
    numbers = sorted(t.number for t in ts)
    lost = (
        max(0, trials - len(counted))
        + len(unfinished)
        + sum(1 for t in interrupted if t.number not in retried)
        + (numbers != list(range(len(numbers))))
    )
    return {
        "trials": len(counted),
        "faults": sum(1 for t in ts if t.user_attrs.get("state") == "failed"),
        "requeued": len(interrupted),
        "lost": lost,
        "duplicated": max(0, len(counted) - trials) + len(keys) - len(set(keys)),
        "reasons": sorted({str(t.user_attrs.get("reason")) for t in ts if t.user_attrs.get("state") == "failed"}),
    }
