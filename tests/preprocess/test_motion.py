"""Motion blocks: filter, spectral power edges and their costs against hand-derived values."""

from __future__ import annotations

import numpy as np
import pytest

from tuner.errors import InputError
from tuner.preprocess.motion import (
    MotionPreprocessor,
    band_bins,
    butterworth,
    parse_edges,
    spectral_features,
    stats_features,
)

RATE = 50.0


def _sine(hz: float, n: int = 100) -> np.ndarray:
    return np.sin(2 * np.pi * hz * np.arange(n) / RATE).astype(np.float32)[None, :, None]


def test_stats_of_a_known_window() -> None:
    w = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)[None, :, None]
    mean, std, lo, hi, rms, skew, kurt = stats_features(w)[0]
    assert (mean, lo, hi) == (2.5, 1.0, 4.0)
    assert std == pytest.approx(np.sqrt(1.25)) and rms == pytest.approx(np.sqrt(7.5)) and skew == pytest.approx(0)
    assert kurt == pytest.approx((0.5**4 * 2 + 1.5**4 * 2) / 4 / 1.25**2 - 3)


def test_band_bins_hand_example() -> None:
    # fft 16 at 50 Hz: bins at 0, 3.125, 6.25, ..., 25 Hz. Bands [0.5, 5) and [5, 25]: bin 1 | bins 2..8.
    assert [b.tolist() for b in band_bins(16, RATE, (0.5, 5.0, 25.0))] == [[1], [2, 3, 4, 5, 6, 7, 8]]
    # [0.5, 1) holds no bin centre: it takes the nearest bin to 0.75 Hz (bin 0); [1, 10]: bins 1..3
    assert [b.tolist() for b in band_bins(16, RATE, (0.5, 1.0, 10.0))] == [[0], [1, 2, 3]]


def test_power_edges_put_a_sine_in_its_band() -> None:
    feats = spectral_features(_sine(5.0), 32, edges=(0.5, 3.0, 8.0, 20.0), rate_hz=RATE)[0]
    assert feats.shape == (3 + 3,)
    assert int(np.argmax(feats[3:])) == 1  # 5 Hz lies in [3, 8)


def test_lowpass_removes_a_fast_sine_and_keeps_a_slow_one() -> None:
    from scipy.signal import sosfilt

    sos = butterworth("lowpass", 2.0, RATE)
    fast = sosfilt(sos, _sine(10.0, 500)[0, :, 0])[100:]
    slow = sosfilt(sos, _sine(0.5, 500)[0, :, 0])[100:]
    assert np.abs(fast).max() < 0.01 and np.abs(slow).max() > 0.9
    with pytest.raises(InputError, match="filter_cutoff_hz 30.0 must lie in"):
        butterworth("highpass", 30.0, RATE)


def test_parse_edges_rules() -> None:
    assert parse_edges("0.5,2,5", RATE) == (0.5, 2.0, 5.0)
    with pytest.raises(InputError, match="increasing"):
        parse_edges("5,2", RATE)
    with pytest.raises(InputError, match="above the Nyquist"):
        parse_edges("1,40", RATE)


def test_filter_and_edges_costs() -> None:
    base = {"dsp": "spectral", "window_ms": 2000, "fft_length": 16}
    plain = MotionPreprocessor(base, RATE, n_channels=1).cost()
    filt = MotionPreprocessor({**base, "filter": "lowpass", "filter_cutoff_hz": 5}, RATE, n_channels=1).cost()
    # 4th order = 2 biquads, 5 mul + 4 add per sample each, on 100 samples; 2 state floats per biquad;
    # the filter first removes the window mean (a sum and a subtraction per sample, one divide)
    assert filt.ops["mul"] - plain.ops["mul"] == 2 * 5 * 100
    assert filt.ops["add"] - plain.ops["add"] == 2 * 4 * 100 + 2 * 100
    assert filt.ops["div"] - plain.ops["div"] == 1
    assert filt.buffer_bytes - plain.buffer_bytes == 2 * 2 * 4
    edges = MotionPreprocessor({**base, "spectrum": "power_edges", "power_edges": "0.5,5,25"}, RATE, 1)
    assert edges.input_shape == (3 + 2,)
    assert edges.cost().ops["log"] == 2  # one per band instead of one per bin (8)
    assert plain.ops["log"] == 8


_BOTH = {"window_ms": 2000, "fft_length": 32, "filter": "highpass", "filter_cutoff_hz": 2, "spectrum": "power_edges"}


def _fitted(params: dict, w: np.ndarray) -> np.ndarray:
    return MotionPreprocessor(params, RATE, n_channels=w.shape[2])._features(w)


def test_stats_spectral_is_the_stats_of_the_unfiltered_window_then_the_spectral_features() -> None:
    rng = np.random.default_rng(0)
    w = (rng.normal(0, 1, (5, 100, 3)) + [0.0, 0.0, 9.8]).astype(np.float32)  # gravity on the 3rd axis
    both = _fitted({**_BOTH, "dsp": "stats_spectral"}, w)
    stats = _fitted({**_BOTH, "dsp": "stats"}, w)
    spectral = _fitted({**_BOTH, "dsp": "spectral"}, w)
    assert both.shape == (5, 7 * 3 + 3 * (3 + 3))  # 7 statistics, then std/skew/kurt + 3 bands per axis
    np.testing.assert_array_equal(both, np.concatenate([stats, spectral], axis=1))
    # the statistics are of the unfiltered window: the mean keeps gravity (a high-pass would remove it)
    np.testing.assert_allclose(both[:, 2], w[:, :, 2].mean(axis=1), rtol=1e-6)
    assert abs(float(both[:, 2].mean()) - 9.8) < 0.5
    # and the spectral part's std is the filtered signal's: below the unfiltered std of unit noise
    assert np.all(both[:, 7 * 3] < both[:, 3])
    pre = MotionPreprocessor({**_BOTH, "dsp": "stats_spectral"}, RATE, n_channels=3)
    assert pre.input_shape == (both.shape[1],) and pre.filter == "highpass" and pre.edges == (0.5, 2.0, 5.0, 10.0)


def test_stats_spectral_costs_the_sum_of_the_two_blocks_and_shares_the_window() -> None:
    cost = {
        b: MotionPreprocessor({**_BOTH, "dsp": b}, RATE, n_channels=6).cost()
        for b in ("stats", "spectral", "stats_spectral")
    }
    both = cost["stats_spectral"]
    assert both.name == "motion-stats_spectral"
    kinds = set(cost["stats"].ops) | set(cost["spectral"].ops)
    assert both.ops == {k: cost["stats"].ops.get(k, 0) + cost["spectral"].ops.get(k, 0) for k in kinds}
    # one raw window for both parts: the spectral block's buffers plus the 7 x 6 statistics outputs
    assert both.buffer_bytes == cost["spectral"].buffer_bytes + 7 * 6 * 4
