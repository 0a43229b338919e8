"""DSP cycles per operation, fitted per core on emulated instruction counts of the generated C.

Data: `tuner/_data/calibration/dsp_emulated.csv`, written by `benchmarks/dsp_cost_accuracy.py --write`:
one row per (DSP configuration, core) with the op counts of the block's cost model (`DspCost.ops`) and the
instructions one call of the generated dsp.c executes in the unicorn emulator (arm-none-eabi-gcc -Os, the
core's flags), times the core's cycles per instruction (tuner/deploy/cores.yaml, with its range).

Fit: non-negative least squares on relative errors, per core: cycles ~= sum_k ops_k * c_k, shrunk towards
a prior table of relative costs (instruction timings) where the rows cannot tell two op kinds apart.
Validation: leave-one-block-out and leave-one-config-group-out (size tiers S/M/L); the band of the DSP
term is the split-conformal interval of the pooled held-out ratios emulated / predicted, times the CPI
range. Cores without an emulator model take the table of a stated emulated core (`TRANSFER`), with the
band widened by the measured error of such a transfer between emulated cores.
"""

from __future__ import annotations

import csv
import functools
import json
import math
from dataclasses import dataclass

import numpy as np

from tuner.estimate._calibration_data import CALIBRATION_DIR
from tuner.targets import DSP_OPS

DSP_CSV = CALIBRATION_DIR / "dsp_emulated.csv"
COVERAGE = 0.9  # two-sided coverage of the DSP band
# exp and trig: no bundled block computes them, so no emulated row prices them: set to the fitted `log`
# (a libm transcendental of the same kind of code: range reduction + polynomial)
UNFITTED = {"exp": "log", "trig": "log"}
# Prior relative costs per op kind (the per-op tables shipped before the recalibration): FPU instruction
# timings of the Cortex-M4/M33 TRM (VADD/VMUL 1 cycle, VFMA 3, VDIV/VSQRT 14; libm exp/log/sin ~60), the
# M7's dual-issue FPU, soft-float call costs of libgcc for cores without an FPU. The fit shrinks towards
# them (times one fitted scale) where the emulated rows cannot tell two op kinds apart.
_FPU = {"mac": 3, "add": 1, "mul": 1, "div": 14, "cmp": 1, "sqrt": 14, "log": 60, "exp": 60, "trig": 60, "fft": 14}
_DUAL = {"mac": 1, "add": 1, "mul": 1, "div": 14, "cmp": 1, "sqrt": 14, "log": 40, "exp": 40, "trig": 40, "fft": 8}
_SOFT = {
    "mac": 110, "add": 60, "mul": 50, "div": 160, "cmp": 30, "sqrt": 400, "log": 1500, "exp": 1500, "trig": 1500,
    "fft": 400,
}  # fmt: skip
PRIOR = {"cortex-m0plus": _SOFT, "cortex-m3": _SOFT, "cortex-m4f": _FPU, "cortex-m33": _FPU, "cortex-m7": _DUAL}
# Shrinkage strengths tried; the one used is chosen by inner cross-validation on the fitting rows only.
LAMBDAS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
# Cores without a unicorn model: (emulated core whose table they take, why, factors on op kinds).
TRANSFER: dict[str, tuple[str, str, dict[str, float]]] = {
    "cortex-m55": (
        "cortex-m33",
        "Cortex-M55 scalar code: ARMv8-M mainline with the single-precision FPU, in-order pipeline like the M33",
        {},
    ),
    "cortex-m85": ("cortex-m7", "Cortex-M85 scalar code: dual-issue superscalar pipeline like the M7", {}),
    "riscv32-hp": ("cortex-m4f", "RISC-V RV32IMAFC: hardware single-precision FPU with divide and sqrt", {}),
    "riscv32-imc": (
        "cortex-m3",
        "RISC-V RV32IMC: no FPU, soft-float library on a 32-bit core with hardware multiply and divide, "
        "as the Cortex-M3",
        {},
    ),
    "xtensa-lx6": (
        "cortex-m4f",
        "Xtensa LX6 single-precision FPU; it has no one-instruction divide or square root (Newton steps): "
        "div and sqrt x2",
        {"div": 2.0, "sqrt": 2.0},
    ),
    "xtensa-lx7": (
        "cortex-m4f",
        "Xtensa LX7 single-precision FPU; it has no one-instruction divide or square root (Newton steps): "
        "div and sqrt x2",
        {"div": 2.0, "sqrt": 2.0},
    ),
}
# The transfer band is measured by pricing one emulated core with another's table: pairs of like cores.
TRANSFER_PAIRS = (
    ("cortex-m4f", "cortex-m33"),
    ("cortex-m33", "cortex-m4f"),
    ("cortex-m4f", "cortex-m7"),
    ("cortex-m7", "cortex-m4f"),
    ("cortex-m3", "cortex-m0plus"),
    ("cortex-m0plus", "cortex-m3"),
)


@dataclass(frozen=True)
class Row:
    block: str
    group: str
    core: str
    config: str
    instructions: int
    cpi: float
    cpi_low: float
    cpi_high: float
    ops: dict[str, int]
    # the op counts and per-op table shipped before the recalibration (main at 4c3fdf9), for comparison only
    old_model_cycles: float

    @property
    def cycles(self) -> float:
        return self.instructions * self.cpi


@functools.cache
def rows() -> tuple[Row, ...]:
    with open(DSP_CSV, newline="") as f:
        return tuple(
            Row(
                r["block"],
                r["group"],
                r["core"],
                r["config"],
                int(r["instructions"]),
                float(r["cpi"]),
                float(r["cpi_low"]),
                float(r["cpi_high"]),
                {k: int(v) for k, v in json.loads(r["ops"]).items()},
                float(r["old_model_cycles"]),
            )
            for r in csv.DictReader(f)
        )


def emulated_cores(data: tuple[Row, ...] | list[Row] | None = None) -> list[str]:
    return sorted({r.core for r in (data or rows())})


def predict(table: dict[str, float], ops: dict[str, int]) -> float:
    return float(sum(n * table[k] for k, n in ops.items()))


def _nnls(data: list[Row] | tuple[Row, ...], kinds: list[str], prior: dict[str, float], lam: float) -> np.ndarray:
    """min sum_i (pred_i / cycles_i - 1)^2 + lam * n * sum_k (c_k / (s p_k) - 1)^2 over c >= 0, where s
    scales the prior table to the rows (its own least-squares scale)."""
    from scipy.optimize import nnls

    a = np.array([[r.ops.get(k, 0) / r.cycles for k in kinds] for r in data])
    b = np.ones(len(data))
    if lam > 0:
        p = np.array([prior[k] for k in kinds], dtype=float)
        q = a @ p
        scale = float(q.sum() / (q @ q))
        w = math.sqrt(lam * len(data))
        a = np.vstack([a, np.diag(w / (scale * p))])
        b = np.concatenate([b, np.full(len(kinds), w)])
    c, _ = nnls(a, b)
    return c


def _table(kinds: list[str], c: np.ndarray) -> dict[str, float]:
    table = {k: 0.0 for k in DSP_OPS}
    table.update(dict(zip(kinds, (float(x) for x in c), strict=True)))
    for k, like in UNFITTED.items():
        if k not in kinds:
            table[k] = table[like]
    return table


def _cv_error(data: list[Row], kinds: list[str], prior: dict[str, float], lam: float) -> float:
    """Mean |log(emulated / predicted)| over leave-one-block-out and leave-one-group-out folds of `data`."""
    errs = []
    for by in ("block", "group"):
        units = sorted({getattr(r, by) for r in data})
        if len(units) < 2:
            continue
        for u in units:
            train = [r for r in data if getattr(r, by) != u]
            t = _table(kinds, _nnls(train, kinds, prior, lam))
            for r in data:
                if getattr(r, by) == u:
                    p = predict(t, r.ops)
                    errs.append(abs(math.log(r.cycles / p)) if p > 0 else 10.0)
    return float(np.mean(errs)) if errs else 0.0


def fit(data: list[Row] | tuple[Row, ...], lam: float | None = None) -> dict[str, float]:
    """Cycles per op kind (every kind of DSP_OPS) from rows of ONE core: NNLS on relative errors, shrunk
    towards the core's PRIOR with the strength `lam` (None: chosen from LAMBDAS by cross-validation
    within `data`)."""
    data = list(data)
    kinds = [k for k in DSP_OPS if any(r.ops.get(k) for r in data)]
    prior = PRIOR.get(data[0].core, _FPU)
    if lam is None:
        lam = min(LAMBDAS, key=lambda x: _cv_error(data, kinds, prior, x))
    return _table(kinds, _nnls(data, kinds, prior, lam))


def held_out(core: str, by: str, data: tuple[Row, ...] | None = None) -> list[tuple[Row, float]]:
    """(row, prediction of a fit without the row's block (`by="block"`) or size group (`by="group"`))."""
    mine = [r for r in (data or rows()) if r.core == core]
    out = []
    for unit in sorted({getattr(r, by) for r in mine}):
        train = [r for r in mine if getattr(r, by) != unit]
        table = fit(train)
        out += [(r, predict(table, r.ops)) for r in mine if getattr(r, by) == unit]
    return out


def conformal(ratios: list[float], coverage: float = COVERAGE) -> tuple[float, float]:
    """Split-conformal interval of ratios true / predicted: the ceil((n + 1)(1 +- coverage)/2)-th order
    statistics of the held-out ratios (the extreme ones when n is too small)."""
    s = sorted(ratios)
    n = len(s)
    lo = max(0, math.floor((n + 1) * (1 - coverage) / 2) - 1)
    hi = min(n - 1, math.ceil((n + 1) * (1 + coverage) / 2) - 1)
    return s[lo], s[hi]


@dataclass(frozen=True)
class CoreTable:
    core: str
    cycles_per_op: dict[str, float]
    band_low: float
    band_high: float
    source: str


def _held_ratios(core: str) -> list[float]:
    return [r.cycles / p for by in ("block", "group") for r, p in held_out(core, by)]


def _cpi_range(core: str) -> tuple[float, float]:
    r = next(r for r in rows() if r.core == core)
    return r.cpi_low / r.cpi, r.cpi_high / r.cpi


def transfer_ratios() -> list[float]:
    """emulated / predicted when one emulated core is priced with another like core's table (all rows)."""
    out = []
    for src, dst in TRANSFER_PAIRS:
        table = fit([r for r in rows() if r.core == src])
        out += [r.cycles / predict(table, r.ops) for r in rows() if r.core == dst]
    return out


def _r(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}")


@functools.cache
def core_table(core: str) -> CoreTable:
    """The shipped DSP table and band of a target core (emulated, or transferred from an emulated one)."""
    if core in emulated_cores():
        table = fit([r for r in rows() if r.core == core])
        lo, hi = conformal(_held_ratios(core))
        c_lo, c_hi = _cpi_range(core)
        n = sum(1 for r in rows() if r.core == core)
        source = (
            f"fitted on emulated instruction counts of the generated C (tuner/_data/calibration/dsp_emulated.csv: "
            f"{n} configurations of every bundled DSP block, arm-none-eabi-gcc -Os, unicorn) x the core's cycles "
            f"per instruction (tuner/deploy/cores.yaml, an estimate from the Technical Reference Manual timings); "
            f"NNLS on relative errors, shrunk towards the TRM/libgcc prior table (strength by cross-validation). "
            f"Band: split-conformal ({COVERAGE:.0%}) on leave-one-block-out and "
            f"leave-one-size-group-out ratios ({lo:.2f}-{hi:.2f}) x the CPI range ({c_lo:.2f}-{c_hi:.2f}). "
            f"exp and trig: no block uses them, set to the fitted log."
        )
    elif core in TRANSFER:
        like, why, factors = TRANSFER[core]
        base = core_table(like)
        table = {k: v * factors.get(k, 1.0) for k, v in base.cycles_per_op.items()}
        t_lo, t_hi = conformal(transfer_ratios())
        lo, hi = base.band_low * t_lo, base.band_high * t_hi
        c_lo = c_hi = 1.0
        source = (
            f"no emulator model for {core}: the table of {like} ({why}), fitted on emulated instruction counts of "
            f"the generated C x CPI estimates (tuner/deploy/cores.yaml). Band: that of {like} widened by the "
            f"split-conformal ({COVERAGE:.0%}) ratios of pricing one emulated core with a like core's table "
            f"({t_lo:.2f}-{t_hi:.2f}; pairs M4F/M33/M7 and M3/M0+)."
        )
    else:
        known = [*emulated_cores(), *TRANSFER]
        raise ValueError(f"no DSP table rule for core {core!r}; known: {', '.join(known)}")
    return CoreTable(
        core,
        {k: _r(v) for k, v in table.items()},
        _r(math.floor(lo * c_lo * 1000) / 1000, 3),
        _r(math.ceil(hi * c_hi * 1000) / 1000, 4),
        source,
    )
