"""Parse a .tflite flatbuffer into a small, immutable graph: tensors, ops, shapes, MACs.

Uses the flatbuffer schema module shipped in the `tflite-micro` wheel (no TensorFlow import).
Only the main subgraph (index 0) is estimated; models with control-flow subgraphs are rare on
MCUs and their extra subgraphs are reported in `Graph.notes`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from tuner.errors import InputError

# Bytes per element of each TFLite TensorType (see schema TensorType). Sub-byte types round up
# per tensor (INT4 packs two per byte).
_DTYPES: dict[int, tuple[str, float]] = {
    0: ("float32", 4),
    1: ("float16", 2),
    2: ("int32", 4),
    3: ("uint8", 1),
    4: ("int64", 8),
    5: ("string", 1),
    6: ("bool", 1),
    7: ("int16", 2),
    8: ("complex64", 8),
    9: ("int8", 1),
    10: ("float64", 8),
    11: ("complex128", 16),
    12: ("uint64", 8),
    13: ("resource", 1),
    14: ("variant", 1),
    15: ("uint32", 4),
    16: ("uint16", 2),
    17: ("int4", 0.5),
    18: ("bfloat16", 2),
    19: ("int2", 0.25),
    20: ("uint4", 0.5),
}

_PADDING = {0: "same", 1: "valid"}


def _schema():
    try:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    except ImportError as exc:  # pragma: no cover - dependency is pinned in pyproject
        raise InputError("the estimator needs the `tflite-micro` package: pip install tflite-micro") from exc
    return schema


_OP_NAMES: dict[int, str] | None = None


def _op_names() -> dict[int, str]:
    global _OP_NAMES
    if _OP_NAMES is None:
        ops = _schema().BuiltinOperator
        _OP_NAMES = {v: k for k, v in vars(ops).items() if not k.startswith("_") and isinstance(v, int)}
    return _OP_NAMES


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    bytes: int
    constant: bool
    variable: bool

    @property
    def elements(self) -> int:
        return math.prod(self.shape) if self.shape else 1


@dataclass(frozen=True)
class Op:
    index: int
    name: str  # BuiltinOperator name, or "CUSTOM:<code>"
    inputs: tuple[int, ...]  # tensor indices, -1 = optional input absent
    outputs: tuple[int, ...]
    options: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Graph:
    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    model_bytes: int
    subgraphs: int

    def t(self, index: int) -> Tensor:
        return self.tensors[index]

    @property
    def is_int8(self) -> bool:
        """True when every activation tensor is 8-bit (a full-integer model)."""
        acts = [t for t in self.tensors if not t.constant and t.dtype not in ("int32",)]
        return bool(acts) and all(t.dtype in ("int8", "uint8", "int16") for t in acts)

    @property
    def float_tensors(self) -> int:
        return sum(1 for t in self.tensors if not t.constant and t.dtype.startswith("float"))


def read_model_bytes(model: bytes | str | Path) -> bytes:
    if isinstance(model, bytes | bytearray | memoryview):
        return bytes(model)
    path = Path(model)
    if not path.is_file():
        raise InputError(f"model file not found: {path}")
    return path.read_bytes()


def _options(op, name: str) -> dict:
    schema = _schema()
    table = op.BuiltinOptions()
    if table is None:
        return {}
    kinds = {
        "CONV_2D": schema.Conv2DOptions,
        "DEPTHWISE_CONV_2D": schema.DepthwiseConv2DOptions,
        "AVERAGE_POOL_2D": schema.Pool2DOptions,
        "MAX_POOL_2D": schema.Pool2DOptions,
        "L2_POOL_2D": schema.Pool2DOptions,
        "TRANSPOSE_CONV": schema.TransposeConvOptions,
    }
    cls = kinds.get(name)
    if cls is None:
        return {}
    o = cls()
    o.Init(table.Bytes, table.Pos)
    opts = {"padding": _PADDING.get(o.Padding(), "same"), "stride_h": o.StrideH(), "stride_w": o.StrideW()}
    if cls is schema.Pool2DOptions:
        opts.update(filter_h=o.FilterHeight(), filter_w=o.FilterWidth())
    if cls in (schema.Conv2DOptions, schema.DepthwiseConv2DOptions):
        opts.update(dilation_h=o.DilationHFactor(), dilation_w=o.DilationWFactor())
    return opts


def parse(model: bytes | str | Path) -> Graph:
    """Parse a .tflite model (bytes or path). Corrupt or non-TFLite input -> InputError."""
    buf = read_model_bytes(model)
    schema = _schema()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise InputError(
            f"not a TFLite flatbuffer (file identifier {buf[4:8]!r}, expected b'TFL3'); "
            "convert the model with tf.lite.TFLiteConverter"
        )
    try:
        m = schema.Model.GetRootAs(buf, 0)
        names = _op_names()
        codes = []
        for i in range(m.OperatorCodesLength()):
            c = m.OperatorCodes(i)
            code = max(c.BuiltinCode(), c.DeprecatedBuiltinCode())
            if code == schema.BuiltinOperator.CUSTOM:
                custom = c.CustomCode()
                codes.append("CUSTOM:" + (custom.decode() if custom else "?"))
            else:
                codes.append(names.get(code, f"BUILTIN_{code}"))
        if m.SubgraphsLength() < 1:
            raise InputError("the TFLite model has no subgraph")
        sg = m.Subgraphs(0)
        buffers = m.Buffers
        tensors = []
        for i in range(sg.TensorsLength()):
            t = sg.Tensors(i)
            dtype, size = _DTYPES.get(t.Type(), (f"type{t.Type()}", 4))
            shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
            b = buffers(t.Buffer()) if t.Buffer() < m.BuffersLength() else None
            constant = b is not None and (b.DataLength() > 0 or b.Offset() > 1)
            n = math.prod(shape) if shape else 1
            tensors.append(
                Tensor(
                    index=i,
                    name=(t.Name() or b"").decode(errors="replace"),
                    dtype=dtype,
                    shape=shape,
                    bytes=int(math.ceil(n * size)),
                    constant=constant,
                    variable=bool(t.IsVariable()),
                )
            )
        ops = []
        for i in range(sg.OperatorsLength()):
            o = sg.Operators(i)
            name = codes[o.OpcodeIndex()]
            ops.append(
                Op(
                    index=i,
                    name=name,
                    inputs=tuple(int(x) for x in o.InputsAsNumpy()) if o.InputsLength() else (),
                    outputs=tuple(int(x) for x in o.OutputsAsNumpy()) if o.OutputsLength() else (),
                    options=_options(o, name),
                )
            )
        graph = Graph(
            tensors=tuple(tensors),
            ops=tuple(ops),
            inputs=tuple(int(x) for x in sg.InputsAsNumpy()) if sg.InputsLength() else (),
            outputs=tuple(int(x) for x in sg.OutputsAsNumpy()) if sg.OutputsLength() else (),
            model_bytes=len(buf),
            subgraphs=m.SubgraphsLength(),
        )
    except InputError:
        raise
    except Exception as exc:  # flatbuffers raises struct/index errors on corrupt data
        raise InputError(f"corrupt TFLite flatbuffer ({type(exc).__name__}: {exc})") from exc
    if not graph.ops:
        raise InputError("the TFLite model has no operators")
    return graph


def op_macs(graph: Graph, op: Op) -> int:
    """Multiply-accumulates of one op (conv, depthwise conv, fully connected, transpose conv,
    batch matmul); 0 for ops without MACs. Counted as MLPerf Tiny counts them (conv, depthwise, FC)."""
    out = graph.t(op.outputs[0]) if op.outputs else None
    if out is None or not op.inputs:
        return 0
    if op.name == "CONV_2D":
        f = graph.t(op.inputs[1]).shape  # [cout, kh, kw, cin]
        return out.elements * f[1] * f[2] * f[3]
    if op.name == "DEPTHWISE_CONV_2D":
        f = graph.t(op.inputs[1]).shape  # [1, kh, kw, cout]
        return out.elements * f[1] * f[2]
    if op.name == "FULLY_CONNECTED":
        f = graph.t(op.inputs[1]).shape  # [units, in]
        return out.elements * f[-1]
    if op.name == "TRANSPOSE_CONV":
        f = graph.t(op.inputs[1]).shape  # [cout, kh, kw, cin]
        x = graph.t(op.inputs[2])
        return x.elements * f[0] * f[1] * f[2]
    if op.name == "BATCH_MATMUL":
        a = graph.t(op.inputs[0]).shape
        return out.elements * (a[-1] if a else 1)
    return 0


def graph_to_dict(graph: Graph) -> dict:
    """What the cost model reads of a graph (shapes, dtypes, constness, op options), as plain
    JSON-able data: the shipped reference graphs are stored this way (no .tflite needed)."""
    return {
        "tensors": [[t.dtype, list(t.shape), t.bytes, int(t.constant)] for t in graph.tensors],
        "ops": [[o.name, list(o.inputs), list(o.outputs), o.options] for o in graph.ops],
        "inputs": list(graph.inputs),
        "outputs": list(graph.outputs),
        "model_bytes": graph.model_bytes,
    }


def graph_from_dict(d: dict) -> Graph:
    tensors = tuple(
        Tensor(i, "", dtype, tuple(shape), nbytes, bool(const), False)
        for i, (dtype, shape, nbytes, const) in enumerate(d["tensors"])
    )
    ops = tuple(Op(i, n, tuple(ins), tuple(outs), dict(opts)) for i, (n, ins, outs, opts) in enumerate(d["ops"]))
    return Graph(tensors, ops, tuple(d["inputs"]), tuple(d["outputs"]), d["model_bytes"], 1)
