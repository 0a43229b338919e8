"""Generated C of every DSP block against numpy, on real bundled data: the int8 model inputs must be
equal on >= 99.9% of values and never more than one step apart; the Cortex-M4 object needs nothing
but the documented libm functions and its bss is the header's buffer size."""

from __future__ import annotations

import re
import subprocess
from functools import cache

import numpy as np
import pytest

from tuner.data import Dataset, load_data, split
from tuner.deploy import DspSource, generate_dsp, raw_window, raw_windows
from tuner.preprocess import build_preprocessor

MAX_WINDOWS = 300  # per case: enough for a 0.1% share, short enough for seconds
LIBM = {"logf", "sqrtf"}  # the documented set (tuner.deploy.dsp_c)

CASES = [
    ("motion-raw", "seglearn-watch", {"dsp": "raw", "window_ms": 2000, "stride_ms": 1000}),
    ("motion-stats", "seglearn-watch", {"dsp": "stats", "window_ms": 3000, "stride_ms": 500}),
    ("motion-spectral-16", "seglearn-watch", {"dsp": "spectral", "window_ms": 2000, "fft_length": 16}),
    (
        "motion-spectral-highpass-64",
        "seglearn-watch",
        {"dsp": "spectral", "window_ms": 3000, "fft_length": 64, "filter": "highpass", "filter_cutoff_hz": 2},
    ),
    (
        "motion-edges-lowpass-32",
        "seglearn-watch",
        {
            "dsp": "spectral",
            "window_ms": 1000,
            "stride_ms": 250,
            "fft_length": 32,
            "filter": "lowpass",
            "filter_cutoff_hz": 5,
            "spectrum": "power_edges",
            "power_edges": "0.5,1.5,3,5,10,25",
        },
    ),
]
DOMAIN = {"seglearn-watch": "motion", "keywords": "audio", "mnist-5k": "image", "iris": "tabular"}


@cache
def _splits(data: str) -> tuple[Dataset, Dataset]:
    train, _, test = split(load_data(data, domain=DOMAIN[data]), seed=0)
    return train, test


def _int8_params(x: np.ndarray) -> tuple[float, int]:
    """TF Lite's asymmetric int8 rule for a tensor of range [min(x, 0), max(x, 0)]."""
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale = float(np.float32((hi - lo) / 255.0))
    return scale, int(np.clip(round(-128 - lo / scale), -128, 127))


def _quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """As tuner.quantize.predict_int8 quantizes the model input."""
    return np.clip(np.round(x / scale + zero_point), -128, 127).astype(np.int8)


@cache
def _case(name: str) -> tuple[object, DspSource, np.ndarray, np.ndarray]:
    """Fitted block, its C, raw windows of the test split and numpy's int8 inputs for them."""
    _, data, params = next(c for c in CASES if c[0] == name)
    train, test = _splits(data)
    pre = build_preprocessor(params, train)
    pre.fit(train)
    x, _ = pre.transform(test)
    raw = raw_windows(pre, test)
    assert len(raw) == len(x)
    pick = np.linspace(0, len(x) - 1, min(MAX_WINDOWS, len(x))).astype(int)
    scale, zp = _int8_params(pre.transform(train)[0])
    src = generate_dsp(pre, scale, zp)
    return pre, src, raw[pick], _quantize(x[pick].reshape(len(pick), -1), scale, zp)


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_c_matches_numpy_on_real_data(name: str, builder) -> None:
    _, src, raw, want = _case(name)
    got = builder.run(src, raw)
    diff = np.abs(got.astype(int) - want.astype(int))
    assert diff.max() <= 1, f"{name}: {int((diff > 1).sum())} values more than one int8 step apart"
    assert (diff == 0).mean() >= 0.999, f"{name}: only {(diff == 0).mean():.4%} of values equal"
    assert len(np.unique(want)) > 20  # a real spread of values, not a clipped constant


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_header_states_the_sizes(name: str) -> None:
    _, src, raw, want = _case(name)
    defines = dict(re.findall(r"#define (TUNER_\w+) \(?(-?[\w.]+)\)?", src.header))
    assert int(defines["TUNER_DSP_RAW_LEN"]) == src.raw_len == raw.shape[1]
    assert int(defines["TUNER_DSP_OUT_LEN"]) == src.out_len == want.shape[1]
    assert int(defines["TUNER_DSP_BUFFER_BYTES"]) == src.buffer_bytes
    assert "int tuner_dsp(const float *raw, int8_t *model_input);" in src.header
    assert not re.search(r"\b(malloc|calloc|free)\s*\(", src.source)


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_cortex_m4_object_needs_only_documented_libm(name: str, builder) -> None:
    _, src, _, _ = _case(name)
    obj = builder.cortex_m4(src)
    undefined = set(subprocess.run(["arm-none-eabi-nm", "-u", str(obj)], capture_output=True, text=True).stdout.split())
    undefined.discard("U")
    assert undefined == set(src.libm) and set(src.libm) <= LIBM
    size = subprocess.run(["arm-none-eabi-size", str(obj)], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(v) for v in size.splitlines()[1].split()[:3])
    assert data == 0 and bss == src.buffer_bytes  # every static buffer is counted in the header
    assert text > 0


def test_raw_window_of_a_motion_recording_is_its_first_window() -> None:
    pre, src, _, _ = _case("motion-raw")
    rec = _splits("seglearn-watch")[1].x[0]
    w = raw_window(pre, rec)
    assert w.dtype == np.float32 and w.shape == (src.raw_len,)
    np.testing.assert_array_equal(w, rec[: pre.length].ravel())  # sample-major: t0c0 t0c1 ... t1c0
    assert src.raw_layout() == "window of 100 samples x 6 channels at 50 Hz, sample-major (interleaved)"
