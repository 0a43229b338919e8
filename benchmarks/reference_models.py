"""Keras rebuilds of the seven reference models measured in ``tuner/_data/calibration/latency.csv``.

Weights are random (latency, RAM and flash do not depend on them); the graphs follow the
MLPerf Tiny v0.5 reference models and the TFLM person-detection example, so that their int8
TFLite conversions have the MAC counts listed in ``calibration/latency.csv``:

=====================  ==========  ================================================
model                  MACs        architecture
=====================  ==========  ================================================
kws_dscnn              2,656,768   DS-CNN, 49x10x1 MFCC, 64 channels, 12 classes
vww_mobilenetv1_025    7,489,664   MobileNetV1 alpha 0.25, 96x96x3, 2 classes
ic_resnet8             12,501,632  ResNet-8, 32x32x3, 16/32/64 filters, 10 classes
ad_fc_autoencoder      264,192     dense autoencoder 640-128x4-8-128x4-640
person_detect          7,157,888   MobileNetV1 alpha 0.25, 96x96x1, 2 classes
micro_speech_tinyconv  336,000     TFLM micro_speech tiny_conv: conv 10x8/2 (8), FC 4
sine_fc                288         TFLM hello_world: Dense 1-16-16-1
=====================  ==========  ================================================

Usage: ``python benchmarks/reference_models.py OUT_DIR`` writes ``<name>.tflite`` for each.
Imports TensorFlow (this is a benchmark helper, not part of the estimator).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

REFERENCE_MACS = {
    "kws_dscnn": 2_656_768,
    "vww_mobilenetv1_025": 7_489_664,
    "ic_resnet8": 12_501_632,
    "ad_fc_autoencoder": 264_192,
    "person_detect": 7_157_888,
    "micro_speech_tinyconv": 336_000,
    "sine_fc": 288,
}


def _bn_relu(x):
    from keras import layers

    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def kws_dscnn():
    import keras
    from keras import layers

    inp = keras.Input((49, 10, 1), batch_size=1)
    x = layers.Conv2D(64, (10, 4), strides=(2, 2), padding="same", use_bias=False)(inp)
    x = _bn_relu(x)
    x = layers.Dropout(0.2)(x)
    for _ in range(4):
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        x = _bn_relu(x)
        x = layers.Conv2D(64, 1, use_bias=False)(x)
        x = _bn_relu(x)
    x = layers.Dropout(0.4)(x)
    x = layers.AveragePooling2D(pool_size=(25, 5))(x)
    x = layers.Flatten()(x)
    out = layers.Dense(12, activation="softmax")(x)
    return keras.Model(inp, out, name="kws_dscnn")


def _mobilenet_v1_025(channels: int, name: str):
    import keras
    from keras import layers

    inp = keras.Input((96, 96, channels), batch_size=1)
    x = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inp)
    x = _bn_relu(x)
    # (pointwise filters, depthwise stride) of MobileNetV1, alpha 0.25
    blocks = [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2)] + [(128, 1)] * 5 + [(256, 2), (256, 1)]
    for filters, stride in blocks:
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
        x = _bn_relu(x)
        x = layers.Conv2D(filters, 1, use_bias=False)(x)
        x = _bn_relu(x)
    x = layers.AveragePooling2D(pool_size=3)(x)
    x = layers.Flatten()(x)
    out = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inp, out, name=name)


def vww_mobilenetv1_025():
    return _mobilenet_v1_025(3, "vww_mobilenetv1_025")


def person_detect():
    return _mobilenet_v1_025(1, "person_detect")


def ic_resnet8():
    import keras
    from keras import layers

    inp = keras.Input((32, 32, 3), batch_size=1)
    x = layers.Conv2D(16, 3, padding="same")(inp)
    x = _bn_relu(x)
    for filters, stride in [(16, 1), (32, 2), (64, 2)]:
        y = layers.Conv2D(filters, 3, strides=stride, padding="same")(x)
        y = _bn_relu(y)
        y = layers.Conv2D(filters, 3, padding="same")(y)
        y = layers.BatchNormalization()(y)
        if stride != 1:
            x = layers.Conv2D(filters, 1, strides=stride, padding="same")(x)
        x = layers.ReLU()(layers.Add()([x, y]))
    x = layers.AveragePooling2D(pool_size=8)(x)
    x = layers.Flatten()(x)
    out = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inp, out, name="ic_resnet8")


def ad_fc_autoencoder():
    import keras
    from keras import layers

    inp = keras.Input((640,), batch_size=1)
    x = inp
    for units in [128, 128, 128, 128, 8, 128, 128, 128, 128]:
        x = layers.Dense(units)(x)
        x = _bn_relu(x)
    out = layers.Dense(640)(x)
    return keras.Model(inp, out, name="ad_fc_autoencoder")


def micro_speech_tinyconv():
    import keras
    from keras import layers

    inp = keras.Input((49, 40, 1), batch_size=1)
    x = layers.Conv2D(8, (10, 8), strides=2, padding="same", activation="relu")(inp)
    x = layers.Flatten()(x)
    out = layers.Dense(4, activation="softmax")(x)
    return keras.Model(inp, out, name="micro_speech_tinyconv")


def sine_fc():
    import keras
    from keras import layers

    inp = keras.Input((1,), batch_size=1)
    x = layers.Dense(16, activation="relu")(inp)
    x = layers.Dense(16, activation="relu")(x)
    out = layers.Dense(1)(x)
    return keras.Model(inp, out, name="sine_fc")


BUILDERS: dict[str, Callable] = {
    "kws_dscnn": kws_dscnn,
    "vww_mobilenetv1_025": vww_mobilenetv1_025,
    "ic_resnet8": ic_resnet8,
    "ad_fc_autoencoder": ad_fc_autoencoder,
    "person_detect": person_detect,
    "micro_speech_tinyconv": micro_speech_tinyconv,
    "sine_fc": sine_fc,
}


def _calm_logits(model, x: np.ndarray) -> None:
    """Scale the last Dense kernel so that logits stay within about +-8 on `x`.

    An untrained deep net without trained BatchNorm statistics can produce logits in the
    thousands, or all zeros when its ReLUs die; the int8 SOFTMAX then gets an input scale that
    TFLM rejects with an abort (QuantizeMultiplierGreaterThanOne). A spread-out bias keeps the
    logit range sane. Latency, RAM and flash do not depend on these values.
    """
    import keras

    last = model.layers[-1]
    if not isinstance(last, keras.layers.Dense) or not last.use_bias:
        return
    logits = keras.Model(model.inputs, last.output)(x, training=False)
    peak = float(np.max(np.abs(np.asarray(logits))))
    kernel, *rest = last.get_weights()
    scale = 8.0 / peak if peak > 8.0 else 1.0
    spread = [np.linspace(-4.0, 4.0, r.size).reshape(r.shape).astype(r.dtype) for r in rest]
    last.set_weights([kernel * scale, *spread])


def to_int8_tflite(model, n_samples: int = 8, seed: int = 0) -> bytes:
    """Full-integer int8 conversion (the tuner's own converter) with a random representative set."""
    from tuner.quantize import to_int8

    rng = np.random.default_rng(seed)
    shape = tuple(model.inputs[0].shape[1:])
    _calm_logits(model, rng.uniform(0.0, 1.0, (1, *shape)).astype(np.float32))
    return to_int8(model, rng.uniform(0.0, 1.0, (n_samples, *shape)).astype(np.float32), n_samples, seed)


def build_all(out_dir: str | Path, names: list[str] | None = None) -> dict[str, Path]:
    """Convert the reference models (cached: an existing file is reused)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in names or list(BUILDERS):
        path = out / f"{name}.tflite"
        if not path.exists():
            path.write_bytes(to_int8_tflite(BUILDERS[name]()))
        paths[name] = path
    return paths


if __name__ == "__main__":
    target_dir = sys.argv[1] if len(sys.argv) > 1 else "results/reference_models"
    for name, path in build_all(target_dir).items():
        print(f"{name}: {path} ({path.stat().st_size:,} B)")
