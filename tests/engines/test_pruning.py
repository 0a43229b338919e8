"""Pruning rules: Optuna's median pruner (single objective), the Pareto rule (multi-objective),
and the sweep deadline."""

from __future__ import annotations

import time

import optuna
import pytest

from tuner.sweep.pruning import EpochGuard, Pruned, median_pruner, should_prune_pareto

CHEAP = [(1.0, 1000, [0.5, 0.6, 0.7, 0.8, 0.8, 0.8, 0.9])] * 3


def test_pareto_rule_prunes_only_against_cheaper_trials_after_warmup():
    assert should_prune_pareto(0.5, 5, 2.0, 2000, CHEAP).startswith(
        "pruned at epoch 6: val accuracy 0.500 < median 0.800"
    )
    assert should_prune_pareto(0.5, 4, 2.0, 2000, CHEAP) is None  # warm-up
    assert should_prune_pareto(0.5, 5, 0.5, 2000, CHEAP) is None  # it is faster than all of them
    assert should_prune_pareto(0.5, 5, 2.0, 500, CHEAP) is None  # it is smaller than all of them
    assert should_prune_pareto(0.85, 5, 2.0, 2000, CHEAP) is None  # better than the median
    assert should_prune_pareto(0.5, 5, 2.0, 2000, CHEAP[:2]) is None  # too few peers


def test_median_pruner_through_the_epoch_guard():
    study = optuna.create_study(direction="maximize", pruner=median_pruner())
    for _ in range(5):
        t = study.ask()
        guard = EpochGuard(t, "median", None)
        for e in range(8):
            guard(e, {"val_accuracy": 0.8})
        study.tell(t, 0.8)
    t = study.ask()
    guard = EpochGuard(t, "median", None)
    with pytest.raises(Pruned, match=r"pruned at epoch 6: val accuracy 0.300 below the median"):
        for e in range(8):
            guard(e, {"val_accuracy": 0.3})
    assert guard.curve == [0.3] * 6


def test_deadline_stops_any_engine():
    guard = EpochGuard(None, "off", time.time() - 1)
    with pytest.raises(Pruned, match="stopped after epoch 1: the sweep's --timeout was reached"):
        guard(0, {"val_accuracy": 0.9})
