"""The report's best-so-far plot follows the ranking score (validation, the sweep's metric), as the
leaderboard and the live view do; sweeps recorded before it plot int8 test accuracy, labelled so."""

from __future__ import annotations

import pandas as pd

from tuner.html_report import _best_so_far_fig


def _frame(with_val: bool) -> pd.DataFrame:
    rows = [
        {"trial": 0, "state": "feasible", "int8_accuracy": 0.70, "val_score": 0.90, "metric": "macro_f1"},
        {"trial": 1, "state": "feasible", "int8_accuracy": 0.95, "val_score": 0.80, "metric": "macro_f1"},
        {"trial": 2, "state": "pruned", "int8_accuracy": None, "val_score": None, "metric": None, "reason": "p"},
    ]
    df = pd.DataFrame(rows)
    return df if with_val else df.drop(columns=["val_score", "metric"])


def test_best_so_far_is_the_validation_score() -> None:
    fig = _best_so_far_fig(_frame(True))
    best = next(t for t in fig.data if t.name == "best so far")
    assert list(best.y) == [0.90, 0.90, 0.90]  # trial 1's higher test accuracy does not count
    assert fig.layout.title.text == "Best validation macro_f1 (int8) so far"


def test_old_sweeps_plot_test_accuracy_labelled_so() -> None:
    fig = _best_so_far_fig(_frame(False))
    best = next(t for t in fig.data if t.name == "best so far")
    assert list(best.y) == [0.70, 0.95, 0.95]
    assert fig.layout.title.text == "Best int8 test accuracy so far"
