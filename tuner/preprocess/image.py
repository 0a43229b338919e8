"""Image DSP: bilinear resize to a square resolution, RGB or grayscale, scale to [0, 1].

The resize is the one the device runs (half-pixel centres, as TF `resize(bilinear)` and OpenCV
`INTER_LINEAR`), so training sees exactly what the device computes. Aspect ratio is not kept
("squash"), as Edge Impulse's default.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tuner.data import Dataset
from tuner.errors import InputError

COLORS = ("grayscale", "rgb")
GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601 luma


def bilinear_axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices (lo, hi) and weight of hi for each output coordinate (half-pixel centres)."""
    pos = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    pos = np.clip(pos, 0.0, n_in - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (pos - lo).astype(np.float32)


def resize_bilinear(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """(n, h, w, c) -> (n, height, width, c) float32, bilinear with half-pixel centres."""
    x = np.asarray(x, dtype=np.float32)
    n, h, w, c = x.shape
    if (h, w) == (height, width):
        return x
    y0, y1, fy = bilinear_axis(h, height)
    x0, x1, fx = bilinear_axis(w, width)
    fx = fx[None, None, :, None]
    top = x[:, y0][:, :, x0] + fx * (x[:, y0][:, :, x1] - x[:, y0][:, :, x0])
    bot = x[:, y1][:, :, x0] + fx * (x[:, y1][:, :, x1] - x[:, y1][:, :, x0])
    return top + fy[None, :, None, None] * (bot - top)


def to_color(x: np.ndarray, color: str) -> np.ndarray:
    """(n, h, w, 1|3) -> channels of `color` (grayscale: BT.601 luma; rgb from gray: replicated)."""
    c = x.shape[-1]
    if color == "grayscale":
        return x if c == 1 else (x @ GRAY_WEIGHTS)[..., None].astype(np.float32)
    return np.repeat(x, 3, axis=-1) if c == 1 else x


class ImagePreprocessor:
    """Resize -> colour -> scale to [0, 1]. Parameters: resolution, color."""

    def __init__(self, params: dict[str, Any], source_shape: tuple[int, ...]) -> None:
        self.resolution = int(params.get("resolution", 32))
        self.color = params.get("color", "grayscale")
        if self.color not in COLORS:
            raise InputError(f"color '{self.color}' is unknown; known: {', '.join(COLORS)}")
        if not 4 <= self.resolution <= 1024:
            raise InputError(f"resolution {self.resolution} must be within [4, 1024] pixels")
        if len(source_shape) != 3 or source_shape[2] not in (1, 3):
            raise InputError(f"images must be (height, width, 1 or 3 channels), got {source_shape}")
        self.source_shape = tuple(int(s) for s in source_shape)
        self.input_shape: tuple[int, ...] = (
            self.resolution,
            self.resolution,
            3 if self.color == "rgb" else 1,
        )

    def fit(self, train: Dataset) -> None:  # nothing learned: the scaling is fixed
        return None

    def transform(self, ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
        r = self.resolution
        if len(ds.x) == 0:
            return np.empty((0, *self.input_shape), dtype=np.float32), ds.y
        if isinstance(ds.x, np.ndarray):  # in chunks: float copies of big images add up
            parts = [resize_bilinear(ds.x[i : i + 512], r, r) for i in range(0, len(ds.x), 512)]
        else:  # images of different sizes
            parts = [resize_bilinear(im[None], r, r) for im in ds.x]
        out = np.concatenate([to_color(p, self.color) for p in parts])
        return (out / 255.0).astype(np.float32), ds.y

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        return None

    def cost(self) -> Any:
        """Operations for one frame of the source size on the device, counted as the generated C
        does them (tuner.deploy), and the buffers it needs.

        Per output value: bilinear = 3 lerps (1 mul + 2 add each) unless the size already matches
        (source coordinates come from const tables); grayscale from RGB: 3 mul + 2 add per output
        pixel; v / 255 and the int8 quantization: `output_ops` once per quantized value (grey to RGB
        quantizes once and replicates). Buffer: two source rows (a streaming resize reads the camera
        line by line). NOT included: the camera frame buffer itself, which depends on the camera driver.
        """
        from tuner.estimate import DspCost
        from tuner.preprocess._standardize import output_ops

        h, w, c_src = self.source_shape
        r = self.resolution
        c_out = self.input_shape[2]
        c_resized = 1 if (self.color == "grayscale" and c_src == 1) else c_src  # resize before colour change
        quantized = r * r * (1 if c_src == 1 else c_out)
        ops = {"mul": 0, **output_ops(quantized, standardized=False)}
        if (h, w) != (r, r):
            ops["mul"] += 3 * r * r * c_resized
            ops["add"] += 6 * r * r * c_resized
        if self.color == "grayscale" and c_src == 3:
            ops["mul"] += 3 * r * r
            ops["add"] += 2 * r * r
        ops = {k: v for k, v in ops.items() if v}
        line_buffer = 2 * w * c_src  # uint8
        return DspCost(ops=ops, buffer_bytes=line_buffer, name=f"image-{r}x{r}-{self.color}")

    def describe(self) -> str:
        return (
            f"resize {self.source_shape[0]}x{self.source_shape[1]} -> {self.resolution}x{self.resolution}, {self.color}"
        )
