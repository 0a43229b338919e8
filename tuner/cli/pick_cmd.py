"""`tuner leaderboard`, `show`, `export`, `retrain`, `report`: picking and shipping the winner."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tuner.cli import app

Opt = typer.Option


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command("leaderboard")
def leaderboard_cmd(
    name: Annotated[str, typer.Argument(help="sweep name (folder under results/)")],
    format: Annotated[Format, Opt("--format", help="table, csv or json")] = Format.table,
    all: Annotated[
        bool, Opt("--all", help="also show rejected, pruned and failed candidates with their reasons")
    ] = False,
    sort: Annotated[
        str | None,
        Opt(help="order by a column, e.g. latency_ms, ram_bytes, float_accuracy:desc (feasible rows stay first)"),
    ] = None,
    weights: Annotated[
        str | None,
        Opt(
            help="rank by a weighted score, e.g. accuracy=1,latency=0.3,ram=0.1 "
            "(objectives: accuracy, latency, ram, flash, train_time)"
        ),
    ] = None,
    limit: Annotated[int | None, Opt(help="show at most this many rows (table only)")] = None,
    storage: Annotated[str | None, Opt(help="Optuna storage URL if not the sweep's own")] = None,
) -> None:
    """Ranked candidates: feasible first, best validation score (the sweep's --metric, int8) first,
    then Pareto rank over (that score, latency, RAM, flash). int8 drops over 5 points are flagged."""
    from tuner.api import leaderboard
    from tuner.cli._display import console, print_leaderboard

    df = leaderboard(name, include_all=all, storage=storage, sort=sort, weights=weights)
    if format is Format.json:
        out = df.astype(object).where(df.notna(), None)
        typer.echo(json.dumps(out.to_dict(orient="records"), indent=1, default=str))
    elif format is Format.csv:
        out = df.copy()
        for col in ("params", "int8_recall"):
            out[col] = out[col].map(lambda p: json.dumps(p, sort_keys=True) if p is not None else "")
        typer.echo(out.to_csv(index=False), nl=False)
    else:
        if df.empty:
            hint = "" if all else " (add --all to see rejected, pruned and failed trials)"
            console.print(f"sweep '{name}' has no feasible candidates yet{hint}")
            return
        print_leaderboard(console, df, f"Leaderboard: {name}", limit=limit)
        from tuner.rank import ranking_lines

        for line in ranking_lines(df):
            console.print(line)


@app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(help="sweep name")],
    trial: Annotated[str, typer.Argument(help="trial number or 'best'")] = "best",
    as_json: Annotated[bool, Opt("--json", help="print one JSON object instead of tables")] = False,
    storage: Annotated[str | None, Opt(help="Optuna storage URL if not the sweep's own")] = None,
) -> None:
    """One candidate in full: params, metrics, budget margins, per-layer estimate, confusion matrices."""
    from tuner.api import show
    from tuner.cli._display import console, show_candidate

    info = show(name, trial, storage)
    if as_json:
        typer.echo(json.dumps(info, indent=1, default=str))
    else:
        show_candidate(console, info, name)


@app.command("export")
def export_cmd(
    name: Annotated[str, typer.Argument(help="sweep name")],
    trial: Annotated[str, Opt(help="trial number or 'best'")] = "best",
    out: Annotated[Path | None, Opt(help="output folder (default results/NAME/export)")] = None,
    force: Annotated[bool, Opt(help="overwrite a non-empty --out folder")] = False,
) -> None:
    """Write config.yaml, model_int8.tflite, model_int8.h, model.keras and metrics.json of a trial, and the
    deploy bundle: dsp.h/dsp.c (its DSP in C), main.c, an Arduino sketch and a README (check: tuner verify DIR)."""
    from tuner.api import export

    folder = export(name, trial, out, force)
    for f in sorted(folder.iterdir()):
        typer.echo(f"{f}  ({f.stat().st_size} B)")
    typer.echo(f"retrain with: tuner retrain {folder / 'config.yaml'}")


@app.command("retrain")
def retrain_cmd(
    config: Annotated[Path, typer.Argument(help="config.yaml written by `tuner export`")],
    data: Annotated[str | None, Opt(help="train on this data instead of the config's")] = None,
    epochs: Annotated[int | None, Opt(help="max epochs (default: the config's)")] = None,
    out: Annotated[Path | None, Opt(help="output folder (default: retrained/ beside the config)")] = None,
    force: Annotated[bool, Opt(help="overwrite a non-empty --out folder")] = False,
    qat: Annotated[
        bool,
        Opt(
            "--qat",
            help="add quantization-aware fine-tuning; reports float, PTQ int8 "
            "and QAT int8 accuracy and writes the QAT int8 model",
        ),
    ] = False,
    qat_epochs: Annotated[
        int | None, Opt(help="epochs of QAT fine-tuning (default: half the training epochs, at least 2)")
    ] = None,
) -> None:
    """Rebuild the exported candidate from its config, train, quantize, evaluate and estimate it."""
    from tuner.api import retrain
    from tuner.cli._display import console

    with console.status("retraining...") as status:

        def on_event(kind: str, **info: object) -> None:
            if kind == "stage":
                status.update(f"retraining: {info['stage']}")

        folder, s = retrain(config, data, epochs, out, force, qat=qat, qat_epochs=qat_epochs, on_event=on_event)
    m, e = s["metrics"], s["estimate"]
    if qat and "qat_int8_accuracy" in m:
        kept = "QAT" if m["int8_method"] == "qat" else "PTQ (QAT was worse on the validation split)"
        console.print(
            f"float accuracy {m['float_accuracy']:.3f}, int8 PTQ {m['ptq_int8_accuracy']:.3f}, "
            f"int8 QAT {m['qat_int8_accuracy']:.3f} after {m['qat_epochs']} QAT epochs; kept: {kept}"
        )
    elif qat:
        console.print(f"[red]QAT failed ({m.get('qat_error')}); kept the PTQ int8 model[/red]")
    else:
        console.print(f"float accuracy {m['float_accuracy']:.3f}, int8 accuracy {m['int8_accuracy']:.3f}")
        from tuner.rank import INT8_DROP_FLAG

        if m["float_accuracy"] - m["int8_accuracy"] > INT8_DROP_FLAG:
            console.print(
                f"[red]int8 loses more than {INT8_DROP_FLAG * 100:g} points: try `tuner retrain {config} --qat`[/red]"
            )
    console.print(
        f"latency {e['latency_ms']:.2f} ms [{e['latency_ms_low']:.2f}-{e['latency_ms_high']:.2f}], "
        f"RAM {e['ram_bytes'] / 1024:.1f} kB, flash {e['flash_bytes'] / 1024:.1f} kB, "
        f"{m['epochs_run']} epochs in {m['train_seconds']:.1f} s"
    )
    if s["reason"]:
        console.print(f"[yellow]over budget: {s['reason']}[/yellow]")
    console.print(f"Written: [bold]{folder}[/bold]")


@app.command("report")
def report_cmd(
    name: Annotated[str, typer.Argument(help="sweep name")],
    out: Annotated[Path | None, Opt(help="HTML file to write (default results/NAME/report.html)")] = None,
    storage: Annotated[str | None, Opt(help="Optuna storage URL if not the sweep's own")] = None,
) -> None:
    """Write a self-contained HTML report (works offline): Pareto plot, best-so-far, confusion
    matrices of the top candidates, per-layer latency and memory of the winner, sweep settings."""
    from tuner.api import report

    path = report(name, storage=storage, out=out)
    typer.echo(f"{path}  ({path.stat().st_size // 1024} kB)")
