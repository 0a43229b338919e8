"""Training: seeded fit with early stopping on the validation metric and best-weights restore.

Validation loss bottoms out long before accuracy on small motion sets, so early stopping watches
the metric (`val_score`: tuner.schedule), with the loss only as a tie-break. A candidate still
improving at its planned epochs trains on up to its epoch cap (tuner.schedule).
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
    plan: dict[str, int] | None = None  # batch, planned epochs, patience and epoch cap used (tuner.schedule)
    extended_epochs: int = 0  # epochs run beyond the planned ones (still improving there)
    extension_stopped_by: str = ""  # what ended the extension before patience or the cap: time limit, pruning


def build_for_fit(model: Any) -> None:
    """Create the compiled model's training state now: Adam's moments and the metrics' totals. Keras 3
    on TensorFlow without a distribution strategy leaves them to the first training step, inside the
    traced train function, and TensorFlow then traces that function a second time, without variable
    creation: on 2 cores the first epoch took 0.6-2.3 s more per image and audio trial, 12 s more for a
    MobileNet, for the same weights (docs/engines.md, fifteenth round). `_symbolic_build` is what Keras
    runs itself under a distribution strategy (shapes only, no metric update)."""
    x = np.zeros((1, *model.input_shape[1:]), np.float32)
    build = getattr(model, "_symbolic_build", None)
    if build is not None:
        build(data_batch=(x, np.zeros((1,), np.int64)))
    else:  # another Keras: the optimizer at least
        model.optimizer.build(model.trainable_variables)


def compile_for_training(model: Any, params: dict[str, Any]) -> None:
    """Compile as every training does (Adam at the candidate's learning rate) and build the training
    state (`build_for_fit`)."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=float(params.get("learning_rate", 1e-3))),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        # several optimizer steps per call into the graph: the per-step Python overhead dominates
        # small models (motion epochs 2x faster on 2 cores, same accuracy: docs/engines.md)
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    build_for_fit(model)


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
    metric: str = "accuracy",
    class_weight: dict[int, float] | None = None,
    seconds_limit: float | None = None,
    validate: bool = True,
    compiled: bool = False,
) -> TrainResult:
    """Compile and fit `model`; `on_epoch(epoch, logs)` may raise to prune. NaN loss -> CandidateFailed.

    Early stopping keeps the best weights by `metric` on validation (tuner.schedule: training length
    scales with the data unless `epochs` is given; still improving at the planned epochs: trained on
    up to the epoch cap, never past `seconds_limit` seconds of fit); `class_weight` for imbalanced classes.
    `validate=False` (with `epochs`): exactly `epochs` epochs, no validation pass, no early stopping.
    `compiled`: the caller compiled the model (`compile_for_training`) and set its training state."""
    if not validate and epochs is None:
        raise ValueError("train(validate=False) needs `epochs`: nothing would stop it")
    import keras

    from tuner.schedule import EndExtension, candidate_schedule, extension_callback, val_score_callback

    keras.utils.set_random_seed(seed)
    if not compiled:
        compile_for_training(model, params)
    plan = candidate_schedule(params, len(x_train), epochs)
    n_classes = int(model.output_shape[-1])
    callbacks: list[Any] = [keras.callbacks.TerminateOnNaN(), extension := extension_callback(plan, seconds_limit)]
    if validate:
        callbacks[:0] = [
            val_score_callback(x_val, y_val, n_classes, metric),
            keras.callbacks.EarlyStopping(
                monitor="val_score", mode="max", patience=plan.patience, restore_best_weights=True
            ),
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
    ended: list[str] = []  # why a pruning hook ended the extension

    class Hook(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            try:
                on_epoch(epoch, logs or {})  # type: ignore[misc]
            except EndExtension as end:
                ended.append(str(end))
                self.model.stop_training = True

    if on_epoch is not None:
        callbacks.append(Hook())
    start = time.perf_counter()
    try:
        hist = model.fit(
            x_train,
            y_train,
            validation_data=(x_val, y_val) if validate else None,
            epochs=plan.epoch_cap,
            batch_size=plan.batch_size,
            class_weight=class_weight,
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
    val_score = hist.history.get("val_score") or hist.history.get("val_accuracy", [0.0])
    history = {k: [float(v) for v in vs] for k, vs in hist.history.items()}
    run = len(losses)
    # the epoch whose weights EarlyStopping restored: the first best in float32, as it compares
    best = int(np.argmax(np.asarray(val_score, dtype=np.float32))) + 1 if validate else run
    stopped_by = ended[0] if ended else extension.stopped_by if extension.stopped_by == "time limit" else ""
    return TrainResult(run, best, seconds, history, epoch_s, plan.summary, max(0, run - plan.epochs), stopped_by)
