"""Budgets as signed margins (Optuna's convention: <= 0 is feasible), one per resource."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tuner.errors import InputError
from tuner.estimate.training_time import format_duration


@dataclass(frozen=True)
class Budgets:
    latency_ms: float | None = None
    ram_bytes: int | None = None
    flash_bytes: int | None = None
    train_seconds: float | None = None

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value is not None and value <= 0:
                raise InputError(f"budget {name} must be > 0, got {value}")

    @classmethod
    def from_limits(
        cls,
        target: Any = None,
        latency_ms: float | None = None,
        ram_kb: float | None = None,
        flash_kb: float | None = None,
        max_train_minutes: float | None = None,
    ) -> Budgets:
        """Budgets from the user's units (ms, kB of 1024 B, minutes). RAM and flash default to the
        target's (`target.ram_bytes`, `target.flash_bytes`); no target, no default."""
        return cls(
            latency_ms=latency_ms,
            ram_bytes=int(ram_kb * 1024) if ram_kb else getattr(target, "ram_bytes", None),
            flash_bytes=int(flash_kb * 1024) if flash_kb else getattr(target, "flash_bytes", None),
            train_seconds=max_train_minutes * 60 if max_train_minutes else None,
        )

    def margins(self, latency_ms: float, ram_bytes: int, flash_bytes: int, train_seconds: float) -> dict[str, float]:
        """Relative overshoot per budget: (value - budget) / budget; <= 0 means within budget."""
        pairs = {
            "latency": (latency_ms, self.latency_ms),
            "ram": (ram_bytes, self.ram_bytes),
            "flash": (flash_bytes, self.flash_bytes),
            "train_time": (train_seconds, self.train_seconds),
        }
        return {k: (v - b) / b if b else -1.0 for k, (v, b) in pairs.items()}

    def violations(self, latency_ms: float, ram_bytes: int, flash_bytes: int, train_seconds: float) -> list[str]:
        """Human reasons for each budget broken, e.g. 'latency 41.2 ms > budget 20 ms'."""
        out = []
        if self.latency_ms and latency_ms > self.latency_ms:
            shown = f"{latency_ms:.1f}" if latency_ms >= 10 else f"{latency_ms:.3g}"  # 0.612 > 0.6, not 0.6 > 0.6
            out.append(f"latency {shown} ms > budget {self.latency_ms:g} ms")
        if self.ram_bytes and ram_bytes > self.ram_bytes:
            out.append(f"RAM {ram_bytes / 1024:.1f} kB > budget {self.ram_bytes / 1024:g} kB")
        if self.flash_bytes and flash_bytes > self.flash_bytes:
            out.append(f"flash {flash_bytes / 1024:.1f} kB > budget {self.flash_bytes / 1024:g} kB")
        if self.train_seconds and train_seconds > self.train_seconds:
            out.append(
                f"Estimated training time ({format_duration(train_seconds)}) is larger than the limit "
                f"({format_duration(self.train_seconds)})"
            )
        return out

    def to_dict(self) -> dict[str, float | None]:
        return asdict(self)
