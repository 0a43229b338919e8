from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from tuner.data import Dataset
from tuner.errors import InputError


class Preprocessor(Protocol):
    """Turns raw samples into model inputs; fitted on the training split only."""

    input_shape: tuple[int, ...]

    def fit(self, train: Dataset) -> None: ...

    def transform(self, ds: Dataset) -> tuple[np.ndarray, np.ndarray]: ...

    def cost(self) -> Any:  # tuner.estimate.DspCost
        ...

    def state(self) -> dict[str, Any]: ...

    def load_state(self, state: dict[str, Any]) -> None: ...


class Standardizer:
    """Per-feature (last axis) mean/std from the training split: one add and one mul per value on the
    device, folded into the int8 input quantization in practice but counted anyway."""

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit_features(self, f: np.ndarray) -> None:
        axes = tuple(range(f.ndim - 1))
        self.mean = f.mean(axis=axes).astype(np.float32)
        self.std = np.maximum(f.std(axis=axes), 1e-6).astype(np.float32)

    def apply(self, f: np.ndarray) -> np.ndarray:
        if self.mean is None or self.std is None:
            raise RuntimeError("fit() the preprocessor on the training split first")
        return ((f - self.mean) / self.std).astype(np.float32)

    def state(self) -> dict[str, Any]:
        if self.mean is None or self.std is None:
            raise RuntimeError("fit() the preprocessor on the training split first")
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.mean = np.asarray(state["mean"], dtype=np.float32)
        self.std = np.asarray(state["std"], dtype=np.float32)


def _motion(params: dict[str, Any], ds: Dataset) -> Preprocessor:
    from tuner.preprocess.motion import MotionPreprocessor

    return MotionPreprocessor(params, rate_hz=ds.rate_hz or 50.0, n_channels=ds.x[0].shape[1])


def _audio(params: dict[str, Any], ds: Dataset) -> Preprocessor:
    from tuner.preprocess.audio import AudioPreprocessor

    return AudioPreprocessor(params, source_rate_hz=ds.rate_hz or 16000.0)


def _image(params: dict[str, Any], ds: Dataset) -> Preprocessor:
    from tuner.preprocess.image import ImagePreprocessor

    if isinstance(ds.x, np.ndarray):
        shape = tuple(ds.x.shape[1:])
    else:  # images of different sizes: cost the largest, never underestimate
        shape = (max(im.shape[0] for im in ds.x), max(im.shape[1] for im in ds.x), ds.x[0].shape[2])
    return ImagePreprocessor(params, source_shape=shape)


def _tabular(params: dict[str, Any], ds: Dataset) -> Preprocessor:
    from tuner.preprocess.tabular import TabularPreprocessor

    return TabularPreprocessor(params, n_features=int(np.shape(ds.x)[1]))


# One explicit registry: domain -> preprocessing chain builder.
CHAINS = {"motion": _motion, "audio": _audio, "image": _image, "tabular": _tabular}


def domain_of(ds: Dataset) -> str:
    if ds.kind == "timeseries":
        return str(ds.meta.get("domain", "motion"))
    return ds.kind


def build_preprocessor(params: dict[str, Any], ds: Dataset) -> Preprocessor:
    """The preprocessing chain a candidate asks for, for the kind of data given."""
    domain = domain_of(ds)
    if domain not in CHAINS:
        raise InputError(f"no preprocessing for domain '{domain}'; known: {', '.join(CHAINS)}")
    return CHAINS[domain](params, ds)
