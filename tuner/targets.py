"""Target boards: validated profiles loaded from `targets/*.yaml` (no TensorFlow import).

A profile holds the board facts (clock, RAM, flash, core, kernel family), the fitted
latency coefficients, the error band, and the flash/RAM/DSP constants, each with its source.
`tuner calibrate` writes user profiles in the same schema.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tuner.errors import InputError
from tuner.paths import TARGETS_DIR

DEFAULT_TARGET = "nano33ble"

# Registry of kernel families (STYLE: one explicit registry per plug-in kind).
KERNEL_FAMILIES: dict[str, str] = {
    "cmsis-nn": "Arm CMSIS-NN int8 kernels, DSP-extension (SIMD) paths on M4/M7/M33; plain C paths on M0+",
    "cmsis-nn-helium": "Arm CMSIS-NN int8 kernels, Helium (MVE) paths on Cortex-M55/M85",
    "esp-nn": "Espressif ESP-NN kernels (PIE vector paths on ESP32-S3, C fallbacks elsewhere)",
    "reference": "TFLM portable reference kernels (plain C)",
    "mvp": "Silicon Labs MVP matrix-vector accelerator for the ops it supports, CMSIS-NN on the CPU for the rest",
}
# Work units of the latency model (see tuner.estimate._features).
LATENCY_UNITS = (
    "mac_conv",
    "mac_1x1",
    "im2col",
    "tail",
    "mac_dw3",
    "mac_dw",
    "mac_fc",
    "out",
    "elem",
    "act",
    "move",
    "op",
    "wbyte",
    "mvp_mac",
    "mvp_out",
)
DSP_OPS = ("mac", "add", "mul", "div", "cmp", "sqrt", "log", "exp", "trig", "fft")


def _cost_table(field: str, what: str, v: dict[str, float], keys: tuple[str, ...]) -> dict[str, float]:
    """A cost per key: every key given, none unknown, none negative (one rule for every cost table)."""
    missing = [k for k in keys if k not in v]
    if missing:
        raise ValueError(f"{field} must give every {what} {list(keys)}, missing {missing}")
    unknown = [k for k in v if k not in keys]
    if unknown:
        raise ValueError(f"{field} has unknown {what}s {unknown}; known: {list(keys)}")
    bad = {k: x for k, x in v.items() if not x >= 0}
    if bad:
        raise ValueError(f"{field} values must be >= 0, got {bad}")
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def share_log_sd(log_cov: dict[str, dict[str, float]], cycles_by_unit: dict[str, float]) -> float:
    """Sd of log(total cycles) when each unit's log cost has covariance `log_cov` (delta method:
    the gradient of log(total) by log(cost of unit k) is unit k's share of the cycles)."""
    total = sum(cycles_by_unit.values())
    if total <= 0:
        return 0.0
    share = {k: v / total for k, v in cycles_by_unit.items() if v and k in log_cov}
    var = sum(share[j] * share[k] * log_cov[j].get(k, 0.0) for j in share for k in share)
    return math.sqrt(max(var, 0.0))


class UnitBand(_Strict):
    """Band of a calibrated board that depends on the model's mix of work units (normalised
    split-conformal): half-width in log space = q x hypot(share_log_sd(log_cov, cycles), noise_sd)."""

    q: float = Field(gt=0, description="conformal quantile of |log(measured/estimate)| / sd on held-out models")
    noise_sd: float = Field(ge=0, description="log-sd of one measurement (sources disagree 10-30%)")
    log_cov: dict[str, dict[str, float]] = Field(
        description="posterior covariance of the log cycles-per-unit of this board (Laplace approximation of the fit)"
    )
    source: str = Field(min_length=3)

    @field_validator("log_cov")
    @classmethod
    def _cov(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        unknown = sorted(({k for k in v} | {j for row in v.values() for j in row}) - set(LATENCY_UNITS))
        if unknown:
            raise ValueError(f"log_cov has unknown units {unknown}; known: {list(LATENCY_UNITS)}")
        bad = [k for k in v if not v[k].get(k, 0.0) >= 0]
        if bad:
            raise ValueError(f"log_cov variances must be >= 0, got negative for {bad}")
        return v

    def half_width(self, cycles_by_unit: dict[str, float]) -> float:
        """Half-width of the band in log space for a model with these cycles per unit."""
        return self.q * math.hypot(share_log_sd(self.log_cov, cycles_by_unit), self.noise_sd)


class LatencyModel(_Strict):
    """Cycles per work unit on this board, and the error band of the estimate."""

    cycles_per_unit: dict[str, float] = Field(description="cycles per work unit, for every unit in LATENCY_UNITS")
    band_low: float = Field(gt=0, le=1, description="true latency >= estimate * band_low (conformal, out-of-sample)")
    band_high: float = Field(ge=1, description="true latency <= estimate * band_high (conformal, out-of-sample)")
    naive_cycles_per_mac: float = Field(gt=0, description="naive baseline: one cycles-per-MAC constant")
    calibrated: bool = Field(description="True if fitted on measurements of this board")
    source: str = Field(min_length=3)
    unit_band: UnitBand | None = Field(
        default=None,
        description="calibrated boards: the band per model (band_low/high are then its typical value)",
    )

    @field_validator("cycles_per_unit")
    @classmethod
    def _units(cls, v: dict[str, float]) -> dict[str, float]:
        return _cost_table("cycles_per_unit", "unit", v, LATENCY_UNITS)


class MemoryFacts(_Strict):
    """How the board reads a model's weights: what one streamed byte costs (the `wbyte` unit)."""

    weights_in: Literal["internal-flash", "external-flash", "mram", "sram"]
    flash_wait_states: int | None = Field(ge=0, description="at the inference clock, in CPU cycles; null: not found")
    flash_read_bytes: int | None = Field(gt=0, description="bytes per flash read; null: not found")
    cycles_per_byte: float = Field(ge=0, description="CPU cycles to stream one byte of weights")
    source: str = Field(min_length=3)


class Cited(_Strict):
    value: float = Field(ge=0)
    source: str = Field(min_length=3)


class Target(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str
    mcu: str
    core: str
    clock_hz: int = Field(gt=0, description="clock of the core that runs inference, in hertz")
    ram_bytes: int = Field(gt=0, description="on-chip SRAM usable by the application, in bytes")
    flash_bytes: int = Field(gt=0, description="flash for code + model, in bytes")
    kernels: Literal["cmsis-nn", "cmsis-nn-helium", "esp-nn", "reference", "mvp"]
    source: str = Field(min_length=3, description="where clock, RAM and flash come from")
    memory: MemoryFacts
    latency: LatencyModel
    runtime_ram_bytes: Cited = Field(description="interpreter objects + op resolver + stack; excludes the app")
    flash_framework_bytes: Cited = Field(description="TFLM framework code (interpreter, allocator) in bytes")
    code_size_factor: Cited = Field(description="kernel code size relative to a Cortex-M4 Thumb-2 build")
    dsp_cycles_per_op: dict[str, float] = Field(description="cycles per DSP op kind (DspCost.ops keys)")
    # None: a profile written before the DSP term had a band (the estimate then assumes DSP_BAND_UNKNOWN)
    dsp_band_low: float | None = Field(default=None, gt=0, le=1, description="true DSP cycles >= model * this")
    dsp_band_high: float | None = Field(default=None, ge=1, description="true DSP cycles <= model * this")
    dsp_source: str = Field(min_length=3)
    notes: str = ""

    @field_validator("dsp_cycles_per_op")
    @classmethod
    def _dsp(cls, v: dict[str, float]) -> dict[str, float]:
        return _cost_table("dsp_cycles_per_op", "op kind", v, DSP_OPS)

    @model_validator(mode="after")
    def _check(self) -> Target:
        if self.latency.band_low > self.latency.band_high:
            raise ValueError("latency.band_low <= latency.band_high must hold")
        return self

    @property
    def clock_mhz(self) -> float:
        return self.clock_hz / 1e6


def _explain(exc: ValidationError, origin: str) -> str:
    parts = []
    errors = sorted(exc.errors(), key=lambda e: e["type"] == "missing")  # wrong values first
    for e in errors[:3]:
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        value = e.get("input")
        shown = "" if e["type"] == "missing" else f", got {value!r}"[:80]
        parts.append(f"field `{loc}`: {e['msg']}{shown}")
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return f"invalid target profile {origin}: " + "; ".join(parts) + more


def target_from_dict(data: object, origin: str = "<dict>") -> Target:
    if not isinstance(data, dict):
        raise InputError(f"invalid target profile {origin}: expected a mapping, got {type(data).__name__}")
    units = (data.get("latency") or {}).get("cycles_per_unit") if isinstance(data.get("latency"), dict) else None
    if "memory" not in data and isinstance(units, dict) and "wbyte" not in units:
        raise InputError(
            f"target profile {origin} predates the per-kernel latency model (no `memory` section, no `wbyte` "
            "cost): re-run `tuner calibrate` with your measurements, or start from a bundled profile"
        )
    try:
        return Target.model_validate(data)
    except ValidationError as exc:
        raise InputError(_explain(exc, origin)) from None


def _read_yaml(path: Path) -> Target:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"invalid target profile {path}: not valid YAML ({first})") from None
    except OSError as exc:
        raise InputError(f"cannot read target profile {path}: {exc.strerror}") from None
    return target_from_dict(data, str(path))


def _bundled() -> dict[str, Path]:
    return {p.stem: p for p in sorted(Path(TARGETS_DIR).glob("*.yaml"))}


def list_targets() -> list[Target]:
    """All bundled targets, sorted by id."""
    return [_read_yaml(p) for p in _bundled().values()]


def load_target(id_or_path: str | Path) -> Target:
    """A bundled target by id, or a user profile by path (anything ending in .yaml/.yml or
    naming an existing file)."""
    s = str(id_or_path)
    bundled = _bundled()
    if s in bundled:
        return _read_yaml(bundled[s])
    path = Path(s)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise InputError(f"target profile not found: {path}")
        return _read_yaml(path)
    raise InputError(f"unknown target {s!r}; known targets: {', '.join(bundled)} (or pass a path to a profile YAML)")


def dump_target(target: Target) -> str:
    """YAML text of a profile (used by `tuner calibrate`)."""
    return yaml.safe_dump(target.model_dump(mode="json"), sort_keys=False, width=110)
