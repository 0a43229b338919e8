"""Fit of the per-op latency model: shared kernel physics per path, a scale per board.

For a row r (a model measured on board b, kernel path P; see `_features.PATHS`):

    cycles(r) = s_b * sum_k theta_P[k] * exp(u_P[k]) * U_k(r)  +  g_P * cpb_b * U_wbyte(r)

- ``U_k`` are the work units the selected kernels execute (`_features.op_units`);
- ``theta_P`` is a prior cost per unit, relative to the path's anchor unit, written from the
  kernels' instruction counts (`PRIORS`); ``u_P`` are log-corrections shared by every board of
  the path, fitted with a ridge penalty towards 0 (``SIGMA_U``): this is the physics shared
  across boards;
- ``s_b`` is the board's scale (cycles per anchor unit: core, clock domain, software build),
  fitted on its own rows;
- the memory term: ``cpb_b`` is the board's cost to stream one byte of weights, from its memory
  facts (`_boards.Memory`: flash wait states, read width, external flash line fills); ``g_P``
  is a shared factor with a log-normal prior around 1 (``SIGMA_G``).

Residuals are in log space, weighted by each row's `weight`. The fit also keeps the posterior
covariance of its log-parameters (Laplace approximation: (J'J)^-1 of the standardised residuals
at the MAP); `PathFit.log_sd` turns it into the sd of a model's log prediction on a calibrated
board, which sets the width of that board's normalised conformal band (`_validate`). A board with no row of its own
(cold start) gets ``s_b`` from boards of the same path: the same core if any (geometric mean),
else all of them converted by CoreMark/MHz. The naive baseline is one cycles-per-MAC constant
per board, fitted and transferred by the same rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tuner.estimate._boards import BOARD_BY_ID, Memory
from tuner.estimate._calibration_data import (
    COREMARK_PER_MHZ,
    UNKNOWN_COREMARK,
    Measurement,
    measurements,
    reference_graphs,
)
from tuner.estimate._features import UNITS, kernel_path, model_units
from tuner.targets import share_log_sd

# Prior cost of one work unit relative to the path's anchor unit (the first key).
_DSP = "SMLAD: 2 MACs per instruction after SXTB16 widening; ~0.75 cycles per MAC with loads"
PRIORS: dict[str, dict[str, float]] = {
    # anchor: one im2col conv MAC (~0.75 cycles). 1x1: no im2col, same mat-mult; im2col: load,
    # SXTB16, store per element (~1 cycle); tail: scalar MAC (~2-3 cycles); depthwise: no
    # reuse across channels (~2 cycles per MAC); requantisation ~10 cycles per output;
    # softmax ~25 cycles per element; dispatch ~1000 cycles per op.
    "cmsis-nn-dsp": dict(
        mac_conv=1.0,
        mac_1x1=0.8,
        im2col=1.5,
        tail=3.0,
        mac_dw3=2.5,
        mac_dw=2.5,
        mac_fc=1.0,
        out=12.0,
        elem=4.0,
        act=30.0,
        move=0.5,
        op=1500.0,
    ),
    # plain C on Cortex-M0+: ~6 cycles per MAC (two byte loads, offset add, MULS, add), so the
    # fixed costs weigh less relative to a MAC.
    "cmsis-nn-c": dict(
        mac_conv=1.0,
        mac_1x1=1.0,
        im2col=0.3,
        tail=1.0,
        mac_dw3=1.1,
        mac_dw=1.1,
        mac_fc=1.0,
        out=3.0,
        elem=1.0,
        act=8.0,
        move=0.2,
        op=300.0,
    ),
    # Helium: anchor = one executed int8 lane of VMLADAVA (16 per instruction, dual-beat: ~0.125
    # cycles per lane); depthwise accumulates 4 int32 lanes; scalar costs weigh 6x more.
    "helium": dict(
        mac_conv=1.0,
        mac_1x1=0.9,
        im2col=1.0,
        mac_dw3=2.0,
        mac_dw=2.0,
        mac_fc=1.0,
        out=16.0,
        elem=8.0,
        act=200.0,
        move=1.0,
        op=8000.0,
    ),
    # ESP32-S3 PIE: 16 int8 lanes per EE.VMULAS; convs whose channels are not a multiple of 8
    # fall back to C (a scalar MAC is counted as 16 lanes: about one vector instruction).
    "esp-nn-pie": dict(
        mac_conv=1.0,
        mac_1x1=0.9,
        im2col=1.0,
        mac_dw3=2.0,
        mac_dw=2.0,
        mac_fc=1.0,
        out=16.0,
        elem=8.0,
        act=200.0,
        move=1.0,
        op=8000.0,
    ),
    "esp-nn-c": dict(
        mac_conv=1.0,
        mac_dw3=1.1,
        mac_dw=1.1,
        mac_fc=1.0,
        out=3.0,
        elem=1.0,
        act=8.0,
        move=0.2,
        op=300.0,
    ),
    # TFLM reference: ~10+ cycles per MAC (offset adds, int32 accumulate, index arithmetic per tap).
    "reference": dict(
        mac_conv=1.0,
        mac_dw3=1.2,
        mac_dw=1.2,
        mac_fc=0.8,
        out=3.0,
        elem=0.3,
        act=3.0,
        move=0.05,
        op=100.0,
    ),
    # MVP: anchor = one MAC on the accelerator (~1 cycle incl. its array set-up); CPU ops as on
    # the DSP path, relative to that.
    "mvp": dict(mvp_mac=1.0, mvp_out=4.0, elem=3.0, act=25.0, move=0.4, op=1500.0),
}
PATH_FAMILY = {
    "cmsis-nn-dsp": "cmsis-nn",
    "cmsis-nn-c": "cmsis-nn",
    "helium": "cmsis-nn-helium",
    "esp-nn-pie": "esp-nn",
    "esp-nn-c": "esp-nn",
    "reference": "reference",
    "mvp": "mvp",
}
# A path with no board left to learn from borrows the scale of another path, times the ratio
# of their anchor costs from instruction throughput (see PRIORS). Written after the data were
# seen; cold-start rows that use it are flagged in the benchmark.
CROSS_PATH: dict[str, tuple[str, float]] = {
    "cmsis-nn-c": ("cmsis-nn-dsp", 6.0 / 0.75 / 2.0),  # ~6 vs ~0.75 cycles per MAC, halved for shared overheads
    "helium": ("cmsis-nn-dsp", 0.125 / 0.75),  # one lane ~0.125 cycles vs one SMLAD-path MAC ~0.75
    "esp-nn-pie": ("esp-nn-c", 0.125 / 4.0),  # one PIE lane vs a ~4-cycle C MAC
}
SIGMA_U = 0.5  # prior spread of the log-corrections u (a factor of ~1.65), chosen before fitting
SIGMA_G = 0.7  # prior spread of the memory factor g around 1
SIGMA_R = 0.1  # expected log-residual of one row (third-party figures disagree by 10-30%)


def _coremark(core: str) -> float:
    return COREMARK_PER_MHZ.get(core, UNKNOWN_COREMARK)


def board_memory(board: str) -> Memory:
    """Memory facts of a known board; an unknown one gets the assumptions of `_boards`."""
    b = BOARD_BY_ID.get(board)
    return b.memory if b else Memory("internal-flash", None, None, source="unknown board: assumed")


@dataclass(frozen=True)
class Obs:
    """One measurement, ready for the fit: its work units on its kernel path."""

    board: str
    core: str
    path: str
    model: str
    units: dict[str, float]
    cycles: float
    weight: float
    cpb: float  # cycles per byte of weights streamed on this board
    macs: int
    clock_mhz: float
    row: Measurement | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.board, self.path


def observations(rows: Sequence[Measurement] | None = None) -> list[Obs]:
    """Rows with a fitted family and a reference graph, with their work units."""
    graphs = reference_graphs()
    out = []
    for r in measurements() if rows is None else rows:
        if not r.family or r.model not in graphs:
            continue
        path = kernel_path(r.family, r.core)
        cpb = board_memory(r.board).cycles_per_byte
        out.append(
            Obs(
                r.board,
                r.core,
                path,
                r.model,
                model_units(graphs[r.model], path),
                r.cycles,
                r.weight,
                cpb,
                r.macs,
                r.clock_mhz,
                r,
            )
        )
    return out


@dataclass(frozen=True)
class PathFit:
    path: str
    coeffs: dict[str, float]  # theta * exp(u), per anchor unit (no wbyte)
    memory_factor: float  # g
    scale: dict[str, float]  # s_b per board
    naive_cpm: dict[str, float]  # cycles per MAC per board
    core: dict[str, str]
    # Laplace approximation of the posterior at the MAP: covariance of the fitted log-parameters,
    # named "u:UNIT" (shared log-corrections), "g" (log memory factor), "s:BOARD" (log board scale)
    param_names: tuple[str, ...] = ()
    cov: tuple[tuple[float, ...], ...] = ()

    def unit_cycles(self, units: dict[str, float]) -> float:
        return float(sum(self.coeffs.get(k, 0.0) * units.get(k, 0.0) for k in UNITS if k != "wbyte"))

    def cycles(self, scale: float, units: dict[str, float], cpb: float) -> float:
        return scale * self.unit_cycles(units) + self.memory_factor * cpb * units.get("wbyte", 0.0)

    def unit_log_cov(self, board: str) -> dict[str, dict[str, float]]:
        """Posterior covariance of the log cycles-per-unit of a calibrated board: log cost of unit k
        = u_k + s_board (the anchor unit has no u), of `wbyte` = g (Laplace approximation)."""
        if not self.cov:
            return {}
        idx = {n: i for i, n in enumerate(self.param_names)}
        cov = np.array(self.cov)

        def vec(unit: str) -> np.ndarray:
            v = np.zeros(len(self.param_names))
            if unit == "wbyte":
                v[idx["g"]] = 1.0
                return v
            v[idx[f"s:{board}"]] = 1.0
            if f"u:{unit}" in idx:
                v[idx[f"u:{unit}"]] = 1.0
            return v

        units = [*self.coeffs, "wbyte"]
        vs = {k: vec(k) for k in units}
        return {j: {k: float(vs[j] @ cov @ vs[k]) for k in units} for j in units}

    def cycles_by_unit(self, scale: float, units: dict[str, float], cpb: float) -> dict[str, float]:
        out = {k: scale * c * units.get(k, 0.0) for k, c in self.coeffs.items()}
        out["wbyte"] = self.memory_factor * cpb * units.get("wbyte", 0.0)
        return out

    def log_sd(self, board: str, units: dict[str, float], cpb: float) -> float:
        """Posterior sd of log(predicted cycles) of a model on a calibrated board (delta method)."""
        return share_log_sd(self.unit_log_cov(board), self.cycles_by_unit(self.scale[board], units, cpb))

    def donors(self, core: str) -> list[str]:
        same = sorted(b for b in self.scale if self.core[b] == core)
        return same or sorted(self.scale)

    def cold_scale(self, core: str, naive: bool = False) -> float:
        """Scale for a board of this path with no rows (see module docstring)."""
        table = self.naive_cpm if naive else self.scale
        if not table:
            raise ValueError(f"no calibrated board on kernel path {self.path!r}")
        logs = [math.log(table[b] * _coremark(self.core[b]) / _coremark(core)) for b in self.donors(core)]
        return math.exp(sum(logs) / len(logs))


def fit_path(
    path: str, obs: Sequence[Obs], prior: dict[str, float] | None = None, memory_prior: float = 1.0
) -> PathFit:
    """MAP fit of u (shared), g (shared) and s_b (per board) on the weighted rows of one path.
    `prior`: per-unit costs relative to the anchor (default `PRIORS[path]`); `memory_prior`: centre of g."""
    from scipy.optimize import least_squares

    obs = [o for o in obs if o.path == path and o.weight > 0]
    if not obs:
        raise ValueError(f"no measurement with weight > 0 on kernel path {path!r}")
    prior = prior or PRIORS[path]
    keys = [k for k in UNITS if k != "wbyte" and prior.get(k, 0.0) > 0]
    anchor = next(iter(prior))
    free = [k for k in keys if k != anchor]
    theta0 = np.array([prior[k] for k in keys])
    X = np.array([[o.units.get(k, 0.0) for k in keys] for o in obs])
    W = np.array([o.units.get("wbyte", 0.0) * o.cpb for o in obs])
    y = np.log([o.cycles for o in obs])
    sw = np.sqrt([o.weight for o in obs])
    boards = sorted({o.board for o in obs})
    bidx = np.array([boards.index(o.board) for o in obs])
    fidx = [keys.index(k) for k in free]
    nf = len(free)
    lg0 = math.log(memory_prior)

    def unpack(p):
        u = np.zeros(len(keys))
        u[fidx] = p[:nf]
        return u, p[nf], p[nf + 1 :]

    def resid(p):
        u, lg, ls = unpack(p)
        pred = np.exp(ls[bidx]) * (X @ (theta0 * np.exp(u))) + np.exp(lg) * W
        return np.concatenate([sw * (np.log(pred) - y) / SIGMA_R, p[:nf] / SIGMA_U, [(lg - lg0) / SIGMA_G]])

    s0 = [
        float(np.mean([y[i] - math.log(X[i] @ theta0) for i in range(len(obs)) if bidx[i] == b]))
        for b in range(len(boards))
    ]
    sol = least_squares(resid, np.concatenate([np.zeros(nf), [lg0], s0]), method="trf")
    u, lg, ls = unpack(sol.x)
    # residuals are standardised (rows by SIGMA_R, priors by SIGMA_U / SIGMA_G), so J'J is the
    # posterior precision of the log-parameters at the MAP
    cov = np.linalg.pinv(sol.jac.T @ sol.jac)
    naive = {}
    for b in boards:
        mine = [o for o in obs if o.board == b]
        tw = sum(o.weight for o in mine)
        naive[b] = math.exp(sum(o.weight * math.log(o.cycles / o.macs) for o in mine) / tw)
    return PathFit(
        path=path,
        coeffs={k: float(theta0[i] * math.exp(u[i])) for i, k in enumerate(keys)},
        memory_factor=float(math.exp(lg)),
        scale={b: float(math.exp(ls[i])) for i, b in enumerate(boards)},
        naive_cpm=naive,
        core={o.board: o.core for o in obs},
        param_names=(*(f"u:{k}" for k in free), "g", *(f"s:{b}" for b in boards)),
        cov=tuple(tuple(float(x) for x in row) for row in cov),
    )


# Streaming weights from flash is the same physics whatever kernel runs: the memory factor g of
# the path with the most fully-connected data is the prior centre of the other CPU paths (the
# MVP streams through its own DMA, so it keeps its own prior).
MEMORY_DONOR = "cmsis-nn-dsp"


def fit_all(obs: Sequence[Obs]) -> dict[str, PathFit]:
    """One fit per path that has rows with weight > 0."""
    paths = sorted({o.path for o in obs if o.weight > 0}, key=lambda p: p != MEMORY_DONOR)
    fits: dict[str, PathFit] = {}
    for p in paths:
        g0 = fits[MEMORY_DONOR].memory_factor if MEMORY_DONOR in fits and p != "mvp" else 1.0
        fits[p] = fit_path(p, obs, memory_prior=g0)
    return dict(sorted(fits.items()))


def cold_prediction(
    fits: dict[str, PathFit], path: str, core: str, units: dict[str, float], cpb: float, macs: int
) -> tuple[float, float, str] | None:
    """(per-op cycles, naive cycles, how) for a board with no rows; None if nothing to transfer from."""
    if path in fits:
        f = fits[path]
        how = "same core" if any(f.core[b] == core for b in f.scale) else "CoreMark/MHz"
        return f.cycles(f.cold_scale(core), units, cpb), f.cold_scale(core, naive=True) * macs, how
    if path in CROSS_PATH and CROSS_PATH[path][0] in fits:
        base, factor = CROSS_PATH[path]
        f = fits[base]
        prior = PRIORS[path]
        unit = sum(prior.get(k, 0.0) * units.get(k, 0.0) for k in UNITS if k != "wbyte")
        per_op = factor * f.cold_scale(core) * unit + f.memory_factor * cpb * units.get("wbyte", 0.0)
        return per_op, factor * f.cold_scale(core, naive=True) * macs, f"cross-path from {base}"
    return None
