"""Fit the per-op cycle model and the naive cycles-per-MAC baseline; leave-one-out errors.

Model, per kernel family f and board b:

    cycles(model on b) = s_b * sum_k theta0[f][k] * exp(u[f][k]) * units_k(model)

- ``units_k`` are the work units of `_features` (MACs per op kind, im2col elements,
  requantised outputs, element-wise elements, ...);
- ``theta0[f]`` is a prior cost vector per kernel family, relative to one conv MAC, written
  down from the structure of the kernels (see `PRIORS`); ``u[f]`` are log-corrections shared by
  every board of the family, fitted on the measurements with a ridge penalty towards 0
  (``SIGMA_U``), because the calibration set is small; ``u[mac_conv]`` is pinned to 0, so
  ``s_b`` reads as "cycles per conv MAC on this board";
- ``s_b`` is fitted per board on its own rows (log-least-squares).

The naive baseline is one cycles-per-MAC constant per board (geometric mean of its rows).
A board with no row of its own ("cold start") borrows the scale of the calibrated boards of
the same kernel family, scaled by the CoreMark/MHz ratio of the two cores; both models use
the same rule, so the comparison stays fair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tuner.estimate._calibration_data import (
    COREMARK_PER_MHZ,
    MEASUREMENTS,
    REFERENCE_FEATURES,
    SIMD_CLASS,
    Measurement,
)
from tuner.estimate._features import FEATURES

# Prior cost of one work unit, in units of "one conv MAC", per kernel family.
PRIORS: dict[str, dict[str, float]] = {
    # CMSIS-NN s8 kernels (DSP extension: SMLAD does 2 MACs in conv and FC inner loops alike;
    # im2col widens int8 to int16 with
    # SXTB16; requantisation is a 64-bit doubling multiply, rounding shift and clamp).
    "cmsis-nn": {
        "mac_conv": 1.0,
        "mac_dw": 3.0,
        "mac_fc": 1.0,
        "im2col": 3.0,
        "out": 10.0,
        "elem": 4.0,
        "act": 30.0,
        "move": 0.5,
        "op": 1000.0,
    },
    # CMSIS-NN Helium (MVE): 16 int8 MACs per VMLADAVA beat pair, vectorised requantisation.
    "cmsis-nn-helium": {
        "mac_conv": 1.0,
        "mac_dw": 2.0,
        "mac_fc": 1.0,
        "im2col": 2.0,
        "out": 4.0,
        "elem": 2.0,
        "act": 20.0,
        "move": 0.25,
        "op": 1000.0,
    },
    # ESP-NN: hand-written Xtensa/PIE kernels (S3) with C fallbacks of the same structure.
    "esp-nn": {
        "mac_conv": 1.0,
        "mac_dw": 2.5,
        "mac_fc": 1.0,
        "im2col": 3.0,
        "out": 8.0,
        "elem": 4.0,
        "act": 30.0,
        "move": 0.5,
        "op": 1000.0,
    },
    # TFLM reference kernels: plain C, offset add and int32 accumulate per MAC (~10+ cycles),
    # requantisation per output; costs relative to that expensive MAC are small.
    "reference": {
        "mac_conv": 1.0,
        "mac_dw": 1.2,
        "mac_fc": 0.8,
        "im2col": 0.3,
        "out": 3.0,
        "elem": 0.3,
        "act": 3.0,
        "move": 0.05,
        "op": 100.0,
    },
}
FAMILIES = tuple(PRIORS)
SIGMA_U = 0.5  # prior spread of the log-corrections u (a factor of ~1.65), chosen before fitting
SIGMA_R = 0.05  # expected log-residual of one measurement


def _vec(units: dict[str, float]) -> np.ndarray:
    return np.array([float(units.get(k, 0.0)) for k in FEATURES])


@dataclass(frozen=True)
class FamilyFit:
    family: str
    coeffs: dict[str, float]  # theta0 * exp(u), per conv-MAC unit
    board_scale: dict[str, float]  # s_b: cycles per conv MAC, per board with rows
    naive_cpm: dict[str, float]  # cycles per MAC, per board with rows
    board_core: dict[str, str]

    def unit_cycles(self, units: dict[str, float]) -> float:
        return float(sum(self.coeffs[k] * units.get(k, 0.0) for k in FEATURES))

    def cold_scale(self, core: str, naive: bool = False) -> float:
        """Scale for a board with no rows: geometric mean over the calibrated boards of the
        family (those of the same SIMD class if any), each converted by
        CoreMark/MHz(donor core) / CoreMark/MHz(target core)."""
        table = self.naive_cpm if naive else self.board_scale
        if not table:
            raise ValueError(f"no calibrated board in kernel family {self.family!r}")
        return self._transfer(table, self.donors(core), core)

    def donors(self, core: str) -> list[str]:
        same = [b for b in self.board_scale if SIMD_CLASS.get(self.board_core[b]) == SIMD_CLASS.get(core)]
        return same or sorted(self.board_scale)

    def _transfer(self, table: dict[str, float], donors: list[str], core: str) -> float:
        logs = []
        for board in donors:
            s = table[board]
            ratio = COREMARK_PER_MHZ.get(self.board_core[board], 3.5) / COREMARK_PER_MHZ.get(core, 3.5)
            logs.append(math.log(s * ratio))
        return math.exp(sum(logs) / len(logs))


def fit_family(
    family: str,
    rows: Sequence[Measurement],
    features: dict[str, dict[str, float]] | None = None,
    prior: dict[str, float] | None = None,
) -> FamilyFit:
    """Fit u (shared) and s_b (per board) on the rows of one kernel family."""
    from scipy.optimize import least_squares

    features = features or REFERENCE_FEATURES
    theta0 = _vec(prior or PRIORS[family])
    rows = [r for r in rows if r.kernels == family]
    boards = sorted({r.board for r in rows})
    if not rows:
        raise ValueError(f"no measurement for kernel family {family!r}")
    X = np.array([_vec(features[r.model]) for r in rows])
    y = np.log([r.cycles for r in rows])
    bidx = np.array([boards.index(r.board) for r in rows])
    free = [i for i, k in enumerate(FEATURES) if k != "mac_conv"]

    def unpack(p):
        u = np.zeros(len(FEATURES))
        u[free] = p[: len(free)]
        return u, p[len(free) :]

    def resid(p):
        u, s = unpack(p)
        pred = s[bidx] + np.log(X @ (theta0 * np.exp(u)))
        return np.concatenate([(pred - y) / SIGMA_R, p[: len(free)] / SIGMA_U])

    s0 = [
        float(np.mean([y[i] - math.log(X[i] @ theta0) for i in range(len(rows)) if bidx[i] == b]))
        for b in range(len(boards))
    ]
    sol = least_squares(resid, np.concatenate([np.zeros(len(free)), s0]), method="lm")
    u, s = unpack(sol.x)
    coeffs = {k: float(theta0[i] * math.exp(u[i])) for i, k in enumerate(FEATURES)}
    naive = {}
    for b in boards:
        mine = [r for r in rows if r.board == b]
        naive[b] = math.exp(sum(math.log(r.cycles / r.macs) for r in mine) / len(mine))
    return FamilyFit(
        family=family,
        coeffs=coeffs,
        board_scale={b: float(math.exp(s[i])) for i, b in enumerate(boards)},
        naive_cpm=naive,
        board_core={r.board: r.core for r in rows},
    )


@dataclass(frozen=True)
class LooRow:
    board: str
    kernels: str
    model: str
    measured_ms: float
    per_op_ms: float
    naive_ms: float
    cold_start: bool  # the board had no other row: its scale was transferred

    @property
    def per_op_err(self) -> float:
        return (self.per_op_ms - self.measured_ms) / self.measured_ms

    @property
    def naive_err(self) -> float:
        return (self.naive_ms - self.measured_ms) / self.measured_ms


def board_key(r: Measurement) -> str:
    """Boards measured with two kernel families count as two boards (esp32 + reference)."""
    return r.board if r.kernels != "reference" else f"{r.board}/reference"


def leave_one_out(
    rows: Sequence[Measurement] = MEASUREMENTS, features: dict[str, dict[str, float]] | None = None
) -> list[LooRow]:
    """Refit without each row in turn and predict it; also for the naive baseline."""
    features = features or REFERENCE_FEATURES
    out = []
    for i, r in enumerate(rows):
        train = [q for j, q in enumerate(rows) if j != i and q.kernels == r.kernels]
        if not train:
            continue  # nothing of this kernel family left to learn from
        fit = fit_family(r.kernels, train, features)
        units = features[r.model]
        cold = r.board not in fit.board_scale
        scale = fit.cold_scale(r.core) if cold else fit.board_scale[r.board]
        cpm = fit.cold_scale(r.core, naive=True) if cold else fit.naive_cpm[r.board]
        hz = r.clock_mhz * 1e3  # cycles per ms
        out.append(
            LooRow(
                board_key(r),
                r.kernels,
                r.model,
                r.latency_ms,
                scale * fit.unit_cycles(units) / hz,
                cpm * r.macs / hz,
                cold,
            )
        )
    return out


def log_band(residuals: Sequence[float]) -> tuple[float, float]:
    """(low, high) multiplicative band from relative residuals (pred - meas) / meas: the
    estimate times `low` .. `high` covers every residual seen (a true value of meas means
    the estimate was meas*(1+e), so the band must reach 1/(1+e))."""
    if not residuals:
        return 1.0, 1.0
    ratios = [1.0 / (1.0 + e) for e in residuals]  # measured / predicted
    return min(1.0, min(ratios)), max(1.0, max(ratios))


def leave_one_board_out(
    rows: Sequence[Measurement] = MEASUREMENTS, features: dict[str, dict[str, float]] | None = None
) -> list[LooRow]:
    """Cold-start error: drop every row of a board, predict them through the transfer rule."""
    features = features or REFERENCE_FEATURES
    out = []
    for key in sorted({board_key(r) for r in rows}):
        mine = [r for r in rows if board_key(r) == key]
        fam = mine[0].kernels
        train = [q for q in rows if board_key(q) != key and q.kernels == fam]
        if not train:
            continue
        fit = fit_family(fam, train, features)
        for r in mine:
            hz = r.clock_mhz * 1e3
            out.append(
                LooRow(
                    key,
                    fam,
                    r.model,
                    r.latency_ms,
                    fit.cold_scale(r.core) * fit.unit_cycles(features[r.model]) / hz,
                    fit.cold_scale(r.core, naive=True) * r.macs / hz,
                    True,
                )
            )
    return out


def mape(errors: Sequence[float]) -> float:
    return float(np.mean([abs(e) for e in errors])) if errors else float("nan")


def single_model_transfer(
    rows: Sequence[Measurement] = MEASUREMENTS, features: dict[str, dict[str, float]] | None = None
) -> list[float]:
    """Relative errors when a board's scale comes from ONE model and the per-unit costs are the
    prior (no shape fit): on every board with >= 2 rows, fit on row j, predict row i != j.
    This is the situation of a board with a single measurement in a family whose shape the
    calibration data cannot check (ESP-NN, Helium, Cortex-M0+)."""
    features = features or REFERENCE_FEATURES
    errs = []
    for key in sorted({board_key(r) for r in rows}):
        mine = [r for r in rows if board_key(r) == key]
        theta = PRIORS[mine[0].kernels]

        def units(r: Measurement, theta=theta) -> float:
            return sum(theta[k] * features[r.model].get(k, 0.0) for k in FEATURES)

        for i in mine:
            for j in mine:
                if i is not j:
                    pred = j.cycles / units(j) * units(i)
                    errs.append((pred - i.cycles) / i.cycles)
    return errs
