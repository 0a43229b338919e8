"""Python API: the same verbs as the CLI. `import tuner; tuner.sweep(...); tuner.leaderboard(...)`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported by the verbs that return tables, not by `import tuner`
    import pandas as pd


def start_slow_data(space: str | None, data: str | None, resume: bool = False) -> None:
    """Start making the sweep's bundled data set when it is made on first use (the keyword set's
    espeak-ng synthesis, 8-11 s once per machine) in a child process, before TensorFlow's import
    (5-7 s on one core): the two overlap instead of adding up (first-use start-up of an audio sweep
    23.8 -> 19.7 s, docs/engines.md). Anything unclear (a bad space, a resume, the user's own data)
    starts nothing; the sweep then reports it as usual."""
    if resume:
        return
    source = data
    if source is None:
        try:
            from tuner.space import load_space

            source = load_space(space or "motion").data
        except Exception:  # noqa: BLE001 - the sweep reports a bad space itself
            return
    if source == "keywords" and not Path(source).exists():
        from tuner.data.keywords import synthesize_in_background

        synthesize_in_background()


def sweep(
    space: str | None = None,
    target: str = "nano33ble",
    data: str | None = None,
    name: str = "demo",
    engine: str = "tpe",
    trials: int = 10,
    timeout: float | None = None,
    epochs: int | None = None,
    latency_ms: float | None = None,
    ram_kb: float | None = None,
    flash_kb: float | None = None,
    max_train_minutes: float | None = None,
    storage: str | None = None,
    workers: int = 1,
    resume: bool = False,
    seed: int = 0,
    on_event: Any = None,
    rate_hz: float | None = None,
    metric: str = "accuracy",
    repeats: int | None = None,
) -> Path:
    """Run (or `resume`) a tuning sweep; returns the results folder `results/<name>/`.

    `space`: a name or YAML path; None picks it from `data` (image folder -> image, WAV folder ->
    audio, long table -> motion, wide table -> tabular; no data: motion). `rate_hz`: sampling rate of
    time series without a time column. `metric`: accuracy, balanced_accuracy or macro_f1, what the
    sampler, pruner and leaderboard rank by. `repeats`: cross-validation folds the ranking score
    averages (None: 5, grouped and stratified, when validation has fewer than 20 samples, else 1);
    folds 2..K train after the search (and after `timeout`), only for candidates that can still win.

    `engine`: tpe (default), nsga2, random, grid, hyperband, bayesian (see docs/engines.md).
    `workers`: processes on this machine sharing the study; `storage`: an Optuna RDB URL (e.g.
    postgresql://...) shared by workers on several machines. Bad input raises `InputError`.
    """
    from tuner._quiet import import_tensorflow_quietly
    from tuner.sweep import SweepSettings, run_sweep

    start_slow_data(space, data, resume)
    if not import_tensorflow_quietly():  # before any engine or data code imports it loudly
        import logging

        logging.getLogger(__name__).warning(
            "TensorFlow already ran in this process with its own thread settings, so the sweep keeps them "
            "and trains 1.3-1.6x slower; call tuner.threads.configure() before TensorFlow's first op"
        )

    if space is None:
        space = "motion"
        if data is not None and not resume:
            from tuner.data import data_domain

            space = data_domain(data)
            if on_event is not None:
                on_event("note", text=f"no --space given: {data} holds {space} data, so the sweep uses space '{space}'")
    settings = SweepSettings.checked(
        name=name,
        space=space,
        target=target,
        data=data,
        engine=engine,
        trials=trials,
        timeout=timeout,
        epochs=epochs,
        latency_ms=latency_ms,
        ram_kb=ram_kb,
        flash_kb=flash_kb,
        max_train_minutes=max_train_minutes,
        storage=storage,
        workers=workers,
        seed=seed,
        rate_hz=rate_hz,
        metric=metric,
        repeats=repeats,
    )
    return run_sweep(settings, resume=resume, on_event=on_event)


def leaderboard(
    name: str,
    include_all: bool = False,
    storage: str | None = None,
    sort: str | None = None,
    weights: str | dict[str, float] | None = None,
) -> pd.DataFrame:
    """Leaderboard of sweep `name`: feasible first, best validation score (the sweep's metric) first, then Pareto rank.

    `sort`: any column (`latency_ms`, `ram_bytes:desc`, ...); `weights`: a weighted score instead,
    e.g. `"accuracy=1,latency=0.3,ram=0.1"`; `include_all`: rejected, pruned and failed rows with reasons.
    """
    from tuner.rank import leaderboard_frame
    from tuner.sweep import open_study, records

    recs = records(open_study(name, storage))
    return leaderboard_frame(recs, include_all=include_all, sort=sort, weights=weights)


def show(name: str, trial: str | int = "best", storage: str | None = None) -> dict[str, Any]:
    """One candidate in full: params, state/reason, budget margins, metrics (with confusion matrices
    and training history) and the per-layer estimate."""
    from tuner.exporter import trial_config, trial_folder
    from tuner.files import read_json
    from tuner.rank import find_trial
    from tuner.sweep import open_study, records

    study = open_study(name, storage)
    rec = find_trial(records(study), trial, name)
    folder = trial_folder(name, rec)

    def read(f: str) -> dict[str, Any]:
        return read_json(folder / f) if not (folder / f).is_dir() else {}

    params = trial_config(name, rec, study).candidate  # with the sweep's --epochs override, as trained
    model = folder / "model_int8.tflite"
    return {
        "trial": rec.trial,
        "state": rec.state.value,
        "reason": rec.reason,
        "params": params,
        "duplicate_of": rec.duplicate_of,
        "margins": rec.constraints,
        "summary": rec.metrics,
        "metrics": read("metrics.json"),
        "estimate": read("estimate.json"),
        "deploy": read("deploy.json"),  # DSP size and emulated time, from `tuner export` / `tuner verify`
        "folder": str(folder),
        "model_path": str(model) if model.is_file() else None,
    }


def export(name: str, trial: str | int = "best", out: str | Path | None = None, force: bool = False) -> Path:
    """Export a trial's config.yaml, model_int8.tflite, model_int8.h, model.keras, metrics.json and the deploy
    bundle (dsp.h/dsp.c, main.c, Arduino sketch, README; see `verify`)."""
    from tuner.exporter import export_trial

    return export_trial(name, trial, out, force)


def retrain(
    config: str | Path,
    data: str | None = None,
    epochs: int | None = None,
    out: str | Path | None = None,
    force: bool = False,
    qat: bool = False,
    qat_epochs: int | None = None,
    on_event: Any = None,
) -> tuple[Path, dict[str, Any]]:
    """Rebuild and train an exported candidate from its config alone; returns (folder, summary).

    `qat=True` adds quantization-aware fine-tuning; the summary's metrics then hold float, PTQ int8
    (`ptq_int8_accuracy`) and QAT int8 (`qat_int8_accuracy`) accuracy."""
    from tuner._quiet import import_tensorflow_quietly
    from tuner.exporter import retrain as _retrain

    import_tensorflow_quietly()

    return _retrain(config, data, epochs, out, force, qat=qat, qat_epochs=qat_epochs, on_event=on_event)


def verify(ref: str | Path) -> Any:
    """Host twin of an export folder (or of sweep `ref`'s best trial): C DSP + tflite-micro accuracy vs the
    leaderboard's int8 accuracy, C vs numpy int8 inputs, DSP size on the target's core and its emulated
    instruction count. Returns a `tuner.deploy.verify.VerifyResult` (`.ok`, `.stage`, `.to_dict()`)."""
    from tuner.deploy.verify import verify as _verify

    return _verify(ref)


def report(name: str, storage: str | None = None, out: str | Path | None = None) -> Path:
    """Write the self-contained HTML report `results/<name>/report.html`; returns its path."""
    from tuner.html_report import write_report

    return write_report(name, storage=storage, out=out)
