"""Work units of each op for the kernel the target's library really selects.

Every op kind of TFLM is in exactly one of three places: a cost rule here, `IGNORED` (no
run-time work, with the reason), or unsupported (fallback rule, named in the estimate, band
widened). STYLE.md: never underestimate silently.

A *kernel path* is what runs the MAC loops on a board: the library (`kernels` of the target)
and the core's SIMD, because CMSIS-NN on a Cortex-M0+ runs its plain C loops and ESP-NN on
an ESP32 (no PIE vector unit) its C fallbacks. The paths and the units each one counts:

- ``mac_conv``: MACs of a generic convolution (im2col + matrix multiply). Vector paths count
  executed lanes: Helium and ESP32-S3 PIE do 16 int8 lanes per instruction, so a 3x3x1 filter
  (9 MACs per output) costs a full 16-lane instruction;
- ``mac_1x1``: MACs of a 1x1, stride-1, unpadded convolution (CMSIS-NN ``convolve_1x1_s8_fast``,
  ESP-NN 1x1 path: a plain matrix multiply, no im2col);
- ``im2col``: input elements a generic convolution stages (widened to int16 on the DSP path);
- ``tail``: MACs of the scalar leftover loop when the filter row (kh*kw*cin) is not a multiple of
  4 (CMSIS-NN DSP path: SMLAD consumes 2x2 int16 pairs);
- ``mac_dw3``: depthwise MACs of CMSIS-NN's 3x3 fast path (multiplier 1, padding <= 1);
  ``mac_dw``: other depthwise MACs (Helium: lanes of 4 int32 accumulators);
- ``mac_fc``: fully-connected MACs (vector-matrix kernel; lanes as for conv on vector paths);
- ``out``: outputs of MAC ops (each is requantised: 64-bit multiply, rounding shift, clamp);
- ``elem``: elements touched by pooling (outputs x window) and element-wise ops (outputs x inputs);
- ``act``: elements of transcendental activations (softmax, logistic, tanh, ...);
- ``move``: bytes copied by data-movement ops (reshape, pad, concat, quantize, transpose, ...);
- ``op``: one per invoked op (interpreter dispatch, parameter set-up);
- ``wbyte``: bytes of weights (and biases) streamed from where they live; a fully-connected
  layer at batch 1 uses each weight once, so this is its memory traffic. Its coefficient comes
  from the board's memory facts (flash wait states, read width), not from the core;
- ``mvp_mac``, ``mvp_out``: MACs and outputs of the ops the xG24's MVP accelerator runs
  (conv, depthwise, fully connected, add, pooling); the other ops run on the CPU.
"""

from __future__ import annotations

from tuner.estimate._graph import Graph, Op, op_macs
from tuner.targets import LATENCY_UNITS

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


UNITS = LATENCY_UNITS  # one list: the target schema validates profiles against it
# Kernel paths (registry): library + core SIMD -> how the MAC loops run.
PATHS: dict[str, str] = {
    "cmsis-nn-dsp": "CMSIS-NN s8 kernels, DSP-extension SIMD (SMLAD) paths: Cortex-M4/M7/M33",
    "cmsis-nn-c": "CMSIS-NN plain C paths on a core without the DSP extension: Cortex-M0+",
    "helium": "CMSIS-NN Helium (MVE) kernels, 16 int8 lanes per instruction: Cortex-M55/M85",
    "esp-nn-pie": "ESP-NN with the ESP32-S3 PIE vector unit (16 int8 lanes)",
    "esp-nn-c": "ESP-NN C fallbacks (ESP32, ESP32-C3, ESP32-P4)",
    "reference": "TFLM portable reference kernels (plain C)",
    "mvp": "Silicon Labs MVP matrix-vector accelerator for the ops it supports, CMSIS-NN on the CPU for the rest",
}
_NO_DSP_CORES = {"cortex-m0plus", "cortex-m0", "riscv32-imc"}
_MVP_OPS = {
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "TRANSPOSE_CONV",
    "ADD",
    "AVERAGE_POOL_2D",
    "MAX_POOL_2D",
}


def kernel_path(kernels: str, core: str) -> str:
    """The kernel path a library takes on a core (see `PATHS`)."""
    if kernels == "cmsis-nn":
        return "cmsis-nn-c" if core in _NO_DSP_CORES else "cmsis-nn-dsp"
    if kernels == "cmsis-nn-helium":
        return "helium"
    if kernels == "esp-nn":
        return "esp-nn-pie" if core == "xtensa-lx7" else "esp-nn-c"
    if kernels in ("reference", "mvp"):
        return kernels
    raise KeyError(f"unknown kernel family {kernels!r}; known: cmsis-nn, cmsis-nn-helium, esp-nn, reference, mvp")


def _lanes(n: int, width: int) -> int:
    return -(-n // width) * width


def _weight_bytes(graph: Graph, op: Op) -> float:
    return float(sum(graph.t(t).bytes for t in op.inputs[1:] if t >= 0 and graph.t(t).constant))


def _conv_units(graph: Graph, op: Op, path: str) -> dict[str, float]:
    out = graph.t(op.outputs[0])
    cout, kh, kw, cin = graph.t(op.inputs[1]).shape
    pixels = out.elements // max(cout, 1)
    col = kh * kw * cin
    o = op.options
    one = kh == kw == 1 and o.get("stride_h", 1) == o.get("stride_w", 1) == 1
    vector = path in ("helium", "esp-nn-pie")
    if path == "esp-nn-pie" and cin % 8:
        # ESP-NN's S3 conv needs channels in multiples of 8, else its C fallback runs: a scalar
        # MAC costs about one vector instruction, i.e. 16 lanes
        return {"mac_conv": pixels * cout * col * 16, "im2col": pixels * col}
    macs = pixels * cout * (_lanes(col, 16) if vector else col)
    if one and (path in ("helium", "esp-nn-pie") or (path in ("cmsis-nn-dsp", "cmsis-nn-c") and cin % 4 == 0)):
        # convolve_1x1_s8_fast (DSP/C) wants input channels in multiples of 4; MVE handles any
        return {"mac_1x1": macs}
    units = {"mac_conv": macs}
    if path in ("cmsis-nn-dsp", "cmsis-nn-c", "helium", "esp-nn-pie", "mvp"):
        units["im2col"] = pixels * col
    if path == "cmsis-nn-dsp" and col % 4:
        units["tail"] = pixels * cout * (col % 4)
    return units


def _dw_units(graph: Graph, op: Op, path: str) -> dict[str, float]:
    out = graph.t(op.outputs[0])
    _, kh, kw, cout = graph.t(op.inputs[1]).shape
    cin = graph.t(op.inputs[0]).shape[-1]
    pixels = out.elements // max(cout, 1)
    o = op.options
    if path == "helium":
        return {"mac_dw": pixels * kh * kw * _lanes(cout, 4)}
    fast = kh == kw == 3 and cout == cin and o.get("dilation_h", 1) == o.get("dilation_w", 1) == 1
    if path == "cmsis-nn-dsp" and fast:
        return {"mac_dw3": pixels * kh * kw * cout}
    if path == "esp-nn-pie":  # vector across channels in multiples of 8, else C (16 lanes per scalar MAC)
        return {"mac_dw": pixels * kh * kw * (_lanes(cout, 16) if cout % 8 == 0 else 16 * cout)}
    return {"mac_dw": pixels * kh * kw * cout}


def op_units(graph: Graph, op: Op, path: str) -> dict[str, float]:
    """Work units of one op on a kernel path; unknown ops get the `elem` fallback (see `is_supported`)."""
    f: dict[str, float] = {"op": 1.0}
    out = graph.t(op.outputs[0]) if op.outputs else None
    n_out = out.elements if out is not None else 0
    name = op.name
    if path == "mvp" and name in _MVP_OPS:
        f["mvp_mac"] = float(op_macs(graph, op))
        f["mvp_out"] = float(n_out)
        f["wbyte"] = _weight_bytes(graph, op)
        return f
    if name in _MAC_OPS:
        if name == "CONV_2D":
            f.update(_conv_units(graph, op, path))
        elif name == "DEPTHWISE_CONV_2D":
            f.update(_dw_units(graph, op, path))
        elif name == "TRANSPOSE_CONV":
            f["mac_conv"] = op_macs(graph, op)
        else:
            width = graph.t(op.inputs[1]).shape[-1] if op.inputs[1] >= 0 else 1
            vec = path in ("helium", "esp-nn-pie")
            f["mac_fc"] = op_macs(graph, op) // max(width, 1) * (_lanes(width, 16) if vec else width)
        f["out"] = n_out
        f["wbyte"] = _weight_bytes(graph, op)
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
    return {k: float(v) for k, v in f.items()}


def is_supported(name: str) -> bool:
    return name in SUPPORTED


def model_units(graph: Graph, path: str) -> dict[str, float]:
    """Sum of the work units of all ops of the graph on a kernel path."""
    total = dict.fromkeys(UNITS, 0.0)
    for op in graph.ops:
        for k, v in op_units(graph, op, path).items():
            total[k] += v
    return total
