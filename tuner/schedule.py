"""Training length that scales with the data, and the validation score early stopping watches.

Epochs alone do not say how long a model trains: 20 epochs of 50 windows at batch 32 are 40
optimizer steps, far from convergence. A candidate trained with the space's epochs gets at least
`MIN_STEPS` steps and `MIN_PATIENCE_STEPS` steps of patience; the batch shrinks so an epoch has at
least `MIN_BATCHES` steps. An explicit `--epochs` is the user's maximum and is kept as given.
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


@dataclass(frozen=True)
class Schedule:
    batch_size: int
    epochs: int
    patience: int

    @property
    def summary(self) -> dict[str, int]:
        return {"batch_size_used": self.batch_size, "max_epochs_used": self.epochs, "patience_used": self.patience}


def schedule(n_train: int, batch_size: int, epochs: int, patience: int, fixed_epochs: bool = False) -> Schedule:
    """Batch, max epochs and patience for `n_train` training samples. `fixed_epochs`: the epochs were
    given explicitly (--epochs, Hyperband's budget) and are not raised."""
    batch = max(1, min(batch_size, n_train, max(MIN_BATCH, math.ceil(n_train / MIN_BATCHES))))
    steps = max(1, math.ceil(n_train / batch))
    if not fixed_epochs:
        epochs = min(max(epochs, math.ceil(MIN_STEPS / steps)), max(epochs, MAX_EPOCHS))
        patience = max(patience, math.ceil(MIN_PATIENCE_STEPS / steps))
    return Schedule(batch, int(epochs), int(patience))


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
