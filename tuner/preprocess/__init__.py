"""Preprocessing (DSP) blocks. Implemented once in numpy: the same code defines what the device
computes, and each block reports its per-inference cost (operations by kind, buffer bytes) that the
estimator turns into milliseconds and RAM on the target. Each block has a C99 twin generated from
the fitted block (`tuner.deploy.generate_dsp`), tested against this numpy code on the bundled data.

| domain | module | blocks (`dsp`) and parameters |
|---|---|---|
| motion | `motion` | window_ms, stride_ms; raw, stats, spectral, stats_spectral (fft_length, filter, spectrum) |
| audio | `audio` | window_ms, frame_stride_ms; spectrogram (fft_length), mfe, mfcc (frame_ms, n_filters) |
| image | `image` | resolution (square side), color (grayscale/rgb) |
| tabular | `tabular` | standardization only |
"""

from __future__ import annotations

from tuner.preprocess._base import CHAINS, Preprocessor, build_preprocessor
from tuner.preprocess.blocks import DSP_BLOCKS

__all__ = ["CHAINS", "DSP_BLOCKS", "Preprocessor", "build_preprocessor"]
