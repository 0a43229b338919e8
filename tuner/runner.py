"""The sweep: sample candidates with an engine, run each through the pipeline, record in an Optuna study.

Everything lives in the study (one per sweep): candidate params, state, reason, metrics and the
budget margins as Optuna constraints. Artifacts go to `results/<name>/trials/<n>/`.
"""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from tuner.budgets import Budgets
from tuner.errors import CandidateFailed, CandidateRejected, InputError
from tuner.paths import results_root
from tuner.records import METRIC_ATTRS, CandidateState, TrialRecord


class SweepSettings(BaseModel):
    """Resolved settings of a sweep, saved as `results/<name>/sweep.yaml`."""

    model_config = ConfigDict(extra="forbid")
    name: str = "demo"
    space: str = "motion"
    target: str = "nano33ble"
    data: str | None = None  # None: the space's default data
    engine: str = "tpe"
    trials: int = Field(10, gt=0)
    timeout: float | None = Field(None, gt=0)
    epochs: int | None = Field(None, gt=0)
    latency_ms: float | None = Field(None, gt=0)
    ram_kb: float | None = Field(None, gt=0)
    flash_kb: float | None = Field(None, gt=0)
    max_train_minutes: float | None = Field(None, gt=0)
    storage: str | None = None
    workers: int = Field(1, gt=0)
    seed: int = 0

    def budgets(self, target: Any) -> Budgets:
        """Budgets from flags; RAM and flash default to the target's."""
        return Budgets(
            latency_ms=self.latency_ms,
            ram_bytes=int(self.ram_kb * 1024) if self.ram_kb else target.ram_bytes,
            flash_bytes=int(self.flash_kb * 1024) if self.flash_kb else target.flash_bytes,
            train_seconds=self.max_train_minutes * 60 if self.max_train_minutes else None,
        )


def sweep_dir(name: str) -> Path:
    return results_root() / name


def storage_url(settings: SweepSettings) -> str:
    return settings.storage or f"sqlite:///{(sweep_dir(settings.name) / 'study.db').resolve()}"


def open_study(name: str, storage: str | None = None) -> Any:
    """Open an existing sweep's study (read side: leaderboard, export, report)."""
    import optuna

    folder = sweep_dir(name)
    settings_file = folder / "sweep.yaml"
    if not settings_file.exists():
        known = sorted(p.name for p in results_root().glob("*") if (p / "sweep.yaml").exists())
        raise InputError(f"no sweep named '{name}' in {results_root()}/; known: {', '.join(known) or 'none'}")
    settings = SweepSettings.model_validate(yaml.safe_load(settings_file.read_text()))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return optuna.load_study(study_name=name, storage=storage or storage_url(settings))
    except Exception as exc:
        raise InputError(f"cannot open the study of sweep '{name}': {type(exc).__name__}: {exc}") from None


def load_settings(name: str) -> SweepSettings:
    path = sweep_dir(name) / "sweep.yaml"
    if not path.exists():
        raise InputError(f"no sweep named '{name}' to resume in {results_root()}/; start it without --resume")
    return SweepSettings.model_validate(yaml.safe_load(path.read_text()))


def records(study: Any) -> list[TrialRecord]:
    return [TrialRecord.from_frozen(t) for t in study.get_trials(deepcopy=False)]


def _candidate_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _fail_orphans(study: Any) -> int:
    """Mark trials left RUNNING by a dead worker on this host as failed (resume after kill -9)."""
    import optuna

    n = 0
    host = socket.gethostname()
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        owner = t.system_attrs.get("worker", "")
        w_host, _, pid = owner.rpartition(":")
        alive = True
        if w_host == host and pid.isdigit():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                alive = False
        elif not owner:
            alive = False
        if not alive:
            study._storage.set_trial_user_attr(t._trial_id, "state", "failed")
            study._storage.set_trial_user_attr(t._trial_id, "reason", "worker died while running (killed or crashed)")
            study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
            n += 1
    return n


def _tell(study: Any, trial: Any, engine: str, accuracy: float, rec: dict[str, Any]) -> None:
    from tuner.engines import MULTI_OBJECTIVE

    if engine in MULTI_OBJECTIVE:
        study.tell(trial, [accuracy, rec.get("latency_ms", 1e9), rec.get("ram_bytes", 1e12)])
    else:
        study.tell(trial, accuracy)


def _set_metrics(trial: Any, metrics: dict[str, Any], estimate: dict[str, Any]) -> dict[str, Any]:
    flat = {**{k: v for k, v in estimate.items() if k in METRIC_ATTRS}, **metrics}
    for k in METRIC_ATTRS:
        if k in flat and flat[k] is not None:
            trial.set_user_attr(k, flat[k])
    return flat


def run_sweep(settings: SweepSettings, resume: bool = False, on_event: Any = None) -> Path:
    """Run (or resume) a sweep to `settings.trials` trials in total. Returns the results folder."""
    import optuna

    from tuner.engines import directions, make_sampler
    from tuner.pipeline import Problem
    from tuner.space import load_space
    from tuner.targets import load_target

    import warnings

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    emit = on_event or (lambda *a, **k: None)
    folder = sweep_dir(settings.name)
    if resume:
        saved = load_settings(settings.name)
        settings = saved.model_copy(update={"trials": settings.trials, "timeout": settings.timeout,
                                            "storage": settings.storage or saved.storage})
    elif (folder / "sweep.yaml").exists():
        raise InputError(f"sweep '{settings.name}' already exists; add --resume to continue it or pick another --name")

    # Validate everything before writing anything.
    space = load_space(settings.space)
    target = load_target(settings.target)
    budgets = settings.budgets(target)
    sampler = make_sampler(settings.engine, space, settings.seed)
    emit("stage", stage="loading data")
    problem = Problem.from_source(settings.data or space.data, target, budgets, settings.seed, settings.epochs,
                                  domain=space.domain)

    folder.mkdir(parents=True, exist_ok=True)
    if not resume:
        (folder / "sweep.yaml").write_text(yaml.safe_dump(settings.model_dump(), sort_keys=False))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(study_name=settings.name, storage=storage_url(settings), sampler=sampler,
                                    directions=directions(settings.engine), load_if_exists=True)
    except Exception as exc:
        raise InputError(f"cannot open storage {storage_url(settings)}: {type(exc).__name__}") from None
    study.set_metric_names(["int8_accuracy", "latency_ms", "ram_bytes"][: len(directions(settings.engine))])
    _fail_orphans(study)

    from tuner.estimate.training_time import HostThroughput, fit, measure_host

    host_file = folder / "host.json"
    if not host_file.exists():
        emit("stage", stage="measuring host training speed")
        measure_host().save(host_file)
    problem.host = HostThroughput.load(host_file)

    start = time.monotonic()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    while True:
        recs = records(study)
        done = [r for r in recs if r.state.is_finished()]
        emit("progress", done=len(done), total=settings.trials, records=done)
        if len(recs) >= settings.trials:
            break
        if settings.timeout and time.monotonic() - start > settings.timeout:
            emit("stage", stage="timeout reached")
            break
        trial = study.ask()
        study._storage.set_trial_system_attr(trial._trial_id, "worker", worker)
        params = space.sample(trial)
        trial.set_user_attr("candidate", params)
        emit("trial", number=trial.number, params=params)
        tdir = folder / "trials" / str(trial.number)
        # Identical candidates are not trained twice.
        twin = next((r for r in done if r.params == params and r.state is not CandidateState.FAILED), None)
        if twin is not None:
            _reuse(study, trial, twin, settings.engine)
            continue
        host_rows = [(int(r.metrics.get("macs", 0)), r.metrics.get("n_train", 0), int(r.params.get("batch_size", 32)),
                      int(r.metrics.get("epochs_run", 1)), float(r.metrics["train_seconds"]))
                     for r in done if "train_seconds" in r.metrics and r.metrics.get("n_train")]
        problem.host = fit(host_rows, HostThroughput.load(host_file))
        _run_one(study, trial, params, problem, tdir, settings.engine, emit)
        _keras_cleanup()
    return folder


def _reuse(study: Any, trial: Any, twin: TrialRecord, engine: str) -> None:
    trial.set_user_attr("duplicate_of", twin.trial)
    trial.set_user_attr("state", twin.state.value)
    trial.set_user_attr("reason", twin.reason)
    for k, v in twin.metrics.items():
        trial.set_user_attr(k, v)
    for k, v in twin.constraints.items():
        trial.set_constraint(k, v)
    trial.set_user_attr("margins", twin.constraints)
    _tell(study, trial, engine, twin.metrics.get("int8_accuracy", 0.0) if twin.state.value == "feasible" else 0.0,
          twin.metrics)


def _run_one(study: Any, trial: Any, params: dict, problem: Any, tdir: Path, engine: str, emit: Any) -> None:
    import optuna

    from tuner.pipeline import run_candidate, save_artifacts

    try:
        res = run_candidate(params, problem, on_event=emit)
    except CandidateRejected as rej:
        tdir.mkdir(parents=True, exist_ok=True)
        (tdir / "candidate.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        trial.set_user_attr("state", "rejected")
        trial.set_user_attr("reason", rej.reason)
        trial.set_user_attr("epochs_run", 0)
        for k, v in rej.metrics.items():
            trial.set_user_attr(k, v)
        # a candidate the data cannot take (no estimate) counts as infeasible on every budget
        margins = rej.margins or {"latency": 1.0, "ram": 1.0, "flash": 1.0, "train_time": 1.0}
        trial.set_user_attr("margins", margins)
        for k, v in margins.items():
            trial.set_constraint(k, v)
        emit("result", number=trial.number, state="rejected", reason=rej.reason)
        _tell(study, trial, engine, 0.0, {})
        return
    except Exception as exc:  # any crash fails this candidate only
        tdir.mkdir(parents=True, exist_ok=True)
        (tdir / "error.txt").write_text(traceback.format_exc())
        reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        if not isinstance(exc, CandidateFailed):
            reason = f"{type(exc).__name__}: {reason}"
        trial.set_user_attr("state", "failed")
        trial.set_user_attr("reason", reason)
        emit("result", number=trial.number, state="failed", reason=reason)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return
    save_artifacts(tdir, params, res)
    flat = _set_metrics(trial, res.metrics, res.estimate)
    margins = problem.budgets.margins(res.estimate["latency_ms"], res.estimate["ram_bytes"],
                                      res.estimate["flash_bytes"], res.metrics["est_train_seconds"])
    trial.set_user_attr("margins", margins)
    for k, v in margins.items():
        trial.set_constraint(k, v)
    trial.set_user_attr("state", res.state)
    trial.set_user_attr("reason", res.reason)
    emit("result", number=trial.number, state=res.state, reason=res.reason, int8_accuracy=flat["int8_accuracy"])
    _tell(study, trial, engine, flat["int8_accuracy"] if res.state == "feasible" else 0.0, flat)


def _keras_cleanup() -> None:
    import gc

    import keras

    keras.backend.clear_session()
    gc.collect()
