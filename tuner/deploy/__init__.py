"""Deployment: the C twin of a candidate's DSP block (`generate_dsp`) and the raw input it takes.

Next: the board project and the host twin (`tuner verify`).
"""

from __future__ import annotations

from tuner.deploy.dsp_c import DspSource, generate_dsp, raw_window, raw_windows

__all__ = ["DspSource", "generate_dsp", "raw_window", "raw_windows"]
