"""Training-time estimate against the actual time, out of sample, over finished sweeps.

Every trial records its estimate before it trains (`est_compile_seconds`, `est_epoch_seconds`,
`est_train_seconds`: fitted only on the trials before it) and its actual `train_seconds` after.
Two comparisons per trial:
- at the epochs it ran: est_compile + epochs_run x est_epoch vs train_seconds (the cost model);
- all planned epochs (`est_train_seconds`, what the --max-train-minutes gate uses) vs
  train_seconds: early stopping and pruning make the actual shorter, so this one reads low.

    python benchmarks/training_time_accuracy.py RESULTS_ROOT [RESULTS_ROOT ...]

A hit is an estimate within x1.5 of the actual (ratio in [1/1.5, 1.5]).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

HIT = 1.5


def rows_of(study_db: Path) -> list[dict[str, Any]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{study_db}"
    out = []
    for summary in optuna.get_all_study_summaries(url, include_best_trial=False):
        study = optuna.load_study(study_name=summary.study_name, storage=url)
        space = study.user_attrs.get("settings", {}).get("space", "?")
        for t in study.get_trials(deepcopy=False):
            a = t.user_attrs
            if not a.get("train_seconds") or a.get("est_epoch_seconds") is None or "duplicate_of" in a:
                continue
            run = len(a.get("epoch_seconds") or []) or int(a.get("epochs_run") or 0)
            out.append(
                {
                    "space": space,
                    "family": a.get("candidate", {}).get("family", "?"),
                    "actual": float(a["train_seconds"]),
                    "at_run": float(a["est_compile_seconds"]) + run * float(a["est_epoch_seconds"]),
                    "planned": float(a["est_train_seconds"]),
                    "source": a.get("est_train_source", ""),
                }
            )
    return out


def _hits(pairs: list[tuple[float, float]]) -> str:
    ok = sum(1 for est, act in pairs if abs(math.log(est / act)) <= math.log(HIT))
    return f"{ok}/{len(pairs)} ({ok / len(pairs):.0%})" if pairs else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("roots", nargs="+", type=Path, help="results folders (TUNER_RESULTS) holding sweeps")
    ap.add_argument("--json", action="store_true", help="print the per-trial rows as JSON")
    args = ap.parse_args()
    rows = [r for root in args.roots for db in sorted(root.glob("*/study.db")) for r in rows_of(db)]
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print("| space | trials | within x1.5 at epochs run | within x1.5, all planned epochs | median est/actual |")
    print("|---|---:|---:|---:|---:|")
    for space in sorted({r["space"] for r in rows}) + ["all"]:
        sel = [r for r in rows if space in ("all", r["space"])]
        if not sel:
            continue
        ratios = sorted(r["at_run"] / r["actual"] for r in sel)
        print(
            f"| {space} | {len(sel)} | {_hits([(r['at_run'], r['actual']) for r in sel])} "
            f"| {_hits([(r['planned'], r['actual']) for r in sel])} | {ratios[len(ratios) // 2]:.2f} |"
        )


if __name__ == "__main__":
    main()
