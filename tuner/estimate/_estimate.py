"""`estimate_tflite`: latency, RAM and flash of a .tflite model on a target."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

from tuner.errors import InputError
from tuner.estimate._features import IGNORED, is_supported, kernel_path, op_units
from tuner.estimate._flash import FLASH_METHOD, flash_bytes
from tuner.estimate._graph import Graph, op_macs, parse, read_model_bytes
from tuner.estimate._memory import analytical_arena_bytes, scratch_increase
from tuner.targets import DSP_OPS, Target, load_target

# Float models: no int8 kernel applies; reference float kernels are assumed to cost this many
# times the target's int8 cycles (uncalibrated, hence the extra band factor).
FLOAT_FACTOR = 4.0
FLOAT_BAND = 2.0
# An unsupported op is costed by the element fallback rule; its true cost is assumed to lie
# within [1/UNSUPPORTED_SPREAD, UNSUPPORTED_SPREAD] times that.
UNSUPPORTED_SPREAD = 5.0
# The DSP band of a profile written before the DSP term had one (no dsp_band_low/high): the per-op tables
# shipped until then priced the generated C 2-4x low (emulated instruction counts).
DSP_BAND_UNKNOWN = (0.5, 4.0)


@dataclass(frozen=True)
class DspCost:
    """Cost of a preprocessing (DSP) block run before the network on every inference.

    `ops`: counts per op kind ("mac", "add", "mul", "div", "cmp", "sqrt", "log", "exp",
    "trig", "fft"; "fft" counts radix-2 butterflies). `buffer_bytes`: RAM the block needs at
    run time (input window, spectrogram, scratch), in addition to the tensor arena.
    """

    ops: dict[str, int]
    buffer_bytes: int
    name: str = ""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.ops) - set(DSP_OPS))
        if unknown:
            raise InputError(f"DspCost.ops has unknown op kinds {unknown}; known: {list(DSP_OPS)}")
        bad = {k: v for k, v in self.ops.items() if v < 0}
        if bad or self.buffer_bytes < 0:
            raise InputError(
                f"DspCost counts must be >= 0, got ops={bad or self.ops}, buffer_bytes={self.buffer_bytes}"
            )

    def cycles(self, target: Target) -> float:
        return float(sum(n * target.dsp_cycles_per_op[k] for k, n in self.ops.items()))


@dataclass(frozen=True)
class LayerEstimate:
    index: int
    op: str
    output_shape: tuple
    macs: int
    cycles: float
    latency_ms: float
    scratch_bytes: int  # kernel scratch buffer of the target's kernel family during this op
    note: str = ""


@dataclass(frozen=True)
class Estimate:
    """Estimate of one model on one target. Latencies in milliseconds, sizes in bytes.

    - `latency_ms` = DSP + network; `latency_ms_low/high`: the network's share times the profile's
      split-conformal band (out-of-sample residuals: leave-one-model-out for a calibrated board,
      normalised by the sd of this model's estimate; leave-one-board-out for a transferred one),
      widened for unsupported ops and float models, plus the DSP share times the profile's DSP band
      (`dsp_band_low/high`: held-out residuals against emulated instruction counts, times the CPI range).
    - `naive_latency_ms`: the naive baseline (one cycles-per-MAC constant), network only.
    - `ram_bytes` = `arena_bytes` (smallest TFLM tensor arena the model loads with: activations,
      Prepare-time temporaries, persistent TFLM data) +
      `scratch_bytes` (extra arena the target's optimised kernels need) + `runtime_ram_bytes`
      (interpreter objects, stack) + `dsp_ram_bytes`. Excludes the rest of the application.
    - `flash_bytes` = `model_bytes` (flatbuffer) + TFLM framework + code of the kernels used.
    """

    target: str
    macs: int
    latency_ms: float
    latency_ms_low: float
    latency_ms_high: float
    naive_latency_ms: float
    dsp_latency_ms: float
    arena_bytes: int
    arena_method: str
    scratch_bytes: int
    runtime_ram_bytes: int
    dsp_ram_bytes: int
    ram_bytes: int
    model_bytes: int
    flash_bytes: int
    layers: tuple[LayerEstimate, ...]
    unsupported_ops: tuple[str, ...]
    notes: tuple[str, ...]
    method: str

    def to_dict(self) -> dict:
        d = asdict(self)
        d["layers"] = [dict(asdict(layer), output_shape=list(layer.output_shape)) for layer in self.layers]
        d["unsupported_ops"] = list(self.unsupported_ops)
        d["notes"] = list(self.notes)
        return d


_ARENA_METHODS = {
    "tflite-micro": "tflite-micro RecordingMicroAllocator",
    "analytical": "greedy planner re-implementation",
}


def _is_float(graph: Graph) -> bool:
    return graph.float_tensors > 0


# tflite-micro's smallest arena per graph structure: a sweep converts the same architecture again with
# other weights (other training settings, repeated draws); weights and quantization values do not
# change the memory plan, only tensors, shapes, types and ops do. 0.1-1 s per search on 2 cores.
_EXACT_ARENAS: dict[tuple, int] = {}


def structure(graph: Graph) -> tuple:
    """What tflite-micro's memory plan depends on: every tensor's type, shape and kind, and every
    op with its tensors and options (not the constant tensors' values)."""
    tensors = tuple((t.dtype, t.shape, t.bytes, t.constant, t.variable) for t in graph.tensors)
    ops = tuple((o.name, o.inputs, o.outputs, repr(sorted(o.options.items()))) for o in graph.ops)
    return tensors, ops, graph.inputs, graph.outputs


def estimate_tflite(
    model: bytes | str | Path, target: Target | str, dsp: DspCost | None = None, exact: bool = True
) -> Estimate:
    """Estimate latency, RAM and flash of a .tflite model on `target` (a Target, a bundled id or
    a profile path). `exact=True` finds the smallest arena tflite-micro loads the model with (in a
    kept worker process: 0.05-0.35 s, plus ~0.2 s once per process to start it); `exact=False`
    computes it analytically (same planner rules, a few ms)."""
    tgt = load_target(target) if isinstance(target, str | Path) else target
    buf = read_model_bytes(model)
    graph = parse(buf)
    notes: list[str] = []
    coeff = tgt.latency.cycles_per_unit
    hz_ms = tgt.clock_hz / 1e3
    is_float = _is_float(graph)
    if is_float:
        notes.append(
            f"float model ({graph.float_tensors} float activation tensors): int8 kernels do not apply; "
            f"latency assumes float reference kernels at {FLOAT_FACTOR:g}x the int8 cycles (uncalibrated, "
            "band widened "
            f"{FLOAT_BAND:g}x). For a calibrated estimate convert to full int8: TFLiteConverter with "
            "optimizations=[tf.lite.Optimize.DEFAULT], a representative_dataset and "
            "supported_ops=[tf.lite.OpsSet.TFLITE_BUILTINS_INT8]."
        )
    if graph.subgraphs > 1:
        notes.append(f"model has {graph.subgraphs} subgraphs; only the main subgraph is estimated")
    # float ops run TFLM's reference kernels whatever the target's int8 kernel family
    kernels = "reference" if is_float else tgt.kernels
    scratch_extra, scratch = scratch_increase(graph, kernels)
    layers = []
    unsupported: list[str] = []
    unsupported_cycles = 0.0
    cycles_by_unit: dict[str, float] = {}
    path = kernel_path(tgt.kernels, tgt.core)  # a float model: the int8 cycles times FLOAT_FACTOR
    for op in graph.ops:
        units = op_units(graph, op, path)
        cycles = sum(coeff[k] * v for k, v in units.items())
        for k, v in units.items():
            cycles_by_unit[k] = cycles_by_unit.get(k, 0.0) + coeff[k] * v
        note = ""
        if is_float:
            cycles *= FLOAT_FACTOR
        if not is_supported(op.name):
            unsupported.append(op.name)
            unsupported_cycles += cycles
            note = "unsupported op: costed by the element fallback rule"
        elif op.name in IGNORED:
            note = "no kernel work: " + IGNORED[op.name]
        out = graph.t(op.outputs[0]).shape if op.outputs else ()
        layers.append(
            LayerEstimate(
                index=op.index,
                op=op.name,
                output_shape=tuple(out),
                macs=op_macs(graph, op),
                cycles=float(cycles),
                latency_ms=cycles / hz_ms,
                scratch_bytes=scratch.get(op.index, 0),
                note=note,
            )
        )
    macs = sum(layer.macs for layer in layers)
    nn_cycles = sum(layer.cycles for layer in layers)
    nn_ms = nn_cycles / hz_ms
    dsp_ms = dsp.cycles(tgt) / hz_ms if dsp else 0.0
    low_f, high_f = tgt.latency.band_low, tgt.latency.band_high
    if tgt.latency.unit_band is not None:  # calibrated board: the band of this model's mix of units
        half = tgt.latency.unit_band.half_width(cycles_by_unit)
        low_f, high_f = math.exp(-half), math.exp(half)
    if is_float:
        low_f, high_f = low_f / FLOAT_BAND, high_f * FLOAT_BAND
    unsup_ms = unsupported_cycles / hz_ms
    dsp_low, dsp_high = tgt.dsp_band_low, tgt.dsp_band_high
    if dsp_low is None or dsp_high is None:
        dsp_low, dsp_high = DSP_BAND_UNKNOWN
        if dsp:
            notes.append(
                f"the target profile has no DSP band (written before it had one): DSP time taken within "
                f"{DSP_BAND_UNKNOWN[0]:g}-{DSP_BAND_UNKNOWN[1]:g}x its estimate"
            )
    # the two bands are added end to end (not in quadrature): no claim that the errors are independent
    low = (nn_ms - unsup_ms + unsup_ms / UNSUPPORTED_SPREAD) * low_f + dsp_ms * dsp_low
    high = (nn_ms - unsup_ms + unsup_ms * UNSUPPORTED_SPREAD) * high_f + dsp_ms * dsp_high
    if unsupported:
        names = sorted(set(unsupported))
        notes.append(
            f"unsupported op(s) {', '.join(names)}: costed by a fallback rule and the band widened "
            f"({UNSUPPORTED_SPREAD:g}x their cost each way); check that TFLM has a kernel for them"
        )
    naive_ms = tgt.latency.naive_cycles_per_mac * macs / hz_ms * (FLOAT_FACTOR if is_float else 1.0)

    arena = analytical_arena_bytes(graph)
    arena_method = "analytical"
    if exact:
        from tuner.estimate._tflm import TflmError, smallest_arena

        key = structure(graph)
        try:
            if key not in _EXACT_ARENAS:
                _EXACT_ARENAS[key] = smallest_arena(buf, guess=arena)
            arena, arena_method = _EXACT_ARENAS[key], "tflite-micro"
        except TflmError as exc:
            notes.append(f"{exc}; arena planned analytically instead")
    runtime = int(tgt.runtime_ram_bytes.value)
    dsp_ram = dsp.buffer_bytes if dsp else 0
    ram = arena + scratch_extra + runtime + dsp_ram
    flash, _code = flash_bytes(
        len(buf),
        {op.name for op in graph.ops},
        kernels,
        tgt.flash_framework_bytes.value,
        tgt.code_size_factor.value,
    )
    if ram > tgt.ram_bytes:
        notes.append(f"RAM {ram:,} B exceeds the board's {tgt.ram_bytes:,} B")
    if flash > tgt.flash_bytes:
        notes.append(f"flash {flash:,} B exceeds the board's {tgt.flash_bytes:,} B")
    if tgt.latency.calibrated:
        cal = "calibrated on this board; band: leave-one-model-out conformal"
    else:
        cal = "transferred from calibrated boards; band: leave-one-board-out conformal"
    method = (
        f"latency: per-op cycle model, kernel path {path} ({cal}); "
        f"arena: {_ARENA_METHODS[arena_method]}"
        f" + {kernels} scratch; flash: {FLASH_METHOD}"
    )
    return Estimate(
        target=tgt.id,
        macs=macs,
        latency_ms=nn_ms + dsp_ms,
        latency_ms_low=low,
        latency_ms_high=high,
        naive_latency_ms=naive_ms,
        dsp_latency_ms=dsp_ms,
        arena_bytes=arena,
        arena_method=arena_method,
        scratch_bytes=scratch_extra,
        runtime_ram_bytes=runtime,
        dsp_ram_bytes=dsp_ram,
        ram_bytes=ram,
        model_bytes=len(buf),
        flash_bytes=flash,
        layers=tuple(layers),
        unsupported_ops=tuple(sorted(set(unsupported))),
        notes=tuple(notes),
        method=method,
    )
