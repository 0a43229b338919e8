"""Audio DSP for keyword spotting: a window of the clip, then spectrogram, MFE or MFCC, standardized.

All three start alike: frames of `frame` samples every `stride` samples, a Hann window, an FFT of
`n_fft` points (the next power of two), power |X|^2 / n_fft.
- spectrogram: log10 power of the n_fft/2 + 1 bins; the frame is `fft_length` samples long.
- MFE: log10 energies of `n_filters` triangular mel filters (HTK mel scale, 20 Hz to Nyquist).
- MFCC: the first `n_coeffs` coefficients of the orthonormal DCT-II of the natural-log mel energies.
Output (frames, features): conv1d reads it as (time, channels), conv2d/DS-CNN as a 1-channel image.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tuner.data import Dataset
from tuner.errors import InputError
from tuner.preprocess._standardize import Standardizer

BLOCKS = ("spectrogram", "mfe", "mfcc")
RATE_HZ = 16000
LOW_HZ = 20.0
FLOOR = 1e-10


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(
    n_filters: int, n_fft: int, rate_hz: float, low_hz: float = LOW_HZ, high_hz: float | None = None
) -> np.ndarray:
    """(n_filters, n_fft/2 + 1) triangular filters, equally spaced on the mel scale, peak 1."""
    high_hz = high_hz or rate_hz / 2
    edges = mel_to_hz(np.linspace(hz_to_mel(low_hz), hz_to_mel(high_hz), n_filters + 2))
    freqs = np.arange(n_fft // 2 + 1) * rate_hz / n_fft
    fb = np.zeros((n_filters, len(freqs)), dtype=np.float32)
    for i in range(n_filters):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        up = (freqs - lo) / (mid - lo)
        down = (hi - freqs) / (hi - mid)
        fb[i] = np.maximum(0.0, np.minimum(up, down))
    return fb


def dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) orthonormal DCT-II (as scipy.fft.dct(norm='ortho'))."""
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    m = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * math.sqrt(2.0 / n_in)
    m[0] /= math.sqrt(2.0)
    return m.astype(np.float32)


def power_spectrum(signal: np.ndarray, length: int, stride: int, n_fft: int) -> np.ndarray:
    """(n, samples) -> (n, frames, n_fft/2 + 1) power of Hann-windowed frames.

    scipy.fft in single precision on every core: numpy's FFT of the same frames was 18x slower and
    most of an MFCC setting's feature time (about 7 s of 1,920 keyword clips on 2 cores). The
    windowed frames are written straight into the zero-padded FFT buffer: copying the frames, then
    scipy padding them to n_fft, took 0.5 of a setting's 1.4 s."""
    import scipy.fft

    sig = signal.astype(np.float32, copy=False)
    view = np.lib.stride_tricks.sliding_window_view(sig, length, axis=1)[:, ::stride]
    buf = np.zeros((*view.shape[:2], n_fft), dtype=np.float32)
    np.multiply(view, np.hanning(length).astype(np.float32), out=buf[..., :length])
    spec = scipy.fft.rfft(buf, axis=-1, workers=-1, overwrite_x=True)
    power = np.square(spec.real)
    power += np.square(spec.imag)
    power /= np.float32(n_fft)
    return power


def _apply(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """(n, frames, k) @ (k, j) as one 2-D product (numpy's stacked 3-D matmul was 5x slower)."""
    return (x.reshape(-1, x.shape[-1]) @ m).reshape(*x.shape[:-1], m.shape[-1])


def crop_or_pad(clip: np.ndarray, n: int) -> np.ndarray:
    """(samples,) -> (n,): zero-pad both sides evenly, or keep the loudest n-sample window."""
    if len(clip) == n:
        return clip
    if len(clip) < n:
        left = (n - len(clip)) // 2
        return np.pad(clip, (left, n - len(clip) - left))
    energy = np.concatenate([[0.0], np.cumsum(clip.astype(np.float64) ** 2)])
    start = int(np.argmax(energy[n:] - energy[:-n]))
    return clip[start : start + n]


# Windows cut from a split's recordings, per window length: every candidate of a sweep starts from
# one of a few (0.2-0.4 s per setting for 1,920 keyword clips: the Python loop over the clips).
CLIP_CACHE_BYTES = 256 << 20
_CLIPS: dict[tuple[Any, ...], tuple[Any, np.ndarray]] = {}


class AudioPreprocessor:
    """Parameters: window_ms, dsp, frame_ms, frame_stride_ms, fft_length (spectrogram), n_filters,
    n_coeffs (MFCC)."""

    def __init__(self, params: dict[str, Any], source_rate_hz: float = RATE_HZ) -> None:
        self.block = params.get("dsp", "mfcc")
        if self.block not in BLOCKS:
            raise InputError(f"dsp '{self.block}' is unknown for audio; known: {', '.join(BLOCKS)}")
        self.rate_hz = int(params.get("rate_hz", RATE_HZ))
        self.source_rate_hz = float(source_rate_hz)
        self.n_samples = int(round(params.get("window_ms", 1000) * self.rate_hz / 1000))
        self.stride = int(round(params.get("frame_stride_ms", 20) * self.rate_hz / 1000))
        if self.block == "spectrogram":
            self.frame = int(params.get("fft_length", 256))
            if self.frame & (self.frame - 1):
                raise InputError(f"fft_length {self.frame} must be a power of two")
        else:
            self.frame = int(round(params.get("frame_ms", 32) * self.rate_hz / 1000))
        self.n_fft = 1 << max(0, (self.frame - 1).bit_length())
        self.n_filters = int(params.get("n_filters", 40))
        self.n_coeffs = int(params.get("n_coeffs", 13))
        if self.stride < 1 or self.frame < 8:
            raise InputError(f"frame of {self.frame} samples every {self.stride} is too small; use >= 8 and >= 1")
        if self.frame > self.n_samples:
            raise InputError(f"frame ({self.frame} samples) is longer than the window ({self.n_samples}); shorten it")
        if self.block == "mfcc" and self.n_coeffs > self.n_filters:
            raise InputError(f"n_coeffs {self.n_coeffs} must be <= n_filters {self.n_filters}")
        self.n_frames = 1 + (self.n_samples - self.frame) // self.stride
        self.fb = mel_filterbank(self.n_filters, self.n_fft, self.rate_hz) if self.block != "spectrogram" else None
        if self.fb is not None and (self.fb.sum(axis=1) == 0).any():
            raise InputError(f"{self.n_filters} mel filters are too many for an FFT of {self.n_fft}; use fewer")
        self.dct = dct_matrix(self.n_filters, self.n_coeffs) if self.block == "mfcc" else None
        width = {"spectrogram": self.n_fft // 2 + 1, "mfe": self.n_filters, "mfcc": self.n_coeffs}[self.block]
        self.input_shape: tuple[int, ...] = (self.n_frames, width)
        self.scaler = Standardizer()

    def clips(self, ds: Dataset) -> np.ndarray:
        """(n, n_samples) windows the features start from: mono, at `rate_hz`, cropped to the loudest
        window or padded. Host-side only: on a device the window is what the microphone captured (the
        C twin, tuner.deploy, starts here). Read-only: kept for the next candidate with the same window
        (_CLIPS)."""
        key = (id(ds.x), len(ds.x), self.n_samples, self.rate_hz, self.source_rate_hz)
        if key in _CLIPS and _CLIPS[key][0] is ds.x:
            _CLIPS[key] = _CLIPS.pop(key)  # most recently used last
            return _CLIPS[key][1]
        out = self._clips(ds)
        out.flags.writeable = False
        _CLIPS[key] = (ds.x, out)  # the recordings are held, so their id is not reused while cached
        while len(_CLIPS) > 1 and sum(c.nbytes for _, c in _CLIPS.values()) > CLIP_CACHE_BYTES:
            _CLIPS.pop(next(iter(_CLIPS)))
        return out

    def _clips(self, ds: Dataset) -> np.ndarray:
        clips = []
        for rec in ds.x:
            a = np.asarray(rec, dtype=np.float32)
            a = a.mean(axis=1) if a.ndim == 2 else a
            if self.source_rate_hz != self.rate_hz:
                from scipy.signal import resample_poly

                g = math.gcd(int(self.source_rate_hz), self.rate_hz)
                a = resample_poly(a, self.rate_hz // g, int(self.source_rate_hz) // g).astype(np.float32)
            clips.append(crop_or_pad(a, self.n_samples))
        return np.stack(clips) if clips else np.empty((0, self.n_samples), dtype=np.float32)

    def features(self, signal: np.ndarray) -> np.ndarray:
        """(n, window samples) -> (n, frames, width), before standardization."""
        out = []
        for i in range(0, len(signal), 256):  # chunks bound the memory of the frame copies
            p = power_spectrum(signal[i : i + 256], self.frame, self.stride, self.n_fft)
            if self.block == "spectrogram":
                out.append(np.log10(p + FLOOR))
                continue
            mel = _apply(p, self.fb.T)
            if self.block == "mfe":
                out.append(np.log10(mel + FLOOR))
            else:
                out.append(_apply(np.log(mel + FLOOR), self.dct.T))
        if not out:
            return np.empty((0, *self.input_shape), dtype=np.float32)
        return np.concatenate(out).astype(np.float32)

    def fit(self, train: Dataset) -> None:
        self.fit_transform_train(train)

    def fit_transform_train(self, train: Dataset) -> tuple[np.ndarray, np.ndarray]:
        """`fit` then `transform` of the training split, computing its features once."""
        f = self.features(self.clips(train))
        self.scaler.fit_features(f)
        return self.scaler.apply(f), train.y

    def transform(self, ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
        return self.scaler.apply(self.features(self.clips(ds))), ds.y

    def state(self) -> dict[str, Any]:
        return self.scaler.state()

    def load_state(self, state: dict[str, Any]) -> None:
        self.scaler.load_state(state)

    def cost(self) -> Any:
        """Operations for one window on the device, counted as the generated C does them
        (tuner.deploy), and the buffers it needs.

        Per frame: Hann window (`frame` mul), the real FFT of n_fft points (`fft_units`), power
        |X|^2 / n_fft (2 mul + 1 add + 1 div per bin); spectrogram: 1 add + 1 log + 1 mul (log10)
        per bin; mel: 1 mac per non-zero filter weight, 1 add + 1 log per filter (+ 1 mul for the
        log10 of MFE); DCT: n_filters x n_coeffs mac. Every model input: `output_ops` (standardize +
        quantize). Buffers: the window of int16 audio, the frame (n_fft floats), the complex spectrum
        (n_fft + 2 floats), the mel energies. Constant tables (window, twiddles, filters, DCT) live in
        flash and are not counted here.
        """
        from tuner.estimate import DspCost
        from tuner.preprocess._standardize import output_ops
        from tuner.preprocess.motion import fft_units

        f, n = self.n_frames, self.n_fft
        bins = n // 2 + 1
        per = {"mul": self.frame + 2 * bins, "add": bins, "div": bins, "fft": fft_units(n)}
        if self.block == "spectrogram":
            per["add"] += bins
            per["log"] = bins
            per["mul"] += bins
        else:
            per["mac"] = int(np.count_nonzero(self.fb))
            per["log"] = self.n_filters
            per["add"] += self.n_filters
            if self.block == "mfe":
                per["mul"] += self.n_filters
            else:
                per["mac"] += self.n_filters * self.n_coeffs
        ops = {k: v * f for k, v in per.items()}
        for k, v in output_ops(math.prod(self.input_shape)).items():
            ops[k] = ops.get(k, 0) + v
        buffer = 2 * self.n_samples + 4 * n + 4 * (n + 2)
        if self.block != "spectrogram":
            buffer += 4 * self.n_filters
        return DspCost(ops=ops, buffer_bytes=buffer, name=f"audio-{self.block}")
