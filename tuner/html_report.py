"""`tuner report NAME`: one self-contained HTML file (plotly.js inlined, no network access needed).

Sections: Pareto scatter (int8 accuracy vs latency, RAM as colour; and accuracy vs RAM), budget lines,
rejected candidates greyed; best-so-far over trials; float and int8 confusion matrices of the top
candidates; per-layer latency and memory of the winner; leaderboard; sweep settings.

Reads only records and trial artifacts (`metrics.json`, `estimate.json`), never live trials.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tuner.errors import InputError
from tuner.estimate import layer_rows

log = logging.getLogger(__name__)

TOP_CONFUSION = 3  # candidates whose confusion matrices are shown
PLOT_IDS = ("pareto-latency", "pareto-ram", "best-so-far", "layers-latency", "layers-memory")


def _fig_html(fig: Any, div_id: str, first: bool) -> str:
    return fig.to_html(
        full_html=False,
        include_plotlyjs=bool(first),
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(f) else f


def _pareto_figs(df: pd.DataFrame, settings: Any, ram_budget: int | None) -> list[Any]:
    import plotly.graph_objects as go

    feas = df[df["state"] == "feasible"]
    other = df[df["state"] != "feasible"]
    trained_other = other[pd.to_numeric(other["int8_accuracy"], errors="coerce").notna()]
    untrained = other[pd.to_numeric(other["int8_accuracy"], errors="coerce").isna()]
    accs = pd.to_numeric(df["int8_accuracy"], errors="coerce").dropna()
    floor = (float(accs.min()) - 0.05) if len(accs) else 0.0
    figs = []
    for x_col, x_title, c_col, c_title, budget in (
        ("latency_ms", "latency (ms, estimated)", "ram_bytes", "RAM kB", settings.latency_ms),
        ("ram_bytes", "RAM (kB, estimated)", "latency_ms", "latency ms", ram_budget),
    ):
        scale = 1024.0 if x_col == "ram_bytes" else 1.0
        cscale = 1024.0 if c_col == "ram_bytes" else 1.0
        fig = go.Figure()

        def hover(d: pd.DataFrame) -> list[str]:
            return [
                f"trial {int(r.trial)} ({r.state})<br>int8 {_fmt(r.int8_accuracy, '.3f')} / float "
                f"{_fmt(r.float_accuracy, '.3f')}<br>latency {_fmt(r.latency_ms, '.2f')} ms<br>RAM "
                f"{_fmt(_num(r.ram_bytes) and _num(r.ram_bytes) / 1024, '.1f')} kB, flash "
                f"{_fmt(_num(r.flash_bytes) and _num(r.flash_bytes) / 1024, '.1f')} kB"
                + (f"<br>{html.escape(str(r.reason))}" if r.reason else "")
                for r in d.itertuples()
            ]

        if len(feas):
            # the 2-D front of this plot (more accurate than everything cheaper): a staircase
            by_x = feas.assign(_x=feas[x_col].astype(float), _a=feas["int8_accuracy"].astype(float))
            by_x = by_x.sort_values(["_x", "_a"], ascending=[True, False])
            front = by_x[by_x["_a"] > by_x["_a"].cummax().shift(fill_value=-1.0)]
            fig.add_trace(
                go.Scatter(
                    x=front[x_col].astype(float) / scale,
                    y=front["int8_accuracy"],
                    mode="lines",
                    line={"color": "rgba(30,30,30,0.35)", "dash": "dot", "shape": "hv"},
                    name=f"front: accuracy vs {x_title.split(' (')[0]}",
                    hoverinfo="skip",
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=feas[x_col].astype(float) / scale,
                    y=feas["int8_accuracy"],
                    mode="markers",
                    name="feasible",
                    text=hover(feas),
                    hoverinfo="text",
                    marker={
                        "size": 11,
                        "color": feas[c_col].astype(float) / cscale,
                        "colorscale": "Viridis",
                        "showscale": True,
                        "colorbar": {"title": {"text": c_title}},
                        "line": {
                            "width": [2 if r == 0 else 0 for r in feas["pareto_rank"].fillna(9)],
                            "color": "black",
                        },
                    },
                )
            )
        if len(trained_other):
            fig.add_trace(
                go.Scatter(
                    x=trained_other[x_col].astype(float) / scale,
                    y=trained_other["int8_accuracy"],
                    mode="markers",
                    name="over budget (trained)",
                    text=hover(trained_other),
                    hoverinfo="text",
                    marker={"size": 9, "color": "lightgrey", "line": {"width": 1, "color": "grey"}},
                )
            )
        if len(untrained):
            xs = pd.to_numeric(untrained[x_col], errors="coerce") / scale
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=[floor] * len(untrained),
                    mode="markers",
                    name="rejected / pruned / failed (no int8 model)",
                    text=hover(untrained),
                    hoverinfo="text",
                    marker={"size": 9, "symbol": "x", "color": "darkgrey"},
                )
            )
        if budget:
            fig.add_vline(
                x=float(budget) / scale,
                line={"color": "firebrick", "dash": "dash"},
                annotation_text=f"budget {float(budget) / scale:g}",
                annotation_position="top left",
            )
        fig.update_layout(
            title=f"int8 accuracy vs {x_title.split(' (')[0]}",
            xaxis_title=x_title,
            yaxis_title="int8 accuracy",
            height=430,
            margin={"l": 60, "r": 20, "t": 50, "b": 50},
            legend={"orientation": "h", "y": -0.2},
            template="plotly_white",
        )
        figs.append(fig)
    return figs


def _ranking_column(d: pd.DataFrame) -> tuple[str, str]:
    """What ranks the leaderboard: the sweep's metric of the int8 model on validation (`val_score`);
    int8 test accuracy for sweeps recorded before it."""
    if "val_score" in d and pd.to_numeric(d["val_score"], errors="coerce").notna().any():
        metric = next((m for m in d.get("metric", pd.Series(dtype=object)) if isinstance(m, str) and m), "accuracy")
        return "val_score", f"validation {metric} (int8)"
    return "int8_accuracy", "int8 test accuracy"


def _best_so_far_fig(df: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    d = df.sort_values("trial")
    col, label = _ranking_column(d)
    acc = pd.to_numeric(d[col], errors="coerce").where(d["state"] == "feasible")
    best = acc.cummax().ffill()
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=d["trial"],
            y=acc,
            mode="markers",
            name="feasible trial",
            marker={"size": 8, "color": "steelblue"},
        )
    )
    grey = d[d["state"] != "feasible"]
    if len(grey):
        fig.add_trace(
            go.Scatter(
                x=grey["trial"],
                y=[None if pd.isna(v) else v for v in pd.to_numeric(grey[col], errors="coerce")],
                mode="markers",
                name="rejected / pruned / failed",
                marker={"color": "lightgrey", "size": 7},
                text=[html.escape(str(r)) for r in grey["reason"]],
                hoverinfo="text+x",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=d["trial"],
            y=best,
            mode="lines",
            name="best so far",
            line={"shape": "hv", "color": "darkorange", "width": 3},
        )
    )
    fig.update_layout(
        title=f"Best {label} so far",
        xaxis_title="trial",
        yaxis_title=label,
        height=380,
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
    )
    return fig


def _confusion_fig(trial: int, metrics: dict[str, Any]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = [str(c) for c in metrics.get("class_names") or []]
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            f"float ({metrics.get('float_accuracy', float('nan')):.3f})",
            f"int8 ({metrics.get('int8_accuracy', float('nan')):.3f})",
        ),
        horizontal_spacing=0.12,
    )
    for col, key in ((1, "float_confusion"), (2, "int8_confusion")):
        cm = metrics.get(key) or []
        labels = names if len(names) == len(cm) else [str(i) for i in range(len(cm))]
        fig.add_trace(
            go.Heatmap(
                z=cm,
                x=labels,
                y=labels,
                colorscale="Blues",
                showscale=False,
                text=cm,
                texttemplate="%{text}",
                hovertemplate="true %{y}<br>pred %{x}<br>%{z}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text="predicted", row=1, col=col)
        fig.update_yaxes(title_text="true", autorange="reversed", row=1, col=col)
    fig.update_layout(
        title=f"Trial {trial}: confusion matrices (test split)",
        height=420,
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 70, "b": 50},
    )
    return fig


def _layer_figs(trial: int, estimate: dict[str, Any], tflite: bytes | None) -> list[Any]:
    import plotly.graph_objects as go

    rows = layer_rows(estimate, tflite)
    labels = [f"{r['index']}: {r['op']}" for r in rows]
    lat = go.Figure(
        go.Bar(
            y=labels,
            x=[r["latency_ms"] or 0 for r in rows],
            orientation="h",
            marker_color="steelblue",
            text=[f"{(r['macs'] or 0):,} MACs" for r in rows],
            hovertemplate="%{y}<br>%{x:.3f} ms<br>%{text}<extra></extra>",
        )
    )
    lat.update_layout(
        title=f"Winner (trial {trial}): latency per layer",
        xaxis_title="ms (estimated)",
        yaxis={"autorange": "reversed"},
        height=max(300, 28 * len(rows) + 120),
        template="plotly_white",
        margin={"l": 160, "r": 20, "t": 50, "b": 50},
    )
    mem = go.Figure()
    mem.add_trace(
        go.Bar(
            y=labels,
            x=[(r["ram_bytes"] or 0) / 1024 for r in rows],
            orientation="h",
            name="RAM: activations in + out, scratch",
            marker_color="darkorange",
        )
    )
    mem.add_trace(
        go.Bar(
            y=labels,
            x=[(r["weight_bytes"] or 0) / 1024 for r in rows],
            orientation="h",
            name="flash: weights",
            marker_color="seagreen",
        )
    )
    mem.update_layout(
        title=f"Winner (trial {trial}): memory per layer",
        xaxis_title="kB",
        barmode="group",
        yaxis={"autorange": "reversed"},
        height=max(300, 36 * len(rows) + 120),
        template="plotly_white",
        margin={"l": 160, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "y": -0.15},
    )
    return [lat, mem]


def _fmt(v: Any, spec: str) -> str:
    f = _num(v) if not isinstance(v, str) else None
    return "-" if f is None else format(f, spec)


def _table(rows: list[list[Any]], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _leaderboard_html(df: pd.DataFrame, limit: int = 15) -> str:
    from tuner.rank import one_training_estimate

    rows = []
    for r in df.head(limit).itertuples():
        flag = " !" if bool(getattr(r, "int8_drop_flag", False)) else ""
        band = (
            f" [{_fmt(r.latency_ms_low, '.2f')}-{_fmt(r.latency_ms_high, '.2f')}]"
            if _num(r.latency_ms_low) is not None
            else ""
        )
        params = ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in (r.params or {}).items()
            if k not in ("epochs", "batch_size", "patience")
        )
        rows.append(
            [
                r.trial,
                r.state,
                _fmt(r.float_accuracy, ".3f"),
                _fmt(r.int8_accuracy, ".3f") + flag,
                "-" if _num(r.int8_drop) is None else f"{-_num(r.int8_drop) * 100:+.1f}",
                _fmt(r.latency_ms, ".2f") + band,
                _fmt(_num(r.ram_bytes) and _num(r.ram_bytes) / 1024, ".1f"),
                _fmt(_num(r.flash_bytes) and _num(r.flash_bytes) / 1024, ".1f"),
                f"{_fmt(r.train_seconds, '.1f')} / {_fmt(one_training_estimate(r._asdict()), '.1f')}",
                params if r.state == "feasible" else r.reason,
            ]
        )
    return _table(
        rows,
        [
            "trial",
            "state",
            "float acc",
            "int8 acc",
            "Δ pt (int8 - float)",
            "latency ms [band]",
            "RAM kB",
            "flash kB",
            "train s actual / est.",
            "params / reason",
        ],
    )


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1200px;
     color:#222}
h1{font-size:1.6em} h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:.85em;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 7px;text-align:left}
th{background:#f4f4f4} .grid{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.note{color:#666;font-size:.9em}
code{background:#f4f4f4;padding:1px 4px}
"""


def write_report(name: str, storage: str | None = None, out: str | Path | None = None) -> Path:
    """Build the report of sweep `name` and write it (atomically) to `out` or results/NAME/report.html."""
    from tuner import __version__
    from tuner.exporter import trial_folder
    from tuner.files import read_json, write_atomic, writing
    from tuner.rank import leaderboard_frame
    from tuner.sweep import CandidateState, load_settings, open_study, records, redact_url, sweep_dir

    study = open_study(name, storage)
    settings = load_settings(name, study)  # without a local sweep.yaml: the copy stored in the study
    recs = [r for r in records(study) if r.state.is_finished()]
    if not recs:
        raise InputError(f"sweep '{name}' has no finished trials yet; nothing to report")
    df = leaderboard_frame(recs, include_all=True)
    by_number = {r.trial: r for r in recs}
    try:
        from tuner.targets import load_target

        target = load_target(settings.target)
        target_ram = int(getattr(target, "ram_bytes", 0)) or None
    except InputError as exc:  # the report must still render if the target file moved
        log.warning("report of sweep '%s' without the target's RAM line: %s", name, exc)
        target, target_ram = None, None
    budgets = settings.budgets(target)  # RAM and flash default to the target's

    def artifact(trial: int, file: str) -> dict[str, Any]:
        p = trial_folder(name, by_number[trial]) / file
        return read_json(p) if not p.is_dir() else {}

    figs: list[tuple[str, Any]] = []
    lat_fig, ram_fig = _pareto_figs(df, settings, budgets.ram_bytes)
    figs += [("pareto-latency", lat_fig), ("pareto-ram", ram_fig), ("best-so-far", _best_so_far_fig(df))]
    feas = df[df["state"] == CandidateState.FEASIBLE.value]
    top = [int(t) for t in feas["trial"].head(TOP_CONFUSION)]
    seen: set[int] = set()
    for t in top:
        src = by_number[t].duplicate_of if by_number[t].duplicate_of is not None else t
        if src in seen:
            continue
        seen.add(src)
        m = artifact(t, "metrics.json")
        if m.get("float_confusion"):
            figs.append((f"confusion-{t}", _confusion_fig(t, m)))
    winner = top[0] if top else None
    if winner is not None:
        est = artifact(winner, "estimate.json")
        model = trial_folder(name, by_number[winner]) / "model_int8.tflite"
        if est.get("layers"):
            lat, mem = _layer_figs(winner, est, model.read_bytes() if model.is_file() else None)
            figs += [("layers-latency", lat), ("layers-memory", mem)]

    parts = {fid: _fig_html(fig, fid, i == 0) for i, (fid, fig) in enumerate(figs)}
    counts = df["state"].value_counts().to_dict()
    settings_rows = [[k, "-" if v is None else v] for k, v in settings.model_dump().items()]
    if target is not None:
        settings_rows.append(
            [
                "target RAM / flash (kB)",
                f"{target_ram and target_ram / 1024:g} / {getattr(target, 'flash_bytes', 0) / 1024:g}",
            ]
        )
    best_txt = "no feasible candidate"
    if winner is not None:
        w = feas.iloc[0]
        best_txt = (
            f"trial {winner}: int8 accuracy {_fmt(w['int8_accuracy'], '.3f')} (float "
            f"{_fmt(w['float_accuracy'], '.3f')}), latency {_fmt(w['latency_ms'], '.2f')} ms, RAM "
            f"{_fmt(_num(w['ram_bytes']) and _num(w['ram_bytes']) / 1024, '.1f')} kB, flash "
            f"{_fmt(_num(w['flash_bytes']) and _num(w['flash_bytes']) / 1024, '.1f')} kB"
        )
        from tuner.rank import ranking_lines

        best_txt = "; ".join([best_txt, *ranking_lines(feas)])  # the ranking metric and per-class recall
    budget_txt = (
        "Budgets: "
        + ", ".join(
            f"{label} {value}"
            for label, value in (
                ("latency", f"{settings.latency_ms:g} ms" if settings.latency_ms else "none"),
                ("RAM", f"{budgets.ram_bytes / 1024:g} kB" if budgets.ram_bytes else "none"),
                ("flash", f"{budgets.flash_bytes / 1024:g} kB" if budgets.flash_bytes else "none"),
                ("training", f"{settings.max_train_minutes:g} min" if settings.max_train_minutes else "none"),
            )
        )
        + "."
    )
    conf = "".join(parts[k] for k in parts if k.startswith("confusion-")) or "<p>no confusion matrices</p>"
    from tuner.deploy.figures import dsp_rows

    dsp_html = (
        _table([list(r) for r in dsp_rows(artifact(winner, "deploy.json"))], ["figure", "value"])
        if winner is not None
        else ""
    )
    layers = (parts.get("layers-latency", "") + parts.get("layers-memory", "")) or "<p>no per-layer estimate</p>"
    body = f"""
<h1>Sweep <code>{html.escape(name)}</code> on <code>{html.escape(settings.target)}</code></h1>
<p>{len(recs)} finished trials: {counts.get("feasible", 0)} feasible, {counts.get("rejected", 0)} rejected,
{counts.get("pruned", 0)} pruned, {counts.get("failed", 0)} failed. Best: <b>{html.escape(best_txt)}</b>.</p>
<p class="note">Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by <code>tuner report</code> (tinyml-tuner
{html.escape(__version__)}; the sweep was created by {html.escape(settings.tuner_version or "an unknown version")}).
Self-contained:
works offline. Explore the study interactively with <code>optuna-dashboard {
        html.escape(redact_url(storage or settings.storage or f"sqlite:///{(sweep_dir(name) / 'study.db').resolve()}"))
    }</code>.</p>
<h2>Pareto front</h2>
<p class="note">Feasible candidates coloured by the other resource; black rings mark the Pareto front over
all four objectives (int8 accuracy, latency, RAM, flash), the dotted staircase the front of the plot's two;
grey: over a budget; crosses at the bottom: rejected before training,
pruned or failed. Dashed red: the budget.
{html.escape(budget_txt)}</p>
<div class="grid"><div>{parts["pareto-latency"]}</div><div>{parts["pareto-ram"]}</div></div>
<h2>Progress</h2>{parts["best-so-far"]}
<h2>Leaderboard</h2>
<p class="note">Feasible first, int8 accuracy first, then Pareto rank. "!" marks an int8 drop of more than
5 points (try <code>tuner retrain CONFIG --qat</code>).</p>
{_leaderboard_html(df)}
<h2>Confusion matrices of the top candidates</h2>{conf}
<h2>Winner per layer</h2>{layers}
<h2>Winner's DSP on the device</h2>
<p class="note">Measured by <code>tuner export</code> (generated C, cross-compiled at -Os) and
<code>tuner verify</code> (emulated instruction count, host-twin accuracy).</p>{dsp_html}
<h2>Sweep settings</h2>{_table(settings_rows, ["setting", "value"])}
"""
    doc = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>tuner report: {html.escape(name)}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )
    path = Path(out) if out else sweep_dir(name) / "report.html"
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_atomic(path, doc)
