"""Per-op work units ("features") that the latency model turns into cycles.

Every op kind of TFLM is in exactly one of three places: `_COMPUTE` (has a cost rule),
`_IGNORED` (no run-time work, with the reason), or it is unsupported (estimated with a
fallback rule, named in the estimate, and the band widened). See STYLE.md "Never
underestimate silently".

Work units, counted per op from the parsed graph:
- ``mac_conv``, ``mac_dw``, ``mac_fc``: multiply-accumulates of conv (and transpose conv),
  depthwise conv, fully connected (and batch matmul);
- ``im2col``: input elements staged per output pixel by a conv (= MACs / output channels);
  this is what makes convs with few output channels cost more per MAC;
- ``out``: output elements of MAC ops (each is requantised: a 64-bit multiply, shift, clamp);
- ``elem``: elements touched by pooling (output elements x window) and element-wise ops
  (output elements x inputs);
- ``act``: elements of transcendental activations (softmax, logistic, tanh, ...), exp/LUT work;
- ``move``: bytes copied by data-movement ops (reshape copy, pad, concat, quantize, transpose);
- ``op``: one per invoked op (interpreter dispatch, parameter set-up).
"""

from __future__ import annotations

import math

from tuner.estimate._graph import Graph, Op, op_macs

FEATURES = ("mac_conv", "mac_dw", "mac_fc", "im2col", "out", "elem", "act", "move", "op")

_MAC_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL"}
_POOL_OPS = {"AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"}
_ELEMENTWISE = {
    "ADD",
    "SUB",
    "MUL",
    "DIV",
    "SQUARED_DIFFERENCE",
    "MAXIMUM",
    "MINIMUM",
    "RELU",
    "RELU6",
    "RELU_N1_TO_1",
    "RELU_0_TO_1",
    "LEAKY_RELU",
    "PRELU",
    "HARD_SWISH",
    "ABS",
    "NEG",
    "MEAN",
    "SUM",
    "REDUCE_MAX",
    "REDUCE_MIN",
    "ARG_MAX",
    "ARG_MIN",
    "LOG_SOFTMAX",
    "RSQRT",
    "SQRT",
    "SQUARE",
    "EQUAL",
    "NOT_EQUAL",
    "LESS",
    "GREATER",
    "LESS_EQUAL",
    "GREATER_EQUAL",
    "SELECT",
    "SELECT_V2",
    "RESIZE_NEAREST_NEIGHBOR",
    "RESIZE_BILINEAR",
    "FLOOR",
    "CEIL",
    "ROUND",
    "L2_NORMALIZATION",
    "ADD_N",
    "FLOOR_DIV",
    "FLOOR_MOD",
    "CUMSUM",
    "BROADCAST_TO",
    "ZEROS_LIKE",
    "FILL",
}
_ACTIVATIONS = {"SOFTMAX", "LOGISTIC", "TANH", "EXP", "LOG", "SIN", "COS", "ELU", "GELU"}
_MOVES = {
    "PAD",
    "PADV2",
    "MIRROR_PAD",
    "CONCATENATION",
    "QUANTIZE",
    "DEQUANTIZE",
    "TRANSPOSE",
    "STRIDED_SLICE",
    "SLICE",
    "SPLIT",
    "SPLIT_V",
    "PACK",
    "UNPACK",
    "GATHER",
    "GATHER_ND",
    "SPACE_TO_DEPTH",
    "DEPTH_TO_SPACE",
    "SPACE_TO_BATCH_ND",
    "BATCH_TO_SPACE_ND",
    "TILE",
    "CAST",
    "RESHAPE",  # TFLM copies unless input and output share memory (they do not in its planner)
}
# Ops that do no work at run time in TFLM, and why.
IGNORED = {
    "SHAPE": "writes a few int32s from static shape information",
    "SQUEEZE": "metadata only; TFLM squeeze copies nothing when buffers alias (size < 100 B otherwise)",
    "EXPAND_DIMS": "metadata only (TFLM copies at most the tensor, below the per-op overhead)",
}
SUPPORTED = _MAC_OPS | _POOL_OPS | _ELEMENTWISE | _ACTIVATIONS | _MOVES | set(IGNORED)


def op_features(graph: Graph, op: Op) -> dict[str, float]:
    """Work units of one op; unknown ops get the `elem` fallback (see `is_supported`)."""
    f: dict[str, float] = {"op": 1.0}
    out = graph.t(op.outputs[0]) if op.outputs else None
    n_out = out.elements if out is not None else 0
    name = op.name
    if name in _MAC_OPS:
        macs = op_macs(graph, op)
        if name in ("CONV_2D", "TRANSPOSE_CONV"):
            f["mac_conv"] = macs
            cout = graph.t(op.inputs[1]).shape[0] if op.inputs[1] >= 0 else 1
            f["im2col"] = macs / max(cout, 1)
        elif name == "DEPTHWISE_CONV_2D":
            f["mac_dw"] = macs
        else:
            f["mac_fc"] = macs
        f["out"] = n_out
    elif name in _POOL_OPS:
        window = op.options.get("filter_h", 1) * op.options.get("filter_w", 1)
        f["elem"] = n_out * window
    elif name in _ELEMENTWISE:
        n_in = sum(1 for t in op.inputs if t >= 0 and not graph.t(t).constant) or 1
        biggest_in = max((graph.t(t).elements for t in op.inputs if t >= 0), default=n_out)
        f["elem"] = max(n_out * n_in, biggest_in)
    elif name in _ACTIVATIONS:
        f["act"] = n_out
    elif name in _MOVES:
        f["move"] = out.bytes if out is not None else 0
    elif name in IGNORED:
        pass
    else:  # unsupported: count every input and output element once (fallback, band widened)
        f["elem"] = n_out + sum(graph.t(t).elements for t in op.inputs if t >= 0 and not graph.t(t).constant)
    return f


def is_supported(name: str) -> bool:
    return name in SUPPORTED


def model_features(graph: Graph) -> dict[str, float]:
    """Sum of the work units of all ops of the graph."""
    total = dict.fromkeys(FEATURES, 0.0)
    for op in graph.ops:
        for k, v in op_features(graph, op).items():
            total[k] += v
    return total


def _finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0
