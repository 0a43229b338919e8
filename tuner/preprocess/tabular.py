"""Tabular rows (wide CSV/parquet): per-feature standardization only."""

from __future__ import annotations

from typing import Any

import numpy as np

from tuner.data import Dataset
from tuner.preprocess._standardize import Standardizer


class TabularPreprocessor:
    def __init__(self, params: dict[str, Any], n_features: int) -> None:
        self.input_shape: tuple[int, ...] = (n_features,)
        self.scaler = Standardizer()

    def fit(self, train: Dataset) -> None:
        self.scaler.fit_features(np.asarray(train.x, dtype=np.float32))

    def transform(self, ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
        return self.scaler.apply(np.asarray(ds.x, dtype=np.float32)), ds.y

    def state(self) -> dict[str, Any]:
        return self.scaler.state()

    def load_state(self, state: dict[str, Any]) -> None:
        self.scaler.load_state(state)

    def cost(self) -> Any:
        """Standardize + quantize per feature (`output_ops`, as the generated C); the feature vector as floats."""
        from tuner.estimate import DspCost
        from tuner.preprocess._standardize import output_ops

        n = self.input_shape[0]
        return DspCost(ops=output_ops(n), buffer_bytes=4 * n, name="tabular-standardize")
