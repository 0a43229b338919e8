"""Every family converts to full-int8 TFLite with builtin int8 ops only (nothing falls back to float)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402

from tuner.models import FAMILIES, build_model  # noqa: E402

# int8 builtin kernels that TFLM and CMSIS-NN/ESP-NN implement; anything else is a failure here
INT8_OPS = {
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "MAX_POOL_2D",
    "AVERAGE_POOL_2D",
    "ADD",
    "RESHAPE",
    "SOFTMAX",
}

CASES = [
    pytest.param({"family": "dense"}, (20,), id="dense"),
    pytest.param({"family": "dense", "layers": 1}, (4, 5, 2), id="dense-flatten"),
    pytest.param({"family": "conv1d", "units1": 8}, (16, 3), id="conv1d"),
    pytest.param({"family": "conv1d", "units1": 8, "pooling": "avg"}, (16,), id="conv1d-flat-avg"),
    pytest.param({"family": "conv2d", "units1": 8}, (8, 8, 1), id="conv2d"),
    pytest.param({"family": "dscnn", "layers": 2, "units1": 8}, (16, 8), id="dscnn"),
    pytest.param({"family": "mobilenet_v1", "alpha": 0.25}, (32, 32, 1), id="mobilenet_v1"),  # ~3 s
    pytest.param(
        {"family": "mobilenet_v2", "alpha": 0.35}, (32, 32, 1), id="mobilenet_v2", marks=pytest.mark.slow
    ),  # ~6 s
]


def to_int8(model: keras.Model, shape: tuple[int, ...]) -> bytes:
    i = keras.Input(shape, batch_size=1)  # batch 1: no SHAPE/STRIDED_SLICE/PACK before RESHAPE
    wrapped = keras.Model(i, model(i))
    rng = np.random.default_rng(0)
    conv = tf.lite.TFLiteConverter.from_keras_model(wrapped)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rng.random((1, *shape), dtype=np.float32)] for _ in range(16))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


def test_cases_cover_every_family():
    assert {p.values[0]["family"] for p in CASES} == set(FAMILIES)


@pytest.mark.parametrize(("params", "shape"), CASES)
def test_converts_to_full_int8_builtin_ops(params, shape):
    n_classes = 3
    buf = to_int8(build_model(params, shape, n_classes), shape)
    it = Interpreter(model_content=buf, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    ops = {op["op_name"] for op in it._get_ops_details()}
    assert ops <= INT8_OPS, f"ops outside the int8 builtin set: {sorted(ops - INT8_OPS)}"
    assert {"FULLY_CONNECTED", "SOFTMAX"} <= ops
    # no float tensor anywhere (a float fallback would need float32 tensors and (DE)QUANTIZE ops)
    dtypes = {np.dtype(t["dtype"]).name for t in it.get_tensor_details()}
    assert dtypes <= {"int8", "int32"}, dtypes
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    assert tuple(inp["shape"]) == (1, *shape) and inp["dtype"] == np.int8
    assert tuple(out["shape"]) == (1, n_classes) and out["dtype"] == np.int8
    it.set_tensor(inp["index"], np.zeros((1, *shape), np.int8))
    it.invoke()
    assert it.get_tensor(out["index"]).shape == (1, n_classes)
