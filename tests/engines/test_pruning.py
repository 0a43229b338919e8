"""Pruning rules: the equal-time rule (single objective), Optuna's median pruner (the rule before
issue 14), the Pareto rule (multi-objective), the scaled warm-up and the sweep deadline."""

from __future__ import annotations

import time
import types

import optuna
import pytest

from tuner.sweep import pruning
from tuner.sweep.pruning import (
    EpochGuard,
    Pruned,
    TimePruner,
    median_pruner,
    planned_epochs,
    should_prune_pareto,
    should_prune_time,
    warmup_epochs,
)

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
    guard.set_costs(1.0, 1000, max_epochs=25)  # warm-up: a fifth of 25 epochs
    assert guard.warmup == 5
    with pytest.raises(Pruned, match=r"pruned at epoch 6: val accuracy 0.300 below the median"):
        for e in range(8):
            guard(e, {"val_accuracy": 0.3})
    assert guard.curve == [0.3] * 6


def test_prune_message_names_the_sweeps_score_when_it_is_not_plain_accuracy():
    guard = EpochGuard(None, "pareto", None, finished=CHEAP)
    guard.set_costs(2.0, 2000, max_epochs=25)
    with pytest.raises(Pruned, match=r"pruned at epoch 6: val score 0.500 < median 0.800"):
        for e in range(8):
            guard(e, {"val_metric": 0.5, "val_accuracy": 0.9})


def test_deadline_stops_any_engine():
    guard = EpochGuard(None, "off", time.time() - 1)
    with pytest.raises(Pruned, match="stopped after epoch 1: the sweep's --timeout was reached"):
        guard(0, {"val_accuracy": 0.9})


def test_warmup_is_a_fifth_of_the_epoch_budget():
    assert [warmup_epochs(n) for n in (1, 3, 5, 20, 75, 500)] == [1, 1, 1, 4, 15, 100]
    # the budget tuner.train gives: 5 epochs of 3500 images at batch 32 stay 5 (>= 300 steps);
    # 20 epochs of 120 motion windows at batch 32 are raised to 300 steps = 75 epochs
    assert planned_epochs({"epochs": 5, "batch_size": 32, "patience": 4}, 3500, None) == 5
    assert planned_epochs({"epochs": 20, "batch_size": 32, "patience": 5}, 120, None) == 75
    assert planned_epochs({"epochs": 20, "batch_size": 32}, 120, 7) == 7  # --epochs is kept


# Three cheap candidates (~2 s per epoch) finished; a MobileNet-like one spends 10 s per epoch.
CHEAP_RUNS = [
    ({2000: 0.90, 4000: 0.96, 6000: 0.97}, False),
    ({1500: 0.85, 3000: 0.93}, False),
    ({2500: 0.88, 5000: 0.95}, False),
]


def test_equal_time_rule_compares_at_the_same_training_seconds():
    # after 12 s the cheap ones had 0.97, 0.93, 0.95: median 0.95
    assert should_prune_time({10000: 0.55, 12000: 0.60}, CHEAP_RUNS) == (
        "pruned after 12.0 s of training: best val score 0.600 < median 0.950 of 3 earlier trials "
        "after the same training time"
    )
    assert should_prune_time({10000: 0.55, 12000: 0.96}, CHEAP_RUNS) is None  # on course
    # after 1 s none of them had an epoch done (0): a fast starter is not pruned
    assert should_prune_time({1000: 0.40}, CHEAP_RUNS) is None
    # after 2 s they had 0.90, 0.85, 0 (median 0.85): 0.80 is pruned, 0.86 goes on
    assert "best val score 0.800 < median 0.850" in should_prune_time({1000: 0.5, 2000: 0.80}, CHEAP_RUNS)
    assert should_prune_time({1000: 0.5, 2000: 0.86}, CHEAP_RUNS) is None
    # the best score so far counts (early stopping restores the best weights)
    assert should_prune_time({6000: 0.98, 12000: 0.90}, CHEAP_RUNS) is None
    # a peer pruned before 12 s is left out (its score at 12 s is unknown): 2 peers are too few
    pruned_early = [CHEAP_RUNS[0], CHEAP_RUNS[1], ({1000: 0.99}, True)]
    assert should_prune_time({12000: 0.10}, pruned_early) is None
    assert should_prune_time({12000: 0.10}, [*pruned_early, CHEAP_RUNS[2]]) is not None


def _clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(pruning, "time", types.SimpleNamespace(time=lambda: now[0]))
    return now


def test_time_pruner_through_the_epoch_guard(monkeypatch: pytest.MonkeyPatch):
    now = _clock(monkeypatch)
    study = optuna.create_study(direction="maximize", pruner=TimePruner())
    for curve in ([0.90, 0.96, 0.97], [0.85, 0.93, 0.94], [0.88, 0.95, 0.95], [0.99, 0.99, 0.99]):
        t = study.ask()
        guard = EpochGuard(t, "time", None)
        guard.set_costs(1.0, 1000, max_epochs=5)
        for e, acc in enumerate(curve):
            now[0] += 2.0  # 2 s per epoch
            guard(e, {"val_metric": acc})
        # the last one failed the budgets after training: not a peer (with it the median is 0.96)
        t.set_user_attr("state", "rejected" if curve[0] > 0.98 else "feasible")
        study.tell(t, max(curve))
    assert study.trials[0].intermediate_values == {2000: 0.90, 4000: 0.96, 6000: 0.97}
    t = study.ask()
    guard = EpochGuard(t, "time", None)
    assert guard.warmup == 5  # epoch budget not known yet: the former fixed warm-up
    guard.set_costs(1.0, 1000, max_epochs=5)  # warm-up 1 epoch
    now[0] += 10.0
    guard(0, {"val_metric": 0.5})  # below the peers' 0.97, 0.94, 0.95 at 10 s, but in warm-up
    now[0] += 10.0
    with pytest.raises(Pruned) as exc:
        guard(1, {"val_metric": 0.7})
    assert exc.value.reason == (
        "epoch 2: pruned after 20.0 s of training: best val score 0.700 < median 0.950 of 3 earlier "
        "trials after the same training time"
    )
    assert exc.value.curve == [0.5, 0.7]


def test_pareto_warmup_follows_the_budget(monkeypatch: pytest.MonkeyPatch):
    _clock(monkeypatch)
    guard = EpochGuard(None, "pareto", None, CHEAP)
    guard.set_costs(2.0, 2000, max_epochs=20)  # warm-up 4: pruned at the 5th epoch (index 4)
    for e in range(4):
        guard(e, {"val_accuracy": 0.1})
    with pytest.raises(Pruned, match="pruned at epoch 5"):
        guard(4, {"val_accuracy": 0.1})


def _median_study(peer_epochs: int) -> optuna.Study:
    study = optuna.create_study(direction="maximize", pruner=median_pruner())
    for _ in range(5):
        t = study.ask()
        guard = EpochGuard(t, "median", None)
        for e in range(peer_epochs):
            guard(e, {"val_metric": 0.8})
        study.tell(t, 0.8)
    return study


def test_an_extended_trial_past_its_peers_epochs_is_judged_only_where_it_has_peers():
    """A trial still improving trains past the planned epochs (tuner.schedule): past the epochs its
    peers ran, the median rule has nothing to compare it with and lets it go on (no error)."""
    study = _median_study(peer_epochs=8)
    guard = EpochGuard(study.ask(), "median", None)
    guard.set_costs(1.0, 1000, max_epochs=45)  # warm-up 9 epochs: past it, no peer ran that long
    for e in range(24):
        guard(e, {"val_metric": 0.7})
    assert guard.curve == [0.7] * 24
    # the same trial among peers that ran 24 epochs: below their median at epoch 10, pruned
    study = _median_study(peer_epochs=24)
    guard = EpochGuard(study.ask(), "median", None)
    guard.set_costs(1.0, 1000, max_epochs=45)
    with pytest.raises(Pruned, match="pruned at epoch 10: val score 0.700 below the median"):
        for e in range(24):
            guard(e, {"val_metric": 0.7})


def test_time_rule_with_a_trial_longer_than_every_peer():
    """Past the longest peer's training time, the peers count with their best score (they had
    finished): an extended trial is compared with what they reached, no error."""
    peers = [({1000: 0.5, 2000: 0.8}, False)] * 3
    assert should_prune_time({1000: 0.6, 2000: 0.85, 9000: 0.9}, peers) is None
    assert should_prune_time({1000: 0.6, 2000: 0.7, 9000: 0.75}, peers).startswith(
        "pruned after 9.0 s of training: best val score 0.750 < median 0.800 of 3"
    )


def test_a_rule_firing_past_the_planned_epochs_ends_only_the_extension():
    """Past its planned epochs a candidate had its planned training: a pruning rule then ends the
    extension (tuner.schedule.EndExtension: the fit stops, best weights kept), it does not drop it."""
    from tuner.schedule import EndExtension

    peers = [(1.0, 1000, [0.8] * 24)] * 3
    guard = EpochGuard(None, "pareto", None, finished=peers)
    guard.set_costs(2.0, 2000, max_epochs=8)  # planned 8 (warm-up 2)
    for e in range(8):
        guard(e, {"val_metric": 0.9})  # above the cheaper peers' 0.8
    with pytest.raises(EndExtension, match=r"pruned at epoch 9: val score 0.500 < median 0.800"):
        guard(8, {"val_metric": 0.5})
    # within the planned epochs the same rule prunes the candidate
    guard = EpochGuard(None, "pareto", None, finished=peers)
    guard.set_costs(2.0, 2000, max_epochs=8)
    with pytest.raises(Pruned, match=r"pruned at epoch 3: val score 0.500"):
        for e in range(8):
            guard(e, {"val_metric": 0.5})
