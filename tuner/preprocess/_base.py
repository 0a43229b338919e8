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
