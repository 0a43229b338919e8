"""Full-integer int8 TF Lite conversion and int8 evaluation.

Conversion uses a batch-1 input so the flatbuffer has no SHAPE/STRIDED_SLICE/PACK ops (they cost
arena, flash and op-resolver entries on the device). Int8 inference runs on ai-edge-litert's
builtin kernels without XNNPACK, which are bit-exact with TFLM.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tuner.errors import CandidateFailed


def calibration_rows(representative: np.ndarray, n_samples: int = 200, seed: int = 0) -> np.ndarray:
    """The rows the int8 conversion calibrates on: `n_samples` drawn with `seed`, without replacement."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(representative), size=min(n_samples, len(representative)), replace=False)
    return representative[idx].astype(np.float32)


def to_int8(
    model: Any, representative: np.ndarray, n_samples: int = 200, seed: int = 0, rows_chosen: bool = False
) -> bytes:
    """Convert a Keras model to a full-int8 .tflite (int8 input and output). `rows_chosen`: the
    representative rows are already `calibration_rows` (taken as they are)."""
    import keras
    import tensorflow as tf

    # named, so the flatbuffer's tensor names do not depend on how many models this process built
    inp = keras.Input(model.input_shape[1:], batch_size=1, name="int8_input")
    fixed = keras.Model(inp, model(inp), name="int8_model")
    rep = representative.astype(np.float32) if rows_chosen else calibration_rows(representative, n_samples, seed)

    def gen():
        for row in rep:
            yield [row[None]]

    def configured(conv: Any) -> Any:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = gen
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
        return conv

    from tuner._quiet import quiet

    try:
        with quiet():
            try:
                return bytes(configured(_frozen_converter(fixed)).convert())
            except Exception:  # noqa: BLE001 - a graph the frozen path cannot take goes the long way
                return bytes(configured(tf.lite.TFLiteConverter.from_keras_model(fixed)).convert())
    except Exception as exc:  # converter errors fail the candidate, not the sweep
        raise CandidateFailed(f"int8 conversion failed: {str(exc).splitlines()[0][:200]}") from exc


def _frozen_converter(fixed: Any) -> Any:
    """Converter on the inference graph with variables frozen to constants.

    `from_keras_model` writes and re-reads a SavedModel first: 4-6x slower (MobileNetV1 0.25 @48:
    4.0 s vs 0.8 s on 2 cores) for the same ops, tensors and int8 outputs; only the flatbuffer's
    signature_defs (~170 B of metadata) are left out. Unfrozen concrete functions keep
    READ_VARIABLE ops that fail calibration, hence the freeze."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    spec = tf.TensorSpec([1, *fixed.input_shape[1:]], tf.float32)
    fn = tf.function(lambda x: fixed(x, training=False)).get_concrete_function(spec)
    return tf.lite.TFLiteConverter.from_concrete_functions([convert_variables_to_constants_v2(fn)])


def interpreter(tflite: bytes) -> Any:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(
        model_content=tflite, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    it.allocate_tensors()
    return it


def predict_int8(tflite: bytes, x: np.ndarray) -> np.ndarray:
    """Class probabilities from the int8 model (dequantized), one inference per sample."""
    it = interpreter(tflite)
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    s_in, z_in = i["quantization"]
    s_out, z_out = o["quantization"]
    xq = np.clip(np.round(x / s_in + z_in), -128, 127).astype(np.int8)
    out = np.empty((len(x), o["shape"][-1]), dtype=np.float32)
    for k in range(len(x)):
        it.set_tensor(i["index"], xq[k : k + 1])
        it.invoke()
        out[k] = (it.get_tensor(o["index"])[0].astype(np.float32) - z_out) * s_out
    return out


def is_int8_end_to_end(tflite: bytes) -> bool:
    """True when input, output and every op's activations are int8 (no float fallback)."""
    it = interpreter(tflite)
    io_ok = all(d["dtype"] == np.int8 for d in it.get_input_details() + it.get_output_details())
    float_tensors = [t for t in it.get_tensor_details() if t["dtype"] == np.float32]
    return io_ok and not float_tensors
