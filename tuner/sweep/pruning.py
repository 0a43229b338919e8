"""Stopping unpromising candidates during training, and the sweep's wall-clock deadline.

Single objective (tpe, random, grid, bayesian): Optuna's `MedianPruner` on validation accuracy,
reported after every epoch. A trial is pruned when, after the warm-up epochs, its validation
accuracy is below the median of earlier trials at the same epoch.

Multi-objective (nsga2), where Optuna's pruners do not apply: latency and RAM are known before
training (pre-check), only accuracy is not. A trial is pruned at epoch e (after the same warm-up)
when at least `min_trials` finished trials are at least as cheap on both latency and RAM, and its
validation accuracy is below the median of theirs at epoch e: those trials are on course to
dominate it. A cheap candidate is therefore never pruned because of expensive ones, which keeps
the low-latency end of the Pareto front intact.

Hyperband runs its own successive halving and uses neither rule. Every engine obeys the deadline:
when `--timeout` has passed, the running trial stops at the end of its epoch.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

WARMUP_EPOCHS = 5
MIN_TRIALS = 3


class Pruned(Exception):
    """Training stopped on purpose (pruning rule or deadline); `reason` says why."""

    def __init__(self, reason: str, curve: list[float]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.curve = curve


def median_pruner() -> Any:
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=MIN_TRIALS + 2, n_warmup_steps=WARMUP_EPOCHS)


def should_prune_pareto(
    acc: float,
    epoch: int,
    latency_ms: float,
    ram_bytes: float,
    finished: list[tuple[float, float, list[float]]],
    warmup: int = WARMUP_EPOCHS,
    min_trials: int = MIN_TRIALS,
) -> str | None:
    """The multi-objective rule. `finished`: (latency_ms, ram_bytes, val-accuracy curve) of finished
    trials; `epoch` counts from 0. Returns the reason to prune, or None to go on."""
    if epoch < warmup:
        return None
    peers = [
        curve[epoch] for lat, ram, curve in finished if lat <= latency_ms and ram <= ram_bytes and len(curve) > epoch
    ]
    if len(peers) < min_trials:
        return None
    med = statistics.median(peers)
    if acc < med:
        return (
            f"pruned at epoch {epoch + 1}: val accuracy {acc:.3f} < median {med:.3f} of {len(peers)} "
            f"earlier trials at least as cheap on latency and RAM"
        )
    return None


class EpochGuard:
    """The runner's `on_epoch` hook: records the validation curve, applies the pruning rule for
    this engine and the deadline. Raises `Pruned` to stop training."""

    def __init__(
        self,
        trial: Any,
        mode: str,
        deadline: float | None,
        finished: list[tuple[float, float, list[float]]] | None = None,
    ) -> None:
        self.trial = trial
        self.mode = mode  # "median", "pareto" or "off"
        self.deadline = deadline
        self.finished = finished or []
        self.latency_ms = math.inf
        self.ram_bytes = math.inf
        self.curve: list[float] = []

    def set_costs(self, latency_ms: float, ram_bytes: float) -> None:
        self.latency_ms, self.ram_bytes = latency_ms, ram_bytes

    def __call__(self, epoch: int, logs: dict[str, float]) -> None:
        # the sweep's metric on validation (tuner.schedule sets val_metric); plain accuracy otherwise
        acc = float(logs.get("val_metric", logs.get("val_accuracy", float("nan"))))
        self.curve.append(acc)
        if self.deadline is not None and time.time() > self.deadline:
            raise Pruned(f"stopped after epoch {epoch + 1}: the sweep's --timeout was reached", self.curve)
        if not math.isfinite(acc):
            return
        if self.mode == "median":
            self.trial.report(acc, epoch)
            if self.trial.should_prune():
                raise Pruned(
                    f"pruned at epoch {epoch + 1}: val accuracy {acc:.3f} below the median of "
                    f"earlier trials at that epoch",
                    self.curve,
                )
        elif self.mode == "pareto":
            reason = should_prune_pareto(acc, epoch, self.latency_ms, self.ram_bytes, self.finished)
            if reason:
                raise Pruned(reason, self.curve)
