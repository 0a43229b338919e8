"""Small and imbalanced data: training schedule, metrics (vs scikit-learn), class weights, repeated
validation draws, one evaluation hop for every candidate. Nothing here trains a model."""

from __future__ import annotations

import numpy as np
import pytest

from tuner.data import Dataset, resplit, split
from tuner.metrics import balanced_class_weights, confusion, recalls, scores
from tuner.schedule import schedule


def test_schedule_gives_small_data_enough_steps_and_patience() -> None:
    # 50 windows: batch min(32, max(8, ceil(50/4)=13)) = 13 -> 4 steps/epoch -> 75 epochs, patience 15
    assert schedule(50, 32, 20, 6) == schedule(50, 32, 20, 6)
    s = schedule(50, 32, 20, 6)
    assert (s.batch_size, s.epochs, s.patience) == (13, 75, 15)
    # 5 samples: one batch of 5 per epoch; 300 steps capped at 300 epochs (cap 500)
    assert (schedule(5, 32, 20, 6).batch_size, schedule(5, 32, 20, 6).epochs) == (5, 300)
    # plenty of data: unchanged (3200 samples = 100 steps/epoch x 20 epochs)
    big = schedule(3200, 32, 20, 6)
    assert (big.batch_size, big.epochs, big.patience) == (32, 20, 6)
    # explicit --epochs is the user's maximum: kept
    assert schedule(50, 32, 8, 6, fixed_epochs=True).epochs == 8


def test_metrics_match_scikit_learn() -> None:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    rng = np.random.default_rng(0)
    y = rng.choice(4, 200, p=[0.7, 0.2, 0.08, 0.02])
    pred = np.where(rng.random(200) < 0.7, y, rng.integers(0, 4, 200))
    pred[pred == 3] = 0  # class 3 never predicted: its F1 is 0
    got = scores(confusion(y, pred, 5))  # class 4 neither true nor predicted: ignored
    assert got["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert got["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert got["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))


def test_majority_guess_scores_high_accuracy_but_low_balanced_metrics() -> None:
    y = np.array([0] * 60 + [1] * 12 + [2] * 8)
    cm = confusion(y, np.zeros_like(y), 3)
    got = scores(cm)
    assert got["accuracy"] == pytest.approx(0.75)
    assert got["balanced_accuracy"] == pytest.approx(1 / 3)
    assert got["macro_f1"] == pytest.approx((2 * 60 / (60 + 80)) / 3)  # F1 of class 0, zero for 1 and 2
    assert recalls(cm) == [1.0, 0.0, 0.0]


def test_balanced_class_weights_only_when_imbalanced() -> None:
    w = balanced_class_weights(np.array([0] * 60 + [1] * 12 + [2] * 8), 3)
    assert w == pytest.approx({0: 80 / 180, 1: 80 / 36, 2: 80 / 24})
    assert balanced_class_weights(np.array([0] * 10 + [1] * 9), 2) is None  # 10/9 < 1.5


def _recordings(n: int = 40, groups: bool = False) -> Dataset:
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(100, 2)).astype(np.float32) for _ in range(n)]
    g = np.array([f"s{i % 7}" for i in range(n)]) if groups else None  # every subject: both classes
    return Dataset("timeseries", x, np.arange(n) % 2, ("a", "b"), g, 50.0, source="t")


@pytest.mark.parametrize("groups", [False, True])
def test_repeated_draws_keep_the_test_split_out_and_differ(groups: bool) -> None:
    tr, va, te = split(_recordings(groups=groups), seed=0)
    ids = {id(a) for a in te.x}
    draws = [resplit(tr, va, seed=s) for s in (1000, 2000)]
    for t2, v2 in draws:
        assert len(t2) + len(v2) == len(tr) + len(va)
        assert not ({id(a) for a in t2.x} | {id(a) for a in v2.x}) & ids  # test never in a draw
        assert set(np.unique(v2.y)) == {0, 1}
        if groups:
            assert not set(t2.groups) & set(v2.groups)  # subjects stay apart


@pytest.mark.parametrize("groups", [False, True])
def test_small_validation_is_repeated_on_distinct_draws(groups: bool) -> None:
    from tuner.budgets import Budgets
    from tuner.pipeline import Problem

    tr, va, te = split(_recordings(groups=groups), seed=0)
    p = Problem("t", tr, va, te, None, Budgets()).configure()
    assert len(va) < 20 and len(p.folds) == 2
    vals = [frozenset(id(a) for a in v.x) for v in [va] + [f.val for f in p.folds]]
    assert len(set(vals)) == 3
    assert all(f.test is te for f in p.folds)
    assert p.validation_note.startswith("3 repeated validation splits")
    assert Problem("t", tr, va, te, None, Budgets()).configure(repeats=1).folds == []


def test_validation_and_test_windows_use_one_hop_for_every_stride() -> None:
    from tuner.preprocess.motion import MotionPreprocessor

    ds = _recordings(4)
    sizes = {}
    for stride in (250, 500, 1000):
        pre = MotionPreprocessor({"window_ms": 1000, "stride_ms": stride, "dsp": "raw"}, 50.0, 2)
        pre.fit(ds)
        sizes[stride] = (len(pre.transform_train(ds)[0]), len(pre.transform(ds)[0]))
    # 100 samples, windows of 50, per recording: (100 - 50) // hop + 1 windows; 250 ms = 12 samples
    # (12.5 rounds to even) -> 5, 500 ms = 25 -> 3, 1000 ms = 50 -> 2; evaluation always every 12 -> 5
    assert sizes == {250: (20, 20), 500: (12, 20), 1000: (8, 20)}
