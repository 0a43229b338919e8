"""Hardware estimator: latency, RAM and flash of a TFLite model on a microcontroller target.

Public API::

    from tuner.estimate import estimate_tflite, DspCost
    est = estimate_tflite("model.tflite", "nano33ble")            # exact arena (tflite-micro worker)
    est = estimate_tflite(buf, target, dsp=DspCost({"fft": 1024}, 4096), exact=False)  # fast path

`graph` parses the flatbuffer (no TensorFlow), `latency` applies the per-op cycle model of the
target's kernel family, `memory` plans the arena (exactly like TFLM, or by running tflite-micro),
`flash` adds framework and kernel code. `smallest_arena` is the smallest tensor arena tflite-micro
accepts (tried in a separate process), `layer_rows` the per-layer table of an estimate, and
`calibrate` fits a target profile to measured latencies. See docs/estimator.md for the method and error bands.
"""

from __future__ import annotations

from tuner.estimate._calibrate import calibrate, read_measurements
from tuner.estimate._estimate import DspCost, Estimate, LayerEstimate, estimate_tflite
from tuner.estimate._layers import layer_rows
from tuner.estimate._tflm import TflmError, smallest_arena, tflm_accepts

__all__ = [
    "DspCost",
    "Estimate",
    "LayerEstimate",
    "TflmError",
    "calibrate",
    "estimate_tflite",
    "layer_rows",
    "read_measurements",
    "smallest_arena",
    "tflm_accepts",
]
