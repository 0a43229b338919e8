"""Bundled demo data sets: real recordings that ship inside PyPI wheels, loaded by path, offline."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from tuner.data._dataset import Dataset
from tuner.errors import InputError


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # locates without importing the package's code
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"the demo data needs the '{name}' package; run `pip install {name}`")
    return Path(next(iter(spec.submodule_search_locations)))


def load_seglearn_watch() -> Dataset:
    """Smartwatch exercise recordings (Burns et al. 2018) shipped in the seglearn wheel (BSD-3-Clause).

    140 recordings of 6 axes (accelerometer + gyroscope) at 50 Hz, 7 shoulder-rehab exercises,
    10 subjects. The file is a pickled dict; it comes from a trusted, pinned package.
    """
    path = _package_dir("seglearn") / "data" / "watch_dataset.npy"
    if not path.exists():
        raise InputError(f"{path} is missing; reinstall seglearn==1.2.5")
    d = np.load(path, allow_pickle=True).item()
    return Dataset(
        kind="timeseries",
        x=[np.asarray(r, dtype=np.float32) for r in d["X"]],
        y=np.asarray(d["y"], dtype=np.int64),
        class_names=tuple(d["y_labels"]),
        groups=np.asarray(d["subject"]),
        rate_hz=50.0,
        channel_names=tuple(d["X_labels"]),
        source="seglearn-watch (smartwatch exercises, seglearn 1.2.5, BSD-3-Clause)",
    )
