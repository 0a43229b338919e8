"""Stopping unpromising candidates during training, and the sweep's wall-clock deadline.

Single objective (tpe, random, grid, bayesian): Optuna's `MedianPruner` on the validation score
reported after every epoch: after the warm-up, a trial below the median of earlier trials at the
same epoch stops.

`tpe-cost` (issue 14; not the default: docs/engines.md): the equal-time rule (`TimePruner`). Candidates
differ up to 10x in seconds per epoch, so comparing them at equal epochs lets an expensive one run
long before it is judged. After every epoch a trial reports its validation score at the training
seconds it has spent so far; it is pruned when its best score so far is below the median of what
earlier trials had reached after the same number of training seconds (a trial that had no epoch
done by then counts 0: in that time it had nothing to offer; a trial pruned before that time is
left out: its score then is unknown). Only candidates that met the budgets count as peers.

Multi-objective (nsga2), where Optuna's pruners do not apply: latency and RAM are known before
training (pre-check), only accuracy is not. A trial is pruned at epoch e (after the warm-up)
when at least `min_trials` finished trials are at least as cheap on both latency and RAM, and its
validation accuracy is below the median of theirs at epoch e: those trials are on course to
dominate it. A cheap candidate is therefore never pruned because of expensive ones, which keeps
the low-latency end of the Pareto front intact.

Warm-up: no rule prunes during the first 5 epochs (`WARMUP_UNKNOWN`); with `tpe-cost`, during the
first `warmup_epochs(max_epochs)`, a fraction (`WARMUP_FRACTION`) of the candidate's epoch budget
(tuner.schedule: 5 epochs on the image space, 75 on a small motion set), at least one epoch.

Past the planned epochs (a candidate still improving trains on: tuner.schedule), a rule that fires
ends only the extension (`EndExtension`): the candidate had its planned training and is kept.

Hyperband runs its own successive halving and uses neither rule. Every engine obeys the deadline:
when `--timeout` has passed, the running trial stops at the end of its epoch.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import optuna

WARMUP_FRACTION = 0.2
WARMUP_UNKNOWN = 5  # epochs of warm-up: fixed, or for tpe-cost when the epoch budget is not known
MIN_TRIALS = 3


def warmup_epochs(max_epochs: int) -> int:
    """Epochs never pruned: a fifth of the candidate's epoch budget, at least one."""
    return max(1, round(WARMUP_FRACTION * max_epochs))


def planned_epochs(params: dict[str, Any], n_train: int, epochs: int | None) -> int:
    """The epoch budget `tuner.train.train` gives this candidate (tuner.schedule)."""
    from tuner.schedule import candidate_schedule

    return candidate_schedule(params, n_train, epochs).epochs


class Pruned(Exception):
    """Training stopped on purpose (pruning rule or deadline); `reason` says why."""

    def __init__(self, reason: str, curve: list[float]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.curve = curve


def median_pruner() -> Any:
    """Optuna's MedianPruner at equal epochs; the warm-up is the guard's (`warmup_epochs`)."""
    return optuna.pruners.MedianPruner(n_startup_trials=MIN_TRIALS + 2, n_warmup_steps=0)


def single_objective_pruner(per_second: bool) -> Any:
    """The Optuna pruner for the study: the equal-time rule for `tpe-cost`, else the median rule."""
    return TimePruner() if per_second else median_pruner()


PEER_STATES = ("feasible", "pruned")  # trials that met the budgets (pruned ones passed the pre-check)


def score_at(values: dict[int, float], spent_ms: int) -> float:
    """Best score a trial had reached after `spent_ms` ms of training (0 if no epoch was done)."""
    reached = [v for s, v in values.items() if s <= spent_ms and math.isfinite(v)]
    return max(reached, default=0.0)


def should_prune_time(
    values: dict[int, float], peers: list[tuple[dict[int, float], bool]], min_trials: int = MIN_TRIALS
) -> str | None:
    """The equal-time rule. `values`: this trial's scores by training ms spent; `peers`: (scores by
    ms, whether it was pruned) of earlier trials. Returns the reason to prune, or None to go on."""
    if not values:
        return None
    spent = max(values)
    mine = score_at(values, spent)
    at = [score_at(v, spent) for v, pruned in peers if v and not (pruned and max(v) < spent)]
    if len(at) < min_trials:
        return None
    med = statistics.median(at)
    if mine < med:
        return (
            f"pruned after {spent / 1000:.1f} s of training: best val score {mine:.3f} < median {med:.3f} "
            f"of {len(at)} earlier trials after the same training time"
        )
    return None


class TimePruner(optuna.pruners.BasePruner):
    """Optuna pruner of the equal-time rule; the guard reports steps in ms of training spent.
    (Optuna's own pruners, Median, SuccessiveHalving, Hyperband, compare at equal steps.)"""

    def __init__(self, min_trials: int = MIN_TRIALS) -> None:
        self.min_trials = min_trials
        self.last_reason: str | None = None

    def prune(self, study: Any, trial: Any) -> bool:
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        peers = [
            (dict(t.intermediate_values), t.state == optuna.trial.TrialState.PRUNED)
            for t in study.get_trials(deepcopy=False, states=states)
            if t.number != trial.number and t.user_attrs.get("state") in PEER_STATES
        ]
        self.last_reason = should_prune_time(dict(trial.intermediate_values), peers, self.min_trials)
        return self.last_reason is not None


def should_prune_pareto(
    acc: float,
    epoch: int,
    latency_ms: float,
    ram_bytes: float,
    finished: list[tuple[float, float, list[float]]],
    warmup: int = 5,
    min_trials: int = MIN_TRIALS,
    label: str = "val accuracy",
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
            f"pruned at epoch {epoch + 1}: {label} {acc:.3f} < median {med:.3f} of {len(peers)} "
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
        scaled_warmup: bool = True,
    ) -> None:
        self.trial = trial
        self.scaled_warmup = scaled_warmup  # False: the fixed WARMUP_UNKNOWN epochs
        self.mode = mode  # "time", "median", "pareto" or "off"
        self.deadline = deadline
        self.finished = finished or []
        self.latency_ms = math.inf
        self.ram_bytes = math.inf
        self.curve: list[float] = []
        self.warmup = WARMUP_UNKNOWN
        self.planned: int | None = None  # the planned epochs; past them a rule only ends the extension
        self.fit_start = time.time()
        self.last_step = -1

    def set_costs(self, latency_ms: float, ram_bytes: float, max_epochs: int | None = None) -> None:
        """Called when the pre-check passed, right before training: costs, epoch budget, start of fit."""
        self.latency_ms, self.ram_bytes = latency_ms, ram_bytes
        self.planned = max_epochs
        if max_epochs is not None and self.scaled_warmup:
            self.warmup = warmup_epochs(max_epochs)
        self.fit_start = time.time()

    def _prune(self, epoch: int, reason: str) -> None:
        """Stop the candidate; in the epochs beyond the planned ones (tuner.schedule), end only the
        extension: it had its planned training, and is kept with its best weights."""
        from tuner.schedule import EndExtension

        if self.planned is not None and epoch >= self.planned:
            raise EndExtension(reason)
        raise Pruned(reason, self.curve)

    def __call__(self, epoch: int, logs: dict[str, float]) -> None:
        # the sweep's metric on validation (tuner.schedule sets val_metric); plain accuracy otherwise
        acc = float(logs.get("val_metric", logs.get("val_accuracy", float("nan"))))
        label = "val score" if "val_metric" in logs else "val accuracy"  # the score may be balanced acc / F1
        self.curve.append(acc)
        if self.deadline is not None and time.time() > self.deadline:
            raise Pruned(f"stopped after epoch {epoch + 1}: the sweep's --timeout was reached", self.curve)
        if not math.isfinite(acc):
            return
        if self.mode == "time":
            # steps are ms of training spent (strictly increasing, as Optuna wants)
            step = max(int((time.time() - self.fit_start) * 1000), self.last_step + 1)
            self.last_step = step
            self.trial.report(acc, step)
            if epoch >= self.warmup and self.trial.should_prune():
                pruner = getattr(getattr(self.trial, "study", None), "pruner", None)
                reason = getattr(pruner, "last_reason", None) or f"pruned after {step / 1000:.1f} s of training"
                self._prune(epoch, f"epoch {epoch + 1}: {reason}")
        elif self.mode == "median":
            self.trial.report(acc, epoch)
            if epoch >= self.warmup and self.trial.should_prune():
                self._prune(
                    epoch,
                    f"pruned at epoch {epoch + 1}: {label} {acc:.3f} below the median of earlier trials at that epoch",
                )
        elif self.mode == "pareto":
            reason = should_prune_pareto(
                acc, epoch, self.latency_ms, self.ram_bytes, self.finished, self.warmup, label=label
            )
            if reason:
                self._prune(epoch, reason)
