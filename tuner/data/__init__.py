"""Datasets: loaders (bundled demo sets and the user's own files) and seeded, grouped splits.

A `Dataset` holds raw samples before preprocessing: whole recordings for time series (motion,
audio; windowing is a preprocessing parameter, applied after the split so no window leaks across
it), images, or tabular rows.
"""

from __future__ import annotations

from tuner.data._dataset import Dataset, cv_folds, split
from tuner.data._registry import BUNDLED, data_domain, load_data

__all__ = ["BUNDLED", "Dataset", "cv_folds", "data_domain", "load_data", "split"]
