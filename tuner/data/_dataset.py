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


def resplit(train: Dataset, val: Dataset, seed: int, val_fraction: float = 0.2) -> tuple[Dataset, Dataset]:
    """Another seeded train/validation draw from the same pool (train + validation): repeated
    validation for small data. The test split is not part of the pool."""
    pool = concat(train, val)
    mask = _validation_mask(pool, val_fraction, np.random.default_rng(seed))
    return pool.subset(np.flatnonzero(~mask)), pool.subset(np.flatnonzero(mask))
