"""One contract for every DSP block: shapes, fit on train only, state round-trip, a sane cost."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tuner.data import Dataset
from tuner.preprocess import DSP_BLOCKS, build_preprocessor

OP_KINDS = {"mac", "add", "mul", "div", "cmp", "sqrt", "log", "exp", "trig", "fft"}
rng = np.random.default_rng(0)


def _motion() -> Dataset:
    x = [rng.normal(size=(300, 3)).astype(np.float32) for _ in range(6)]
    return Dataset("timeseries", x, np.array([0, 1] * 3), ("a", "b"), rate_hz=50.0, meta={"domain": "motion"})


def _audio() -> Dataset:
    x = [rng.normal(size=(n, 1)).astype(np.float32) * 0.1 for n in (16000, 12000, 20000, 16000)]
    return Dataset("timeseries", x, np.array([0, 1, 0, 1]), ("a", "b"), rate_hz=16000.0, meta={"domain": "audio"})


def _image() -> Dataset:
    return Dataset("image", rng.integers(0, 255, (4, 28, 28, 1), dtype=np.uint8), np.array([0, 1] * 2), ("a", "b"))


def _tabular() -> Dataset:
    return Dataset("tabular", rng.normal(size=(8, 5)).astype(np.float32), np.array([0, 1] * 4), ("a", "b"))


CASES = [
    ("motion-raw", _motion, {"dsp": "raw", "window_ms": 1000, "stride_ms": 500}),
    ("motion-stats", _motion, {"dsp": "stats", "window_ms": 2000, "stride_ms": 1000}),
    (
        "motion-spectral",
        _motion,
        {"dsp": "spectral", "fft_length": 32, "filter": "highpass", "filter_cutoff_hz": 2},
    ),
    ("motion-edges", _motion, {"dsp": "spectral", "spectrum": "power_edges", "power_edges": "0.5,2,5,10"}),
    ("motion-stats-spectral", _motion, {"dsp": "stats_spectral", "fft_length": 16, "filter": "lowpass"}),
    ("audio-spectrogram", _audio, {"dsp": "spectrogram", "fft_length": 128, "frame_stride_ms": 20}),
    ("audio-mfe", _audio, {"dsp": "mfe", "frame_ms": 25, "frame_stride_ms": 10, "n_filters": 32}),
    (
        "audio-mfcc",
        _audio,
        {
            "dsp": "mfcc",
            "frame_ms": 40,
            "frame_stride_ms": 20,
            "n_filters": 40,
            "n_coeffs": 10,
            "window_ms": 800,
        },
    ),
    ("image-gray", _image, {"resolution": 16, "color": "grayscale"}),
    ("image-rgb", _image, {"resolution": 32, "color": "rgb"}),
    ("tabular", _tabular, {}),
]


def test_every_block_is_covered() -> None:
    covered = {(name.split("-")[0], p.get("dsp")) for name, _, p in CASES}
    for domain in ("motion", "audio"):
        assert {b for d, b in covered if d == domain} == set(DSP_BLOCKS[domain])


@pytest.mark.parametrize(("name", "make", "params"), CASES, ids=[c[0] for c in CASES])
def test_block_contract(name: str, make, params: dict) -> None:
    ds = make()
    pre = build_preprocessor(params, ds)
    pre.fit(ds)
    x, y = pre.transform(ds)
    assert x.dtype == np.float32 and x.shape[1:] == pre.input_shape and len(x) == len(y)
    assert np.isfinite(x).all()
    again = build_preprocessor(params, ds)
    again.load_state(pre.state())
    np.testing.assert_array_equal(again.transform(ds)[0], x)
    cost = pre.cost()
    assert set(cost.ops) <= OP_KINDS and all(isinstance(v, int) and v >= 0 for v in cost.ops.values())
    # the final scaling and quantization divide every output value (grey replicated to RGB: once per pixel)
    assert cost.ops["div"] >= math.prod(pre.input_shape[:-1]) and cost.buffer_bytes > 0
