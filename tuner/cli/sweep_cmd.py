"""`tuner sweep`."""

from __future__ import annotations

from typing import Annotated

import typer

from tuner.cli import app

Opt = typer.Option


@app.command()
def sweep(
    space: Annotated[
        str | None,
        Opt(help="search space name (see `tuner spaces`) or path to a YAML; default: picked from --data, else motion"),
    ] = None,
    target: Annotated[str, Opt(help="target board id (see `tuner targets`) or path to a target YAML")] = "nano33ble",
    data: Annotated[str | None, Opt(help="data: bundled demo name or a path; default: the space's demo data")] = None,
    name: Annotated[str, Opt(help="sweep name: results go to results/NAME/")] = "demo",
    engine: Annotated[
        str,
        Opt(help="search engine: tpe (default), nsga2, random, grid, hyperband, bayesian, tpe-cost (docs/engines.md)"),
    ] = "tpe",
    trials: Annotated[int, Opt(help="total number of trials in the sweep, resumes included")] = 10,
    timeout: Annotated[
        float | None,
        Opt(
            help="wall-clock limit in seconds: no new trial after it, the running one stops "
            "(on small data the final ranking's folds 2-5 still train after it)"
        ),
    ] = None,
    epochs: Annotated[int | None, Opt(help="max training epochs per candidate (default: the space's)")] = None,
    latency_ms: Annotated[float | None, Opt(help="latency budget in ms (DSP + network)")] = None,
    ram_kb: Annotated[float | None, Opt(help="RAM budget in kB (default: the target's RAM)")] = None,
    flash_kb: Annotated[float | None, Opt(help="flash budget in kB (default: the target's flash)")] = None,
    max_train_minutes: Annotated[float | None, Opt(help="reject candidates whose estimated training is longer")] = None,
    storage: Annotated[
        str | None, Opt(help="Optuna storage URL, e.g. postgresql+psycopg://... shared by machines (default: sqlite)")
    ] = None,
    workers: Annotated[int, Opt(help="worker processes on this machine; TensorFlow threads split between them")] = 1,
    resume: Annotated[bool, Opt(help="continue an existing sweep (after a crash too) up to --trials in total")] = False,
    seed: Annotated[int, Opt(help="seed for splits, sampling and training")] = 0,
    rate_hz: Annotated[
        float | None, Opt(help="sampling rate in Hz of time series without a time column (long CSV)")
    ] = None,
    metric: Annotated[
        str, Opt(help="ranking metric: accuracy (default), balanced_accuracy or macro_f1 (imbalanced classes)")
    ] = "accuracy",
    folds: Annotated[
        int | None,
        Opt(
            help="cross-validation folds of the ranking score (default: 5 when validation has fewer than 20 "
            "samples, else 1; 1: one split, the fastest)",
            min=1,
        ),
    ] = None,
) -> None:
    """Launch (or resume) a tuning sweep, then print the leaderboard and the results folder."""
    from tuner._quiet import import_tensorflow_quietly
    from tuner.api import leaderboard, start_slow_data
    from tuner.api import sweep as run
    from tuner.cli._display import SweepDisplay, console, print_leaderboard
    from tuner.errors import InputError
    from tuner.files import write_atomic
    from tuner.sweep import check_name

    if trials <= 0:
        raise InputError(f"--trials must be >= 1, got {trials}")
    check_name(name)  # before the live view starts: a bad name is one line, nothing else
    start_slow_data(space, data, resume)  # beside TensorFlow's import
    import_tensorflow_quietly(lean=True)  # this process runs no user code: Keras without scikit-learn
    with SweepDisplay(trials, metric) as display:
        folder = run(
            space=space,
            target=target,
            data=data,
            name=name,
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
            resume=resume,
            seed=seed,
            on_event=display,
            rate_hz=rate_hz,
            metric=metric,
            repeats=folds,
        )
    console.print()  # the live view's last line has no newline of its own
    df = leaderboard(name, include_all=True, storage=storage)
    print_leaderboard(console, df, f"Leaderboard: {name} (target {target})", limit=15)
    from tuner.rank import ranking_lines

    for line in ranking_lines(df):
        console.print(line)
    try:
        write_atomic(folder / "leaderboard.csv", df.to_csv(index=False))
    except OSError as exc:  # e.g. a full disk: the sweep is done and recorded; say so, do not crash
        console.print(f"[yellow]warning: could not write {folder / 'leaderboard.csv'} ({exc})[/yellow]")
    console.print(f"Results: [bold]{folder}[/bold]")
