"""Quantization-aware training on Keras 3 without tensorflow-model-optimization.

tfmot's `quantize_model` refuses Keras 3 models and importing it switches `tf.keras` to the legacy
tf_keras (STACK-NOTES section 5), so this module takes the Keras 3 fake-quant route that was
checked there: every Dense/Conv1D/Conv2D/DepthwiseConv2D is replaced by a subclass that
fake-quantizes its kernel in `call()` (symmetric, narrow range [-127, 127]; per output channel for
convolutions, per tensor for Dense and depthwise, the only forms the converter accepts) and its
output activation (asymmetric, range tracked by an exponential moving average while training). The
TFLite converter reads those ranges, so the int8 model sees the rounding the network was trained
with.

The QAT model starts from the trained float weights and is fine-tuned at a tenth of the learning
rate (the usual recipe: quantization-aware fine-tuning, not training from scratch). BatchNorm after a
convolution is folded into it first (inference statistics) and a ReLU/ReLU6 after it becomes the
layer's activation, as the converter fuses them, so the fake quantization sees the int8 tensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from tuner.errors import InputError

EMA_MOMENTUM = 0.99
QAT_LR_FACTOR = 0.1


def _fake_quant(x: Any, lo: Any, hi: Any, narrow: bool = False, axis: int | None = None) -> Any:
    return keras.quantizers.fake_quant_with_min_max_vars(x, lo, hi, num_bits=8, narrow_range=narrow, axis=axis)


def weight_fake_quant(kernel: Any, axis: int | None = None) -> Any:
    """Symmetric int8 fake quantization of a kernel, per tensor (`axis=None`) or per channel."""
    if axis is None:
        a = ops.max(ops.abs(kernel))
    else:
        rank = len(kernel.shape)
        a = ops.max(ops.abs(kernel), axis=[i for i in range(rank) if i != axis % rank])
    a = ops.maximum(a, 1e-8)
    return _fake_quant(kernel, -a, a, narrow=True, axis=axis)


class _ActRange:
    """Output fake quantization with an EMA-tracked range (always containing 0, as int8 needs)."""

    def _build_range(self) -> None:
        kw = {"shape": (), "initializer": "zeros", "trainable": False}
        self.act_min = self.add_weight(name="act_min", **kw)
        self.act_max = self.add_weight(name="act_max", **kw)
        self.act_seen = self.add_weight(name="act_seen", **kw)

    def _fq(self, y: Any, training: bool | None) -> Any:
        if training:
            bmin = ops.minimum(ops.min(y), 0.0)
            bmax = ops.maximum(ops.max(y), 0.0)
            seen = self.act_seen > 0
            lo = ops.where(seen, EMA_MOMENTUM * self.act_min + (1 - EMA_MOMENTUM) * bmin, bmin)
            hi = ops.where(seen, EMA_MOMENTUM * self.act_max + (1 - EMA_MOMENTUM) * bmax, bmax)
            self.act_min.assign(lo)
            self.act_max.assign(hi)
            self.act_seen.assign(1.0)
        else:
            lo, hi = self.act_min, self.act_max
        hi = ops.maximum(hi, lo + 1e-6)
        return _fake_quant(y, lo, hi)

    def _finish(self, y: Any, training: bool | None) -> Any:
        act = self.activation
        if act is None:
            return self._fq(y, training)
        if getattr(act, "__name__", "") == "softmax":  # TFLite fixes softmax's output scale; quantize logits
            return act(self._fq(y, training))
        return self._fq(act(y), training)


class ActFakeQuant(_ActRange, layers.Layer):
    """Fake quantization of a tensor (used on the model input)."""

    activation = None

    def build(self, input_shape: Any) -> None:
        self._build_range()

    def call(self, x: Any, training: bool | None = None) -> Any:
        return self._fq(x, training)


class QDense(_ActRange, layers.Dense):
    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        self._build_range()

    def call(self, x: Any, training: bool | None = None) -> Any:
        y = ops.matmul(x, weight_fake_quant(self.kernel))  # per-channel Dense does not convert
        if self.use_bias:
            y = ops.add(y, self.bias)
        return self._finish(y, training)


class _QConv(_ActRange):
    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        self._build_range()

    def call(self, x: Any, training: bool | None = None) -> Any:
        y = self.convolution_op(x, weight_fake_quant(self.kernel, axis=-1))
        if self.use_bias:
            y = ops.add(y, ops.reshape(self.bias, (1,) * (self.rank + 1) + (self.filters,)))
        return self._finish(y, training)


class QConv1D(_QConv, layers.Conv1D):
    """Conv1D as the converter lowers it (a 1xW Conv2D), so the per-channel axis survives the reshape."""

    def convolution_op(self, x: Any, kernel: Any) -> Any:
        raise AssertionError("unused")  # pragma: no cover

    def call(self, x: Any, training: bool | None = None) -> Any:
        k = weight_fake_quant(ops.expand_dims(self.kernel, 0), axis=-1)
        y = ops.conv(
            ops.expand_dims(x, 1),
            k,
            strides=(1, self.strides[0]),
            padding=self.padding,
            dilation_rate=(1, self.dilation_rate[0]),
        )
        y = ops.squeeze(y, 1)
        if self.use_bias:
            y = ops.add(y, self.bias)
        return self._finish(y, training)


class QConv2D(_QConv, layers.Conv2D):
    pass


class QDepthwiseConv2D(_ActRange, layers.DepthwiseConv2D):
    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        self._build_range()

    def call(self, x: Any, training: bool | None = None) -> Any:
        y = ops.depthwise_conv(
            x,
            weight_fake_quant(self.kernel),
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )
        if self.use_bias:
            y = ops.add(y, ops.reshape(self.bias, (1,) * (self.rank + 1) + (-1,)))
        return self._finish(y, training)


# Order matters: DepthwiseConv2D is a Conv2D subclass in some Keras versions.
_REPLACE = (
    (layers.DepthwiseConv2D, QDepthwiseConv2D),
    (layers.Conv1D, QConv1D),
    (layers.Conv2D, QConv2D),
    (layers.Dense, QDense),
)
_UNSUPPORTED = (
    layers.Conv1DTranspose,
    layers.Conv2DTranspose,
    layers.SeparableConv2D,
    layers.SeparableConv1D,
)


@dataclass
class _Fusion:
    """How one weight layer is rewritten: BatchNorm folded into it, a following ReLU absorbed."""

    bn: Any = None
    activation: str | None = None
    absorbed: list[str] = field(default_factory=list)


class _Folded(layers.Layer):
    """Stands in for a BatchNorm or ReLU folded into the layer before it (takes the same call kwargs)."""

    def call(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        return x


def _consumers(model: keras.Model) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {lyr.name: [] for lyr in model.layers}
    for lyr in model.layers:
        for node in lyr._inbound_nodes:
            for parent in node.parent_nodes:
                out.setdefault(parent.operation.name, []).append(lyr)
    return out


def _relu_kind(layer: Any) -> str | None:
    cfg = layer.get_config()
    if isinstance(layer, layers.ReLU):
        if cfg.get("negative_slope", 0) or cfg.get("threshold", 0):
            return None
        return {None: "relu", 6.0: "relu6"}.get(None if cfg.get("max_value") is None else float(cfg["max_value"]))
    if isinstance(layer, layers.Activation) and cfg.get("activation") in ("relu", "relu6"):
        return cfg["activation"]
    return None


def _plan(model: keras.Model) -> dict[str, _Fusion]:
    """Weight layers followed (as their only consumer) by BatchNorm and/or ReLU, as the TFLite
    converter fuses them: BN folds into the kernel and bias, ReLU/ReLU6 becomes the layer's activation."""
    cons = _consumers(model)
    plan: dict[str, _Fusion] = {}
    for lyr in model.layers:
        if type(lyr) not in (layers.Conv1D, layers.Conv2D, layers.DepthwiseConv2D, layers.Dense):
            continue
        if lyr.get_config().get("activation") not in ("linear", None):
            continue
        f, tail = _Fusion(), lyr
        nxt = cons.get(tail.name, [])
        if (
            len(nxt) == 1
            and isinstance(nxt[0], layers.BatchNormalization)
            and nxt[0].axis in (-1, len(lyr.output.shape) - 1)
        ):
            f.bn, tail = nxt[0], nxt[0]
            f.absorbed.append(tail.name)
        nxt = cons.get(tail.name, [])
        if len(nxt) == 1 and _relu_kind(nxt[0]):
            f.activation = _relu_kind(nxt[0])
            f.absorbed.append(nxt[0].name)
        if f.absorbed:
            plan[lyr.name] = f
    return plan


def _folded(layer: Any, bn: Any) -> tuple[np.ndarray, np.ndarray]:
    """Kernel and bias of `layer` with the inference-mode BatchNorm after it folded in."""
    k = np.asarray(layer.kernel)
    b = np.asarray(layer.bias) if layer.use_bias else 0.0
    gamma = np.asarray(bn.gamma) if bn.scale else 1.0
    beta = np.asarray(bn.beta) if bn.center else 0.0
    scale = gamma / np.sqrt(np.asarray(bn.moving_variance) + bn.epsilon)
    shift = beta - np.asarray(bn.moving_mean) * scale
    if isinstance(layer, layers.DepthwiseConv2D):  # output channel c * multiplier + m
        k = k * scale.reshape(k.shape[-2], k.shape[-1])
    else:
        k = k * scale
    return k.astype("float32"), (b * scale + shift).astype("float32")


def check_supported(model: keras.Model) -> None:
    """InputError if the model has layers this QAT cannot handle (checked before any training)."""
    fused = {name for f in _plan(model).values() for name in f.absorbed}
    bad = {type(lyr).__name__ for lyr in model.layers if isinstance(lyr, _UNSUPPORTED)}
    bad |= {
        "BatchNormalization (not after a convolution or Dense)"
        for lyr in model.layers
        if isinstance(lyr, layers.BatchNormalization) and lyr.name not in fused
    }
    if bad:
        raise InputError(
            f"--qat does not support models with {', '.join(sorted(bad))}; "
            "use post-training int8 (retrain without --qat)"
        )


def quantize_aware(model: keras.Model) -> keras.Model:
    """A copy of `model` with fake-quantized weights and activations, starting from its weights.

    BatchNorm after a convolution/Dense is folded into it and a ReLU/ReLU6 after that becomes its
    activation (both replaced by Identity), so the fake quantization sees the tensors the int8
    model will have."""
    check_supported(model)
    plan = _plan(model)
    absorbed = {name for f in plan.values() for name in f.absorbed}

    def clone(layer: Any) -> Any:
        if layer.name in absorbed:
            return _Folded(name=layer.name)
        for base, qcls in _REPLACE:
            if type(layer) is base:
                cfg = layer.get_config()
                f = plan.get(layer.name)
                if f is not None and f.bn is not None:
                    cfg["use_bias"] = True
                if f is not None and f.activation:
                    cfg["activation"] = f.activation
                return qcls.from_config(cfg)
        return layer.__class__.from_config(layer.get_config())

    inner = keras.models.clone_model(model, clone_function=clone)
    for lyr in inner.layers:  # float weights (Q layers: kernel and bias first, then the ranges)
        src = next((s for s in model.layers if s.name == lyr.name), None)
        if src is None or not src.weights or lyr.name in absorbed:
            continue
        f = plan.get(lyr.name)
        values = list(_folded(src, f.bn)) if f is not None and f.bn is not None else src.weights
        for dst_w, value in zip(lyr.weights, values, strict=False):
            dst_w.assign(value)
    inp = keras.Input(model.input_shape[1:], name="qat_input")
    return keras.Model(inp, inner(ActFakeQuant(name="input_fq")(inp)), name=f"{model.name}_qat")


@dataclass(frozen=True)
class QatResult:
    tflite: bytes
    float_accuracy: float  # the fake-quant Keras model
    int8_accuracy: float  # the converted int8 TFLite model, test split
    int8_confusion: list[list[int]]
    val_int8_accuracy: float  # validation split: what chooses between QAT and PTQ
    epochs_run: int
    train_seconds: float
    history: dict[str, list[float]]


def qat_finetune(
    model: keras.Model,
    feats: dict[str, tuple[np.ndarray, np.ndarray]],
    params: dict[str, Any],
    seed: int = 0,
    epochs: int | None = None,
) -> QatResult:
    """Fine-tune a trained float model with fake quantization, convert to int8 and evaluate on test."""
    from tuner.quantize import predict_int8, to_int8
    from tuner.train import train

    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = feats["train"], feats["val"], feats["test"]
    qmodel = quantize_aware(model)
    n_epochs = int(epochs or max(2, math.ceil(int(params.get("epochs", 30)) / 2)))
    qparams = {**params, "learning_rate": float(params.get("learning_rate", 1e-3)) * QAT_LR_FACTOR}
    result = train(qmodel, x_tr, y_tr, x_va, y_va, qparams, seed=seed, epochs=n_epochs)
    n = int(model.output_shape[-1])
    float_acc = float((qmodel.predict(x_te, verbose=0, batch_size=256).argmax(1) == y_te).mean())
    tflite = to_int8(qmodel, x_tr, seed=seed)
    pred = predict_int8(tflite, x_te).argmax(1)
    cm = np.zeros((n, n), dtype=int)
    np.add.at(cm, (y_te, pred), 1)
    val_acc = float((predict_int8(tflite, x_va).argmax(1) == y_va).mean())
    return QatResult(
        tflite,
        float_acc,
        float((pred == y_te).mean()),
        cm.tolist(),
        val_acc,
        result.epochs_run,
        result.train_seconds,
        result.history,
    )
