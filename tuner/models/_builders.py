"""Keras 3 builders, one function per family. Imported lazily by `build_model` (this pulls in TF).

Every layer converts to full-int8 TFLite builtin ops: Conv2D/Conv1D -> CONV_2D, DepthwiseConv2D ->
DEPTHWISE_CONV_2D, Dense -> FULLY_CONNECTED, pooling -> MAX/AVERAGE_POOL_2D, Add -> ADD,
Flatten/Reshape -> RESHAPE, softmax -> SOFTMAX; BatchNormalization folds into the convolution
before it and ReLU/ReLU6 fuse into it. Global average pooling is an AveragePooling2D over the whole
feature map (AVERAGE_POOL_2D, which every MCU kernel library optimizes) rather than MEAN.

BatchNormalization uses momentum 0.9: with Keras' 0.999 the moving statistics cannot settle in the
few hundred steps of a small-data run and the model stays at chance in inference mode.

Weights are reproducible without touching global RNG state: every initializer and Dropout gets
its own integer seed derived from (seed, layer counter).
"""

from __future__ import annotations

import keras
from keras import layers

from tuner.errors import InputError
from tuner.models._registry import ModelConfig

BN_MOMENTUM = 0.9


class _Seeds:
    """Distinct, reproducible integer seeds for the layers of one model."""

    def __init__(self, seed: int) -> None:
        self._base = (int(seed) * 1009) % (2**31 - 1)
        self._n = 0

    def __call__(self) -> int:
        self._n += 1
        return (self._base + self._n) % (2**31 - 1)

    def init(self):
        return keras.initializers.GlorotUniform(seed=self())


def _bn(x, name):
    return layers.BatchNormalization(momentum=BN_MOMENTUM, name=name)(x)


def _conv_bn(x, filters, kernel, s, name, strides=1, act="relu"):
    x = layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer=s.init(),
        name=f"{name}_conv",
    )(x)
    x = _bn(x, f"{name}_bn")
    if act == "relu":
        x = layers.ReLU(name=f"{name}_relu")(x)
    elif act == "relu6":
        x = layers.ReLU(6.0, name=f"{name}_relu6")(x)
    return x


def _dw_bn(x, s, name, strides=1, act="relu"):
    x = layers.DepthwiseConv2D(
        3, strides=strides, padding="same", use_bias=False, depthwise_initializer=s.init(), name=f"{name}_dw"
    )(x)
    x = _bn(x, f"{name}_dw_bn")
    return layers.ReLU(6.0 if act == "relu6" else None, name=f"{name}_dw_{act}")(x)


def _global_avg_pool(x, name="avg_pool"):
    """Average over all spatial positions as AVERAGE_POOL_2D + RESHAPE (not MEAN)."""
    spatial = tuple(x.shape[1:-1])
    if len(spatial) == 1:
        x = layers.AveragePooling1D(pool_size=spatial[0], name=name)(x)
    else:
        x = layers.AveragePooling2D(pool_size=spatial, name=name)(x)
    return layers.Flatten(name="flatten")(x)


def _head(x, cfg: ModelConfig, s: _Seeds):
    if cfg.dropout > 0:
        x = layers.Dropout(cfg.dropout, seed=s(), name="dropout")(x)
    return layers.Dense(cfg.n_classes, activation="softmax", kernel_initializer=s.init(), name="classifier")(x)


def _pool_size(dims) -> tuple[int, ...]:
    """Pool by 2 along each axis that still has at least 2 positions."""
    return tuple(2 if d >= 2 else 1 for d in dims)


def _dense(x, cfg: ModelConfig, s: _Seeds):
    if len(x.shape) > 2:
        x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(cfg.units, 1):
        x = layers.Dense(units, activation="relu", kernel_initializer=s.init(), name=f"dense{i}")(x)
        if cfg.dropout > 0:
            x = layers.Dropout(cfg.dropout, seed=s(), name=f"dropout{i}")(x)
    return layers.Dense(cfg.n_classes, activation="softmax", kernel_initializer=s.init(), name="classifier")(x)


def _conv1d(x, cfg: ModelConfig, s: _Seeds):
    for i, units in enumerate(cfg.units, 1):
        x = layers.Conv1D(
            units, cfg.kernel_size, padding="same", activation="relu", kernel_initializer=s.init(), name=f"conv{i}"
        )(x)
        if x.shape[1] >= 2:
            x = layers.MaxPooling1D(2, name=f"pool{i}")(x)
    if cfg.pooling == "avg":
        x = _global_avg_pool(x)
    else:
        x = layers.Flatten(name="flatten")(x)
    return _head(x, cfg, s)


def _conv2d(x, cfg: ModelConfig, s: _Seeds):
    for i, units in enumerate(cfg.units, 1):
        x = layers.Conv2D(
            units, cfg.kernel_size, padding="same", activation="relu", kernel_initializer=s.init(), name=f"conv{i}"
        )(x)
        pool = _pool_size(x.shape[1:3])
        if pool != (1, 1):
            x = layers.MaxPooling2D(pool, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    return _head(x, cfg, s)


def _dscnn(x, cfg: ModelConfig, s: _Seeds):
    kernel = (min(10, x.shape[1]), min(4, x.shape[2]))
    x = _conv_bn(x, cfg.units[0], kernel, s, "stem", strides=2)
    for i, units in enumerate(cfg.units, 1):
        x = _dw_bn(x, s, f"block{i}")
        x = _conv_bn(x, units, 1, s, f"block{i}_pw")
    x = _global_avg_pool(x)
    return _head(x, cfg, s)


# (pointwise filters before alpha, depthwise stride) of the 13 MobileNetV1 blocks
_V1_BLOCKS = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)


def _mobilenet_v1(x, cfg: ModelConfig, s: _Seeds):
    """Channel counts as keras.applications.MobileNet: int(filters * alpha)."""
    a = cfg.alpha
    x = _conv_bn(x, max(1, int(32 * a)), 3, s, "stem", strides=2, act="relu6")
    for i, (filters, stride) in enumerate(_V1_BLOCKS, 1):
        x = _dw_bn(x, s, f"block{i}", strides=stride, act="relu6")
        x = _conv_bn(x, max(1, int(filters * a)), 1, s, f"block{i}_pw", act="relu6")
    x = _global_avg_pool(x)
    return _head(x, cfg, s)


def _make_divisible(v: float, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


# (expansion t, output channels c, repeats n, first stride s) of MobileNetV2
_V2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _mobilenet_v2(x, cfg: ModelConfig, s: _Seeds):
    """Channel counts as keras.applications.MobileNetV2 (multiples of 8; last conv 1280)."""
    a = cfg.alpha
    x = _conv_bn(x, _make_divisible(32 * a), 3, s, "stem", strides=2, act="relu6")
    block = 0
    for t, c, n, first_stride in _V2_STAGES:
        out_ch = _make_divisible(c * a)
        for r in range(n):
            stride = first_stride if r == 0 else 1
            name = f"block{block}"
            in_ch = x.shape[-1]
            y = x
            if t != 1:
                y = _conv_bn(y, in_ch * t, 1, s, f"{name}_expand", act="relu6")
            y = _dw_bn(y, s, name, strides=stride, act="relu6")
            y = _conv_bn(y, out_ch, 1, s, f"{name}_project", act=None)
            x = layers.Add(name=f"{name}_add")([x, y]) if stride == 1 and in_ch == out_ch else y
            block += 1
    last = _make_divisible(1280 * a) if a > 1.0 else 1280
    x = _conv_bn(x, last, 1, s, "last", act="relu6")
    x = _global_avg_pool(x)
    return _head(x, cfg, s)


_BUILDERS = {
    "dense": _dense,
    "conv1d": _conv1d,
    "conv2d": _conv2d,
    "dscnn": _dscnn,
    "mobilenet_v1": _mobilenet_v1,
    "mobilenet_v2": _mobilenet_v2,
}


def build(cfg: ModelConfig, seed: int) -> keras.Model:
    """Build the (uncompiled) Keras model described by a resolved `cfg`."""
    s = _Seeds(seed)
    inputs = keras.Input(cfg.input_shape, name="input")
    x = inputs
    if cfg.model_input_shape != cfg.input_shape:
        x = layers.Reshape(cfg.model_input_shape, name="reshape_input")(x)
    outputs = _BUILDERS[cfg.family](x, cfg, s)
    model = keras.Model(inputs, outputs, name=cfg.family)
    if cfg.weights_path is not None:
        try:
            model.load_weights(cfg.weights_path)
        except (ValueError, KeyError, OSError) as exc:
            raise InputError(f"`weights_path` {cfg.weights_path} does not fit this {cfg.family} model: {exc}") from exc
    return model
