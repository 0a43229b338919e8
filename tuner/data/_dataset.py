from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from tuner.errors import InputError

log = logging.getLogger("tuner.data")

Kind = Literal["timeseries", "image", "tabular"]


@dataclass(frozen=True)
class Dataset:
    """Raw samples and labels.

    `timeseries`: `x` is a list of (time, channels) float recordings, `rate_hz` their rate and
    `meta["domain"]` "motion" or "audio" (set by the loader or the search space). `image`: `x` is a
    (n, h, w, c) uint8 array, or a list of (h, w, c) arrays of different sizes. `tabular`: (n, features).
    """

    kind: Kind
    x: list[np.ndarray] | np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    groups: np.ndarray | None = None  # subject/group id per sample: splits keep groups apart
    rate_hz: float | None = None  # sampling rate of time series
    channel_names: tuple[str, ...] = ()
    source: str = ""
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> Dataset:
        x = [self.x[i] for i in idx] if isinstance(self.x, list) else self.x[idx]
        groups = None if self.groups is None else self.groups[idx]
        return replace(self, x=x, y=self.y[idx], groups=groups)

    def check(self) -> None:
        """Refuse data no model can learn from, with the fix in the message."""
        if len(self.y) == 0:
            raise InputError(f"{self.source}: no samples found; check the path and the file format")
        counts = np.bincount(self.y, minlength=len(self.class_names))
        if (counts > 0).sum() < 2:
            raise InputError(f"{self.source}: only one class ({self.class_names[0]}); a classifier needs >= 2")
        lonely = [self.class_names[i] for i, c in enumerate(counts) if c == 1]
        if lonely:
            raise InputError(f"{self.source}: class '{lonely[0]}' has a single sample; add samples or drop it")
        if isinstance(self.x, list):
            bad = next((i for i, a in enumerate(self.x) if not np.isfinite(a).all()), None)
        else:
            finite = np.isfinite(self.x.reshape(len(self.x), -1)).all(axis=1)
            bad = None if finite.all() else int(np.flatnonzero(~finite)[0])
        if bad is not None:
            raise InputError(
                f"{self.source}: data contains NaN or inf values (first in sample {bad}, class "
                f"'{self.class_names[self.y[bad]]}'); clean or impute them first"
            )
        if isinstance(self.x, list):
            empty = next((i for i, a in enumerate(self.x) if len(a) == 0), None)
            if empty is not None:
                raise InputError(f"{self.source}: sample {empty} is empty; drop it or add its data")


def _group_split(
    groups: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.Generator, tries: int = 20
) -> np.ndarray | None:
    """Boolean mask of held-out samples: whole groups, about `fraction` of them. Draws again (up to
    `tries` times) until the kept samples still hold every class; None if no draw does."""
    uniq = np.unique(groups)
    n_out = max(1, int(round(len(uniq) * fraction)))
    if n_out >= len(uniq):
        raise InputError(f"only {len(uniq)} groups/subjects: too few to hold whole groups out; add data")
    classes = np.unique(y)
    for _ in range(tries):
        mask = np.isin(groups, rng.choice(uniq, size=n_out, replace=False))
        if len(np.unique(y[~mask])) == len(classes):
            return mask
    return None


def _stratified_mask(y: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        n_out = int(round(len(idx) * fraction))
        n_out = min(max(n_out, 1 if len(idx) > 1 else 0), len(idx) - 1)
        mask[idx[:n_out]] = True
    return mask


def split(
    ds: Dataset, seed: int = 0, test_fraction: float = 0.3, val_fraction: float = 0.2
) -> tuple[Dataset, Dataset, Dataset]:
    """Seeded train/validation/test split.

    With groups (subjects, speakers, files), the test split holds whole subjects out, and so does
    validation when at least 3 training subjects remain: no subject is in two splits, so early
    stopping and ranking do not reward memorizing a person (validation from the training subjects
    overstates test accuracy by 0.04-0.07 on the motion demo). With fewer groups, or none, splits
    are stratified by class (whole recordings for time series: windows are cut after the split).
    """
    ds.check()
    rng = np.random.default_rng(seed)
    grouped = ds.groups is not None and len(np.unique(ds.groups)) >= 3
    test = _group_split(ds.groups, ds.y, test_fraction, rng) if grouped else None
    if grouped and test is None:
        log.warning("%s: no split by subject keeps every class in training; splitting by sample", ds.source)
    if test is None:
        test = _stratified_mask(ds.y, test_fraction, rng)
    rest = np.flatnonzero(~test)
    val_rel = _validation_mask(ds.subset(rest), val_fraction, rng)
    train_idx, val_idx, test_idx = rest[~val_rel], rest[val_rel], np.flatnonzero(test)
    if min(len(train_idx), len(val_idx), len(test_idx)) == 0:
        raise InputError(f"{ds.source}: too few samples ({len(ds)}) to split into train/validation/test")
    return ds.subset(train_idx), ds.subset(val_idx), ds.subset(test_idx)


def _validation_mask(pool: Dataset, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Held-out validation samples of `pool`: whole groups when >= 3 remain, else stratified by class."""
    mask = None
    if pool.groups is not None and len(np.unique(pool.groups)) >= 3:
        mask = _group_split(pool.groups, pool.y, fraction, rng)
    return _stratified_mask(pool.y, fraction, rng) if mask is None else mask


def concat(a: Dataset, b: Dataset) -> Dataset:
    """Samples of `a` then `b` (two splits of one data set)."""
    x = list(a.x) + list(b.x) if isinstance(a.x, list) or isinstance(b.x, list) else np.concatenate([a.x, b.x])
    groups = None if a.groups is None or b.groups is None else np.concatenate([a.groups, b.groups])
    return replace(a, x=x, y=np.concatenate([a.y, b.y]), groups=groups)


def cv_folds(train: Dataset, val: Dataset, k: int, seed: int) -> list[tuple[Dataset, Dataset]]:
    """Grouped, stratified k-fold cross-validation over the pool (train + validation; the test split
    is not part of it): (train, validation) per fold, every unit in exactly one validation fold.

    Units are whole subjects when the pool has at least 3 (as `split` holds them out), else samples
    (whole recordings for time series). Fewer folds than `k` when the pool is too small for `k`
    folds holding every class: at most as many folds as units, and at most as many as the units of
    the least spread class that has 3 or more. Classes with 1-2 units cannot be in every fold: a
    2-unit class is in two folds (and in every fold's training side); a 1-unit class is validated
    once, never in fold 1 (the fold the exported model trains on), by a model that did not see it.
    Folds are balanced per class (greedy, rarest classes first, seeded order); fold 1 is the
    smallest validation fold (most training data). [] when fewer than 2 folds are possible.
    """
    pool = concat(train, val)
    grouped = pool.groups is not None and len(np.unique(pool.groups)) >= 3
    unit_of = np.unique(pool.groups, return_inverse=True)[1] if grouped else np.arange(len(pool))
    n_units, n_classes = int(unit_of.max()) + 1, len(pool.class_names)
    counts = np.zeros((n_units, n_classes))
    np.add.at(counts, (unit_of, pool.y), 1)
    has = counts > 0
    spread = has.sum(axis=0)  # units per class
    wide = spread[spread >= 3]
    k = min(k, n_units, int(wide.min()) if len(wide) else k)
    if k < 2:
        return []
    share = counts / np.maximum(counts.sum(axis=0), 1)  # a unit's share of each class
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_units)
    rarity = np.array([spread[h].min() for h in has])
    order = order[np.argsort(rarity[order], kind="stable")]  # rarest classes first, while folds are open
    fold_share, fold_units, fold_size = np.zeros((k, n_classes)), np.zeros((k, n_classes)), np.zeros(k)
    fold_of = np.empty(n_units, dtype=int)
    for u in order:
        single = bool((spread[has[u]] == 1).any())
        allowed = [f for f in range(k) if not (single and f == 0)]
        # a fold holding every unit of a class with 2+ units would train a model that never saw it
        ok = [f for f in allowed if not (has[u] & (spread >= 2) & (fold_units[f] + 1 >= spread)).any()]
        target = 1.0 / k
        cost = [
            (float(((fold_share[f] + share[u] - target) ** 2 - (fold_share[f] - target) ** 2).sum()), fold_size[f], f)
            for f in (ok or allowed)
        ]
        f = min(cost)[2]
        fold_of[u] = f
        fold_share[f] += share[u]
        fold_units[f] += has[u]
        fold_size[f] += counts[u].sum()
    # fold 1: the smallest validation fold without a 1-unit class, so the exported model trains on the most data
    lonely = [bool(has[fold_of == f][:, spread == 1].any()) for f in range(k)]
    folds = []
    for f in sorted(range(k), key=lambda f: (lonely[f], fold_size[f], f)):
        mask = fold_of[unit_of] == f
        if mask.any():
            folds.append((pool.subset(np.flatnonzero(~mask)), pool.subset(np.flatnonzero(mask))))
    return folds if len(folds) >= 2 else []
