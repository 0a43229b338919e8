"""Training: seeded fit with early stopping on validation accuracy and best-weights restore.

Validation loss bottoms out long before accuracy on small motion sets (STACK-NOTES), so early
stopping watches `val_accuracy`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tuner.errors import CandidateFailed

STEPS_PER_EXECUTION = 8


@dataclass(frozen=True)
class TrainResult:
    epochs_run: int
    best_epoch: int
    train_seconds: float
    history: dict[str, list[float]]
    epoch_seconds: list[float] = field(default_factory=list)  # wall time of each epoch, validation included


def train(
    model: Any,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    params: dict[str, Any],
    seed: int = 0,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    epochs: int | None = None,
) -> TrainResult:
    """Compile and fit `model`; `on_epoch(epoch, logs)` may raise to prune. NaN loss -> CandidateFailed."""
    import keras

    keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=float(params.get("learning_rate", 1e-3))),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        # several optimizer steps per call into the graph: the per-step Python overhead dominates
        # small models (motion epochs 2x faster on 2 cores, same accuracy: docs/engines.md)
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    n_epochs = int(epochs if epochs is not None else params.get("epochs", 30))
    callbacks: list[Any] = [
        keras.callbacks.EarlyStopping(
            monitor="val_accuracy", patience=int(params.get("patience", 8)), restore_best_weights=True
        ),
        keras.callbacks.TerminateOnNaN(),
    ]
    # epoch times (before the pruning hook runs) feed the training-time estimate: the first one
    # carries the tracing; a pruned fit leaves them on the exception as `epoch_seconds`
    epoch_s: list[float] = []
    marks = {"start": 0.0}
    callbacks.insert(
        0,
        keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda e, logs: marks.update(start=time.perf_counter()),
            on_epoch_end=lambda e, logs: epoch_s.append(time.perf_counter() - marks["start"]),
        ),
    )
    if on_epoch is not None:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: on_epoch(e, logs or {})))
    start = time.perf_counter()
    try:
        hist = model.fit(
            x_train,
            y_train,
            validation_data=(x_val, y_val),
            epochs=n_epochs,
            batch_size=int(params.get("batch_size", 32)),
            callbacks=callbacks,
            verbose=0,
            shuffle=True,
        )
    except Exception as exc:
        exc.epoch_seconds = epoch_s  # type: ignore[attr-defined]
        exc.train_seconds = time.perf_counter() - start  # type: ignore[attr-defined]
        raise
    seconds = time.perf_counter() - start
    losses = hist.history.get("loss", [])
    weights_ok = all(np.isfinite(np.asarray(w)).all() for w in model.get_weights())
    if not losses or any(not math.isfinite(v) for v in losses) or not weights_ok:
        raise CandidateFailed("training diverged (NaN/inf loss or weights); lower the learning rate or check the data")
    val_acc = hist.history.get("val_accuracy", [0.0])
    history = {k: [float(v) for v in vs] for k, vs in hist.history.items()}
    return TrainResult(len(losses), int(np.argmax(val_acc)) + 1, seconds, history, epoch_s)
