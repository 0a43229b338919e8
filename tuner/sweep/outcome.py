"""Run one asked candidate through the pipeline and record its outcome in its Optuna trial.

Every engine's trials get the same attributes: `candidate`, `state` (feasible|rejected|pruned|failed),
`reason`, the metrics of `records.METRIC_ATTRS`, `margins` plus one Optuna constraint per budget
(<= 0 feasible), `val_accuracy_curve`, and `duplicate_of` when an identical candidate was reused.
"""

from __future__ import annotations

import logging
import shutil
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tuner.errors import CandidateFailed, CandidateRejected
from tuner.schedule import candidate_schedule
from tuner.sweep.pruning import EpochGuard, Pruned
from tuner.sweep.records import METRIC_ATTRS, TrialRecord

log = logging.getLogger(__name__)
INFEASIBLE = {"latency": 1.0, "ram": 1.0, "flash": 1.0, "train_time": 1.0}


def tell(study: Any, asked: Any, engine: Any, accuracy: float, metrics: dict[str, Any], state: Any = None) -> None:
    """Tell Optuna (and the engine) the objective(s): int8 accuracy (0 when infeasible) and, for
    multi-objective engines, latency and RAM."""
    import optuna

    engine.tell(asked, accuracy)
    if state is optuna.trial.TrialState.PRUNED:
        study.tell(asked.trial, state=state)
    elif engine.multi_objective:
        study.tell(
            asked.trial,
            [accuracy, float(metrics.get("latency_ms") or 1e9), float(metrics.get("ram_bytes") or 1e12)],
        )
    else:
        study.tell(asked.trial, accuracy)


def _constraints(trial: Any, margins: dict[str, float]) -> None:
    trial.set_user_attr("margins", margins)
    for k, v in margins.items():
        trial.set_constraint(k, float(v))


def reuse(study: Any, asked: Any, engine: Any, twin: TrialRecord) -> dict[str, Any]:
    """Record a candidate identical to an earlier one with the earlier result (no training)."""
    trial = asked.trial
    trial.set_user_attr("duplicate_of", twin.trial)
    trial.set_user_attr("state", twin.state.value)
    trial.set_user_attr("reason", twin.reason)
    for k, v in twin.metrics.items():
        trial.set_user_attr(k, v)
    _constraints(trial, twin.constraints or INFEASIBLE)
    acc = objective(twin.metrics) if twin.state.value == "feasible" else 0.0
    tell(study, asked, engine, acc, twin.metrics)
    return {
        "state": twin.state.value,
        "reason": twin.reason,
        "duplicate_of": twin.trial,
        "int8_accuracy": twin.metrics.get("int8_accuracy"),
        "val_score": twin.metrics.get("val_score"),
        "metric": twin.metrics.get("metric"),
    }


@dataclass
class Pending:
    """A trained candidate whose post stages (int8, evaluation, exact estimate) run elsewhere
    (tuner.sweep.post_pool); `finish_and_record` records it once they are done."""

    study: Any
    asked: Any
    engine: Any
    problem: Any
    tdir: Path
    trained: Any  # tuner.pipeline.Trained, without its model (saved to tdir/model.keras)


def run_and_record(
    study: Any, asked: Any, engine: Any, problem: Any, tdir: Path, guard: EpochGuard, emit: Any, defer: bool = False
) -> dict[str, Any] | Pending:
    """Run the candidate; whatever happens (rejection, pruning, crash) record it and return a summary.
    `defer`: a candidate that trained is returned as `Pending` (its job carries the weights)
    instead of being converted, evaluated and recorded here."""
    import optuna

    from tuner import pipeline
    from tuner.pipeline import StageTimer

    trial, params = asked.trial, asked.params
    precheck: dict[str, Any] = {}
    plan: dict[str, int] = {}  # the training schedule's summary (tuner.schedule), once the pre-check passed
    stages = StageTimer()

    def on_event(kind: str, **info: Any) -> None:
        if kind == "precheck":
            precheck.update(info)
            est = info["estimate"]
            n_train = info.get("metrics", {}).get("n_train")
            if n_train:
                plan.update(candidate_schedule(params, int(n_train), problem.epochs).summary)
            guard.set_costs(est["latency_ms"], est["ram_bytes"], plan.get("max_epochs_used"))
        emit(kind, **info)

    saved_epochs = problem.epochs
    if asked.epochs is not None:  # the engine chose the epochs (Hyperband)
        problem.epochs = asked.epochs
    try:
        if defer:
            trained = pipeline.train_candidate(params, problem, on_event=on_event, on_epoch=guard, stages=stages)
            with stages("write"):  # the float model now: the job carries only its weights
                tdir.mkdir(parents=True, exist_ok=True)
                trained.model.save(tdir / "model.keras")
            trained.job.weights = trained.model.get_weights()
            trained.job.model_json = trained.model.to_json()
            trained.model = None
        else:
            res = pipeline.run_candidate(params, problem, on_event=on_event, on_epoch=guard, stages=stages)
    except CandidateRejected as rej:
        _write_candidate(tdir, params)
        trial.set_user_attr("state", "rejected")
        trial.set_user_attr("reason", rej.reason)
        trial.set_user_attr("epochs_run", 0)
        for k, v in rej.metrics.items():
            trial.set_user_attr(k, v)
        # a candidate the data cannot take (no estimate) counts as infeasible on every budget
        _constraints(trial, rej.margins or INFEASIBLE)
        trial.set_user_attr("stage_seconds", stages.seconds)
        tell(study, asked, engine, 0.0, rej.metrics)
        return {"state": "rejected", "reason": rej.reason}
    except Pruned as pr:
        _write_candidate(tdir, params)
        trial.set_user_attr("state", "pruned")
        trial.set_user_attr("reason", pr.reason)
        trial.set_user_attr("epochs_run", len(pr.curve))
        trial.set_user_attr("val_accuracy_curve", pr.curve)
        for k in ("max_epochs_used", "epoch_cap_used"):
            if k in plan:
                trial.set_user_attr(k, plan[k])
        if "max_epochs_used" in plan:  # pruned in its extension: the epochs it ran beyond the plan
            trial.set_user_attr("extended_epochs", max(0, len(pr.curve) - plan["max_epochs_used"]))
        est = precheck.get("estimate", {})
        for k in ("latency_ms", "ram_bytes", "flash_bytes", "macs", "dw_macs", "bn_elems", "n_layers", "conv_layers"):
            if k in est:
                trial.set_user_attr(k, est[k])
        # the epochs it did train are real measurements for the training-time estimate
        for k in ("train_seconds", "epoch_seconds"):
            if getattr(pr, k, None) is not None:
                trial.set_user_attr(k, getattr(pr, k))
        for k, v in precheck.get("metrics", {}).items():
            trial.set_user_attr(k, v)
        trial.set_user_attr("stage_seconds", stages.seconds)
        if est:
            trial.set_user_attr("est_train_seconds", precheck.get("est_train_seconds"))
            _constraints(
                trial,
                problem.budgets.margins(
                    est["latency_ms"],
                    est["ram_bytes"],
                    est["flash_bytes"],
                    precheck.get("est_train_seconds", 0.0),
                ),
            )
        engine.tell(asked, max([a for a in pr.curve if a == a] or [0.0]))
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return {"state": "pruned", "reason": pr.reason}
    except Exception as exc:  # any crash fails this candidate only
        trial.set_user_attr("stage_seconds", stages.seconds)
        return _fail(study, asked, engine, tdir, _reason(exc), traceback.format_exc())
    finally:
        problem.epochs = saved_epochs
    if defer:
        return Pending(study, asked, engine, problem, tdir, trained)
    return _record(study, asked, engine, problem, tdir, res)


def finish_and_record(pending: Pending, post: dict[str, Any] | BaseException) -> dict[str, Any]:
    """Record a deferred candidate from its post stages' output (or the exception they raised)."""
    from tuner.pipeline import finish_candidate

    study, asked, engine, tdir = pending.study, pending.asked, pending.engine, pending.tdir
    try:
        if isinstance(post, BaseException):
            raise post
        res = finish_candidate(pending.trained, post, pending.problem)
    except Exception as exc:  # e.g. the int8 conversion failed: this candidate only
        (tdir / "model.keras").unlink(missing_ok=True)
        asked.trial.set_user_attr("stage_seconds", pending.trained.stages.seconds)
        details = "".join(traceback.format_exception(exc))
        return _fail(study, asked, engine, tdir, _reason(exc), details)
    return _record(study, asked, engine, pending.problem, tdir, res)


def _record(study: Any, asked: Any, engine: Any, problem: Any, tdir: Path, res: Any) -> dict[str, Any]:
    """Write a trained candidate's files and record it in its trial."""
    from tuner.pipeline import save_artifacts

    trial, params = asked.trial, asked.params
    start = time.perf_counter()
    try:
        save_artifacts(tdir, params, res)
    except OSError as exc:  # e.g. a full disk: fail this candidate, leave no half-written folder
        shutil.rmtree(tdir, ignore_errors=True)
        trial.set_user_attr("stage_seconds", res.metrics.get("stage_seconds", {}))
        return _fail(study, asked, engine, tdir, f"could not write the trial's files: {exc}", traceback.format_exc())
    flat = {**{k: v for k, v in res.estimate.items() if k in METRIC_ATTRS}, **res.metrics}
    for k in METRIC_ATTRS:
        if flat.get(k) is not None:
            trial.set_user_attr(k, flat[k])
    trial.set_user_attr("val_accuracy_curve", [float(a) for a in _metric_curve(res.metrics.get("history", {}))])
    for k in ("n_train", "n_val", "n_layers", "conv_layers", "epoch_seconds", "est_train_source"):
        trial.set_user_attr(k, res.metrics.get(k))
    _constraints(
        trial,
        problem.budgets.margins(
            res.estimate["latency_ms"],
            res.estimate["ram_bytes"],
            res.estimate["flash_bytes"],
            res.metrics["est_train_seconds"],
        ),
    )
    trial.set_user_attr("state", res.state)
    trial.set_user_attr("reason", res.reason)
    # `write`: artifacts (save_artifacts); `record`: everything, the study's attributes included
    trial.set_user_attr(
        "stage_seconds", {**res.metrics.get("stage_seconds", {}), "record": time.perf_counter() - start}
    )
    tell(study, asked, engine, objective(flat) if res.state == "feasible" else 0.0, flat)
    return {
        "state": res.state,
        "reason": res.reason,
        "int8_accuracy": flat["int8_accuracy"],
        "val_score": flat.get("val_score"),
        "metric": flat.get("metric"),
    }


def _reason(exc: BaseException) -> str:
    """One line for the leaderboard: the message, prefixed by the exception type unless it is a
    CandidateFailed (whose message already says what failed)."""
    text = str(exc).strip()
    reason = text.splitlines()[0][:300] if text else type(exc).__name__
    if isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError":
        return f"out of memory ({type(exc).__name__}): {reason}"
    return reason if isinstance(exc, CandidateFailed) else f"{type(exc).__name__}: {reason}"


def _fail(study: Any, asked: Any, engine: Any, tdir: Path, reason: str, details: str) -> dict[str, Any]:
    """Record the trial as failed; its error.txt and candidate.yaml are written if the disk allows."""
    import optuna

    trial = asked.trial
    try:
        tdir.mkdir(parents=True, exist_ok=True)
        (tdir / "error.txt").write_text(details)
    except OSError as exc:
        log.warning("trial %d: could not write error.txt (%s); the reason is in the study", trial.number, exc)
    _write_candidate(tdir, asked.params)
    trial.set_user_attr("state", "failed")
    trial.set_user_attr("reason", reason)
    engine.tell(asked, None)
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return {"state": "failed", "reason": reason}


def _metric_curve(history: dict[str, list[float]]) -> list[float]:
    """Validation curve of the sweep's metric (what pruning compared), per epoch."""
    return history.get("val_metric") or history.get("val_accuracy", [])


def objective(metrics: dict[str, Any]) -> float:
    """What the sampler maximizes: the sweep's metric on validation (`val_score`); sweeps recorded
    before it existed: int8 test accuracy. The test split never steers the search."""
    v = metrics.get("val_score")
    return float(v if v is not None else metrics.get("int8_accuracy", 0.0))


def _write_candidate(tdir: Path, params: dict[str, Any]) -> None:
    """candidate.yaml beside the trial's other files: a convenience (the params are in the study),
    so a write error is logged, not raised."""
    from tuner.files import write_atomic

    try:
        tdir.mkdir(parents=True, exist_ok=True)
        write_atomic(tdir / "candidate.yaml", yaml.safe_dump(params, sort_keys=False))
    except OSError as exc:
        log.warning("could not write %s (%s); the candidate is in the study", tdir / "candidate.yaml", exc)
