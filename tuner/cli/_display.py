"""Rich rendering shared by commands: the live sweep display and the leaderboard table."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

console = Console()


class SweepDisplay:
    """Live view: trial n/N bar, current stage, best int8 accuracy so far, rejected/failed counts."""

    def __init__(self, total: int) -> None:
        self.progress = Progress(
            TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        )
        self.task = self.progress.add_task("sweep", total=total)
        self.stage = "starting"
        self.trial: int | None = None
        self.best: float | None = None
        self.counts = {"feasible": 0, "rejected": 0, "failed": 0}
        self.last = ""
        self.started = time.monotonic()
        self.live = Live(self._render(), console=console, refresh_per_second=4, transient=False)

    def _render(self) -> Group:
        best = f"{self.best:.3f}" if self.best is not None else "-"
        trial = f"trial {self.trial}" if self.trial is not None else ""
        status = Text.assemble(
            (f"{trial} {self.stage}".strip(), "cyan"), "   best int8 acc ", (best, "bold green"),
            f"   feasible {self.counts['feasible']}  rejected {self.counts['rejected']}  "
            f"failed {self.counts['failed']}",
        )
        return Group(self.progress, status, Text(self.last, style="dim"))

    def __call__(self, kind: str, **info: Any) -> None:
        if kind == "stage":
            self.stage = info["stage"]
        elif kind == "trial":
            self.trial = info["number"]
            self.stage = "sampled"
        elif kind == "progress":
            self.progress.update(self.task, completed=info["done"], total=info["total"])
            self.counts = {"feasible": 0, "rejected": 0, "failed": 0}
            for r in info["records"]:
                self.counts[r.state.value] = self.counts.get(r.state.value, 0) + 1
                acc = r.metrics.get("int8_accuracy")
                if r.state.value == "feasible" and acc is not None and (self.best is None or acc > self.best):
                    self.best = acc
        elif kind == "result":
            msg = f"trial {info['number']}: {info['state']}"
            if info.get("int8_accuracy") is not None:
                msg += f", int8 accuracy {info['int8_accuracy']:.3f}"
            if info.get("reason"):
                msg += f" ({info['reason']})"
            self.last = msg
        self.live.update(self._render())

    def __enter__(self) -> SweepDisplay:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.__exit__(*exc)


def _fmt(v: Any, spec: str) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "-"
    return format(v, spec)


def leaderboard_table(df: pd.DataFrame, title: str, limit: int | None = None) -> Table:
    t = Table(title=title, header_style="bold")
    for col in ("trial", "state", "float acc", "int8 acc", "latency ms [band]", "RAM kB", "flash kB",
                "train s (est)", "params / reason"):
        t.add_column(col, justify="left" if col in ("state", "params / reason") else "right")
    rows = df if limit is None else df.head(limit)
    for _, r in rows.iterrows():
        drop = r.get("int8_drop")
        int8 = _fmt(r["int8_accuracy"], ".3f")
        if drop is not None and not pd.isna(drop) and drop > 0.05:
            int8 += " [red]![/red]"
        lat = "-"
        if r["latency_ms"] is not None and not pd.isna(r["latency_ms"]):
            lat = f"{r['latency_ms']:.2f} [{_fmt(r['latency_ms_low'], '.1f')}-{_fmt(r['latency_ms_high'], '.1f')}]"
        ram = _fmt(r["ram_bytes"] / 1024 if r["ram_bytes"] is not None and not pd.isna(r["ram_bytes"]) else None, ".1f")
        flash = _fmt(r["flash_bytes"] / 1024 if r["flash_bytes"] is not None and not pd.isna(r["flash_bytes"])
                     else None, ".1f")
        train = f"{_fmt(r['train_seconds'], '.1f')} ({_fmt(r['est_train_seconds'], '.0f')})"
        p = r["params"] or {}
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in p.items()
                          if k not in ("epochs", "batch_size", "patience"))
        text = shown if r["state"] == "feasible" else f"{r['reason']}"
        t.add_row(str(r["trial"]), r["state"], _fmt(r["float_accuracy"], ".3f"), int8, lat, ram, flash, train, text)
    return t
