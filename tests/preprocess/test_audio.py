"""Audio blocks: spectrogram bin of a sine, MFE/MFCC of a pure tone, cost against a hand count."""

from __future__ import annotations

import numpy as np
import pytest

from tuner.data import Dataset
from tuner.errors import InputError
from tuner.preprocess.audio import AudioPreprocessor, crop_or_pad, hz_to_mel, mel_filterbank

RATE = 16000


def _tone(hz: float, seconds: float = 1.0) -> np.ndarray:
    return np.sin(2 * np.pi * hz * np.arange(int(RATE * seconds)) / RATE).astype(np.float32)[None]


def test_spectrogram_peaks_at_the_sine_bin() -> None:
    pre = AudioPreprocessor({"dsp": "spectrogram", "fft_length": 256, "frame_stride_ms": 16})
    spec = pre.features(_tone(1000.0))[0]
    assert spec.shape == pre.input_shape == (1 + (16000 - 256) // 256, 129)
    assert (spec.argmax(axis=1) == 16).all()  # 1000 Hz / (16000 / 256 Hz per bin) = bin 16


def test_mel_scale_and_filterbank() -> None:
    assert float(hz_to_mel(1000.0)) == pytest.approx(1000.0, abs=0.1)  # HTK mel: 1000 Hz ~ 1000 mel
    fb = mel_filterbank(20, 512, RATE)
    assert fb.shape == (20, 257) and fb.max() <= 1.0 and (fb.sum(axis=1) > 0).all()


def test_mfe_of_a_pure_tone_peaks_at_the_right_filter() -> None:
    # 20 filters from 20 Hz (31.75 mel) to 8 kHz (2840.0 mel): 22 edges 133.7 mel apart.
    # 1000 Hz = 1000.0 mel = edge 7.24, i.e. 0.24 past the centre of filter 6 (edge 7) and far
    # from the centre of filter 7 (edge 8): filter 6 holds the most energy.
    pre = AudioPreprocessor({"dsp": "mfe", "frame_ms": 32, "frame_stride_ms": 20, "n_filters": 20})
    mfe = pre.features(_tone(1000.0))[0]
    assert mfe.shape == (49, 20)
    assert (mfe.argmax(axis=1) == 6).all()
    high = pre.features(_tone(4000.0))[0]  # 4 kHz = 2146 mel = edge 15.8: filter 15 (edge 16) wins
    assert (high.argmax(axis=1) == 15).all()


def test_mfcc_is_the_orthonormal_dct_of_log_mel() -> None:
    from scipy.fft import dct

    params = {"frame_ms": 32, "frame_stride_ms": 20, "n_filters": 32}
    sig = _tone(700.0) + 0.1 * np.random.default_rng(0).standard_normal((1, RATE)).astype(np.float32)
    mfe = AudioPreprocessor({"dsp": "mfe", **params}).features(sig)[0]
    mfcc = AudioPreprocessor({"dsp": "mfcc", "n_coeffs": 13, **params}).features(sig)[0]
    expected = dct(np.log(10.0**mfe), type=2, norm="ortho", axis=1)[:, :13]
    np.testing.assert_allclose(mfcc, expected, rtol=1e-3, atol=1e-3)


def test_crop_keeps_the_loudest_part_and_pad_centres() -> None:
    clip = np.zeros(100, dtype=np.float32)
    clip[70:80] = 1.0
    out = crop_or_pad(clip, 20)
    assert len(out) == 20 and out.sum() == 10.0
    padded = crop_or_pad(np.ones(10, dtype=np.float32), 20)
    assert padded.tolist() == [0.0] * 5 + [1.0] * 10 + [0.0] * 5


def test_resamples_other_rates() -> None:
    ds = Dataset("timeseries", [_tone(1000.0, 1.0)[0, ::2, None]], np.array([0]), ("a",), rate_hz=8000.0)
    pre = AudioPreprocessor({"dsp": "spectrogram", "fft_length": 256, "frame_stride_ms": 16}, 8000.0)
    feats = pre.features(pre.clips(ds))
    assert (feats[0].argmax(axis=1)[2:-2] == 16).all()  # still 1000 Hz after 8 -> 16 kHz


def test_spectrogram_cost_hand_count() -> None:
    # 100 ms window = 1600 samples; 128-sample frames every 160: 1 + (1600-128)//160 = 10 frames.
    # Per frame, as the generated C: 128 window mul; the real FFT = a 64-point complex FFT (32 x 6
    # butterflies) + 32 split-step iterations = 224 units; 65 bins x (2 mul + 1 add + 1 div) for
    # |X|^2 / n; 65 x (1 add + 1 log + 1 mul) for log10(p + 1e-10).
    # 650 outputs x ((f - mean) / std, / scale + zero point, 2 clamps, 2 rounding adds).
    pre = AudioPreprocessor({"dsp": "spectrogram", "fft_length": 128, "frame_stride_ms": 10, "window_ms": 100})
    cost = pre.cost()
    assert pre.input_shape == (10, 65)
    assert cost.ops == {
        "mul": 10 * (128 + 130 + 65),
        "add": 10 * (65 + 65) + 4 * 650,
        "div": 10 * 65 + 2 * 650,
        "fft": 10 * 224,
        "log": 650,
        "cmp": 2 * 650,
    }
    assert cost.buffer_bytes == 2 * 1600 + 4 * 128 + 4 * 130  # int16 window, frame, complex spectrum


def test_mfe_and_mfcc_cost_difference_is_the_dct() -> None:
    params = {"frame_ms": 32, "frame_stride_ms": 20, "n_filters": 40}
    mfe = AudioPreprocessor({"dsp": "mfe", **params})
    mfcc = AudioPreprocessor({"dsp": "mfcc", "n_coeffs": 10, **params})
    frames = mfe.input_shape[0]
    assert mfe.cost().ops["mac"] == frames * int(np.count_nonzero(mfe.fb))
    assert mfcc.cost().ops["mac"] - mfe.cost().ops["mac"] == frames * 40 * 10
    assert mfe.cost().ops["log"] == frames * 40


def test_bad_parameters() -> None:
    with pytest.raises(InputError, match="n_coeffs 13 must be <= n_filters 10"):
        AudioPreprocessor({"dsp": "mfcc", "n_filters": 10, "n_coeffs": 13})
    with pytest.raises(InputError, match="dsp 'wavelet' is unknown for audio"):
        AudioPreprocessor({"dsp": "wavelet"})
    with pytest.raises(InputError, match="longer than the window"):
        AudioPreprocessor({"dsp": "mfe", "frame_ms": 40, "window_ms": 20})


@pytest.mark.parametrize("length,stride,n_fft", [(512, 256, 512), (320, 320, 512), (256, 128, 256)])
def test_power_spectrum_equals_the_float64_definition(length: int, stride: int, n_fft: int) -> None:
    from tuner.preprocess.audio import power_spectrum

    sig = np.random.default_rng(length).standard_normal((5, 4000)).astype(np.float32)
    n_frames = 1 + (4000 - length) // stride
    ref = np.stack(
        [
            np.abs(
                np.fft.rfft(sig[:, i * stride : i * stride + length].astype(np.float64) * np.hanning(length), n=n_fft)
            )
            ** 2
            / n_fft
            for i in range(n_frames)
        ],
        axis=1,
    )
    got = power_spectrum(sig, length, stride, n_fft)
    assert got.dtype == np.float32 and got.shape == ref.shape == (5, n_frames, n_fft // 2 + 1)
    np.testing.assert_allclose(got, ref, rtol=2e-4, atol=1e-6 * ref.max())


def test_clips_are_kept_per_recordings_and_window() -> None:
    rng = np.random.default_rng(1)
    recs = [rng.standard_normal(n).astype(np.float32) for n in (20000, 16000, 9000)]
    ds = Dataset("timeseries", recs, np.array([0, 1, 0]), ("a", "b"), rate_hz=16000.0)
    pre = AudioPreprocessor({"dsp": "mfe", "window_ms": 800})
    first = pre.clips(ds)
    again = AudioPreprocessor({"dsp": "mfcc", "window_ms": 800}).clips(ds)
    assert again is first and not first.flags.writeable
    np.testing.assert_array_equal(first, np.stack([crop_or_pad(r, 12800) for r in recs]))
    longer = AudioPreprocessor({"dsp": "mfe", "window_ms": 1000}).clips(ds)
    assert longer.shape == (3, 16000)
    other = Dataset("timeseries", [r * 2 for r in recs], ds.y, ds.class_names, rate_hz=16000.0)
    np.testing.assert_array_equal(pre.clips(other), 2 * first)  # other recordings: not the cached clips
