"""Generated C of every DSP block against numpy, on real bundled data: the int8 model inputs must be
equal on >= 99.9% of values and never more than one step apart; the Cortex-M4 object needs nothing
but the documented libm functions and its bss is the header's buffer size."""

from __future__ import annotations

import re
import shutil
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
    ("motion-spectral-8", "seglearn-watch", {"dsp": "spectral", "window_ms": 1000, "fft_length": 8}),  # 8 Hz data
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
    (
        "motion-edges-highpass-16",
        "seglearn-watch",
        {
            "dsp": "spectral",
            "stride_ms": 500,
            "fft_length": 16,
            "filter": "highpass",
            "filter_cutoff_hz": 10,
            "spectrum": "power_edges",
            "power_edges": "1,3,6,12,25",
        },
    ),
    ("motion-stats-spectral-16", "seglearn-watch", {"dsp": "stats_spectral", "window_ms": 2000, "fft_length": 16}),
    (
        "motion-stats-spectral-highpass-edges-32",
        "seglearn-watch",
        {
            "dsp": "stats_spectral",
            "window_ms": 3000,
            "fft_length": 32,
            "filter": "highpass",
            "filter_cutoff_hz": 2,
            "spectrum": "power_edges",
            "power_edges": "0.5,2,5,10",
        },
    ),
    ("audio-spectrogram-128", "keywords", {"dsp": "spectrogram", "fft_length": 128, "frame_stride_ms": 20}),
    ("audio-spectrogram-256", "keywords", {"dsp": "spectrogram", "fft_length": 256, "frame_stride_ms": 32}),
    ("audio-mfe", "keywords", {"dsp": "mfe", "frame_ms": 32, "frame_stride_ms": 16, "n_filters": 40, "window_ms": 800}),
    ("audio-mfe-20", "keywords", {"dsp": "mfe", "frame_ms": 20, "frame_stride_ms": 20, "n_filters": 20}),
    (
        "audio-mfcc",
        "keywords",
        {"dsp": "mfcc", "frame_ms": 40, "frame_stride_ms": 20, "n_filters": 40, "n_coeffs": 10},
    ),
    (
        "audio-mfcc-13",
        "keywords",
        {"dsp": "mfcc", "frame_ms": 32, "frame_stride_ms": 16, "n_filters": 32, "n_coeffs": 13, "window_ms": 800},
    ),
    ("image-gray-16", "mnist-5k", {"resolution": 16, "color": "grayscale"}),
    ("image-gray-28", "mnist-5k", {"resolution": 28, "color": "grayscale"}),  # no resize
    ("image-rgb-48", "mnist-5k", {"resolution": 48, "color": "rgb"}),
    ("image-rgb-source-gray-24", "mnist-rgb", {"resolution": 24, "color": "grayscale"}),
    ("image-rgb-source-rgb-32", "mnist-rgb", {"resolution": 32, "color": "rgb"}),
    ("tabular", "iris", {}),
]
DOMAIN = {"seglearn-watch": "motion", "keywords": "audio", "mnist-5k": "image", "iris": "tabular"}


def _mnist_rgb() -> Dataset:
    """Colour images from real pixels: three MNIST digits as the R, G and B planes (no bundled set is RGB)."""
    from dataclasses import replace

    ds = load_data("mnist-5k")
    x = ds.x[:600]
    return replace(ds, x=np.concatenate([x, np.roll(x, 1, axis=0), np.roll(x, 2, axis=0)], axis=3), y=ds.y[:600])


@cache
def _splits(data: str) -> tuple[Dataset, Dataset]:
    """Seeded subsets of the train (400) and test (120 samples) splits of a bundled set: enough to fit the
    standardizer and to draw MAX_WINDOWS windows, small enough for seconds."""
    if data == "keywords" and shutil.which("espeak-ng") is None:
        pytest.skip("the keyword audio set is synthesized with espeak-ng: apt-get install espeak-ng")
    ds = _mnist_rgb() if data == "mnist-rgb" else load_data(data, domain=DOMAIN[data])
    train, _, test = split(ds, seed=0)
    rng = np.random.default_rng(0)
    return train.subset(np.sort(rng.permutation(len(train))[:400])), test.subset(
        np.sort(rng.permutation(len(test))[:120])
    )


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


def test_every_block_and_choice_of_the_spaces_is_covered() -> None:
    from tuner.preprocess import DSP_BLOCKS

    covered = {(DOMAIN.get(d, "image"), p.get("dsp", DSP_BLOCKS[DOMAIN.get(d, "image")][0])) for _, d, p in CASES}
    assert covered == {(domain, b) for domain, blocks in DSP_BLOCKS.items() for b in blocks}
    motion = [p for _, d, p in CASES if d == "seglearn-watch"]
    assert {p.get("filter", "none") for p in motion} == {"none", "lowpass", "highpass"}
    for block in ("spectral", "stats_spectral"):
        assert {p.get("spectrum", "fft_bins") for p in motion if p["dsp"] == block} == {"fft_bins", "power_edges"}
    assert {p.get("filter", "none") for p in motion if p["dsp"] == "stats_spectral"} == {"none", "highpass"}
    image = [p for _, d, p in CASES if d.startswith("mnist")]
    assert {(d, p["color"]) for _, d, p in CASES if d.startswith("mnist")} >= {
        ("mnist-5k", "grayscale"),
        ("mnist-5k", "rgb"),
        ("mnist-rgb", "grayscale"),
        ("mnist-rgb", "rgb"),
    }
    assert len(image) >= 4


def test_quantization_rounds_half_to_even_and_clips(builder) -> None:
    """Hand-derived: scale 0.5, zero point -3, standardizer mean 1, std 2 -> q = round((x - 1) / 2 / 0.5 - 3)."""
    from tuner.preprocess.tabular import TabularPreprocessor

    pre = TabularPreprocessor({}, n_features=8)
    pre.load_state({"mean": [1.0] * 8, "std": [2.0] * 8})
    src = generate_dsp(pre, 0.5, -3)
    raw = np.array([[1.0, 2.0, 0.0, 7.0, 9.0, -1.0, 1000.0, -1000.0]], dtype=np.float32)
    # (x - 1) / 2 / 0.5 - 3 = x - 4:  -3, -2, -4, 3, 5, -5, 996 -> 127, -1004 -> -128
    # and half-way cases below: x - 4 = 0.5 -> 0, 1.5 -> 2, -2.5 -> -2 (ties to even, as numpy)
    half = np.array([[4.5, 5.5, 1.5, 4.0, 4.0, 4.0, 4.0, 4.0]], dtype=np.float32)
    got = builder.run(src, np.concatenate([raw, half]))
    np.testing.assert_array_equal(got[0], [-3, -2, -4, 3, 5, -5, 127, -128])
    np.testing.assert_array_equal(got[1], [0, 2, -2, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("name", ["audio-mfcc", "image-rgb-48", "tabular"])
def test_raw_window_of_one_sample_is_its_row_of_raw_windows(name: str) -> None:
    pre, src, _, _ = _case(name)
    test = _splits(next(d for n, d, _ in CASES if n == name))[1]
    one = raw_window(pre, test.x[3])
    assert one.dtype == np.float32 and one.shape == (src.raw_len,)
    np.testing.assert_array_equal(one, raw_windows(pre, test)[3])


def test_an_image_of_another_size_is_refused() -> None:
    from tuner.errors import InputError

    pre, _, _, _ = _case("image-gray-16")
    with pytest.raises(InputError, match=r"generated for \(28, 28, 1\) images .* got \[\(20, 28, 1\)\]"):
        raw_window(pre, np.zeros((20, 28, 1), dtype=np.uint8))


@pytest.mark.parametrize("name", ["motion-spectral-16", "audio-mfe", "tabular"])
def test_state_round_trip_gives_the_same_c(name: str) -> None:
    """The exporter rebuilds the block from preprocess.json (load_state), not from a new fit."""
    pre, src, _, _ = _case(name)
    data, params = next((d, p) for n, d, p in CASES if n == name)
    again = build_preprocessor(params, _splits(data)[0])
    with pytest.raises(ValueError, match=r"not fitted: fit\(\) it on the training split or load_state\(\) first"):
        generate_dsp(again, 0.1, 0)
    again.load_state(pre.state())
    scale = float(re.search(r"TUNER_INPUT_SCALE (\S+)f", src.header).group(1))
    zero_point = int(re.search(r"TUNER_INPUT_ZERO_POINT \((-?\d+)\)", src.header).group(1))
    assert generate_dsp(again, scale, zero_point) == src
