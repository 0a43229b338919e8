"""The per-feature standardizer every DSP block ends with (its own module: blocks import it, `_base` imports blocks)."""

from __future__ import annotations

from typing import Any

import numpy as np


def output_ops(n_out: int, standardized: bool = True) -> dict[str, int]:
    """Operations of the last step for `n_out` model inputs, as the generated C does them
    (tuner.deploy): (f - mean) / std when `standardized`, then the int8 quantization
    x / scale + zero_point, two clamp compares and the round-to-even add/subtract of 1.5 * 2^23.
    Image inputs are scaled by v / 255 instead (`standardized=False`): one add fewer."""
    return {"add": (4 if standardized else 3) * n_out, "div": 2 * n_out, "cmp": 2 * n_out}


class Standardizer:
    """Per-feature (last axis) mean/std from the training split: (f - mean) / std per value on the
    device (see `output_ops`)."""

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
