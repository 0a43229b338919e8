"""Image block: resize and colour against hand-computed values; cost against a hand count."""

from __future__ import annotations

import numpy as np
import pytest

from tuner.data import Dataset
from tuner.errors import InputError
from tuner.preprocess.image import ImagePreprocessor, resize_bilinear, to_color


def test_upscale_2x2_to_4x4_half_pixel_centres() -> None:
    img = np.array([[0, 100], [200, 300]], dtype=np.float32)[None, :, :, None]
    out = resize_bilinear(img, 4, 4)[0, :, :, 0]
    # source coordinates of the 4 output centres: (i + 0.5) * 2/4 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped
    np.testing.assert_allclose(out[0], [0, 25, 75, 100])
    np.testing.assert_allclose(out[1], [50, 75, 125, 150])  # 0.75 * row 0 + 0.25 * row 1
    np.testing.assert_allclose(out[3], [200, 225, 275, 300])


def test_downscale_by_two_averages_2x2_blocks() -> None:
    img = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    out = resize_bilinear(img, 2, 2)[0, :, :, 0]
    np.testing.assert_allclose(out, [[2.5, 4.5], [10.5, 12.5]])  # centres at 0.5 and 2.5


def test_grayscale_uses_bt601_and_rgb_replicates_gray() -> None:
    px = np.array([[[[255, 0, 0], [0, 255, 0], [0, 0, 255]]]], dtype=np.float32)
    np.testing.assert_allclose(to_color(px, "grayscale")[0, 0, :, 0], [76.245, 149.685, 29.07], rtol=1e-5)
    gray = np.full((1, 2, 2, 1), 7.0, dtype=np.float32)
    assert to_color(gray, "rgb").shape == (1, 2, 2, 3)


def test_transform_scales_to_unit_range_and_handles_mixed_sizes() -> None:
    imgs = [np.full((10, 12, 3), 255, dtype=np.uint8), np.zeros((6, 6, 3), dtype=np.uint8)]
    ds = Dataset("image", imgs, np.array([0, 1]), ("a", "b"))
    pre = ImagePreprocessor({"resolution": 8, "color": "rgb"}, source_shape=(10, 12, 3))
    x, y = pre.transform(ds)
    assert x.shape == (2, 8, 8, 3) == (2, *pre.input_shape)
    assert x[0].min() == pytest.approx(1.0) and x[1].max() == 0.0


def test_cost_hand_count() -> None:
    # 8x8 RGB -> 4x4 grayscale: 16 output pixels. Resize (before the colour change) on 3 channels:
    # 3 lerps x (1 mul + 2 add) per value = 3*16*3 mul, 6*16*3 add (coordinates come from const tables).
    # Gray: 3 mul + 2 add per pixel. Per output value v / 255 and the int8 quantization: 2 div
    # (/ 255, / scale), 3 add (zero point, 2 rounding adds), 2 compares (clamps).
    cost = ImagePreprocessor({"resolution": 4, "color": "grayscale"}, source_shape=(8, 8, 3)).cost()
    assert cost.ops == {"mul": 144 + 48, "add": 288 + 32 + 3 * 16, "div": 2 * 16, "cmp": 2 * 16}
    assert cost.buffer_bytes == 2 * 8 * 3  # two uint8 source rows
    same = ImagePreprocessor({"resolution": 8, "color": "rgb"}, source_shape=(8, 8, 3)).cost()
    assert same.ops == {"add": 3 * 192, "div": 2 * 192, "cmp": 2 * 192}  # no resize, no colour change


def test_bad_parameters() -> None:
    with pytest.raises(InputError, match="color 'sepia' is unknown; known: grayscale, rgb"):
        ImagePreprocessor({"color": "sepia"}, (8, 8, 3))
    with pytest.raises(InputError, match="resolution 2 must be within"):
        ImagePreprocessor({"resolution": 2}, (8, 8, 3))
