"""`tuner leaderboard`, `tuner export`, `tuner retrain`: picking and shipping the winner."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from tuner.cli import app

Opt = typer.Option


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command("leaderboard")
def leaderboard_cmd(
    name: Annotated[str, typer.Argument(help="sweep name (folder under results/)")],
    format: Annotated[Format, Opt("--format", help="table, csv or json")] = Format.table,
    all: Annotated[bool, Opt("--all", help="also show rejected and failed candidates with reasons")] = False,
    storage: Annotated[str | None, Opt(help="Optuna storage URL if not the sweep's sqlite")] = None,
) -> None:
    """Ranked candidates: feasible first, best int8 accuracy first."""
    from tuner.api import leaderboard
    from tuner.cli._display import console, leaderboard_table

    df = leaderboard(name, include_all=all, storage=storage)
    if format is Format.json:
        typer.echo(df.to_json(orient="records", indent=1))
    elif format is Format.csv:
        out = df.copy()
        out["params"] = out["params"].map(lambda p: json.dumps(p, sort_keys=True))
        typer.echo(out.to_csv(index=False), nl=False)
    else:
        console.print(leaderboard_table(df, f"Leaderboard: {name}"))


@app.command("export")
def export_cmd(
    name: Annotated[str, typer.Argument(help="sweep name")],
    trial: Annotated[str, Opt(help="trial number or 'best'")] = "best",
    out: Annotated[Path | None, Opt(help="output folder (default results/NAME/export)")] = None,
    force: Annotated[bool, Opt(help="overwrite a non-empty --out folder")] = False,
) -> None:
    """Write config.yaml, model_int8.tflite, model_int8.h, model.keras and metrics.json of a trial."""
    from tuner.api import export

    folder = export(name, trial, out, force)
    for f in sorted(folder.iterdir()):
        typer.echo(f"{f}  ({f.stat().st_size} B)")


@app.command("retrain")
def retrain_cmd(
    config: Annotated[Path, typer.Argument(help="config.yaml written by `tuner export`")],
    data: Annotated[str | None, Opt(help="train on this data instead of the config's")] = None,
    epochs: Annotated[int | None, Opt(help="max epochs (default: the config's)")] = None,
    out: Annotated[Path | None, Opt(help="output folder (default: retrained/ beside the config)")] = None,
    force: Annotated[bool, Opt(help="overwrite a non-empty --out folder")] = False,
) -> None:
    """Rebuild the exported candidate from its config, train, quantize, evaluate and estimate it."""
    from tuner.api import retrain
    from tuner.cli._display import console

    with console.status("retraining..."):
        folder, s = retrain(config, data, epochs, out, force)
    m, e = s["metrics"], s["estimate"]
    console.print(
        f"float accuracy {m['float_accuracy']:.3f}, int8 accuracy {m['int8_accuracy']:.3f}, "
        f"latency {e['latency_ms']:.2f} ms [{e['latency_ms_low']:.2f}-{e['latency_ms_high']:.2f}], "
        f"RAM {e['ram_bytes'] / 1024:.1f} kB, flash {e['flash_bytes'] / 1024:.1f} kB, "
        f"{m['epochs_run']} epochs in {m['train_seconds']:.1f} s"
    )
    if s["reason"]:
        console.print(f"[yellow]over budget: {s['reason']}[/yellow]")
    console.print(f"Written: [bold]{folder}[/bold]")
