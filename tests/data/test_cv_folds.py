"""Cross-validation folds over the pool (tuner.data.cv_folds): a partition of train + validation by
unit (subject, else sample), the test split never in it, class coverage, the fold-count rule, 1-2
unit classes, determinism by seed. Nothing here trains a model."""

from __future__ import annotations

import numpy as np
import pytest

from tuner.data import Dataset, cv_folds, split


def _data(y: list[int], groups: list[str] | None = None, n_classes: int | None = None) -> Dataset:
    """One tiny recording per sample whose first value is its index: samples are recognisable."""
    x = [np.full((4, 1), i, dtype=np.float32) for i in range(len(y))]
    names = tuple(f"c{c}" for c in range(n_classes or max(y) + 1))
    g = None if groups is None else np.array(groups)
    return Dataset("timeseries", x, np.array(y), names, g, 50.0, source="t")


def _ids(ds: Dataset) -> list[int]:
    return [int(a[0, 0]) for a in ds.x]


def _check_partition(train: Dataset, val: Dataset, folds: list[tuple[Dataset, Dataset]]) -> None:
    pool = sorted(_ids(train) + _ids(val))
    validated = sorted(i for _, v in folds for i in _ids(v))
    assert validated == pool  # every pool sample validated exactly once
    for t, v in folds:
        assert not set(_ids(t)) & set(_ids(v))  # train and validation disjoint
        assert sorted(_ids(t) + _ids(v)) == pool  # each fold uses the whole pool
        if t.groups is not None:
            assert not set(t.groups) & set(v.groups)  # subjects stay apart


def test_ungrouped_folds_are_a_stratified_partition_of_the_pool_without_the_test_split() -> None:
    y = [i % 3 for i in range(60)]  # 20 per class
    train, val, test = split(_data(y), seed=0)  # test 18, pool 42: 14 per class
    folds = cv_folds(train, val, 5, seed=0)
    assert len(folds) == 5
    _check_partition(train, val, folds)
    test_ids = set(_ids(test))
    assert all(not test_ids & (set(_ids(t)) | set(_ids(v))) for t, v in folds)
    # 14 per class over 5 folds: 2 or 3 of each class in every validation fold, 11-12 in training
    for t, v in folds:
        assert set(np.bincount(v.y, minlength=3)) <= {2, 3}
        assert set(np.bincount(t.y, minlength=3)) <= {11, 12}
    assert sorted(len(v) for _, v in folds) == [8, 8, 8, 9, 9]
    assert len(folds[0][1]) == 8  # fold 1: the smallest validation fold (most training data)


def test_grouped_folds_hold_whole_subjects_and_every_class_in_validation() -> None:
    # 10 subjects, each with one sample of each of 2 classes (20 samples)
    y = [0, 1] * 10
    groups = [f"s{i // 2}" for i in range(20)]
    ds = _data(y, groups)
    train, val = ds.subset(np.arange(16)), ds.subset(np.arange(16, 20))  # pool: 10 subjects
    folds = cv_folds(train, val, 5, seed=3)
    assert len(folds) == 5
    _check_partition(train, val, folds)
    for t, v in folds:
        assert len(set(v.groups)) == 2 and list(np.bincount(v.y)) == [2, 2]
        assert list(np.bincount(t.y)) == [8, 8]


def test_fewer_folds_when_a_class_has_fewer_units_than_k() -> None:
    # class 2 has 3 samples: at most 3 folds can each hold it, so k = 3 (rule: the least spread
    # class with 3+ units); class 1 with 20 samples does not limit it
    y = [0] * 20 + [1] * 20 + [2] * 3
    ds = _data(y)
    folds = cv_folds(ds.subset(np.arange(30)), ds.subset(np.arange(30, 43)), 5, seed=0)
    assert len(folds) == 3
    for t, v in folds:
        assert list(np.bincount(v.y, minlength=3))[2] == 1 and list(np.bincount(t.y, minlength=3))[2] == 2
    # never more folds than units: 4 samples (2 per class, no class limits k) -> 4 folds of one
    # sample, each training on the other sample of its class
    four = _data([0, 1, 0, 1])
    folds = cv_folds(four.subset(np.arange(2)), four.subset(np.arange(2, 4)), 5, seed=0)
    assert len(folds) == 4 and all(len(v) == 1 and set(t.y) == {0, 1} for t, v in folds)
    one = _data([0, 1])
    assert cv_folds(one.subset(np.array([0])), one.subset(np.array([1])), 1, seed=0) == []


def test_one_and_two_unit_classes_do_not_crash_and_stay_out_of_fold_1_training_gaps() -> None:
    # class 1: a single sample; class 2: two samples; class 0: 20
    y = [0] * 20 + [1] + [2] * 2
    ds = _data(y)
    train, val = ds.subset(np.arange(18)), ds.subset(np.arange(18, 23))
    for seed in range(10):
        folds = cv_folds(train, val, 5, seed=seed)
        assert len(folds) == 5
        _check_partition(train, val, folds)
        # fold 1 (the exported model's) trains on every class: the 1-unit class is validated elsewhere
        assert set(folds[0][0].y) == {0, 1, 2}
        assert sum(1 in v.y for _, v in folds) == 1  # validated once, in a fold whose model never saw it
        # the 2-unit class sits in two different folds, so every fold trains on it
        assert sum(2 in v.y for _, v in folds) == 2
        assert all(2 in t.y for t, _ in folds)


def test_fold_1_trains_on_every_class_even_with_more_single_sample_classes_than_folds() -> None:
    y = [0] * 20 + [1, 2, 3, 4, 5, 6]
    ds = _data(y)
    folds = cv_folds(ds.subset(np.arange(20)), ds.subset(np.arange(20, 26)), 5, seed=0)
    assert len(folds) == 5
    assert set(folds[0][0].y) == set(range(7)) and set(folds[0][1].y) == {0}
    assert sorted(c for _, v in folds[1:] for c in v.y if c) == [1, 2, 3, 4, 5, 6]


def test_grouped_one_subject_class_is_handled() -> None:
    # 6 subjects with classes 0 and 1; class 2 only in subject s5
    y = [0, 1] * 6 + [2]
    groups = [f"s{i // 2}" for i in range(12)] + ["s5"]
    ds = _data(y, groups)
    train, val = ds.subset(np.arange(9)), ds.subset(np.arange(9, 13))
    folds = cv_folds(train, val, 5, seed=0)
    assert len(folds) == 5  # 6 subjects, classes 0 and 1 in all 6
    _check_partition(train, val, folds)
    assert 2 in folds[0][0].y and 2 not in folds[0][1].y


def test_folds_are_deterministic_by_seed() -> None:
    y = [i % 2 for i in range(40)]
    groups = [f"s{i % 8}" for i in range(40)]
    ds = _data(y, groups)
    train, val = ds.subset(np.arange(30)), ds.subset(np.arange(30, 40))

    def fold_groups(seed: int) -> list[list[str]]:
        return [sorted(set(v.groups)) for _, v in cv_folds(train, val, 5, seed=seed)]

    assert fold_groups(0) == fold_groups(0)
    assert any(fold_groups(s) != fold_groups(0) for s in range(1, 6))


@pytest.mark.parametrize("seed", range(5))
def test_small_imbalanced_grouped_pools_always_give_a_valid_partition(seed: int) -> None:
    """Random small pools (5-9 subjects, 4 classes of very different sizes): never a crash, a
    partition, every class with 2+ units in every fold's training side."""
    rng = np.random.default_rng(seed)
    n_subjects = int(rng.integers(5, 10))
    y, groups = [], []
    for s in range(n_subjects):
        for c, p in enumerate((1.0, 0.9, 0.4, 0.15)):
            for _ in range(int(rng.random() < p) * int(rng.integers(1, 3))):
                y.append(c)
                groups.append(f"s{s}")
    y[0] = 3  # class 3 exists
    ds = _data(y, groups, n_classes=4)
    cut = len(y) * 3 // 4
    train, val = ds.subset(np.arange(cut)), ds.subset(np.arange(cut, len(y)))
    folds = cv_folds(train, val, 5, seed=seed)
    assert 2 <= len(folds) <= 5
    _check_partition(train, val, folds)
    pool = np.array(groups)
    for c in range(4):
        units = len(set(pool[np.array(y) == c]))
        if units >= 2:
            assert all(c in t.y for t, _ in folds)
        if units >= 3:
            assert all(c in v.y for _, v in folds)
