"""Ranking: feasible candidates first, int8 accuracy first, then Pareto rank over
(int8 accuracy up, latency down, RAM down, flash down); the leaderboard as a pandas DataFrame."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tuner.records import CandidateState, TrialRecord

COLUMNS = [
    "trial", "state", "float_accuracy", "int8_accuracy", "int8_drop", "latency_ms", "latency_ms_low",
    "latency_ms_high", "ram_bytes", "flash_bytes", "macs", "est_train_seconds", "train_seconds",
    "pareto_rank", "reason", "params",
]
INT8_DROP_FLAG = 0.05  # flag candidates losing more than 5 points to int8 quantization
_STATE_ORDER = {CandidateState.FEASIBLE: 0, CandidateState.REJECTED: 1, CandidateState.FAILED: 2,
                CandidateState.RUNNING: 3}


def pareto_ranks(values: np.ndarray) -> np.ndarray:
    """Non-dominated sorting rank (0 = on the front) for rows to minimize in every column."""
    n = len(values)
    ranks = np.full(n, -1)
    remaining = np.arange(n)
    level = 0
    while remaining.size:
        v = values[remaining]
        dominated = np.array([
            np.any(np.all(v <= v[i], axis=1) & np.any(v < v[i], axis=1)) for i in range(len(v))
        ])
        ranks[remaining[~dominated]] = level
        remaining = remaining[dominated]
        level += 1
    return ranks


def leaderboard_frame(recs: Sequence[TrialRecord], include_all: bool = False) -> pd.DataFrame:
    """One row per trial; feasible rows first, best first. Without `include_all` only feasible rows."""
    rows = []
    for r in recs:
        if not include_all and r.state is not CandidateState.FEASIBLE:
            continue
        row = {"trial": r.trial, "state": r.state.value, "reason": r.reason, "params": r.params}
        for c in COLUMNS:
            if c not in row and c != "pareto_rank":
                row[c] = r.metrics.get(c)
        if r.duplicate_of is not None:
            row["reason"] = (row["reason"] + f" (same as trial {r.duplicate_of})").strip()
        rows.append(row)
    df = pd.DataFrame(rows, columns=COLUMNS)
    if df.empty:
        return df
    feas = df["state"] == "feasible"
    df["pareto_rank"] = pd.array([pd.NA] * len(df), dtype="Int64")
    if feas.any():
        obj = df.loc[feas, ["int8_accuracy", "latency_ms", "ram_bytes", "flash_bytes"]].astype(float).to_numpy()
        obj[:, 0] = -obj[:, 0]
        df.loc[feas, "pareto_rank"] = pareto_ranks(obj)
    df["_s"] = df["state"].map({s.value: o for s, o in _STATE_ORDER.items()})
    df = df.sort_values(["_s", "int8_accuracy", "pareto_rank", "latency_ms"],
                        ascending=[True, False, True, True], na_position="last")
    return df.drop(columns="_s").reset_index(drop=True)


def best_trial(recs: Sequence[TrialRecord]) -> TrialRecord | None:
    df = leaderboard_frame(recs)
    if df.empty:
        return None
    number = int(df.iloc[0]["trial"])
    return next(r for r in recs if r.trial == number)
