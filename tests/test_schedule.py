"""Training length (tuner.schedule): planned epochs, the epoch cap, and training on past the planned
epochs while still improving on validation (issue 12: "trains each candidate to convergence")."""

from __future__ import annotations

import types

import numpy as np
import pytest

from tuner.budgets import Budgets
from tuner.schedule import CONVERGE_FACTOR, candidate_schedule, extension_callback, still_improving


def test_the_cap_is_the_factor_times_the_planned_epochs_unless_the_epochs_are_explicit():
    assert CONVERGE_FACTOR == 3
    # image space on mnist-5k: 2800 / 32 = 88 steps per epoch, 5 epochs = 440 >= 300 steps: not raised
    image = candidate_schedule({"epochs": 5, "patience": 4, "batch_size": 32}, 2800, None)
    assert (image.epochs, image.patience, image.epoch_cap) == (5, 4, 15)
    # 50 windows: batch 13 (4 steps per epoch), 300 steps = 75 epochs, patience 60 / 4 = 15
    small = candidate_schedule({"epochs": 20, "patience": 6, "batch_size": 32}, 50, None)
    assert (small.batch_size, small.epochs, small.patience, small.epoch_cap) == (13, 75, 15, 225)
    # --epochs / Hyperband's budget: the maximum as given, never extended
    fixed = candidate_schedule({"epochs": 5, "patience": 4, "batch_size": 32}, 2800, 7)
    assert (fixed.epochs, fixed.epoch_cap) == (7, 7)
    assert image.summary == {"batch_size_used": 32, "max_epochs_used": 5, "patience_used": 4, "epoch_cap_used": 15}


def test_still_improving_means_the_best_epoch_is_within_the_last_half_patience():
    # patience 4: the last 2 epochs
    assert still_improving(5, 5, 4) and still_improving(4, 5, 4)
    assert not still_improving(3, 5, 4)
    # patience 1 (or 0): only the last epoch
    assert still_improving(5, 5, 1) and not still_improving(4, 5, 1)
    assert still_improving(5, 5, 0) and not still_improving(4, 5, 0)
    # patience 15 (small motion set): the last 7
    assert still_improving(69, 75, 15) and not still_improving(68, 75, 15)


class _Clock:
    """time.perf_counter that advances `step` seconds per call after the first."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        return self.now

    def tick(self) -> None:
        self.now += self.step


def _drive(plan, scores, limit=None, epoch_s=1.0, monkeypatch=None):
    """Run the extension callback over scripted val_score values (one epoch each, `epoch_s` seconds
    apart); the epochs done when it stopped the fit (or all of them) and why."""
    clock = _Clock(epoch_s)
    monkeypatch.setattr("time.perf_counter", clock)
    cb = extension_callback(plan, limit)
    cb.set_model(types.SimpleNamespace(stop_training=False))
    cb.on_train_begin()
    for epoch, value in enumerate(scores[: plan.epoch_cap]):
        clock.tick()
        cb.on_epoch_end(epoch, {"val_score": value})
        if cb.model.stop_training:
            return epoch + 1, cb.stopped_by
    return min(len(scores), plan.epoch_cap), cb.stopped_by


def test_the_callback_stops_at_the_planned_epochs_unless_still_improving(monkeypatch):
    plan = candidate_schedule({"epochs": 5, "patience": 4, "batch_size": 32}, 2800, None)  # 5 planned, cap 15
    rising = [0.1 * i for i in range(1, 31)]
    assert _drive(plan, rising, monkeypatch=monkeypatch) == (15, "")  # to the cap (the fit's epochs)
    # best at epoch 3 of 5 (2 epochs ago, not within the last 2): converged, stopped at 5
    assert _drive(plan, [0.1, 0.2, 0.5, 0.4, 0.5] + rising, monkeypatch=monkeypatch) == (5, "converged")
    # best at epoch 4 of 5 (a tie at 5 is no improvement): extended
    assert _drive(plan, [0.1, 0.2, 0.3, 0.5, 0.5] + [0.4] * 10, monkeypatch=monkeypatch) == (15, "")
    # NaN scores never count as an improvement
    assert _drive(plan, [0.1, 0.5, 0.2, float("nan"), float("nan")], monkeypatch=monkeypatch) == (5, "converged")
    # explicit epochs: the fit is of the planned epochs, the callback never stops it
    fixed = candidate_schedule({"epochs": 5, "patience": 4, "batch_size": 32}, 2800, 5)
    assert _drive(fixed, [0.1, 0.5, 0.2, 0.2, 0.2], monkeypatch=monkeypatch) == (5, "")


def test_the_extension_stops_before_the_next_epoch_would_pass_the_time_limit(monkeypatch):
    plan = candidate_schedule({"epochs": 5, "patience": 4, "batch_size": 32}, 2800, None)
    rising = [0.1 * i for i in range(1, 31)]
    # 1 s per epoch, 7.5 s: after 7 epochs (7 s) an 8th would end at 8 s > 7.5 s
    assert _drive(plan, rising, limit=7.5, monkeypatch=monkeypatch) == (7, "time limit")
    # 8.0 s: the 8th ends at 8 s, not past it
    assert _drive(plan, rising, limit=8.0, monkeypatch=monkeypatch) == (8, "time limit")
    # the planned epochs are never cut by it (the pre-check's gate judges them)
    assert _drive(plan, rising, limit=2.0, monkeypatch=monkeypatch) == (5, "time limit")


@pytest.fixture(scope="module")
def separable():
    """Two classes apart by a margin in 8 dimensions: 2000 to train, 400 to validate."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2400, 8)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    x[:, 0] += np.where(y == 1, 0.5, -0.5)
    return x[:2000], y[:2000], x[2000:], y[2000:]


def _model():
    from tuner.models import build_model

    return build_model({"family": "dense", "layers": 1, "units1": 8, "dropout": 0.0}, (8,), 2, seed=0)


# 2000 / 32 = 63 steps per epoch: 5 epochs are 315 >= 300 steps, so 5 stay the planned epochs
SLOW = {"epochs": 5, "patience": 4, "batch_size": 32, "learning_rate": 3e-4}


def test_a_model_still_improving_at_the_planned_epochs_is_extended(separable):
    from tuner.train import train

    x, y, xv, yv = separable
    r = train(_model(), x, y, xv, yv, SLOW, seed=0)
    assert r.plan == {"batch_size_used": 32, "max_epochs_used": 5, "patience_used": 4, "epoch_cap_used": 15}
    # at a small learning rate the validation loss still falls every epoch at epoch 5
    assert still_improving(int(np.argmax(r.history["val_score"][:5])) + 1, 5, 4)
    assert 5 < r.epochs_run <= 15
    assert r.extended_epochs == r.epochs_run - 5
    assert len(r.history["val_score"]) == r.epochs_run
    assert max(r.history["val_score"][5:]) > max(r.history["val_score"][:5])  # the extension gained


def test_a_plateaued_model_is_not_extended(separable):
    from tuner.train import train

    x, y, xv, yv = separable
    # learning rate 0: validation is flat from the first epoch (best = epoch 1), not improving at 5
    r = train(_model(), x, y, xv, yv, {**SLOW, "learning_rate": 0.0}, seed=0)
    assert len(set(r.history["val_score"])) == 1
    assert (r.epochs_run, r.best_epoch, r.extended_epochs) == (5, 1, 0)


def test_explicit_epochs_are_never_extended(separable):
    from tuner.train import train

    x, y, xv, yv = separable
    r = train(_model(), x, y, xv, yv, SLOW, seed=0, epochs=5)  # as --epochs 5 / Hyperband's budget
    assert r.plan["epoch_cap_used"] == 5
    assert (r.epochs_run, r.extended_epochs) == (5, 0)
    assert r.best_epoch == 5  # the same model the extension test trains on: still improving at 5


def test_without_validation_it_trains_exactly_the_epochs_given(separable):
    """Folds 2..K: fold 1's best epoch, no per-epoch validation, no early stopping (pipeline.fold_score)."""
    from tuner.train import train

    x, y, xv, yv = separable
    flat = {**SLOW, "learning_rate": 0.0, "patience": 1}  # validation flat from epoch 1
    assert train(_model(), x, y, xv, yv, flat, seed=0, epochs=7).epochs_run == 2  # patience stops it
    r = train(_model(), x, y, xv, yv, flat, seed=0, epochs=7, validate=False)
    assert (r.epochs_run, r.best_epoch, r.extended_epochs) == (7, 7, 0)
    assert "val_loss" not in r.history and len(r.history["loss"]) == 7
    with pytest.raises(ValueError, match="needs `epochs`"):
        train(_model(), x, y, xv, yv, SLOW, seed=0, validate=False)


def test_the_time_limit_stops_an_extension_of_real_training(separable):
    from tuner.train import train

    x, y, xv, yv = separable
    # a limit already passed at the planned epochs: no extension, the planned epochs all run
    r = train(_model(), x, y, xv, yv, SLOW, seed=0, seconds_limit=1e-3)
    assert (r.epochs_run, r.extended_epochs, r.extension_stopped_by) == (5, 0, "time limit")


def test_a_pruning_hook_in_the_extension_ends_it_and_keeps_the_best_weights(separable):
    from tuner.schedule import EndExtension
    from tuner.train import train

    x, y, xv, yv = separable

    def hook(epoch: int, logs: dict) -> None:
        if epoch == 6:  # the 7th epoch, the 2nd beyond the planned 5
            raise EndExtension("pruned at epoch 7: below the median")

    m = _model()
    r = train(m, x, y, xv, yv, SLOW, seed=0, on_epoch=hook)
    assert (r.epochs_run, r.extended_epochs, r.extension_stopped_by) == (7, 2, "pruned at epoch 7: below the median")
    acc = float((m.predict(xv, verbose=0).argmax(1) == yv).mean())
    assert acc == pytest.approx(r.history["val_accuracy"][r.best_epoch - 1], abs=1e-6)  # best weights restored


def test_the_time_limit_is_shared_by_the_validation_draws():
    from tuner.pipeline import fit_seconds_limit

    three_draws = types.SimpleNamespace(budgets=Budgets(train_seconds=60.0), folds=[object(), object()])
    assert fit_seconds_limit(three_draws) == 20.0
    assert fit_seconds_limit(types.SimpleNamespace(budgets=Budgets(train_seconds=60.0), folds=[])) == 60.0
    assert fit_seconds_limit(types.SimpleNamespace(budgets=Budgets(), folds=[])) is None
