"""Python API: the same verbs as the CLI. `import tuner; tuner.sweep(...); tuner.leaderboard(...)`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd


def sweep(
    space: str = "motion",
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
) -> Path:
    """Run a tuning sweep; returns the results folder `results/<name>/`."""
    from tuner.runner import SweepSettings, run_sweep

    settings = SweepSettings(
        name=name, space=space, target=target, data=data, engine=engine, trials=trials, timeout=timeout,
        epochs=epochs, latency_ms=latency_ms, ram_kb=ram_kb, flash_kb=flash_kb,
        max_train_minutes=max_train_minutes, storage=storage, workers=workers, seed=seed,
    )
    return run_sweep(settings, resume=resume, on_event=on_event)


def leaderboard(name: str, include_all: bool = False, storage: str | None = None) -> pd.DataFrame:
    """Leaderboard of sweep `name`: feasible first, best int8 accuracy first."""
    from tuner.rank import leaderboard_frame
    from tuner.runner import open_study, records

    return leaderboard_frame(records(open_study(name, storage)), include_all=include_all)


def export(name: str, trial: str | int = "best", out: str | Path | None = None, force: bool = False) -> Path:
    """Export a trial's config.yaml, model_int8.tflite, model_int8.h, model.keras, metrics.json."""
    from tuner.exporter import export_trial

    return export_trial(name, trial, out, force)


def retrain(
    config: str | Path, data: str | None = None, epochs: int | None = None, out: str | Path | None = None,
    force: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Rebuild and train an exported candidate from its config alone; returns (folder, summary)."""
    from tuner.exporter import retrain as _retrain

    return _retrain(config, data, epochs, out, force)
