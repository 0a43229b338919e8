"""Motion DSP: windowing, then raw / statistics / spectral / statistics + spectral features, standardized on
the train split.

Each block computes in numpy exactly what the device computes, and `cost()` counts the operations
of one inference (one window) by kind, plus the float buffers it needs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tuner.data import Dataset
from tuner.errors import InputError
from tuner.preprocess._standardize import Standardizer

BLOCKS = ("raw", "stats", "spectral", "stats_spectral")
# Blocks with the spectral part (and its sub-parameters fft_length, filter, spectrum, power_edges).
SPECTRAL_BLOCKS = ("spectral", "stats_spectral")
FILTERS = ("none", "lowpass", "highpass")
SPECTRA = ("fft_bins", "power_edges")
N_STATS = 7  # mean, std, min, max, rms, skewness, kurtosis
FILTER_ORDER = 4  # Butterworth, as 2 biquad sections
# Validation and test windows use this one hop for every candidate (`stride_ms` moves only the
# training windows), so all candidates are scored on windows starting at the same instants.
EVAL_HOP_MS = 250


def parse_edges(text: str | list | tuple, rate_hz: float) -> tuple[float, ...]:
    """'0.5,2,5,10' -> (0.5, 2.0, 5.0, 10.0): increasing band edges in Hz below Nyquist."""
    try:
        edges = tuple(float(e) for e in (text.split(",") if isinstance(text, str) else text))
    except ValueError:
        raise InputError(f"power_edges {text!r} must be comma-separated numbers in Hz, e.g. '0.5,2,5,10'") from None
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)) or edges[0] < 0:
        raise InputError(f"power_edges {text!r} must be >= 2 increasing non-negative frequencies in Hz")
    if edges[-1] > rate_hz / 2:
        raise InputError(f"power_edges {text!r} go above the Nyquist frequency {rate_hz / 2:g} Hz; lower them")
    return edges


def butterworth(kind: str, cutoff_hz: float, rate_hz: float) -> np.ndarray:
    """Second-order sections of a 4th-order Butterworth low/high-pass (what the device runs as biquads)."""
    from scipy.signal import butter

    if not 0 < cutoff_hz < rate_hz / 2:
        raise InputError(f"filter_cutoff_hz {cutoff_hz} must lie in (0, {rate_hz / 2:g}) Hz (Nyquist); change it")
    return butter(FILTER_ORDER, cutoff_hz, btype="low" if kind == "lowpass" else "high", fs=rate_hz, output="sos")


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
    # products, not `**3`/`**4`: numpy's general power is ~10x slower than a multiply, and this
    # ran 2-9 s per feature setting on the motion set (most of a sweep's preprocessing time)
    sq = centered * centered
    var = sq.mean(axis=1)
    std = np.sqrt(var)
    safe = np.where(std > 1e-8, std, 1.0)
    skew = (sq * centered).mean(axis=1) / safe**3
    kurt = (sq * sq).mean(axis=1) / safe**4 - 3.0
    return mean, centered, std, skew, kurt


def stats_features(w: np.ndarray) -> np.ndarray:
    """(n, T, C) -> (n, 7*C): mean, std, min, max, rms, skewness, kurtosis per channel."""
    mean, _, std, skew, kurt = _moments(w)
    rms = np.sqrt((w**2).mean(axis=1))
    feats = [mean, std, w.min(axis=1), w.max(axis=1), rms, skew, kurt]
    return np.concatenate(feats, axis=1).astype(np.float32)


def spectral_features(
    w: np.ndarray, fft_length: int, edges: tuple[float, ...] | None = None, rate_hz: float = 50.0
) -> np.ndarray:
    """(n, T, C) -> (n, C*(3 + fft_length/2)): per channel RMS, skewness, kurtosis of the
    mean-removed signal, then log10 Welch power (Hann window, 50% overlap) in bins 1..fft_length/2.
    With fft_length 16 that is 11 features per axis, as Edge Impulse's spectral block.
    With `edges` (Hz), the bins are summed into the bands [e0, e1), [e1, e2), ... instead
    (C*(3 + len(edges) - 1) features): "spectral power edges"."""
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
    if edges is not None:
        bands = band_bins(fft_length, rate_hz, edges)
        sums = np.stack([power[:, idx, :].sum(axis=1) for idx in bands], axis=1)
        logp = np.log10(sums + 1e-10)
    else:
        logp = np.log10(power[:, 1:, :] + 1e-10)  # drop DC: the mean is removed
    per_axis = np.concatenate([std[:, None, :], skew[:, None, :], kurt[:, None, :], logp], axis=1)
    return per_axis.transpose(0, 2, 1).reshape(n, -1).astype(np.float32)


def fft_units(n: int) -> int:
    """Work of the real FFT of `n` points as the generated C computes it (tuner.deploy): an n/2-point
    complex radix-2 FFT ((n/4) log2(n/2) butterflies) and the n/4 iterations of the split step, each
    about one butterfly's work: (n/4) log2(n) in all."""
    return (n // 4) * int(math.log2(n))


def band_bins(fft_length: int, rate_hz: float, edges: tuple[float, ...]) -> list[np.ndarray]:
    """FFT bins (0..fft_length/2) summed into each band [e_i, e_i+1) (the last band includes its upper
    edge). A band narrower than the bin spacing that holds no bin centre takes its nearest bin, so
    every band is defined at every FFT length."""
    freqs = np.arange(fft_length // 2 + 1) * rate_hz / fft_length
    out = []
    for b in range(len(edges) - 1):
        lo, hi = edges[b], edges[b + 1]
        upper = freqs <= hi if b == len(edges) - 2 else freqs < hi
        idx = np.flatnonzero((freqs >= lo) & upper)
        if len(idx) == 0:
            idx = np.array([int(np.argmin(np.abs(freqs - (lo + hi) / 2)))])
        out.append(idx)
    return out


class MotionPreprocessor:
    """Window -> block -> standardize. Parameters: window_ms, stride_ms, dsp; for spectral and
    stats_spectral: fft_length, filter (none/lowpass/highpass), filter_cutoff_hz, spectrum
    (fft_bins/power_edges), power_edges ('0.5,2,5,10' Hz).

    stats_spectral is the statistics block's features followed by the spectral block's features of
    the same window (7*C, then C*(3 + bins or bands)). The statistics are taken on the unfiltered
    window, as the stats block does: a high-pass would zero the mean (the sensor's orientation
    against gravity) and shrink min/max/RMS to the vibration; the filter belongs to the spectrum,
    whose own std/skewness/kurtosis then describe the filtered signal. Without a filter the
    spectral part's std/skewness/kurtosis repeat the statistics' (3*C duplicate inputs): kept, so
    the block is exactly the two blocks side by side (the forest of benchmarks/domains.py reads the
    same concatenation)."""

    def __init__(self, params: dict[str, Any], rate_hz: float, n_channels: int) -> None:
        self.block = params.get("dsp", "raw")
        if self.block not in BLOCKS:
            raise InputError(f"dsp '{self.block}' is unknown for motion; known: {', '.join(BLOCKS)}")
        self.rate_hz = rate_hz
        self.length = int(round(params.get("window_ms", 2000) * rate_hz / 1000))
        self.stride = max(1, int(round(params.get("stride_ms", 1000) * rate_hz / 1000)))
        self.eval_stride = max(1, int(round(EVAL_HOP_MS * rate_hz / 1000)))
        self.fft_length = int(params.get("fft_length", 16))
        self.n_channels = n_channels
        self.filter = params.get("filter", "none") if self.block in SPECTRAL_BLOCKS else "none"
        if self.filter not in FILTERS:
            raise InputError(f"filter '{self.filter}' is unknown; known: {', '.join(FILTERS)}")
        self.sos = (
            butterworth(self.filter, float(params.get("filter_cutoff_hz", 3.0)), rate_hz)
            if self.filter != "none"
            else None
        )
        spectrum = params.get("spectrum", "fft_bins")
        if spectrum not in SPECTRA:
            raise InputError(f"spectrum '{spectrum}' is unknown; known: {', '.join(SPECTRA)}")
        self.edges = (
            parse_edges(params.get("power_edges", "0.5,2,5,10"), rate_hz)
            if self.block in SPECTRAL_BLOCKS and spectrum == "power_edges"
            else None
        )
        if self.length < 4:
            raise InputError(f"window_ms {params.get('window_ms')} gives {self.length} samples; use >= 4")
        self.scaler = Standardizer()
        if self.block == "raw":
            self.input_shape: tuple[int, ...] = (self.length, n_channels)
        elif self.block == "stats":
            self.input_shape = (N_STATS * n_channels,)
        else:
            per_axis = len(self.edges) - 1 if self.edges is not None else self.fft_length // 2
            n_stats = N_STATS * n_channels if self.block == "stats_spectral" else 0
            self.input_shape = (n_stats + n_channels * (3 + per_axis),)

    def _features(self, w: np.ndarray) -> np.ndarray:
        if self.block == "raw":
            return w
        if self.block == "stats":
            return stats_features(w)
        if self.block == "stats_spectral":  # statistics of the unfiltered window, then the spectral part
            return np.concatenate([stats_features(w), self._spectral(w)], axis=1)
        return self._spectral(w)

    def _spectral(self, w: np.ndarray) -> np.ndarray:
        if self.sos is not None:
            from scipy.signal import sosfilt

            # remove the window mean first (the spectral block centres anyway): a high-pass with zero
            # initial state would otherwise ring on the gravity offset
            w = w - w.mean(axis=1, keepdims=True)
            w = sosfilt(self.sos, w, axis=1).astype(np.float32)
        return spectral_features(w, self.fft_length, self.edges, self.rate_hz)

    def windowed(self, ds: Dataset, stride: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(n, length, channels) windows of every recording and their labels, in transform()'s order
        (every EVAL_HOP_MS unless `stride` is given): the raw input of the block (and of its C twin,
        tuner.deploy)."""
        ws, ys = [], []
        for rec, label in zip(ds.x, ds.y, strict=True):
            w = windows(rec, self.length, stride or self.eval_stride)
            ws.append(w)
            ys.append(np.full(len(w), label))
        w, y = np.concatenate(ws), np.concatenate(ys)
        if len(w) == 0:
            raise InputError(f"no recording is as long as one window ({self.length} samples); shorten window_ms")
        missing = sorted(set(np.unique(ds.y).tolist()) - set(np.unique(y).tolist()))
        if missing:
            raise InputError(
                f"class '{ds.class_names[missing[0]]}' has no recording as long as one window "
                f"({self.length} samples at {self.rate_hz:g} Hz); shorten window_ms or drop it"
            )
        return w, y

    def fit(self, train: Dataset) -> None:
        self.fit_transform_train(train)

    def fit_transform_train(self, train: Dataset) -> tuple[np.ndarray, np.ndarray]:
        """`fit` then `transform_train` on the same split, computing the training windows' features
        once (they are most of a sweep's DSP time: every trial and every fold fits on its split)."""
        w, y = self.windowed(train, self.stride)
        f = self._features(w)
        self.scaler.fit_features(f)
        return self.scaler.apply(f), y

    def transform(self, ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
        """Evaluation windows (validation, test): every EVAL_HOP_MS, whatever the candidate's stride."""
        return self._transform(ds, self.eval_stride)

    def transform_train(self, ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
        """Training windows: every `stride_ms`."""
        return self._transform(ds, self.stride)

    def _transform(self, ds: Dataset, stride: int) -> tuple[np.ndarray, np.ndarray]:
        if self.scaler.mean is None:  # before the windows and features are computed
            raise RuntimeError("fit() the preprocessor on the training split first")
        w, y = self.windowed(ds, stride)
        return self.scaler.apply(self._features(w)), y

    def state(self) -> dict[str, Any]:
        return self.scaler.state()

    def load_state(self, state: dict[str, Any]) -> None:
        self.scaler.load_state(state)

    def cost(self) -> Any:
        """Operations for one window on the device, counted as the generated C does them
        (tuner.deploy), and the float buffers it keeps. Per channel of T samples:
        - stats: sum, x^2, min/max (2 add, 1 mul, 2 cmp per sample), centred moments d^2, d^3, d^4
          (4 add, 3 mul per sample), then 7 div, 5 mul, 2 sqrt, 1 cmp, 1 add for the 7 statistics.
        - spectral: mean and centring (2 add per sample; 3 more with a filter, which also removes
          its mean), biquads (5 mul + 4 add per sample and section), moments (4 add + 3 mul per sample,
          6 div, 5 mul, 1 sqrt, 1 cmp, 1 add), per Welch frame the Hann window (n mul), the real FFT
          (`fft_units`) and |X|^2 accumulated (2 mul + 2 add per bin), the average (1 div per bin),
          then 1 add + 1 log + 1 mul per output bin or band (+ the bins summed into bands).
        - stats_spectral: the sum of the two (the generated C runs one after the other).
        Every model input: `output_ops` (standardize + quantize)."""
        from tuner.estimate import DspCost
        from tuner.preprocess._standardize import output_ops

        t, c = self.length, self.n_channels
        n_out = math.prod(self.input_shape)
        ops = {"mac": 0, "mul": 0, "sqrt": 0, "log": 0, "fft": 0, **output_ops(n_out)}
        window_buf = t * c * 4
        if self.block in ("stats", "stats_spectral"):
            ops["add"] += (6 * t + 1) * c
            ops["mul"] += (4 * t + 5) * c
            ops["cmp"] += (2 * t + 1) * c
            ops["div"] += 7 * c
            ops["sqrt"] += 2 * c
        if self.block in SPECTRAL_BLOCKS:
            n = self.fft_length
            frames = (t - n) // (n // 2) + 1
            bins = n // 2 + 1
            per_axis = len(self.edges) - 1 if self.edges is not None else n // 2
            ops["add"] += c * (7 * t + 1 + frames * 2 * bins + per_axis)
            ops["mul"] += c * (3 * t + 5 + frames * (n + 2 * bins) + per_axis)
            ops["div"] += c * (6 + bins)
            ops["sqrt"] += c
            ops["cmp"] += c
            ops["fft"] += c * frames * fft_units(n)
            ops["log"] += c * per_axis
            window_buf += (n + 2 * (n // 2 + 1)) * 4
            if self.sos is not None:  # mean removal, then biquads in direct form II transposed
                sections = len(self.sos)
                ops["mul"] += 5 * sections * t * c
                ops["add"] += (4 * sections + 2) * t * c
                ops["div"] += c
                window_buf += 2 * sections * c * 4  # filter state
            if self.edges is not None:  # bins summed into bands
                ops["add"] += c * sum(len(idx) for idx in band_bins(n, self.rate_hz, self.edges))
        ops = {k: v for k, v in ops.items() if v}
        return DspCost(ops=ops, buffer_bytes=window_buf + n_out * 4, name=f"motion-{self.block}")
