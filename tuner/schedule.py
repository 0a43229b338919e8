"""Training length that scales with the data, and the validation score early stopping watches.

Epochs alone do not say how long a model trains: 20 epochs of 50 windows at batch 32 are 40
optimizer steps, far from convergence. A candidate trained with the space's epochs gets at least
`MIN_STEPS` steps and `MIN_PATIENCE_STEPS` steps of patience; the batch shrinks so an epoch has at
least `MIN_BATCHES` steps. An explicit `--epochs` is the user's maximum and is kept as given.

Those epochs are the *planned* ones. A candidate still improving on validation when it reaches them
(`still_improving`) trains on, stopped by the usual patience, up to `CONVERGE_FACTOR` x the planned
epochs (`Schedule.epoch_cap`) and, with a training-time budget, before it would pass that budget.
Explicit epochs are never extended.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_STEPS = 300
MIN_PATIENCE_STEPS = 60
MIN_BATCHES = 4
MIN_BATCH = 8
MAX_EPOCHS = 500  # a cap for tiny splits (8 samples: 300 steps would be 300 epochs)
# Chosen before any measurement: the shortest plan, the image space's 5 epochs, is the one that
# most often ends still improving, and a small CNN trained from scratch with Adam on a few thousand
# images gains for 10-15 epochs; x3 reaches that, and only candidates still gaining pay for it.
CONVERGE_FACTOR = 3


@dataclass(frozen=True)
class Schedule:
    batch_size: int
    epochs: int  # planned
    patience: int
    epoch_cap: int = 0  # most epochs while still improving (0: the planned epochs, no extension)

    def __post_init__(self) -> None:
        object.__setattr__(self, "epoch_cap", max(self.epoch_cap, self.epochs))

    @property
    def summary(self) -> dict[str, int]:
        return {
            "batch_size_used": self.batch_size,
            "max_epochs_used": self.epochs,
            "patience_used": self.patience,
            "epoch_cap_used": self.epoch_cap,
        }


def schedule(n_train: int, batch_size: int, epochs: int, patience: int, fixed_epochs: bool = False) -> Schedule:
    """Batch, planned epochs, patience and epoch cap for `n_train` training samples. `fixed_epochs`:
    the epochs were given explicitly (--epochs, Hyperband's budget): not raised, not extended."""
    batch = max(1, min(batch_size, n_train, max(MIN_BATCH, math.ceil(n_train / MIN_BATCHES))))
    steps = max(1, math.ceil(n_train / batch))
    if not fixed_epochs:
        epochs = min(max(epochs, math.ceil(MIN_STEPS / steps)), max(epochs, MAX_EPOCHS))
        patience = max(patience, math.ceil(MIN_PATIENCE_STEPS / steps))
    cap = epochs if fixed_epochs else epochs * CONVERGE_FACTOR
    return Schedule(batch, int(epochs), int(patience), int(cap))


def still_improving(best_epoch: int, epochs_done: int, patience: int) -> bool:
    """Whether a training whose best validation score came at `best_epoch` (1-based) of
    `epochs_done` is still improving: the best is within the last max(1, patience // 2) epochs.
    Half the patience: a best that recent has had too few epochs without gain for patience to
    judge, while an older one is already halfway to being stopped by it."""
    return epochs_done - best_epoch < max(1, patience // 2)


def candidate_schedule(params: dict[str, Any], n_train: int, epochs: int | None) -> Schedule:
    """The schedule of one candidate: its `batch_size`, `epochs` and `patience` parameters (space
    defaults 32 / 30 / 8), or `epochs` when given (--epochs, Hyperband's budget), which is kept."""
    return schedule(
        n_train,
        int(params.get("batch_size", 32)),
        int(epochs if epochs is not None else params.get("epochs", 30)),
        int(params.get("patience", 8)),
        fixed_epochs=epochs is not None,
    )


# The score adds a loss term below one validation sample's worth (for <= 1000 samples): among
# epochs of equal accuracy, the one with the lower loss is kept, and patience restarts while the
# loss still falls, so training runs on to convergence.
LOSS_TIE_BREAK = 1e-3


def val_score_callback(x_val: np.ndarray, y_val: np.ndarray, n_classes: int, metric: str) -> Any:
    """A Keras callback setting `logs["val_score"]`: the metric on validation minus a loss tie-break.
    Listed before EarlyStopping, which then watches `val_score`."""
    import keras

    from tuner.metrics import score

    class ValScore(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if logs is None:
                return
            if metric == "accuracy":
                value = float(logs.get("val_accuracy", 0.0))
            else:
                pred = self.model.predict(x_val, verbose=0, batch_size=512).argmax(axis=1)
                value = score(y_val, pred, n_classes, metric)
            logs["val_metric"] = value
            loss = float(logs.get("val_loss", 1.0))
            logs["val_score"] = value - LOSS_TIE_BREAK * (min(loss, 1.0) if math.isfinite(loss) else 1.0)

    return ValScore()


class EndExtension(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by an `on_epoch` hook (the sweep's pruning rule) in the epochs beyond the planned ones:
    the candidate had its planned training, so the fit ends there, best weights kept, instead of
    the candidate being dropped. The message says why."""


def extension_callback(plan: Schedule, seconds_limit: float | None = None) -> Any:
    """A Keras callback for a fit of `plan.epoch_cap` epochs: it stops at the planned epochs unless
    the training is `still_improving` on `val_score`, and in the extension before the next epoch
    would take the fit past `seconds_limit` (the training-time budget; None: no limit). Past the
    planned epochs, EarlyStopping's patience stops it as usual. `stopped_by` says why it stopped it."""
    import time

    import keras

    class ExtendWhileImproving(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.stopped_by = ""  # "", "converged" (not improving at the planned epochs), "time limit"

        def on_train_begin(self, logs: dict | None = None) -> None:
            self.best, self.best_epoch = np.float32(-np.inf), 0
            self.start = self.last = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            now = time.perf_counter()
            epoch_s, self.last = now - self.last, now
            # strictly better in float32, as EarlyStopping compares (NaN never is)
            value = np.float32((logs or {}).get("val_score", math.nan))
            if value > self.best:
                self.best, self.best_epoch = value, epoch + 1
            done = epoch + 1
            if done < plan.epochs or done >= plan.epoch_cap:
                return
            if done == plan.epochs and not still_improving(self.best_epoch, done, plan.patience):
                self.stopped_by = "converged"
            elif seconds_limit is not None and now - self.start + epoch_s > seconds_limit:
                self.stopped_by = "time limit"  # the next epoch, as long as this one, would pass it
            else:
                return
            self.model.stop_training = True

    return ExtendWhileImproving()
