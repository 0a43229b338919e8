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


def build_preprocessor(params: dict[str, Any], ds: Dataset) -> Preprocessor:
    """The preprocessing chain a candidate asks for, for the kind of data given."""
    if ds.kind == "timeseries" and ds.meta.get("domain", "motion") == "motion":
        from tuner.preprocess.motion import MotionPreprocessor

        return MotionPreprocessor(params, rate_hz=ds.rate_hz or 50.0, n_channels=ds.x[0].shape[1])
    raise InputError(f"no preprocessing for {ds.kind} data yet; use motion time series")
