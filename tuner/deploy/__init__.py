"""Deployment: the C twin of a candidate's DSP block (`generate_dsp`) and the raw input it takes.

Modules: `dsp_c` (generated dsp.h/dsp.c), `bundle` (what `tuner export` adds: DSP C, host main.c, Arduino
sketch, README), `cross` (arm-none-eabi build and size), `emulate` (instruction count in unicorn),
`verify` (the host twin, `tuner verify`), `figures` (DSP rows of `tuner show` and the report).
"""

from __future__ import annotations

from tuner.deploy.dsp_c import DspSource, generate_dsp, raw_window, raw_windows

__all__ = ["DspSource", "generate_dsp", "raw_window", "raw_windows"]
