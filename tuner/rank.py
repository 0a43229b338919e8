"""Ranking: feasible candidates first, the ranking score first, then Pareto rank over
(score up, latency down, RAM down, flash down); the leaderboard as a pandas DataFrame.

The ranking score is the sweep's `--metric` (accuracy, balanced accuracy or macro F1) of the int8
model on validation (`val_score`, averaged over repeated draws on small data), so the test split
never picks the winner; sweeps recorded before it existed rank by int8 test accuracy.

No TensorFlow here: ranking reads only `TrialRecord`s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from tuner.errors import InputError
from tuner.sweep import CandidateState, TrialRecord

COLUMNS = [
    "trial",
    "state",
    "float_accuracy",
    "int8_accuracy",
    "int8_balanced_accuracy",
    "int8_macro_f1",
    "val_score",
    "val_draws",
    "metric",
    "int8_drop",
    "int8_drop_flag",
    "latency_ms",
    "latency_ms_low",
    "latency_ms_high",
    "ram_bytes",
    "arena_bytes",
    "flash_bytes",
    "macs",
    "est_train_seconds",
    "est_fit_seconds",
    "train_seconds",
    "pareto_rank",
    "score",
    "reason",
    "params",
    "int8_recall",
]
INT8_DROP_FLAG = 0.05  # flag candidates losing more than 5 accuracy points to int8 quantization
# Accuracy is compared at this resolution (0.1 point, what the table shows); ties go to the Pareto rank.
ACCURACY_RESOLUTION = 1e-3
_STATE_ORDER = {
    CandidateState.FEASIBLE: 0,
    CandidateState.REJECTED: 1,
    CandidateState.PRUNED: 2,
    CandidateState.FAILED: 3,
    CandidateState.RUNNING: 4,
}
# Weighted score: objective name -> (column, +1 higher is better / -1 lower is better).
OBJECTIVES = {
    "accuracy": ("int8_accuracy", 1),  # in a leaderboard: the ranking score (_rank, see leaderboard_frame)
    "latency": ("latency_ms", -1),
    "ram": ("ram_bytes", -1),
    "flash": ("flash_bytes", -1),
    "train_time": ("train_seconds", -1),
}
_ALIASES = {
    "acc": "accuracy",
    "int8_accuracy": "accuracy",
    "latency_ms": "latency",
    "ram_bytes": "ram",
    "flash_bytes": "flash",
    "train_seconds": "train_time",
    "train": "train_time",
}
# Natural sort direction per column (True = ascending = smaller first).
_ASCENDING = {
    "float_accuracy": False,
    "int8_accuracy": False,
    "int8_balanced_accuracy": False,
    "int8_macro_f1": False,
    "val_score": False,
    "score": False,
}


def one_training_estimate(row: Mapping) -> float | None:
    """The training-time estimate comparable with `train_seconds` (one training): `est_fit_seconds`;
    sweeps recorded before it only have `est_train_seconds`, the gate's figure for every draw."""
    one = row.get("est_fit_seconds")
    return row.get("est_train_seconds") if one is None or pd.isna(one) else one


def pareto_ranks(values: np.ndarray) -> np.ndarray:
    """Non-dominated sorting rank (0 = on the front) for rows to minimize in every column."""
    n = len(values)
    ranks = np.full(n, -1)
    remaining = np.arange(n)
    level = 0
    while remaining.size:
        v = values[remaining]
        dominated = np.array([np.any(np.all(v <= v[i], axis=1) & np.any(v < v[i], axis=1)) for i in range(len(v))])
        ranks[remaining[~dominated]] = level
        remaining = remaining[dominated]
        level += 1
    return ranks


def parse_weights(text: str | Mapping[str, float] | None) -> dict[str, float]:
    """`"accuracy=1,latency=0.3,ram=0.1"` -> {"accuracy": 1.0, "latency": 0.3, "ram": 0.1}."""
    if text is None or text == "":
        return {}
    items = text.items() if isinstance(text, Mapping) else []
    if not isinstance(text, Mapping):
        parsed = []
        for part in str(text).split(","):
            key, sep, value = part.partition("=")
            if not sep:
                raise InputError(f"--weights needs NAME=NUMBER pairs separated by commas, got {part.strip()!r}")
            parsed.append((key, value))
        items = parsed
    out: dict[str, float] = {}
    for key, value in items:
        name = _ALIASES.get(str(key).strip(), str(key).strip())
        if name not in OBJECTIVES:
            raise InputError(f"unknown weight {key!r}; known: {', '.join(OBJECTIVES)}")
        try:
            w = float(value)
        except (TypeError, ValueError):
            raise InputError(f"weight {key!r} must be a number, got {value!r}") from None
        if not np.isfinite(w) or w < 0:
            raise InputError(f"weight {key!r} must be >= 0, got {value!r}")
        out[name] = w
    if out and not any(out.values()):
        raise InputError("at least one weight must be > 0")
    return out


def weighted_scores(df: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    """Score in [0, sum of weights]: each objective min-max normalized over the rows given, best = 1."""
    score = pd.Series(0.0, index=df.index)
    for name, w in weights.items():
        col, sign = OBJECTIVES[name]
        col = "_rank" if name == "accuracy" and "_rank" in df else col
        v = pd.to_numeric(df[col], errors="coerce").astype(float)
        lo, hi = v.min(), v.max()
        norm = pd.Series(1.0, index=df.index) if not hi > lo else (v - lo) / (hi - lo)
        if sign < 0:
            norm = 1.0 - norm
        score += w * norm.fillna(0.0)
    return score


def _rows(recs: Sequence[TrialRecord], include_all: bool) -> list[dict]:
    rows = []
    for r in recs:
        if not include_all and r.state is not CandidateState.FEASIBLE:
            continue
        row = {"trial": r.trial, "state": r.state.value, "reason": r.reason, "params": r.params}
        for c in COLUMNS:
            if c not in row:
                row[c] = r.metrics.get(c)
        if r.duplicate_of is not None:
            row["reason"] = (row["reason"] + f" (same as trial {r.duplicate_of})").strip()
        rows.append(row)
    return rows


def leaderboard_frame(
    recs: Sequence[TrialRecord],
    include_all: bool = False,
    sort: str | None = None,
    weights: str | Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One row per trial; feasible rows first, best first. Without `include_all` only feasible rows.

    Default order: int8 accuracy (at `ACCURACY_RESOLUTION`), then Pareto rank over (int8 accuracy,
    latency, RAM, flash), then latency. `weights` ranks by a weighted score instead; `sort` orders by
    any column (`COLUMN`, `COLUMN:asc` or `COLUMN:desc`). Feasible rows always come first.
    """
    w = parse_weights(weights)
    df = pd.DataFrame(_rows(recs, include_all), columns=COLUMNS)
    sort_col, ascending = _parse_sort(sort)
    if df.empty:
        return df
    df["trial"] = df["trial"].astype(int)
    for col in ("ram_bytes", "arena_bytes", "flash_bytes", "macs"):
        df[col] = pd.to_numeric(df[col], errors="coerce").round().astype("Int64")
    drop = pd.to_numeric(df["int8_drop"], errors="coerce")
    df["int8_drop_flag"] = (drop > INT8_DROP_FLAG).fillna(False).astype(bool)
    feas = df["state"] == "feasible"
    # The ranking score: the sweep's metric on validation; int8 test accuracy for older sweeps.
    df["_rank"] = pd.to_numeric(df["val_score"], errors="coerce").fillna(
        pd.to_numeric(df["int8_accuracy"], errors="coerce")
    )
    df["pareto_rank"] = pd.array([pd.NA] * len(df), dtype="Int64")
    df["score"] = np.nan
    if feas.any():
        obj = df.loc[feas, ["_rank", "latency_ms", "ram_bytes", "flash_bytes"]].astype(float).to_numpy()
        obj[:, 0] = -obj[:, 0]
        obj = np.nan_to_num(obj, nan=np.inf)
        df.loc[feas, "pareto_rank"] = pareto_ranks(obj)
        if w:
            df.loc[feas, "score"] = weighted_scores(df.loc[feas], w)
    df["_s"] = df["state"].map({s.value: o for s, o in _STATE_ORDER.items()})
    df["_acc"] = (df["_rank"] / ACCURACY_RESOLUTION).round()
    if sort_col is not None:
        keys, asc = ["_s", sort_col, "trial"], [True, ascending, True]
    elif w:
        keys, asc = ["_s", "score", "_acc", "pareto_rank", "trial"], [True, False, False, True, True]
    else:
        keys, asc = ["_s", "_acc", "pareto_rank", "latency_ms", "trial"], [True, False, True, True, True]
    df = df.sort_values(keys, ascending=asc, na_position="last", kind="mergesort")
    return df.drop(columns=["_s", "_acc", "_rank"]).reset_index(drop=True)


def ranking_lines(df: pd.DataFrame) -> list[str]:
    """What ranked the rows, and the winner's recall per class (int8, test split): a class the
    winner misses shows here even when its accuracy looks fine."""
    if df.empty or df.iloc[0]["state"] != "feasible":
        return []
    top = df.iloc[0]
    out = []
    if pd.notna(top.get("val_score")):
        metric = top.get("metric") or "the sweep's metric"
        out.append(f"ranked by {metric} of the int8 model on validation (val_score {top['val_score']:.3f})")
    recall = top.get("int8_recall")
    if isinstance(recall, dict) and recall:
        per = ", ".join(f"{k} {v:.2f}" if v is not None else f"{k} -" for k, v in recall.items())
        out.append(f"winner (trial {int(top['trial'])}) recall per class, int8 on test: {per}")
    return out


def _parse_sort(sort: str | None) -> tuple[str | None, bool]:
    if not sort:
        return None, True
    col, _, direction = sort.partition(":")
    col = col.strip()
    sortable = [c for c in COLUMNS if c not in ("params", "int8_recall", "metric")]
    if col not in sortable:
        raise InputError(f"cannot sort by {col!r}; columns: {', '.join(sortable)}")
    if direction not in ("", "asc", "desc"):
        raise InputError(f"sort direction must be 'asc' or 'desc', got {direction!r} (e.g. latency_ms:asc)")
    ascending = _ASCENDING.get(col, True) if not direction else direction == "asc"
    return col, ascending


def best_trial(recs: Sequence[TrialRecord]) -> TrialRecord | None:
    """The top feasible trial of the default ranking, or None if there is none."""
    df = leaderboard_frame(recs)
    if df.empty:
        return None
    number = int(df.iloc[0]["trial"])
    return next(r for r in recs if r.trial == number)


def find_trial(recs: Sequence[TrialRecord], trial: str | int, name: str = "") -> TrialRecord:
    """A trial by number or `best`; InputError (one line) when it does not exist."""
    sweep = f"sweep '{name}'" if name else "the sweep"
    if str(trial).strip().lower() == "best":
        rec = best_trial(recs)
        if rec is None:
            if not recs:
                raise InputError(f"{sweep} has no trials yet; run `tuner sweep --name {name or 'NAME'}` first")
            raise InputError(
                f"{sweep} has no feasible candidate ({len(recs)} trials, none feasible); "
                "relax the budgets or run more trials (`tuner leaderboard NAME --all` shows why)"
            )
        return rec
    try:
        number = int(str(trial))
    except ValueError:
        raise InputError(f"trial must be a number or 'best', got {trial!r}") from None
    rec = next((r for r in recs if r.trial == number), None)
    if rec is None:
        have = f"it has trials 0..{max(r.trial for r in recs)}" if recs else "it has no trials yet"
        raise InputError(f"{sweep} has no trial {number}; {have}")
    return rec
