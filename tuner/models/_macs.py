"""Closed-form multiply-accumulate counts of a Keras model (the inference graph).

Counted: Conv1D/2D/3D, DepthwiseConv1D/2D, SeparableConv1D/2D and Dense. Every other layer type
is either listed in `IGNORED_LAYERS` with the reason it costs no MACs, or unsupported, which
raises ValueError instead of silently counting zero. Biases are not counted (adds, not MACs).
"""

from __future__ import annotations

import math

_ELEMENTWISE = "elementwise or comparison work, not multiply-accumulates"
IGNORED_LAYERS: dict[str, str] = {
    "InputLayer": "no computation",
    "Flatten": "reshape only",
    "Reshape": "reshape only",
    "Dropout": "identity at inference",
    "BatchNormalization": "folded into the preceding convolution by the TFLite converter",
    "ReLU": _ELEMENTWISE,
    "Activation": _ELEMENTWISE,
    "Softmax": _ELEMENTWISE,
    "Add": _ELEMENTWISE,
    "MaxPooling1D": _ELEMENTWISE,
    "MaxPooling2D": _ELEMENTWISE,
    "AveragePooling1D": _ELEMENTWISE,
    "AveragePooling2D": _ELEMENTWISE,
    "GlobalAveragePooling1D": _ELEMENTWISE,
    "GlobalAveragePooling2D": _ELEMENTWISE,
    "GlobalMaxPooling1D": _ELEMENTWISE,
    "GlobalMaxPooling2D": _ELEMENTWISE,
    "ZeroPadding1D": "copy only",
    "ZeroPadding2D": "copy only",
}
_CONV = ("Conv1D", "Conv2D", "Conv3D")
_DEPTHWISE = ("DepthwiseConv1D", "DepthwiseConv2D")
_SEPARABLE = ("SeparableConv1D", "SeparableConv2D")


def _shape(tensor) -> tuple[int, ...]:
    return tuple(tensor.shape)


def _spatial_and_channels(shape, data_format) -> tuple[int, int]:
    """(product of spatial dims, channels) of a batched conv tensor shape."""
    if data_format == "channels_first":
        return math.prod(shape[2:]), shape[1]
    return math.prod(shape[1:-1]), shape[-1]


def _layer_macs(layer) -> int:
    kind = type(layer).__name__
    if kind in IGNORED_LAYERS:
        return 0
    if hasattr(layer, "layers"):  # a nested Functional/Sequential model
        return sum(_layer_macs(sub) for sub in layer.layers)
    supported = (*_CONV, *_DEPTHWISE, *_SEPARABLE, "Dense")
    if kind not in supported:
        raise ValueError(
            f"count_macs: layer {layer.name!r} of type {kind} is not supported; "
            f"supported: {', '.join(supported)}; ignored (no MACs): {', '.join(IGNORED_LAYERS)}"
        )
    try:
        in_shape, out_shape = _shape(layer.input), _shape(layer.output)
    except (AttributeError, ValueError) as exc:
        raise ValueError(f"count_macs: layer {layer.name!r} must be called exactly once: {exc}") from exc
    if kind == "Dense":
        return math.prod(in_shape[1:-1]) * in_shape[-1] * layer.units
    fmt = getattr(layer, "data_format", "channels_last")
    out_positions, out_ch = _spatial_and_channels(out_shape, fmt)
    _, in_ch = _spatial_and_channels(in_shape, fmt)
    window = math.prod(layer.kernel_size)
    if kind in _CONV:
        return out_positions * out_ch * window * in_ch // getattr(layer, "groups", 1)
    depthwise = out_positions * in_ch * layer.depth_multiplier * window
    if kind in _DEPTHWISE:
        return depthwise
    return depthwise + out_positions * in_ch * layer.depth_multiplier * out_ch  # separable


def count_macs(model) -> int:
    """Multiply-accumulates of one inference of `model` (batch 1), from closed-form layer formulas.

    Conv: out_positions * out_channels * kernel_window * in_channels / groups.
    Depthwise: out_positions * in_channels * depth_multiplier * kernel_window.
    Dense: in_features * units (times the leading dims if applied to a sequence).
    Raises ValueError for a layer type it neither counts nor knowingly ignores.
    """
    return int(sum(_layer_macs(layer) for layer in model.layers))
