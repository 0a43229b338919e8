"""Motion DSP: windowing, then raw / statistics / spectral features, standardized on the train split.

Each block computes in numpy exactly what the device computes, and `cost()` counts the operations
of one inference (one window) by kind, plus the float buffers it needs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tuner.data import Dataset
from tuner.errors import InputError

BLOCKS = ("raw", "stats", "spectral")
N_STATS = 7  # mean, std, min, max, rms, skewness, kurtosis


def windows(recording: np.ndarray, length: int, stride: int) -> np.ndarray:
    """(time, channels) -> (n_windows, length, channels); recordings shorter than one window give none."""
    n = (len(recording) - length) // stride + 1
    if n <= 0:
        return np.empty((0, length, recording.shape[1]), dtype=np.float32)
    idx = np.arange(length)[None, :] + stride * np.arange(n)[:, None]
    return recording[idx].astype(np.float32)


def _moments(w: np.ndarray) -> tuple[np.ndarray, ...]:
    mean = w.mean(axis=1)
    centered = w - mean[:, None, :]
    var = (centered**2).mean(axis=1)
    std = np.sqrt(var)
    safe = np.where(std > 1e-8, std, 1.0)
    skew = (centered**3).mean(axis=1) / safe**3
    kurt = (centered**4).mean(axis=1) / safe**4 - 3.0
    return mean, centered, std, skew, kurt


def stats_features(w: np.ndarray) -> np.ndarray:
    """(n, T, C) -> (n, 7*C): mean, std, min, max, rms, skewness, kurtosis per channel."""
    mean, _, std, skew, kurt = _moments(w)
    rms = np.sqrt((w**2).mean(axis=1))
    feats = [mean, std, w.min(axis=1), w.max(axis=1), rms, skew, kurt]
    return np.concatenate(feats, axis=1).astype(np.float32)


def spectral_features(w: np.ndarray, fft_length: int) -> np.ndarray:
    """(n, T, C) -> (n, C*(3 + fft_length/2)): per channel RMS, skewness, kurtosis of the
    mean-removed signal, then log10 Welch power (Hann window, 50% overlap) in bins 1..fft_length/2.
    With fft_length 16 that is 11 features per axis, as Edge Impulse's spectral block."""
    n, t, c = w.shape
    if fft_length > t:
        raise InputError(f"fft_length {fft_length} is longer than the window ({t} samples); shorten it")
    _, centered, std, skew, kurt = _moments(w)
    hop = fft_length // 2
    starts = range(0, t - fft_length + 1, hop)
    hann = np.hanning(fft_length).astype(np.float32)
    power = np.zeros((n, fft_length // 2 + 1, c), dtype=np.float64)
    for s in starts:
        frame = centered[:, s : s + fft_length, :] * hann[None, :, None]
        power += np.abs(np.fft.rfft(frame, axis=1)) ** 2
    power /= len(starts)
    logp = np.log10(power[:, 1:, :] + 1e-10)  # drop DC: the mean is removed
    per_axis = np.concatenate([std[:, None, :], skew[:, None, :], kurt[:, None, :], logp], axis=1)
    return per_axis.transpose(0, 2, 1).reshape(n, -1).astype(np.float32)


class MotionPreprocessor:
    """Window -> block -> standardize. Parameters: window_ms, stride_ms, dsp, fft_length."""

    def __init__(self, params: dict[str, Any], rate_hz: float, n_channels: int) -> None:
        self.block = params.get("dsp", "raw")
        if self.block not in BLOCKS:
            raise InputError(f"dsp '{self.block}' is unknown for motion; known: {', '.join(BLOCKS)}")
        self.rate_hz = rate_hz
        self.length = int(round(params.get("window_ms", 2000) * rate_hz / 1000))
        self.stride = max(1, int(round(params.get("stride_ms", 1000) * rate_hz / 1000)))
        self.fft_length = int(params.get("fft_length", 16))
        self.n_channels = n_channels
        if self.length < 4:
            raise InputError(f"window_ms {params.get('window_ms')} gives {self.length} samples; use >= 4")
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        if self.block == "raw":
            self.input_shape: tuple[int, ...] = (self.length, n_channels)
        elif self.block == "stats":
            self.input_shape = (N_STATS * n_channels,)
        else:
            self.input_shape = (n_channels * (3 + self.fft_length // 2),)

    def _features(self, w: np.ndarray) -> np.ndarray:
        if self.block == "raw":
            return w
        if self.block == "stats":
            return stats_features(w)
        return spectral_features(w, self.fft_length)

    def _windowed(self, ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
        ws, ys = [], []
        for rec, label in zip(ds.x, ds.y, strict=True):
            w = windows(rec, self.length, self.stride)
            ws.append(w)
            ys.append(np.full(len(w), label))
        w, y = np.concatenate(ws), np.concatenate(ys)
        if len(w) == 0:
            raise InputError(f"no recording is as long as one window ({self.length} samples); shorten window_ms")
        return w, y

    def fit(self, train: Dataset) -> None:
        w, _ = self._windowed(train)
        f = self._features(w)
        axes = tuple(range(f.ndim - 1))
        self.mean = f.mean(axis=axes).astype(np.float32)
        self.std = np.maximum(f.std(axis=axes), 1e-6).astype(np.float32)

    def transform(self, ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
        if self.mean is None:
            raise RuntimeError("fit() the preprocessor on the training split first")
        w, y = self._windowed(ds)
        return ((self._features(w) - self.mean) / self.std).astype(np.float32), y

    def state(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.mean = np.asarray(state["mean"], dtype=np.float32)
        self.std = np.asarray(state["std"], dtype=np.float32)

    def cost(self) -> Any:
        """Operations for one window on the device, and the float buffers it keeps."""
        from tuner.estimate import DspCost

        t, c = self.length, self.n_channels
        n_out = math.prod(self.input_shape)
        ops = {"add": n_out, "mul": n_out}  # standardization
        window_buf = t * c * 4
        if self.block == "stats":
            # mean, centered powers (x^2, x^3, x^4), min/max compares, sqrt for std/rms, 2 divides
            ops["add"] += 6 * t * c
            ops["mul"] += 4 * t * c
            ops["cmp"] = 2 * t * c
            ops["sqrt"] = 2 * c
            ops["div"] = 4 * c
        elif self.block == "spectral":
            frames = (t - self.fft_length) // (self.fft_length // 2) + 1
            n = self.fft_length
            ops["add"] += 5 * t * c + frames * c * (n // 2 + 1)
            ops["mul"] += 4 * t * c + frames * c * (n + 2 * (n // 2 + 1))  # Hann window, |X|^2
            ops["fft"] = frames * c * (n // 2) * int(math.log2(n))
            ops["log"] = c * (n // 2)
            ops["sqrt"] = c
            ops["div"] = 3 * c
            window_buf += (n + 2 * (n // 2 + 1)) * 4
        return DspCost(ops=ops, buffer_bytes=window_buf + n_out * 4, name=f"motion-{self.block}")
