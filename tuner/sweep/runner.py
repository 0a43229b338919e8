"""The sweep: an engine proposes candidates, each runs through the pipeline, everything lands in
one Optuna study per sweep (candidate params, state, reason, metrics, budget margins as Optuna
constraints). Artifacts go to `results/<name>/trials/<n>/`.

`run_sweep` validates, opens the study and starts the workers (in this process for one worker,
as subprocesses for more: `tuner.sweep.workers`); `run_worker` is the loop every worker runs.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tuner.budgets import Budgets
from tuner.errors import CandidateRejected, InputError
from tuner.paths import results_root
from tuner.sweep.records import CandidateState, TrialRecord
from tuner.sweep.settings import _DEFINING, SweepSettings, check_own_study, load_settings, storage_url, sweep_dir


def _check_exists(settings: SweepSettings, resume: bool) -> None:
    """--resume needs the sweep; a new sweep needs a free name (shared storages: see _open_or_create)."""
    from tuner.sweep.resume import is_sqlite

    local = sweep_dir(settings.name) / "sweep.yaml"
    if settings.storage is not None and not is_sqlite(settings.storage):
        return
    if resume and not local.exists():
        raise InputError(f"no sweep named '{settings.name}' to resume in {results_root()}/; start it without --resume")
    if not resume and local.exists():
        raise InputError(f"sweep '{settings.name}' already exists; add --resume to continue it or pick another --name")


def _resolve(settings: SweepSettings, resume: bool) -> tuple[SweepSettings, Any, int | None]:
    """Settings to run with (stored ones on --resume), the storage (None for a new SQLite sweep:
    nothing is written before the pre-checks pass) and the number of trials already stored."""
    import optuna

    from tuner.sweep.resume import is_sqlite, open_storage
    from tuner.sweep.storage import env_storage, redact_url

    local = (sweep_dir(settings.name) / "sweep.yaml").exists()
    if settings.storage is None and not (resume and local):  # resuming a local sweep keeps its storage
        settings = settings.model_copy(update={"storage": env_storage()})
    _check_exists(settings, resume)
    keep = {"trials": settings.trials, "timeout": settings.timeout, "workers": settings.workers}
    if resume and local:
        saved = load_settings(settings.name)
        settings = saved.model_copy(update={**keep, "storage": settings.storage or saved.storage})
    url = storage_url(settings)
    if is_sqlite(url) and not resume:
        return settings, None, None
    if settings.storage is None:
        check_own_study(settings.name)
    storage = open_storage(url)
    names = {s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)}
    if settings.name not in names:
        if resume:
            raise InputError(
                f"no sweep named '{settings.name}' in storage {redact_url(url)}; start it without --resume"
            )
        return settings, storage, None
    study = optuna.load_study(study_name=settings.name, storage=storage)
    stored = study.user_attrs.get("settings")
    if stored and resume:
        settings = SweepSettings.model_validate(stored).model_copy(update={**keep, "storage": settings.storage})
    elif stored:
        diff = [
            f"{k}={stored.get(k)!r} (stored) vs {getattr(settings, k)!r}"
            for k in _DEFINING
            if stored.get(k) != getattr(settings, k)
        ]
        if diff:
            raise InputError(
                f"sweep '{settings.name}' in the storage has different settings: "
                f"{'; '.join(diff)}; repeat its flags or add --resume"
            )
        # a worker joining a shared study samples the space the first one fitted to the data
        fitted = ("resolved_space", "space_note", "validation", "class_weights")
        settings = settings.model_copy(update={k: stored[k] for k in fitted if stored.get(k)})
    return settings, storage, len(study.get_trials(deepcopy=False))


def _create(settings: SweepSettings, storage: Any) -> Any:
    """Create (or load) the study, store the settings in it and in `results/<name>/sweep.yaml`."""
    import optuna

    from tuner import __version__
    from tuner.engines import directions
    from tuner.files import write_atomic
    from tuner.sweep.resume import open_storage

    folder = sweep_dir(settings.name)
    folder.mkdir(parents=True, exist_ok=True)
    if settings.tuner_version is None:
        settings = settings.model_copy(update={"tuner_version": __version__})
    storage = storage or open_storage(storage_url(settings))
    study = optuna.create_study(
        study_name=settings.name, storage=storage, directions=directions(settings.engine), load_if_exists=True
    )
    if "settings" not in study.user_attrs:
        study.set_user_attr("settings", settings.model_dump())
        names = [f"val_{settings.metric}", "latency_ms", "ram_bytes"]
        study.set_metric_names(names[: len(directions(settings.engine))])
    write_atomic(folder / "sweep.yaml", yaml.safe_dump(settings.model_dump(), sort_keys=False))
    return study


def run_sweep(settings: SweepSettings, resume: bool = False, on_event: Any = None) -> Path:
    """Run (or resume, or join) a sweep until `settings.trials` trials in total; returns its folder.

    Bad input raises InputError before anything is written or trained: unknown engine, grid over a
    continuous space, --resume of a missing sweep, an unreachable storage, settings that differ
    from the stored sweep's, budgets no pre-checked candidate can meet.
    """
    import warnings

    import optuna

    from tuner._quiet import import_tensorflow_quietly
    from tuner.engines import SINGLE_PROCESS, check_engine
    from tuner.space import load_space
    from tuner.targets import load_target

    import_tensorflow_quietly()  # one thread per op (tuner.threads), also for callers that skip tuner.sweep
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    emit = on_event or (lambda *a, **k: None)
    from tuner.sweep.workers import memory_limit_bytes

    check_engine(settings.engine)
    memory_limit = memory_limit_bytes()  # bad TUNER_WORKER_MEMORY_MB: refused before anything is written
    settings, storage, n_stored = _resolve(settings, resume)
    if resume:  # the other flags of a resumed sweep are not applied: say what it continues with
        emit(
            "note",
            text=f"resuming '{settings.name}' with its stored settings (space {settings.space}, target "
            f"{settings.target}, data {settings.data or 'the space default'}, engine {settings.engine}); "
            "only --trials, --timeout, --workers and --storage apply to a resume",
        )
    if settings.engine in SINGLE_PROCESS and settings.workers > 1:
        raise InputError(
            f"--engine {settings.engine} keeps keras-tuner's search state in one process; "
            f"use --workers 1 or an Optuna engine (tpe, nsga2, random, grid)"
        )
    space = load_space(settings.space)
    if settings.engine == "grid":
        space.grid()  # refuses continuous parameters and huge grids
    target = load_target(settings.target)
    budgets = settings.budgets(target)
    deadline = time.time() + settings.timeout if settings.timeout else None
    problem = None
    startup: dict[str, float] = {}
    if not n_stored:  # a new sweep: fit the space to the data, then can any candidate meet the budgets?
        emit("stage", stage="loading data")
        t0 = time.perf_counter()
        problem = _load_problem(settings, space, target)
        startup["load_data"] = time.perf_counter() - t0
        settings, space = _fit_space(settings, space, problem, emit)
        emit("stage", stage="pre-checking a sample of candidates against the budgets")
        if budgets.train_seconds:  # the check below measures this machine first, if never done
            _say_if_probing(emit)
        problem = check_budgets_reachable(settings, space, target, budgets, startup=startup, problem=problem)
    _create(settings, storage)
    if settings.workers == 1 and memory_limit is None:
        run_worker(settings, index=0, deadline=deadline, on_event=emit, problem=problem, startup=startup)
    else:
        from tuner.sweep.workers import run_processes

        run_processes(settings, deadline, emit)
    from tuner.sweep.resume import checkpoint

    checkpoint(storage_url(settings))
    return sweep_dir(settings.name)


def _load_problem(settings: SweepSettings, space: Any, target: Any) -> Any:
    """The sweep's data, split (test held back), with its budgets."""
    from tuner.pipeline import Problem

    return Problem.from_source(
        settings.data or space.data,
        target,
        settings.budgets(target),
        settings.seed,
        settings.epochs,
        domain=space.domain,
        rate_hz=settings.rate_hz,
    ).configure(metric=settings.metric, repeats=settings.repeats)


def _fit_space(settings: SweepSettings, space: Any, problem: Any, emit: Any) -> tuple[SweepSettings, Any]:
    """Resolve the space against the data (tuner.resolve); the result is kept in the settings."""
    from tuner.resolve import data_facts, resolve_space

    facts = data_facts([problem.train, problem.val, problem.test], space.domain)
    resolved, note = resolve_space(space, facts)
    if note:
        emit("note", text=note)
    if problem.folds:
        emit("note", text=f"ranking score: {problem.validation_note}", folds=1 + len(problem.folds))
    if problem.class_weight:
        emit("note", text=f"imbalanced classes: class weights {problem.class_weight_note}")
    update = {
        "resolved_space": resolved.model_dump(),
        "space_note": note,
        "validation": problem.validation_note,
        "class_weights": problem.class_weight_note,
    }
    return settings.model_copy(update=update), resolved


def sweep_space(settings: SweepSettings) -> Any:
    """The space a sweep samples from: the resolved one stored in its settings (older sweeps: the file)."""
    from tuner.space import SearchSpace, load_space

    if settings.resolved_space:
        return SearchSpace.model_validate(settings.resolved_space)
    return load_space(settings.space)


def _say_if_probing(emit: Any) -> None:
    """A stage line when this machine's training speed is about to be measured (first sweep, 15-25 s)."""
    from tuner.estimate.training_time import probe_pending

    if probe_pending():
        emit("stage", stage="measuring this machine's training speed (once per machine, 15-25 s)")


def check_budgets_reachable(
    settings: SweepSettings,
    space: Any,
    target: Any,
    budgets: Budgets,
    n: int = 16,
    startup: dict[str, float] | None = None,
    problem: Any = None,
) -> Any:
    """Pre-check up to `n` valid random candidates (no training); InputError if none meets the budgets.

    Candidates the data cannot take (e.g. an FFT longer than the window) say nothing about the
    budgets and are skipped, up to 4n draws. The training time is estimated with this machine's
    measured throughput. Conversions are cached per architecture in the returned `Problem` (data,
    splits), which the sweep reuses. `startup` receives the seconds of each phase."""

    from tuner.estimate.training_time import machine_host
    from tuner.pipeline import precheck

    phases = startup if startup is not None else {}
    if problem is None:
        t0 = time.perf_counter()
        problem = _load_problem(settings, space, target)
        phases["load_data"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if budgets.train_seconds:  # only then does the check need this machine's throughput
        problem.host = machine_host()
    phases["host_throughput"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    import keras  # noqa: F401 - timed on its own: TensorFlow's import is most of the start-up

    phases["import_tensorflow"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    try:
        return _first_fitting(settings, space, problem, precheck, n)
    finally:
        phases["budget_check"] = time.perf_counter() - t0


def _first_fitting(settings: SweepSettings, space: Any, problem: Any, precheck: Any, n: int) -> Any:
    import optuna

    # the engines' first candidates are random draws with the engine's seed: the same seed here makes
    # the first candidate checked the sweep's first trial, whose features and conversion are then kept
    scratch = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=_engine_seed(settings, 0, 0)))
    over: list[str] = []
    invalid: list[str] = []
    for _ in range(4 * n):
        params = space.sample(scratch.ask())
        try:
            reason = precheck_only(params, problem, precheck)
        except CandidateRejected as rej:
            reason = rej.reason
        if not reason:
            return problem
        (invalid if reason.startswith("invalid candidate") else over).append(reason)
        if len(over) >= n:
            break
    if not over:
        raise InputError(
            f"no valid candidate in {len(invalid)} draws from space '{space.name}' (e.g. {invalid[0]}); fix the space"
        )
    worst = max(set(over), key=over.count)
    raise InputError(
        f"no candidate meets the budgets: all {len(over)} candidates pre-checked were over budget "
        f"(e.g. {worst}); relax the budgets or pick a smaller space"
    )


def precheck_only(params: dict[str, Any], problem: Any, precheck: Any) -> str:
    """Budget violations of one candidate from the pre-check alone ('' when it fits)."""
    from tuner.models import build_model

    try:
        pre, feats = problem.features(params)
        model = build_model(params, pre.input_shape, len(problem.class_names), seed=problem.seed)
    except InputError as exc:
        return f"invalid candidate: {exc}"
    est, train = precheck(model, feats["train"][0], problem, pre.cost(), params, n_val=len(feats["val"][0]))
    from tuner.pipeline import train_time_message

    reasons = problem.budgets.violations(est["latency_ms"], est["ram_bytes"], est["flash_bytes"], train.seconds)
    return "; ".join(train_time_message(reasons, train))


def _engine_seed(settings: SweepSettings, index: int, n_existing: int) -> int:
    """Sampler seed of one worker: reproducible for one worker on a fresh sweep; distinct per
    worker and per resume, so workers and resumed runs do not re-sample the same candidates."""
    import os
    import socket

    from tuner.sweep.resume import is_sqlite

    seed = settings.seed + 7919 * index + 1009 * n_existing
    if settings.storage and not is_sqlite(settings.storage):  # workers on other machines share index 0
        seed += hash((socket.gethostname(), os.getpid())) % 100_000
    return seed


def run_worker(
    settings: SweepSettings,
    index: int,
    deadline: float | None,
    on_event: Any = None,
    problem: Any = None,
    startup: dict[str, float] | None = None,
) -> None:
    """One worker: until the budget is used up, ask the engine, run the candidate, record it.

    Worker 0 stores the start-up time (process start to first trial, with its phases) in the
    study's `startup_seconds` attribute when the sweep has none yet."""
    import warnings

    import optuna

    from tuner.engines import make_engine
    from tuner.estimate.training_time import TrainingTimeModel, observed_from_attrs, refreshed_host
    from tuner.sweep import pruning
    from tuner.sweep.outcome import Pending, reuse, run_and_record
    from tuner.sweep.pruning import EpochGuard
    from tuner.sweep.resume import (
        Heartbeat,
        ask_lock,
        budget_used,
        is_interrupted,
        open_storage,
        recover_interrupted,
        worker_id,
    )
    from tuner.targets import load_target

    # We run the heartbeat ourselves (resume.Heartbeat) since the loop is ask/tell, not optimize().
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    emit = on_event or (lambda *a, **k: None)
    folder = sweep_dir(settings.name)
    url = storage_url(settings)
    storage = open_storage(url)
    space = sweep_space(settings)
    target = load_target(settings.target)
    max_epochs = settings.epochs or int(space.fixed.get("epochs", 30))
    n_existing = len(optuna.load_study(study_name=settings.name, storage=storage).get_trials(deepcopy=False))
    engine = make_engine(settings.engine, space, _engine_seed(settings, index, n_existing), folder, max_epochs)
    per_second = bool(getattr(engine, "per_second", False))  # tpe-cost
    pruner = pruning.single_objective_pruner(per_second)
    study = optuna.load_study(study_name=settings.name, storage=storage, sampler=engine.sampler, pruner=pruner)
    rule = "time" if per_second else "median"
    mode = "off" if not engine.uses_pruner else ("pareto" if engine.multi_objective else rule)
    phases = dict(startup or {})
    t0 = time.perf_counter()
    if problem is None:
        emit("stage", stage="loading data")
        problem = _load_problem(settings, space, target)
        phases["load_data"] = phases.get("load_data", 0.0) + time.perf_counter() - t0
    t0 = time.perf_counter()
    # This machine is probed (15-25 s, once) only when a training-time budget must be checked
    # before training; otherwise, until some sweep probes it, the reference probe scaled by a
    # one-second check, which the trials' own times then correct (TrainingTimeModel).
    measure = bool(settings.budgets(target).train_seconds)
    if measure and not (folder / "host.json").exists():
        _say_if_probing(emit)
    host = refreshed_host(folder, measure)
    phases["host_throughput"] = phases.get("host_throughput", 0.0) + time.perf_counter() - t0
    me = worker_id()
    requeue = settings.engine not in ("hyperband", "bayesian")
    from tuner.sweep import post_pool

    post = None
    if post_pool.wanted(settings.workers, settings.engine):
        post = post_pool.PostProcess(folder / "post_process.log")
    pending: tuple[Any, Heartbeat] | None = None  # the trained trial whose post stages run in `post`
    from tuner.sweep import folds_ahead

    ahead = None  # the final ranking's folds, trained during the search
    if folds_ahead.wanted(settings.workers, settings.engine, problem):
        ahead = folds_ahead.FoldsAhead(problem, folder / "final_ranking")

    def finish_pending() -> None:
        from tuner.sweep.outcome import finish_and_record

        nonlocal pending
        if pending is None:
            return
        (job, beat), pending = pending, None
        try:
            assert post is not None
            t0 = time.perf_counter()
            out = post.result()
            # what this process waited for them (they ran during the next training: ~0)
            job.trained.stages.seconds["post_wait"] = time.perf_counter() - t0
            summary = finish_and_record(job, out)
        finally:
            beat.__exit__(None, None, None)
        emit("result", number=job.asked.trial.number, **summary)
        _keras_cleanup()
        if ahead is not None:
            ahead.update(study)

    gc.freeze()  # TensorFlow's ~400k objects: out of every collection from the first trial on (_keras_cleanup)
    try:
        while True:
            with ask_lock(storage, url, settings.name, folder):
                recovered = recover_interrupted(study, requeue)
                if recovered:
                    emit("stage", stage=f"re-running trial(s) {recovered} left by a dead worker")
                used, waiting = budget_used(study)
                recs = [
                    TrialRecord.from_frozen(t)
                    for t in study.get_trials(deepcopy=False)
                    if not is_interrupted(t) and t.state != optuna.trial.TrialState.WAITING
                ]
                done = [r for r in recs if r.state.is_finished()]
                emit("progress", done=len(done), total=settings.trials, records=done)
                if used >= settings.trials and not waiting:
                    break
                if deadline is not None and time.time() > deadline:
                    emit("stage", stage="timeout reached")
                    break
                if index == 0 and phases is not None and "startup_seconds" not in study.user_attrs:
                    age = _process_age()
                    study.set_user_attr("startup_seconds", {**phases, **({"total": age} if age else {})})
                phases = None
                asked = engine.ask(study)
                if asked is None:
                    emit("stage", stage=f"engine {settings.engine} has no candidate left")
                    break
                study._storage.set_trial_system_attr(asked.trial._trial_id, "worker", me)
                asked.trial.set_user_attr("candidate", asked.params)
                asked.trial.set_user_attr("engine", settings.engine)
            trial = asked.trial
            emit("trial", number=trial.number, params=asked.params)
            finished = [r for r in recs if r.state.is_finished() and r.state is not CandidateState.FAILED]
            twin = next((r for r in finished if r.params == asked.params and r.duplicate_of is None), None)
            try:
                with Heartbeat(study._storage, trial._trial_id):
                    if twin is not None:
                        summary = reuse(study, asked, engine, twin)
                    else:
                        problem.host = host
                        observed = [observed_from_attrs(t.user_attrs) for t in study.get_trials(deepcopy=False)]
                        problem.time_model = TrainingTimeModel(host, [o for o in observed if o is not None])
                        curves = _curves(study) if mode == "pareto" else []
                        guard = EpochGuard(trial, mode, deadline, curves, scaled_warmup=per_second)
                        tdir = folder / "trials" / str(trial.number)
                        defer = post is not None
                        summary = run_and_record(study, asked, engine, problem, tdir, guard, emit, defer=defer)
                finish_pending()  # the previous trial's post stages ran beside this training
                if isinstance(summary, Pending):
                    assert post is not None
                    post.submit(summary.trained.job)
                    pending = (summary, Heartbeat(study._storage, trial._trial_id).__enter__())
            except KeyboardInterrupt:
                from tuner.sweep.resume import mark_interrupted

                with _sigint_ignored():  # Ctrl-C reaches a worker twice: from the terminal and the parent
                    unfinished = [trial] + ([pending[0].asked.trial] if pending else [])
                    for t_id in [t._trial_id for t in unfinished]:
                        ft = study._storage.get_trial(t_id)
                        if not ft.state.is_finished():
                            mark_interrupted(study, ft, "interrupted by the user", requeue)
                raise
            if isinstance(summary, Pending):
                continue
            emit("result", number=trial.number, **summary)
            if twin is None:
                _keras_cleanup()
            if ahead is not None:
                ahead.update(study)
        finish_pending()
        if post is not None:  # before the final ranking's fold processes start
            post.close()
            post = None
        from tuner.sweep.final_ranking import complete_ranking

        with ask_lock(storage, url, settings.name, folder):  # one worker at a time; the last sees every trial
            complete_ranking(study, problem, emit, folder / "final_ranking", ahead)  # the fold processes' logs
    finally:
        if post is not None:
            post.close()
        if ahead is not None:
            ahead.close()
        gc.unfreeze()  # what _keras_cleanup froze can be collected again once the sweep ends


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored inside (main thread only; the previous handler is restored): recording an
    interrupted trial must not be cut short by a second Ctrl-C."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _process_age() -> float | None:
    """Seconds since this process started (Linux /proc), so start-up includes Python and imports."""
    import os

    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _curves(study: Any) -> list[tuple[float, float, list[float]]]:
    out = []
    for t in study.get_trials(deepcopy=False):
        a = t.user_attrs
        if "val_accuracy_curve" in a and "latency_ms" in a and "ram_bytes" in a:
            out.append((float(a["latency_ms"]), float(a["ram_bytes"]), list(a["val_accuracy_curve"])))
    return out


def _keras_cleanup() -> None:
    """Free the last candidate's graph (Keras' clear_session also runs the garbage collector).

    What survives it (TensorFlow's modules, the data, the study) is frozen out of later collections:
    a full collection over TensorFlow's ~400k objects took 1-3 s per trial; with them frozen it
    scans only what the trial made. Frozen objects that become cyclic garbage before the sweep ends
    (run_worker unfreezes them) are not freed: what a trial leaves behind is data and caches, freed
    by reference counting."""
    import sys

    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session()
        gc.freeze()
