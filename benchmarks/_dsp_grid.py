"""The DSP configurations the cost model is fitted and scored on, and how to emulate one of them.

Drawn from the bundled search spaces (search_spaces/*.yaml) and their data: motion at 50 Hz with 6 axes
(seglearn watch), audio at 16 kHz, images from 28x28 grey (MNIST) and 96x96 RGB camera frames, tabular
rows of 4-64 features. `group` is the size tier (S/M/L: window, FFT, resolution, feature count) used by
the leave-one-config-group-out validation. The standardizer is fitted on a few random windows: its values
change no instruction count beyond the int8 clamp branches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Config:
    block: str  # e.g. "motion-spectral": the leave-one-block-out unit
    group: str  # size tier S/M/L: the leave-one-config-group-out unit
    params: dict[str, Any]
    source: dict[str, Any]  # rate_hz + n_channels (motion), source_shape (image), n_features (tabular)

    @property
    def key(self) -> str:
        return json.dumps({"block": self.block, "params": self.params, "source": self.source}, sort_keys=True)


_M = {"rate_hz": 50.0, "n_channels": 6}
_A = {"rate_hz": 16000.0}
_MNIST = {"source_shape": [28, 28, 1]}
_CAM = {"source_shape": [96, 96, 3]}


def _spectral(w: int, fft: int, filt: str = "none", edges: str | None = None, cut: int = 5) -> dict[str, Any]:
    p: dict[str, Any] = {"dsp": "spectral", "window_ms": w, "fft_length": fft, "filter": filt}
    if filt != "none":
        p["filter_cutoff_hz"] = cut
    p["spectrum"] = "power_edges" if edges else "fft_bins"
    if edges:
        p["power_edges"] = edges
    return p


def _spec(w: int, fft: int, stride: int) -> dict[str, Any]:
    return {"dsp": "spectrogram", "window_ms": w, "fft_length": fft, "frame_stride_ms": stride}


def _mel(dsp: str, w: int, frame: int, stride: int, nf: int, nc: int | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {"dsp": dsp, "window_ms": w, "frame_ms": frame, "frame_stride_ms": stride, "n_filters": nf}
    if nc:
        p["n_coeffs"] = nc
    return p


GRID: tuple[Config, ...] = (
    Config("motion-raw", "S", {"dsp": "raw", "window_ms": 1000}, _M),
    Config("motion-raw", "M", {"dsp": "raw", "window_ms": 2000}, _M),
    Config("motion-raw", "L", {"dsp": "raw", "window_ms": 3000}, _M),
    Config("motion-stats", "S", {"dsp": "stats", "window_ms": 1000}, _M),
    Config("motion-stats", "M", {"dsp": "stats", "window_ms": 2000}, _M),
    Config("motion-stats", "L", {"dsp": "stats", "window_ms": 3000}, _M),
    Config("motion-spectral", "S", _spectral(1000, 16), _M),
    Config("motion-spectral", "S", _spectral(1000, 32, "lowpass", cut=2), _M),
    Config("motion-spectral", "M", _spectral(2000, 16, edges="0.5,2,5,10"), _M),
    Config("motion-spectral", "M", _spectral(2000, 32, "highpass", "1,3,6,12,25", cut=10), _M),
    Config("motion-spectral", "L", _spectral(3000, 64, "lowpass", "0.5,1.5,3,5,10,25", cut=10), _M),
    Config("motion-spectral", "L", _spectral(3000, 32), _M),
    Config("motion-spectral", "L", _spectral(3000, 32, edges="0.5,2,5,10"), _M),  # the README demo winner
    Config("audio-spectrogram", "S", _spec(800, 128, 32), _A),
    Config("audio-spectrogram", "M", _spec(1000, 256, 32), _A),
    Config("audio-spectrogram", "L", _spec(1000, 256, 16), _A),
    Config("audio-mfe", "S", _mel("mfe", 800, 20, 32, 20), _A),
    Config("audio-mfe", "M", _mel("mfe", 1000, 32, 20, 40), _A),
    Config("audio-mfe", "L", _mel("mfe", 1000, 40, 16, 32), _A),
    Config("audio-mfcc", "S", _mel("mfcc", 800, 20, 32, 20, 10), _A),
    Config("audio-mfcc", "M", _mel("mfcc", 1000, 32, 20, 40, 13), _A),
    Config("audio-mfcc", "L", _mel("mfcc", 1000, 40, 16, 32, 13), _A),
    Config("image", "S", {"resolution": 16, "color": "grayscale"}, _MNIST),
    Config("image", "S", {"resolution": 24, "color": "rgb"}, _MNIST),
    Config("image", "M", {"resolution": 32, "color": "grayscale"}, _CAM),
    Config("image", "M", {"resolution": 48, "color": "grayscale"}, _MNIST),
    Config("image", "L", {"resolution": 64, "color": "rgb"}, _CAM),
    Config("image", "L", {"resolution": 96, "color": "rgb"}, _CAM),
    Config("tabular", "S", {}, {"n_features": 4}),
    Config("tabular", "M", {}, {"n_features": 16}),
    Config("tabular", "L", {}, {"n_features": 64}),
)


def build(block: str, params: dict[str, Any], source: dict[str, Any], seed: int = 0) -> tuple[Any, np.ndarray]:
    """A fitted preprocessor of the configuration and one raw window for it."""
    rng = np.random.default_rng(seed)
    domain = block.split("-")[0]
    if domain == "motion":
        from tuner.preprocess.motion import MotionPreprocessor

        pre = MotionPreprocessor(params, source["rate_hz"], source["n_channels"])
        w = (rng.normal(0, 1, (8, pre.length, pre.n_channels)) + [0.0, 0.0, 9.8, 0, 0, 0][: pre.n_channels]).astype(
            np.float32
        )
        f = pre._features(w)
        axes = tuple(range(f.ndim - 1))
        pre.load_state({"mean": f.mean(axis=axes).tolist(), "std": np.maximum(f.std(axis=axes), 1e-6).tolist()})
        return pre, w[0].ravel()
    if domain == "audio":
        from tuner.preprocess.audio import AudioPreprocessor

        pre = AudioPreprocessor(params, source["rate_hz"])
        clips = (rng.normal(0, 0.1, (4, pre.n_samples))).astype(np.float32)
        pre.scaler.fit_features(pre.features(clips))
        return pre, clips[0]
    if domain == "image":
        from tuner.preprocess.image import ImagePreprocessor

        shape = tuple(source["source_shape"])
        pre = ImagePreprocessor(params, shape)
        return pre, rng.integers(0, 256, shape).astype(np.float32).ravel()
    from tuner.preprocess.tabular import TabularPreprocessor

    pre = TabularPreprocessor(params, source["n_features"])
    x = rng.normal(0, 2, (16, source["n_features"])).astype(np.float32)
    pre.scaler.fit_features(x)
    return pre, x[0]


def emulate(pre: Any, raw: np.ndarray, cores: list[str], work: Path) -> dict[str, int]:
    """Instructions one call of the generated C executes on each core (unicorn), output checked vs numpy."""
    from tuner.deploy.dsp_c import generate_dsp
    from tuner.deploy.emulate import link_program, run_program

    src = generate_dsp(pre, 6.0 / 255.0, 0)
    work.mkdir(parents=True, exist_ok=True)
    (work / "dsp.h").write_text(src.header)
    (work / "dsp.c").write_text(src.source)
    out = {}
    for core in cores:
        prog = link_program(work / "dsp.c", core, work)
        n, _, rc = run_program(prog, raw, src.out_len)
        if rc != 0:
            raise RuntimeError(f"tuner_dsp returned {rc} on {core}")
        out[core] = n
    return out
