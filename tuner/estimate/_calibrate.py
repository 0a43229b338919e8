"""`tuner calibrate`: fit a user board profile from their own measurements.

Input: a base target (kernel family, core, clock, memory) and a CSV of (model path, measured
latency in ms) rows. The base profile's cycle coefficients are the prior; the fit is the same
MAP fit as for the bundled profiles (`_fit.fit_family`): a board scale, plus log-corrections
of the per-unit costs pulled towards the prior (they move only when several models disagree).
The band comes from leave-one-out residuals when there are at least 3 rows; otherwise the base
profile's band is kept.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
from dataclasses import dataclass
from pathlib import Path

from tuner.errors import InputError
from tuner.estimate._calibration_data import Measurement
from tuner.estimate._features import model_features
from tuner.estimate._fit import fit_family, log_band
from tuner.estimate._graph import op_macs, parse
from tuner.targets import Target, target_from_dict


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


def calibrate(
    base: Target, measurements: list[tuple[Path, float]], new_id: str, clock_hz: int | None = None
) -> tuple[Target, list[CalibrationRow]]:
    clock = clock_hz or base.clock_hz
    if clock <= 0:
        raise InputError(f"clock_hz must be > 0, got {clock}")
    feats: dict[str, dict[str, float]] = {}
    rows: list[Measurement] = []
    for i, (path, ms) in enumerate(measurements):
        g = parse(path)
        key = f"{i}:{path.name}"
        feats[key] = model_features(g)
        rows.append(
            Measurement(
                new_id,
                base.core,
                clock / 1e6,
                "user",
                base.kernels,
                key,
                sum(op_macs(g, o) for o in g.ops),
                ms,
                "user measurements",
            )
        )
    c = base.latency.cycles_per_unit
    prior = {k: v / c["mac_conv"] for k, v in c.items()} if c["mac_conv"] > 0 else dict(c)
    fit = fit_family(base.kernels, rows, feats, prior=prior)
    scale = fit.board_scale[new_id]
    coeffs = {k: float(f"{scale * v:.4g}") for k, v in fit.coeffs.items()}
    hz_ms = clock / 1e3
    loo: list[float | None] = [None] * len(rows)
    if len(rows) >= 3:
        for i in range(len(rows)):
            f = fit_family(base.kernels, rows[:i] + rows[i + 1 :], feats, prior=prior)
            loo[i] = f.board_scale[new_id] * f.unit_cycles(feats[rows[i].model]) / hz_ms
    report = [
        CalibrationRow(
            str(measurements[i][0]),
            r.macs,
            r.latency_ms,
            scale * fit.unit_cycles(feats[r.model]) / hz_ms,
            loo[i],
        )
        for i, r in enumerate(rows)
    ]
    if len(rows) >= 3:
        low, high = log_band([(x.loo_ms - x.measured_ms) / x.measured_ms for x in report])
        band_src = f"leave-one-out residuals of the {len(rows)} user measurements"
    else:
        low, high = base.latency.band_low, base.latency.band_high
        band_src = f"kept from base profile {base.id} (fewer than 3 measurements for a leave-one-out band)"
    naive = math.exp(sum(math.log(r.cycles / r.macs) for r in rows if r.macs) / max(1, sum(1 for r in rows if r.macs)))
    today = _dt.date.today().isoformat()
    data = base.model_dump(mode="json")
    data.update(
        id=new_id,
        name=f"{base.name} (calibrated {today})",
        clock_hz=int(clock),
        notes=(f"Calibrated by `tuner calibrate` from base profile {base.id}. " + base.notes).strip(),
    )
    data["latency"] = {
        "cycles_per_unit": coeffs,
        "band_low": float(f"{min(low, 1.0):.3g}"),
        "band_high": float(f"{max(high, 1.0):.4g}"),
        "naive_cycles_per_mac": float(f"{naive:.4g}"),
        "calibrated": True,
        "source": (
            f"tuner calibrate on {today}: {len(rows)} user measurements, per-op cycle model with "
            f"{base.id}'s coefficients as prior; band: {band_src}"
        ),
    }
    return target_from_dict(data, new_id), report
