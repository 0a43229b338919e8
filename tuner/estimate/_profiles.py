"""Generate the bundled `targets/*.yaml` from board specs and the calibration fit.

Run `python -m tuner.estimate._profiles` after changing the calibration data, the priors or
the board table; `tests/test_targets.py` checks the bundled files match this output.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

from tuner.estimate._boards import BOARDS, Board
from tuner.estimate._calibration_data import COREMARK_SOURCE, measurements, reference_graphs
from tuner.estimate._dsp_fit import core_table
from tuner.estimate._features import kernel_path, model_units
from tuner.estimate._fit import PATH_FAMILY, SIGMA_R, PathFit, fit_all, observations
from tuner.estimate._validate import Held, band, band_q, leave_one_board_out, leave_one_model_out
from tuner.targets import DEFAULT_TARGET, LATENCY_UNITS, Target, UnitBand, dump_target, target_from_dict

_CODE_FACTOR = {"cortex-m0plus": 1.1, "riscv32-imc": 1.15, "xtensa-lx6": 1.1, "xtensa-lx7": 1.1}


_RUNTIME_RAM_SRC = (
    "estimate, not measured: MicroInterpreter + MicroMutableOpResolver objects (~1 kB) and the call stack of the "
    "deepest kernel (~3 kB); excludes the application and RTOS task stacks"
)
_FRAMEWORK_SRC = (
    "TFLM framework alone about 10.6 kB (Cortex-M4, release, size-optimised build of tflite-micro, measured 2025)"
)
_CODE_SRC = (
    "1.0 = Cortex-M4 Thumb-2 kernel sizes; other ISAs: estimate of code density (Thumb-1 M0+, Xtensa with "
    "density option, RV32IMC)"
)


@dataclass(frozen=True)
class Validation:
    """Everything the profiles need from the shipped data: the full fit and the held-out residuals."""

    fits: dict[str, PathFit]
    lomo: list[Held]
    lobo: list[Held]


def validation() -> Validation:
    obs = observations()
    return Validation(fit_all(obs), leave_one_model_out(obs), leave_one_board_out(obs))


def _r(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}")


def typical_half_width(unit_band: UnitBand, cycles_per_unit: dict[str, float], path: str) -> float:
    """Median band half-width (log space) of the shipped reference models on a board."""
    halves = sorted(
        unit_band.half_width({k: cycles_per_unit[k] * v for k, v in model_units(g, path).items()})
        for g in reference_graphs().values()
    )
    return halves[len(halves) // 2]


def _rounded_cov(cov: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """The covariance with 6 significant digits, units whose variance is 0 dropped."""
    keep = [k for k in cov if cov[k][k] > 0]
    return {j: {k: _r(cov[j][k], 6) for k in keep} for j in keep}


def _fitted_on(board: str, family: str) -> str:
    rows = [m for m in measurements() if m.board == board and m.family == family and m.weight > 0]
    return "; ".join(f"{m.model} ({m.source}, weight {m.weight:g})" for m in rows)


def build_profile(b: Board, v: Validation) -> Target:
    path = kernel_path(b.kernels, b.core)
    fam = PATH_FAMILY[path]
    cpb = b.memory.cycles_per_byte
    fit = v.fits.get(path)
    calibrated = fit is not None and b.id in fit.scale
    if calibrated:
        scale, naive, coeffs, g = fit.scale[b.id], fit.naive_cpm[b.id], fit.coeffs, fit.memory_factor
        low, high, what = band(v.lomo, fam)
        q, _ = band_q(v.lomo, fam)
        unit_band = {
            "q": _r(q),
            "noise_sd": SIGMA_R,
            "log_cov": _rounded_cov(fit.unit_log_cov(b.id)),
            "source": (
                f"normalised split-conformal (80%) on leave-one-model-out residuals of {what}: q = conformal "
                "quantile of |log(measured/estimate)| / sd; log_cov = posterior covariance of this board's log "
                "per-unit costs (Laplace approximation of the fit)"
            ),
        }
        lsrc = (
            f"per-op model, kernel path `{path}`: per-unit costs shared by the path's boards, board scale fitted "
            f"on this board's rows of tuner/_data/calibration/latency.csv: {_fitted_on(b.id, fam)}. Band: "
            f"normalised split-conformal (80%) on leave-one-model-out residuals of {what}; it depends on the "
            "model (unit_band); band_low/high are its median on those rows."
        )
    elif fit is not None:
        scale, naive, coeffs, g = fit.cold_scale(b.core), fit.cold_scale(b.core, True), fit.coeffs, fit.memory_factor
        low, high, what = band(v.lobo, fam)
        unit_band = None
        donors = ", ".join(fit.donors(b.core))
        rule = "same core" if any(fit.core[d] == b.core for d in fit.scale) else f"CoreMark/MHz ({COREMARK_SOURCE})"
        lsrc = (
            f"no measurement of this board: kernel path `{path}` fitted on tuner/_data/calibration/latency.csv, "
            f"board scale transferred from {donors} ({rule}). Band: split-conformal (80%) on "
            f"leave-one-board-out residuals of {what}."
        )
    else:
        raise ValueError(f"no fit for kernel path {path!r} of board {b.id}")
    units = {k: _r(scale * coeffs.get(k, 0.0)) for k in LATENCY_UNITS}
    units["wbyte"] = _r(g * cpb)
    if unit_band is not None:  # shown by `tuner targets`: the median band of the reference models here
        half = typical_half_width(UnitBand(**unit_band), units, path)
        low, high = math.exp(-half), math.exp(half)
    dsp = core_table(b.core)
    mem = b.memory
    data = {
        "id": b.id,
        "name": b.name,
        "mcu": b.mcu,
        "core": b.core,
        "clock_hz": int(b.clock_mhz * 1e6),
        "ram_bytes": b.sram_kb * 1024,
        "flash_bytes": b.flash_kb * 1024,
        "kernels": b.kernels,
        "source": b.source,
        "memory": {
            "weights_in": mem.weights_in,
            "flash_wait_states": mem.wait_states,
            "flash_read_bytes": mem.read_bytes,
            "cycles_per_byte": _r(cpb),
            "source": f"{mem.source}. {mem.describe()}",
        },
        "latency": {
            "cycles_per_unit": units,
            "band_low": _r(math.floor(low * 1000) / 1000, 3),
            "band_high": _r(math.ceil(high * 1000) / 1000, 4),
            "naive_cycles_per_mac": _r(naive),
            "calibrated": calibrated,
            "source": lsrc + f" wbyte = memory factor {g:.3g} (shared by the path) x {cpb:.3g} cycles per byte.",
            "unit_band": unit_band,
        },
        "runtime_ram_bytes": {"value": 4096.0, "source": _RUNTIME_RAM_SRC},
        "flash_framework_bytes": {"value": 10600, "source": _FRAMEWORK_SRC},
        "code_size_factor": {"value": _CODE_FACTOR.get(b.core, 1.0), "source": _CODE_SRC},
        "dsp_cycles_per_op": dsp.cycles_per_op,
        "dsp_band_low": dsp.band_low,
        "dsp_band_high": dsp.band_high,
        "dsp_source": dsp.source,
        "notes": (b.notes + (" Default target." if b.id == DEFAULT_TARGET else "")).strip(),
    }
    return target_from_dict(data, b.id)


def all_profiles(v: Validation | None = None) -> list[Target]:
    v = v or validation()
    return [build_profile(b, v) for b in BOARDS]


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for t in all_profiles():
        (out / f"{t.id}.yaml").write_text(dump_target(t))
        kind = "calibrated" if t.latency.calibrated else "transferred"
        print(f"{t.id}: {kind}, band {t.latency.band_low}-{t.latency.band_high}")


if __name__ == "__main__":
    from tuner.paths import TARGETS_DIR

    main(sys.argv[1] if len(sys.argv) > 1 else str(TARGETS_DIR))
