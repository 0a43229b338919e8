"""Immutable records of finished trials, read from the Optuna study. Ranking, export and report
read only these, never live trials."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class CandidateState(enum.Enum):
    """FEASIBLE: trained and within every budget; REJECTED: over a budget (before or after training);
    PRUNED: training stopped early by the pruning rule or --timeout (no int8 model, not a budget
    breach); FAILED: crashed or its worker died; RUNNING: not finished."""

    FEASIBLE = "feasible"
    REJECTED = "rejected"
    PRUNED = "pruned"
    FAILED = "failed"
    RUNNING = "running"

    def is_finished(self) -> bool:
        return self is not CandidateState.RUNNING


METRIC_ATTRS = (
    "float_accuracy",
    "int8_accuracy",
    "int8_drop",
    "latency_ms",
    "latency_ms_low",
    "latency_ms_high",
    "naive_latency_ms",
    "dsp_latency_ms",
    "ram_bytes",
    "arena_bytes",
    "flash_bytes",
    "macs",
    "train_seconds",
    "est_train_seconds",
    "est_train_seconds_low",
    "est_train_seconds_high",
    "est_fit_seconds",
    "est_fit_seconds_low",
    "est_fit_seconds_high",
    "est_epochs",
    "est_epoch_seconds",
    "est_compile_seconds",
    "epochs_run",
    "best_epoch",  # what folds 2..K train for (tuner.sweep.final_ranking)
    # training length (tuner.schedule): planned epochs, the cap while still improving, epochs beyond plan
    "max_epochs_used",
    "epoch_cap_used",
    "extended_epochs",
    "dw_macs",
    "bn_elems",
    # ranking on validation (the sweep's --metric) and the class-balanced test metrics
    "val_score",
    "val_draws",
    "metric",
    "int8_balanced_accuracy",
    "int8_macro_f1",
    "int8_recall",
)


@dataclass(frozen=True)
class TrialRecord:
    trial: int
    state: CandidateState
    reason: str
    params: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    constraints: dict[str, float] = field(default_factory=dict)
    duplicate_of: int | None = None

    @classmethod
    def from_frozen(cls, ft: Any) -> TrialRecord:
        import optuna

        attrs = ft.user_attrs
        if ft.state == optuna.trial.TrialState.RUNNING:
            state = CandidateState.RUNNING
        elif ft.state == optuna.trial.TrialState.COMPLETE:
            state = CandidateState(attrs.get("state", "feasible"))
        elif ft.state == optuna.trial.TrialState.PRUNED:  # older sweeps stored "rejected" for these
            state = CandidateState.PRUNED
        else:
            state = CandidateState.FAILED
        reason = attrs.get("reason", "")
        if state is CandidateState.FAILED and not reason and ft.state.name == "WAITING":
            again = f"the re-run of interrupted trial {attrs['retry_of']}, " if "retry_of" in attrs else ""
            reason = f"queued ({again}not run yet): `tuner sweep --resume` runs it"
        elif state is CandidateState.FAILED and not reason:
            reason = "worker died while running (killed or crashed)" if ft.state.name == "FAIL" else ft.state.name
        return cls(
            trial=ft.number,
            state=state,
            reason=reason,
            params=attrs.get("candidate", dict(ft.params)),
            metrics={k: attrs[k] for k in METRIC_ATTRS if k in attrs},
            constraints=dict(attrs.get("margins", {})),
            duplicate_of=attrs.get("duplicate_of"),
        )
