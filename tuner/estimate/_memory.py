"""RAM: TFLM tensor arena (exact or analytical), kernel scratch buffers, runtime overhead.

Arena = max(head, Prepare-time peak) + tail. TFLM's RecordingMicroAllocator reports head + tail;
kernels' temporary allocations during Prepare also use the head region before the plan is
committed, so for models with small activations (dense nets) the real minimum is larger than
the reported total (`prepare_peak`).
- head: non-persistent buffers placed by the GreedyMemoryPlanner (activations and the scratch
  buffers that kernels request for the duration of their op). `_planner` reproduces it exactly.
- tail: persistent allocations (TfLiteEvalTensor per tensor, node structs, kernel OpData and
  per-channel quantisation arrays, the interpreter's input/output TfLiteTensors). The exact
  path reads it from tflite-micro; the analytical path uses a linear model fitted on 50 models
  (single ops of 26 kinds, stacks, the 5 reference models) run in tflite-micro, within 60 B.
  The Python tflite-micro build is 64-bit: its tail is an upper bound for a 32-bit MCU
  (pointers and TfLiteEvalTensor are smaller there); the head is the same on both.

Kernel scratch of the target's kernel family (CMSIS-NN's *_get_buffer_size rules)
is planned with the tensors (a scratch buffer lives during its op only, so it often fits in
a gap); `scratch_bytes` is how much it grows the planned head.
"""

from __future__ import annotations

from tuner.estimate._graph import Graph, Op
from tuner.estimate._planner import Buffer, align, plan, tensor_buffers

# tail bytes = sum(coef * count), fitted by least squares on tflite-micro runs (see docstring)
_TAIL_COEFFS = {
    "base": 714.0,
    "tensor": 15.2,
    "op": 135.2,
    "conv_like": 63.9,
    "fully_connected": 60.9,
    "channel": 8.0,
    "other_op": 10.5,
}
_CONV_LIKE = ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV")


def analytical_tail(graph: Graph) -> int:
    c = _TAIL_COEFFS
    conv = sum(1 for o in graph.ops if o.name in _CONV_LIKE)
    fc = sum(1 for o in graph.ops if o.name == "FULLY_CONNECTED")
    ch = sum(
        graph.t(o.outputs[0]).shape[-1]
        for o in graph.ops
        if o.name in (*_CONV_LIKE, "FULLY_CONNECTED") and graph.t(o.outputs[0]).shape
    )
    n = (
        c["base"]
        + c["tensor"] * len(graph.tensors)
        + c["op"] * len(graph.ops)
        + c["conv_like"] * conv
        + c["fully_connected"] * fc
        + c["channel"] * ch
        + c["other_op"] * (len(graph.ops) - conv - fc)
    )
    return align(int(round(n)))


# Peak of the temporary allocations a kernel makes in Prepare (temp TfLiteTensors and their
# quantisation copies), before the tensor plan is committed: they sit in the head region, so the
# arena must hold max(planned head, this peak) + tail. Bytes, fitted on single-op models bisected
# in tflite-micro (64-bit build): FC 336 + 8/unit (232 + 4/unit without bias; the converter drops
# an all-zero FC bias, never a conv bias), conv-like 632 + 12/channel, activations with
# LUTs/exp ~160 B, TANH 248 B, MEAN 464 B. Ops not listed peak below their own tensors.
_PREPARE_PEAK = {
    "FULLY_CONNECTED": (336, 8),
    "CONV_2D": (632, 12),
    "DEPTHWISE_CONV_2D": (632, 12),
    "TRANSPOSE_CONV": (632, 12),
    "SOFTMAX": (160, 0),
    "LOGISTIC": (152, 0),
    "LEAKY_RELU": (152, 0),
    "HARD_SWISH": (160, 0),
    "TANH": (248, 0),
    "MEAN": (464, 0),
}


def prepare_peak(graph: Graph) -> int:
    """Largest Prepare-time temporary allocation of any op (see `_PREPARE_PEAK`)."""
    peak = 0
    for op in graph.ops:
        base, per_channel = _PREPARE_PEAK.get(op.name, (0, 0))
        if op.name == "FULLY_CONNECTED" and (len(op.inputs) < 3 or op.inputs[2] < 0):
            base, per_channel = 232, 4  # no bias tensor: one temp tensor and its quantisation less
        out = graph.t(op.outputs[0]) if op.outputs else None
        ch = out.shape[-1] if out is not None and out.shape else 1
        peak = max(peak, base + per_channel * ch)
    return align(peak)


def reference_scratch(graph: Graph, op: Op) -> int:
    """Scratch that TFLM's reference kernels request (what the Python interpreter plans)."""
    if op.name == "TRANSPOSE_CONV":
        out = graph.t(op.outputs[0])
        return out.elements * 4  # int32 accumulators of the int8 kernel
    return 0


def _filter_hw(graph: Graph, op: Op) -> tuple[int, int, int]:
    f = graph.t(op.inputs[1]).shape
    return f[1], f[2], f[3]


def family_scratch(graph: Graph, op: Op, kernels: str) -> int:
    """Scratch buffer of one op for a kernel family.

    CMSIS-NN (and, as an approximation, Helium and ESP-NN, whose kernels stage inputs the same
    way): conv 2*2*round_up_4(kh*kw*cin) bytes (none for 1x1 stride 1), depthwise
    cin*kh*kw*2 bytes (none for the 3x3, padding <= 1 fast path), average pool ch*4 bytes,
    fully connected none (CMSIS-NN's *_get_buffer_size functions). Reference kernels: see `reference_scratch`.
    """
    if kernels == "reference":
        return reference_scratch(graph, op)
    name = op.name
    o = op.options
    if name == "CONV_2D":
        kh, kw, cin = _filter_hw(graph, op)
        if kh == 1 and kw == 1 and o.get("stride_h", 1) == 1 and o.get("stride_w", 1) == 1:
            return 0
        k = kh * kw * cin
        return 2 * 2 * ((k + 3) // 4 * 4)
    if name == "DEPTHWISE_CONV_2D":
        f = graph.t(op.inputs[1]).shape  # [1, kh, kw, cout]
        cin = graph.t(op.inputs[0]).shape[-1]
        kh, kw = f[1], f[2]
        fast = kh == 3 and kw == 3 and f[3] == cin and o.get("dilation_h", 1) == 1 and o.get("dilation_w", 1) == 1
        return 0 if fast else cin * kh * kw * 2
    if name == "AVERAGE_POOL_2D":
        return graph.t(op.outputs[0]).shape[-1] * 4
    if name == "TRANSPOSE_CONV":
        return reference_scratch(graph, op)
    return 0


def planned_head(graph: Graph, scratch: dict[int, int] | None = None) -> int:
    bufs = tensor_buffers(graph)
    for idx, size in (scratch or {}).items():
        if size > 0:
            bufs.append(Buffer(align(size), idx, idx, f"scratch op {idx}"))
    return plan(bufs)[0]


def analytical_arena(graph: Graph) -> tuple[int, int]:
    """(head, tail) as tflite-micro would report them with its reference kernels."""
    ref = {op.index: reference_scratch(graph, op) for op in graph.ops}
    return planned_head(graph, ref), analytical_tail(graph)


def analytical_arena_bytes(graph: Graph) -> int:
    """Smallest arena tflite-micro can load the model with: max(head, Prepare peak) + tail."""
    head, tail = analytical_arena(graph)
    return max(head, prepare_peak(graph)) + tail


def scratch_increase(graph: Graph, kernels: str) -> tuple[int, dict[int, int]]:
    """Extra planned bytes when the family's scratch buffers replace the reference ones,
    and each op's scratch size."""
    fam = {op.index: family_scratch(graph, op, kernels) for op in graph.ops}
    ref = {op.index: reference_scratch(graph, op) for op in graph.ops}
    if fam == ref:
        return 0, fam
    return max(0, planned_head(graph, fam) - planned_head(graph, ref)), fam
