"""Rich rendering shared by commands: the live sweep display and the leaderboard table."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

console = Console()


def ranking_score(metrics: dict[str, Any]) -> tuple[float | None, str]:
    """A trial's ranking score and its label: the sweep's metric of the int8 model on validation
    (`val_score`, what ranks the leaderboard); int8 test accuracy for sweeps recorded before it."""
    if metrics.get("val_score") is not None:
        return float(metrics["val_score"]), f"val {metrics.get('metric') or 'accuracy'}"
    acc = metrics.get("int8_accuracy")
    return (None if acc is None else float(acc)), "int8 test acc"


class SweepDisplay:
    """Live view: trial n/N bar, current stage, best ranking score so far (the sweep's metric of the
    int8 model on validation, as the leaderboard ranks), feasible/rejected/pruned/failed counts."""

    def __init__(self, total: int, metric: str = "accuracy") -> None:
        self.progress = Progress(
            TextColumn("[bold]trials"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self.task = self.progress.add_task("sweep", total=total)
        self.stage = "starting"
        self.trial: int | None = None
        self.best: float | None = None
        self.best_label = f"val {metric}"
        self.counts = {"feasible": 0, "rejected": 0, "pruned": 0, "failed": 0}
        self.folds = 0  # cross-validation folds of the ranking score (0: one split), from the sweep's note
        self.last = ""
        self.started = time.monotonic()
        self.live = Live(self._render(), console=console, refresh_per_second=4, transient=False)

    def _render(self) -> Group:
        best = f"{self.best:.3f}" if self.best is not None else "-"
        trial = f"trial {self.trial}" if self.trial is not None else ""
        status = Text.assemble(
            (f"{trial} {self.stage}".strip(), "cyan"),
            f"   best {self.best_label} ",
            (best, "bold green"),
            f"   feasible {self.counts['feasible']}  rejected {self.counts['rejected']}  "
            f"pruned {self.counts['pruned']}  failed {self.counts['failed']}",
        )
        return Group(self.progress, status, Text(self.last, style="dim"))

    def __call__(self, kind: str, **info: Any) -> None:
        if kind == "note":  # a line to keep (what the sweep decided for the user), above the live view
            self.live.console.print(info["text"], soft_wrap=True)
            self.folds = int(info.get("folds", self.folds))
        elif kind == "stage":
            self.stage = info["stage"]
            if "trial" in info:  # e.g. the final ranking: no trial is running
                self.trial = info["trial"]
        elif kind == "trial":
            self.trial = info["number"]
            self.stage = "sampled"
        elif kind == "progress":
            self.progress.update(self.task, completed=info["done"], total=info["total"])
            self.counts = {"feasible": 0, "rejected": 0, "pruned": 0, "failed": 0}
            self.best = None  # from scratch: the final ranking can lower a score (the mean of more folds)
            for r in info["records"]:
                self.counts[r.state.value] = self.counts.get(r.state.value, 0) + 1
                value, label = ranking_score(r.metrics)
                if r.state.value == "feasible" and value is not None and (self.best is None or value > self.best):
                    self.best, self.best_label = value, label + self._folds_label(r.metrics)
        elif kind == "result":
            msg = f"trial {info['number']}: {info['state']}"
            if info.get("val_score") is not None:
                msg += f", val {info.get('metric') or 'accuracy'} {info['val_score']:.3f}"
            if info.get("int8_accuracy") is not None:
                msg += f", int8 test accuracy {info['int8_accuracy']:.3f}"
            if info.get("reason"):
                msg += f" ({info['reason']})"
            self.last = msg
        self.live.update(self._render())

    def _folds_label(self, metrics: dict[str, Any]) -> str:
        """With cross-validation: how many folds the best score averages (fold 1 until the final ranking)."""
        if self.folds < 2 or metrics.get("val_score") is None:
            return ""
        n = int(metrics.get("val_draws") or 1)
        return " (fold 1)" if n == 1 else f" ({n} folds)"

    def __enter__(self) -> SweepDisplay:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.__exit__(*exc)


def _fmt(v: Any, spec: str, scale: float = 1.0) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return "-"
    return format(v / scale if scale != 1.0 else v, spec)


_SKIP_PARAMS = ("epochs", "batch_size", "patience")


def params_summary(p: dict[str, Any] | None) -> str:
    """Compact `key=value` list of a candidate's params (training constants left out)."""
    return ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in (p or {}).items() if k not in _SKIP_PARAMS
    )


# Never dropped, whatever the width: the trial number and what decides the ranking.
_KEY_COLUMNS = ("#", "state", "int8 acc")
# Dropped in this order when the terminal is too narrow for every column.
_DROP_ORDER = ("train s act/est", "Δ pt", "flash kB", "float acc", "score", "RAM kB", "latency ms (band)")
_TEXT_MIN = 16  # narrowest useful params / reason column


def print_table(con: Console, table: Table) -> None:
    """In a terminal: fit its width. Piped or redirected: natural width, so no cell is cut to `…` (a table
    that does not expand renders at its natural width, whatever room it is given)."""
    if con.is_terminal:
        con.print(table)
    else:
        Console(file=con.file, width=10_000).print(table)


def print_leaderboard(con: Console, df: pd.DataFrame, title: str, limit: int | None = None) -> None:
    """In a terminal: the columns that fit its width (never without `#`), params folded in their
    column. Piped or redirected: every column at its natural width, one line per row."""
    print_table(con, leaderboard_table(df, title, limit, width=con.width if con.is_terminal else None))


def leaderboard_table(df: pd.DataFrame, title: str, limit: int | None = None, width: int | None = None) -> Table:
    """Float and int8 accuracy side by side (int8 drops over the flag threshold marked `!`), latency
    with its band, RAM, flash, estimated vs actual training time; params, or the reason if not feasible.

    `width`: fit that many characters by dropping columns in `_DROP_ORDER` (never `_KEY_COLUMNS`);
    None: every column, the params / reason text on one line."""
    from tuner.rank import INT8_DROP_FLAG

    has_score = "score" in df and pd.to_numeric(df["score"], errors="coerce").notna().any()
    flagged = bool(df.get("int8_drop_flag", pd.Series(dtype=bool)).any())
    cols = ["#", "state", "float acc", "int8 acc", "Δ pt", "latency ms (band)", "RAM kB", "flash kB", "train s act/est"]
    if has_score:
        cols.append("score")
    rows = df if limit is None else df.head(limit)
    cells = [_leaderboard_cells(r, has_score) for _, r in rows.iterrows()]
    keep = _fitting(cols, cells, width) if width is not None else cols
    notes = ["Δ pt: int8 minus float accuracy, in points"] if "Δ pt" in keep else []
    if flagged:
        notes.append(f"! = more than {INT8_DROP_FLAG * 100:g} points lost to int8 (try `retrain --qat`)")
    t = Table(title=title, header_style="bold", caption="; ".join(notes) or None)
    for col in keep:
        t.add_column(col, justify="left" if col == "state" else "right", no_wrap=True, min_width=len(col))
    if width is None:
        t.add_column("params / reason", justify="left", no_wrap=True)
    else:
        t.add_column("params / reason", justify="left", overflow="fold", ratio=1, min_width=_TEXT_MIN)
    for row, text in cells:
        t.add_row(*[row[c] for c in keep], text)
    return t


def _fitting(cols: list[str], cells: list[tuple[dict[str, str], str]], width: int) -> list[str]:
    """The columns of `cols` that fit in `width` with the params / reason column: key columns always,
    then the others as long as they fit, the last of `_DROP_ORDER` first."""

    def need(col: str) -> int:  # widest cell + 2 padding + 1 border
        return max([Text(col).cell_len] + [Text.from_markup(row[col]).cell_len for row, _ in cells]) + 3

    used = 1 + _TEXT_MIN + 3 + sum(need(c) for c in _KEY_COLUMNS)  # left border, text column, key columns
    keep = set(_KEY_COLUMNS)
    for col in reversed(_DROP_ORDER):
        if col in cols and used + need(col) <= width:
            keep.add(col)
            used += need(col)
    return [c for c in cols if c in keep]


def _leaderboard_cells(r: pd.Series, has_score: bool) -> tuple[dict[str, str], str]:
    """One leaderboard row: column -> cell (rich markup), and the params or reason text."""
    from tuner.rank import one_training_estimate

    int8 = _fmt(r["int8_accuracy"], ".3f")
    if bool(r.get("int8_drop_flag", False)):
        int8 += " [bold red]![/bold red]"
    lat = "-"
    if _fmt(r["latency_ms"], ".2f") != "-":
        lat = f"{r['latency_ms']:.2f}"
        if _fmt(r["latency_ms_low"], ".2f") != "-":
            lat += f" [{r['latency_ms_low']:.2f}-{_fmt(r['latency_ms_high'], '.2f')}]"
    train = f"{_fmt(r['train_seconds'], '.1f')}/{_fmt(one_training_estimate(r), '.1f')}"
    state = {
        "feasible": "[green]feasible[/green]",
        "rejected": "[yellow]rejected[/yellow]",
        "pruned": "[magenta]pruned[/magenta]",
        "failed": "[red]failed[/red]",
    }.get(r["state"], r["state"])
    text = params_summary(r["params"]) if r["state"] == "feasible" else str(r["reason"])
    drop = r.get("int8_drop")
    delta = "-" if _fmt(drop, ".1f") == "-" else f"{-drop * 100:+.1f}"
    cells = {
        "#": str(r["trial"]),
        "state": state,
        "float acc": _fmt(r["float_accuracy"], ".3f"),
        "int8 acc": int8,
        "Δ pt": delta,
        "latency ms (band)": lat,
        "RAM kB": _fmt(r["ram_bytes"], ".1f", 1024),
        "flash kB": _fmt(r["flash_bytes"], ".1f", 1024),
        "train s act/est": train,
    }
    if has_score:
        cells["score"] = _fmt(r["score"], ".3f")
    return cells, text


def _confusion_table(title: str, cm: list[list[int]], names: list[str]) -> Table:
    labels = names if len(names) == len(cm) else [str(i) for i in range(len(cm))]
    t = Table(title=title, header_style="bold", title_justify="left")
    t.add_column("true \\ pred")
    for lab in labels:
        t.add_column(lab[:8], justify="right")
    for lab, row in zip(labels, cm, strict=False):
        total = sum(row) or 1
        t.add_row(
            lab,
            *[
                f"[bold]{v}[/bold]" if i == labels.index(lab) else (str(v) if v / total < 0.1 else f"[red]{v}[/red]")
                for i, v in enumerate(row)
            ],
        )
    return t


def show_candidate(con: Console, info: dict[str, Any], name: str) -> None:
    """`tuner show`: params, metrics and margins, per-layer estimate, float and int8 confusion matrices."""
    from tuner.config import section_of
    from tuner.estimate import layer_rows
    from tuner.rank import INT8_DROP_FLAG, one_training_estimate

    m, e, s = info["metrics"], info["estimate"], info["summary"]
    state = info["state"] + (f": {info['reason']}" if info["reason"] else "")
    dup = f" (same candidate as trial {info['duplicate_of']})" if info.get("duplicate_of") is not None else ""
    con.print(f"[bold]Sweep {name}, trial {info['trial']}[/bold]{dup}: {state}")
    p = Table(title="Parameters", header_style="bold", title_justify="left")
    for col in ("section", "parameter", "value"):
        p.add_column(col)
    order = ("preprocessing", "architecture", "training")
    for k, v in sorted(info["params"].items(), key=lambda kv: order.index(section_of(kv[0]))):
        p.add_row(section_of(k), k, f"{v:.4g}" if isinstance(v, float) else str(v))
    con.print(p)
    g = {
        **s,
        **{k: v for k, v in e.items() if k != "layers"},
        **{k: v for k, v in m.items() if not isinstance(v, list | dict)},
    }
    r = Table(title="Metrics (test split) and estimate", header_style="bold", title_justify="left")
    r.add_column("figure")
    r.add_column("value", justify="right")
    drop = g.get("int8_drop")
    flag = ""
    if drop is not None and drop > INT8_DROP_FLAG:
        flag = " [red]! large int8 drop: try retrain --qat[/red]"
    rows = [
        ("float accuracy", _fmt(g.get("float_accuracy"), ".4f")),
        ("int8 accuracy", _fmt(g.get("int8_accuracy"), ".4f") + flag),
        (
            "latency ms (band)",
            f"{_fmt(g.get('latency_ms'), '.3f')} [{_fmt(g.get('latency_ms_low'), '.3f')}-"
            f"{_fmt(g.get('latency_ms_high'), '.3f')}]",
        ),
        ("  of which DSP ms", _fmt(g.get("dsp_latency_ms"), ".3f")),
        ("  naive baseline ms", _fmt(g.get("naive_latency_ms"), ".3f")),
        ("RAM kB (arena kB)", f"{_fmt(g.get('ram_bytes'), '.1f', 1024)} ({_fmt(g.get('arena_bytes'), '.1f', 1024)})"),
        ("flash kB", _fmt(g.get("flash_bytes"), ".1f", 1024)),
        ("MACs", _fmt(g.get("macs"), ",")),
        (
            "training s actual / estimated",
            f"{_fmt(g.get('train_seconds'), '.1f')} / {_fmt(one_training_estimate(g), '.1f')}",
        ),
        ("epochs run (best)", f"{_fmt(g.get('epochs_run'), 'd')} ({_fmt(g.get('best_epoch'), 'd')})"),
    ]
    for k, v in info.get("margins", {}).items():  # relative overshoot; -1.0 is what "no budget" records
        rows.append(
            (f"budget margin {k}", "no budget" if v == -1.0 else f"{v * 100:+.0f}% ({'over' if v > 0 else 'within'})")
        )
    from tuner.deploy.figures import dsp_rows

    rows += dsp_rows(info.get("deploy") or {})
    for k, v in rows:
        r.add_row(k, v)
    con.print(r)
    model = info.get("model_path")
    layers = layer_rows(e, Path(model).read_bytes() if model else None)
    if layers:
        lt = Table(title="Per-layer estimate", header_style="bold", title_justify="left")
        for col in ("#", "op", "output shape", "MACs", "ms", "RAM B", "scratch B", "weights B"):
            lt.add_column(col, justify="left" if col in ("op", "output shape") else "right")
        for row in layers:
            lt.add_row(
                str(row["index"]),
                row["op"],
                str(row["shape"] or "-"),
                _fmt(row["macs"], ","),
                _fmt(row["latency_ms"], ".3f"),
                _fmt(row["ram_bytes"], ","),
                _fmt(row["scratch_bytes"], ","),
                _fmt(row["weight_bytes"], ","),
            )
        con.print(lt)
    names = [str(c) for c in m.get("class_names") or []]
    for key, label in (("float_confusion", "float"), ("int8_confusion", "int8")):
        if m.get(key):
            title = f"Confusion matrix, {label} (rows true, columns predicted)"
            con.print(_confusion_table(title, m[key], names))
    if not m:
        con.print("[dim]no trained model: no metrics or confusion matrices[/dim]")
