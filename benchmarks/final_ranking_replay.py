"""Replay the final ranking on recorded small-data sweeps whose cross-validation folds ran inside the
trials (before the final ranking, 2026-11-30): same winner? how many fold trainings?

Each feasible trial's `val_scores` (metrics.json) holds the folds it ran. The replay takes the
fold-1 scores, runs tuner.sweep.final_ranking's rule (best first, `more_draws` against the best
complete mean) reading the recorded folds, and compares its winner and fold trainings with the
recorded ones. A fold the rule asks for but the record lacks is counted ("not recorded"); then the
replay of that sweep stops there and is not exact. The rule is the sweep's own
(`final_ranking.fill_folds`), fed the recorded scores instead of trainings.

    python benchmarks/final_ranking_replay.py 'results/*' '/tmp/old-sweeps/**/results/*'
"""

from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path

import numpy as np
import optuna

from tuner.sweep.final_ranking import fill_folds


def replay(folder: Path) -> dict | None:
    recorded = {}
    for m in sorted(folder.glob("trials/*/metrics.json")):
        d = json.loads(m.read_text())
        if d.get("val_scores") and d.get("val_draws") is not None:
            recorded[int(m.parent.name)] = [float(v) for v in d["val_scores"]]
    if not recorded:
        return None
    k = max(len(v) for v in recorded.values())
    try:
        study = optuna.load_study(study_name=folder.name, storage=f"sqlite:///{folder / 'study.db'}")
    except Exception:  # noqa: BLE001 - a broken or foreign study.db: not a sweep to replay
        return None
    feasible = {t.number for t in study.get_trials(deepcopy=False) if t.user_attrs.get("state") == "feasible"}
    cand = {n: v for n, v in recorded.items() if n in feasible}
    if k < 2 or len(cand) < 2:
        return None
    old = {n: float(np.mean(v)) for n, v in cand.items()}
    scores = {n: [v[0]] for n, v in cand.items()}
    asked: list[tuple[int, int]] = []

    def recorded(n: int, fold: int) -> float:
        asked.append((n, fold))
        return cand[n][fold - 1]  # IndexError: the rule asks for a fold the sweep did not run

    try:
        fill_folds(scores, k, recorded)
        missing = 0
    except IndexError:  # not exact: the replay stops at the first fold it lacks
        missing = 1
    trainings = len(asked) - missing
    new = {n: float(np.mean(s)) for n, s in scores.items()}
    win_old, win_new = (max(d, key=lambda n: (d[n], -n)) for d in (old, new))
    return {
        "sweep": str(folder),
        "feasible": len(cand),
        "folds": k,
        "trainings_in_trial": sum(len(v) - 1 for v in cand.values()),
        "trainings_final": trainings,
        "not_recorded": missing,
        "winner_in_trial": win_old,
        "winner_final": win_new,
        "score": round(old[win_old], 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", help="glob(s) of sweep folders (each with study.db and trials/)")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows, seen = [], set()
    for pattern in args.folders:
        for f in sorted(glob.glob(pattern, recursive=True)):
            folder = Path(f)
            if not (folder / "study.db").is_file():
                continue
            r = replay(folder)
            key = r and (r["feasible"], r["trainings_in_trial"], r["score"], r["winner_in_trial"])
            if r and key not in seen:  # copies of one sweep kept in several places
                seen.add(key)
                rows.append(r)
    if not rows:
        raise SystemExit("no recorded sweep with folds inside its trials found")
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    same = sum(r["winner_in_trial"] == r["winner_final"] for r in rows)
    before, after = sum(r["trainings_in_trial"] for r in rows), sum(r["trainings_final"] for r in rows)
    print(
        f"\n{len(rows)} sweeps: same winner in {same}; fold trainings {before} -> {after}; "
        f"folds asked for but not recorded: {sum(r['not_recorded'] for r in rows)}"
    )


if __name__ == "__main__":
    main()
