"""Preprocessing (DSP) blocks. Implemented once in numpy: the same code defines what the device
computes, and each block reports its per-inference cost (operations by kind, buffer bytes) that the
estimator turns into milliseconds and RAM on the target.
"""

from __future__ import annotations

from tuner.preprocess._base import Preprocessor, build_preprocessor

__all__ = ["Preprocessor", "build_preprocessor"]
