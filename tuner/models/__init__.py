"""Model builders: dense, conv1d, conv2d, DS-CNN, MobileNetV1/V2 (Keras 3, random init, no downloads).

Importing this package is cheap: Keras/TensorFlow load only when `build_model` runs, so
`FAMILIES`, `FamilySpec` and `check_params` serve the schema and the CLI without TF.

Params (flat dict from the search space; keys a family does not read are ignored):

| key | families | default | meaning |
|---|---|---|---|
| `family` | all | required | one of `FAMILIES` |
| `layers` | dense, conv1d, conv2d, dscnn | 2, 2, 2, 4 | number of hidden blocks |
| `units<i>` | same | 32, 16, 16, 64 for units1 | width (units or filters) of block i; missing -> units<i-1> |
| `kernel_size` | conv1d, conv2d | 3 | convolution kernel length/side |
| `pooling` | conv1d | "flatten" | "flatten" or "avg" (global average) before the classifier |
| `dropout` | all | 0.1 (dscnn 0.4) | dropout rate before the classifier (dense: after each block) |
| `alpha` | mobilenet_v1, mobilenet_v2 | 0.25, 0.35 | width multiplier, one of `FamilySpec.allowed_alphas` |
| `weights_path` | all | None | local `.weights.h5` file loaded into the built model |

In DS-CNN, `units1` is the width of the (10,4)/stride-2 stem conv and of DS block 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tuner.models._macs import IGNORED_LAYERS, count_macs
from tuner.models._registry import (
    FAMILIES,
    MOBILENET_V1_ALPHAS,
    MOBILENET_V2_ALPHAS,
    TRAINING_PARAMS,
    FamilySpec,
    adapt_input_shape,
    check_params,
    is_model_param,
    param_section,
    resolve,
)

if TYPE_CHECKING:
    import keras

__all__ = [
    "FAMILIES",
    "IGNORED_LAYERS",
    "MOBILENET_V1_ALPHAS",
    "MOBILENET_V2_ALPHAS",
    "TRAINING_PARAMS",
    "FamilySpec",
    "adapt_input_shape",
    "build_model",
    "check_params",
    "count_macs",
    "is_model_param",
    "param_section",
]


def build_model(params: Mapping[str, Any], input_shape: tuple[int, ...], n_classes: int, seed: int = 0) -> keras.Model:
    """Build an uncompiled Keras model ending in Dense(n_classes, softmax), with batch size None.

    `input_shape` is the shape of one sample (no batch dim). Ranks the family does not consume
    natively are reshaped where sensible (see `adapt_input_shape`), else InputError. The same
    params and seed give identical weights; global RNG state is not touched.
    """
    cfg = resolve(params, input_shape, n_classes)
    from tuner.models import _builders

    return _builders.build(cfg, seed)
