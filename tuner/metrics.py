"""Classification metrics from a confusion matrix (rows: true class, columns: predicted); no TensorFlow.

`accuracy` counts samples, so a majority class dominates it; `balanced_accuracy` (the mean recall
over the classes present) and `macro_f1` (the mean F1 over the classes present or predicted, as
scikit-learn's `f1_score(average="macro")`) weigh every class alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

METRICS = ("accuracy", "balanced_accuracy", "macro_f1")


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return cm


def recalls(cm: np.ndarray | Sequence[Sequence[int]]) -> list[float | None]:
    """Recall per class; None for a class with no sample."""
    cm = np.asarray(cm)
    support = cm.sum(axis=1)
    return [float(cm[i, i] / s) if s else None for i, s in enumerate(support)]


def scores(cm: np.ndarray | Sequence[Sequence[int]]) -> dict[str, float]:
    """accuracy, balanced_accuracy and macro_f1 of a confusion matrix."""
    cm = np.asarray(cm, dtype=np.float64)
    total = cm.sum()
    if total == 0:
        return dict.fromkeys(METRICS, 0.0)
    tp = np.diag(cm)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    present = support > 0
    f1_denominator = support + predicted  # 2tp / (2tp + fp + fn) = 2tp / (support + predicted)
    seen = f1_denominator > 0
    f1 = np.where(seen, 2 * tp / np.where(seen, f1_denominator, 1), 0.0)
    return {
        "accuracy": float(tp.sum() / total),
        "balanced_accuracy": float((tp[present] / support[present]).mean()),
        "macro_f1": float(f1[seen].mean()),
    }


def score(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int, metric: str) -> float:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    return scores(confusion(y_true, y_pred, n_classes))[metric]


def balanced_class_weights(y: np.ndarray, n_classes: int, ratio: float = 1.5) -> dict[int, float] | None:
    """Keras `class_weight` n / (k * count_c) (scikit-learn's "balanced") when the largest class has
    at least `ratio` times the samples of the smallest; None when the classes are about balanced."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)
    present = counts[counts > 0]
    if len(present) < 2 or present.max() < ratio * present.min():
        return None
    n, k = counts.sum(), len(present)
    return {int(c): float(n / (k * counts[c])) for c in range(n_classes) if counts[c] > 0}
