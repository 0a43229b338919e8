"""`tuner calibrate`: move a board from transferred to calibrated with the user's own measurements.

Input: a base target (kernel family, core, clock, memory facts) and a CSV of (model path,
measured latency in ms) rows. The fit is the one of the bundled profiles (`_fit.fit_path`): the
base profile's per-unit costs are the prior of the shared kernel physics, the memory term keeps
the board's memory facts, and the board scale is fitted on the user's rows (with several models
the per-unit costs move towards them, pulled back by the same ridge prior).

Band: the board is now calibrated, so it gets the normalised leave-one-model-out conformal band
of its kernel family from the shipped data (quantile q of |log residual| / sd), with the sd of
each model's estimate from this fit's posterior (`unit_band`); with 3 or more rows q is widened,
if needed, to cover the leave-one-out residuals of the user's own rows.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
from dataclasses import dataclass
from pathlib import Path

from tuner.errors import InputError
from tuner.estimate._features import kernel_path, model_units
from tuner.estimate._fit import PATH_FAMILY, PRIORS, SIGMA_R, Obs, fit_path
from tuner.estimate._graph import op_macs, parse
from tuner.targets import LATENCY_UNITS, Target, UnitBand, target_from_dict


@dataclass(frozen=True)
class CalibrationRow:
    model: str
    macs: int
    measured_ms: float
    fitted_ms: float
    loo_ms: float | None  # prediction with this row left out (None if < 3 rows)


def read_measurements(csv_path: str | Path) -> list[tuple[Path, float]]:
    """Rows of (model path, latency_ms). A header row is optional; model paths are relative
    to the CSV's folder (or absolute)."""
    path = Path(csv_path)
    if not path.is_file():
        raise InputError(f"measurements file not found: {path}")
    rows = []
    with path.open(newline="") as f:
        for n, rec in enumerate(csv.reader(f), start=1):
            rec = [c.strip() for c in rec if c.strip()]
            if not rec or rec[0].startswith("#"):
                continue
            if len(rec) < 2:
                raise InputError(f"{path}:{n}: expected 'model_path,latency_ms', got {','.join(rec)!r}")
            try:
                ms = float(rec[1])
            except ValueError:
                if n == 1:
                    continue  # header
                raise InputError(f"{path}:{n}: latency_ms must be a number, got {rec[1]!r}") from None
            if not ms > 0:
                raise InputError(f"{path}:{n}: latency_ms must be > 0, got {ms}")
            model = Path(rec[0])
            if not model.is_absolute():
                model = path.parent / model if (path.parent / model).is_file() else model
            if not model.is_file():
                raise InputError(f"{path}:{n}: model file not found: {rec[0]}")
            rows.append((model, ms))
    if not rows:
        raise InputError(f"{path}: no measurements (expected rows 'model_path,latency_ms')")
    return rows


def _user_obs(base: Target, measurements: list[tuple[Path, float]], board: str, clock: float) -> list[Obs]:
    path = kernel_path(base.kernels, base.core)
    out = []
    for i, (p, ms) in enumerate(measurements):
        g = parse(p)
        units = model_units(g, path)
        macs = sum(op_macs(g, o) for o in g.ops)
        out.append(
            Obs(
                board,
                base.core,
                path,
                f"{i}:{p.name}",
                units,
                ms * clock / 1e3,
                1.0,
                base.memory.cycles_per_byte,
                macs,
                clock / 1e6,
            )
        )
    return out


def _prior(base: Target, path: str) -> tuple[dict[str, float], float]:
    """Per-unit costs of the base relative to the path's anchor unit, and its memory factor."""
    c = base.latency.cycles_per_unit
    anchor = next(iter(PRIORS[path]))
    ref = c[anchor] if c[anchor] > 0 else 1.0
    prior = {k: c[k] / ref for k in PRIORS[path] if c.get(k, 0) > 0}
    prior = {anchor: 1.0, **prior}
    cpb = base.memory.cycles_per_byte
    return prior, (c["wbyte"] / cpb if cpb > 0 and c["wbyte"] > 0 else 1.0)


def calibrate(
    base: Target, measurements: list[tuple[Path, float]], new_id: str, clock_hz: int | None = None
) -> tuple[Target, list[CalibrationRow]]:
    clock = base.clock_hz if clock_hz is None else clock_hz  # 0 is a bad value, not "not given"
    if clock <= 0:
        raise InputError(f"clock_hz must be > 0, got {clock}")
    obs = _user_obs(base, measurements, new_id, clock)
    path = obs[0].path
    prior, g0 = _prior(base, path)
    fit = fit_path(path, obs, prior=prior, memory_prior=g0)
    scale = fit.scale[new_id]
    hz_ms = clock / 1e3
    loo: list[float | None] = [None] * len(obs)
    loo_sd = [math.nan] * len(obs)
    if len(obs) >= 3:
        for i in range(len(obs)):
            f = fit_path(path, obs[:i] + obs[i + 1 :], prior=prior, memory_prior=g0)
            loo[i] = f.cycles(f.scale[new_id], obs[i].units, obs[i].cpb) / hz_ms
            loo_sd[i] = math.hypot(f.log_sd(new_id, obs[i].units, obs[i].cpb), SIGMA_R)
    report = [
        CalibrationRow(
            str(measurements[i][0]), o.macs, measurements[i][1], fit.cycles(scale, o.units, o.cpb) / hz_ms, loo[i]
        )
        for i, o in enumerate(obs)
    ]
    from tuner.estimate._profiles import typical_half_width
    from tuner.estimate._validate import band_q, leave_one_model_out

    family = PATH_FAMILY[path]
    q, what = band_q(leave_one_model_out(), family)
    band_src = f"normalised split-conformal (80%) on the shipped leave-one-model-out residuals of {what}"
    if len(obs) >= 3:  # widen q, if needed, to cover the user's own leave-one-out residuals
        q = max(q, *(abs(math.log(r.measured_ms / r.loo_ms)) / sd for r, sd in zip(report, loo_sd, strict=True)))
        band_src += f", widened to cover the leave-one-out residuals of the {len(obs)} user measurements"
    log_cov = fit.unit_log_cov(new_id)
    naive = math.exp(sum(math.log(o.cycles / o.macs) for o in obs if o.macs) / max(1, sum(1 for o in obs if o.macs)))
    today = _dt.date.today().isoformat()
    data = base.model_dump(mode="json")
    data.update(
        id=new_id,
        name=f"{base.name} (calibrated {today})",
        clock_hz=int(clock),
        notes=(f"Calibrated by `tuner calibrate` from base profile {base.id}. " + base.notes).strip(),
    )
    coeffs = {k: float(f"{scale * fit.coeffs.get(k, 0.0):.4g}") for k in LATENCY_UNITS}
    coeffs["wbyte"] = float(f"{fit.memory_factor * base.memory.cycles_per_byte:.4g}")
    unit_band = {
        "q": float(f"{q:.4g}"),
        "noise_sd": SIGMA_R,
        "log_cov": {j: {k: float(f"{v:.6g}") for k, v in row.items()} for j, row in log_cov.items()},
        "source": band_src + "; log_cov: posterior covariance of the fit (Laplace approximation)",
    }
    typical = typical_half_width(UnitBand(**unit_band), coeffs, path)
    low, high = math.exp(-typical), math.exp(typical)
    data["latency"] = {
        "cycles_per_unit": coeffs,
        "band_low": float(f"{min(low, 1.0):.3g}"),
        "band_high": float(f"{max(high, 1.0):.4g}"),
        "naive_cycles_per_mac": float(f"{naive:.4g}"),
        "calibrated": True,
        "unit_band": unit_band,
        "source": (
            f"tuner calibrate on {today}: {len(obs)} user measurements, per-op model (kernel path {path}) with "
            f"{base.id}'s per-unit costs as prior; band (per model, see unit_band; band_low/high: its median "
            f"over the seven reference models): {band_src}"
        ),
    }
    return target_from_dict(data, new_id), report
