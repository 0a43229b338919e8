"""The user's own data from a path. The loader is picked from what the path holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tuner.data._dataset import Dataset
from tuner.errors import InputError


def load_npz(path: Path) -> Dataset:
    """NPZ with `x` (samples, ...) and `y` (labels); optional `groups`, `class_names`, `rate_hz`.

    `x` of rank 3 (samples, time, channels) is treated as time series when `rate_hz` is given.
    """
    try:
        z = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise InputError(f"{path}: cannot read as .npz ({type(exc).__name__}); save with numpy.savez") from None
    if "x" not in z or "y" not in z:
        raise InputError(f"{path}: an .npz needs arrays named 'x' and 'y'; found {sorted(z.files)}")
    x, y_raw = z["x"].astype(np.float32), z["y"]
    names, y = np.unique(y_raw, return_inverse=True)
    names = tuple(str(n) for n in (z["class_names"] if "class_names" in z else names))
    groups = z["groups"] if "groups" in z else None
    rate = float(z["rate_hz"]) if "rate_hz" in z else None
    if x.ndim == 3 and rate:
        return Dataset("timeseries", list(x), y, names, groups, rate, source=str(path))
    kind = "image" if x.ndim in (3, 4) else "tabular"
    if kind == "image" and x.ndim == 3:
        x = x[..., None]
    return Dataset(kind, x, y, names, groups, source=str(path))


def load_path(path: Path) -> Dataset:
    if path.is_file() and path.suffix == ".npz":
        return load_npz(path)
    raise InputError(f"{path}: unsupported data format; use an .npz with 'x' and 'y' arrays")
