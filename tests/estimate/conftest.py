"""Tiny int8 models for the estimator tests, converted once per session (TensorFlow is only
needed here, never by the estimator)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _convert(model, int8: bool = True) -> bytes:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    shape = tuple(model.inputs[0].shape[1:])
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([rng.uniform(-1, 1, (1, *shape)).astype(np.float32)] for _ in range(4))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return conv.convert()


MODEL_NAMES = ("conv", "dw5", "fc", "residual", "branches", "small_cnn", "pool_fc", "float_conv")


def _builders():
    import keras
    from keras import layers

    def model(shape, f):
        i = keras.Input(shape, batch_size=1)
        return keras.Model(i, f(i))

    def residual(x):
        y = layers.Conv2D(4, 3, padding="same", activation="relu")(x)
        y = layers.Conv2D(4, 3, padding="same")(y)
        return layers.ReLU()(layers.Add()([x, y]))

    def branches(x):
        a = layers.Conv2D(4, 1, activation="relu")(x)
        b = layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
        y = layers.Concatenate()([a, b])
        return layers.Conv2D(8, 1)(y)

    def small_cnn(x):
        x = layers.Conv2D(8, 3, activation="relu")(x)
        x = layers.DepthwiseConv2D(3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Flatten()(x)
        x = layers.Dense(16, activation="relu")(x)
        return layers.Dense(3, activation="softmax")(x)

    def pool_fc(x):
        x = layers.AveragePooling2D(2)(x)
        x = layers.Flatten()(x)
        return layers.Dense(3)(x)

    return {
        "conv": (model((8, 8, 2), lambda x: layers.Conv2D(4, 3)(x)), True),
        "dw5": (model((8, 8, 4), lambda x: layers.DepthwiseConv2D(5, padding="same")(x)), True),
        "fc": (model((16,), lambda x: layers.Dense(8)(x)), True),
        "residual": (model((8, 8, 4), residual), True),
        "branches": (model((8, 8, 4), branches), True),
        "small_cnn": (model((16, 16, 1), small_cnn), True),
        "pool_fc": (model((8, 8, 4), pool_fc), True),
        "float_conv": (model((8, 8, 2), lambda x: layers.Conv2D(4, 3)(x)), False),
    }


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict:
    """name -> .tflite bytes, and name + '_path' -> the file. Files are shared through the session's
    base temp folder, so a second copy of this fixture (tests/test_cli_estimate.py) reuses them."""
    folder = tmp_path_factory.getbasetemp() / "estimator-tflite"
    folder.mkdir(exist_ok=True)
    builders = None
    out: dict = {}
    for name in MODEL_NAMES:
        path = folder / f"{name}.tflite"
        if not path.exists():
            if builders is None:
                builders = _builders()
            m, int8 = builders[name]
            path.write_bytes(_convert(m, int8))
        out[name] = path.read_bytes()
        out[name + "_path"] = path
    return out
