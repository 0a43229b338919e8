"""Hardware estimator: latency, RAM and flash of a TFLite model on a microcontroller target.

Public API::

    from tuner.estimate import estimate_tflite, DspCost
    est = estimate_tflite("model.tflite", "nano33ble")            # exact arena (tflite-micro worker)
    est = estimate_tflite(buf, target, dsp=DspCost({"fft": 1024}, 4096), exact=False)  # fast path

`graph` parses the flatbuffer (no TensorFlow), `latency` applies the per-op cycle model of the
target's kernel family, `memory` plans the arena (exactly like TFLM, or by running tflite-micro),
`flash` adds framework and kernel code. See docs/estimator.md for the method and error bands.
"""

from __future__ import annotations

from tuner.estimate._estimate import DspCost, Estimate, LayerEstimate, estimate_tflite

__all__ = ["DspCost", "Estimate", "LayerEstimate", "estimate_tflite"]
