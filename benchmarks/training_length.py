"""Training length of the trained trials of `benchmarks/domains.py` sweeps: how many ended still
improving on validation at the last epoch they were allowed, how many were extended past their
planned epochs (tuner.schedule), the winner's test metric and the sweep's wall time.

    python benchmarks/training_length.py OUT [OUT ...]      # OUT: a domains.py --out folder

"Still improving" is `tuner.schedule.still_improving` (best validation epoch within the last
max(1, patience // 2)); "at the limit": the trial ran its epoch cap (`epoch_cap_used`; sweeps
recorded before the cap existed: `max_epochs_used`, the planned epochs, were the limit).
Counts the first training of each trial that trained to the end (metrics.json; pruned, rejected and
failed trials have none); extra validation draws are not recorded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuner.schedule import still_improving  # noqa: E402


def trial_rows(sweep: Path) -> list[dict[str, Any]]:
    rows = []
    for f in sorted((sweep / "trials").glob("*/metrics.json"), key=lambda p: int(p.parent.name)):
        m = json.loads(f.read_text())
        if not m.get("epochs_run"):
            continue
        limit = int(m.get("epoch_cap_used") or m["max_epochs_used"])
        run, best = int(m["epochs_run"]), int(m["best_epoch"])
        scores = (m.get("history") or {}).get("val_score")
        if scores:  # as EarlyStopping counts it, in float32 (sweeps before aef5582 recorded a float64 argmax)
            best = int(np.argmax(np.asarray(scores, dtype=np.float32))) + 1
        rows.append(
            {
                "trial": int(f.parent.name),
                "planned": int(m["max_epochs_used"]),
                "cap": limit,
                "run": run,
                "best": best,
                "extended": int(m.get("extended_epochs", 0)),
                "improving_at_limit": run == limit and still_improving(best, run, int(m["patience_used"])),
                "train_seconds": float(m["train_seconds"]),
            }
        )
    return rows


def summarize(out: Path) -> list[dict[str, Any]]:
    results = json.loads((out / "results.json").read_text())
    table = []
    for name, r in results.items():
        sweep = out / "results" / f"domains-{name}"
        if "tuner" not in r or not sweep.exists():
            continue
        rows = trial_rows(sweep)
        key = str(max(int(k) for k in r["tuner"] if k.isdigit()))
        win = r["tuner"][key] or {}
        metric = r.get("metric", "accuracy")
        table.append(
            {
                "out": str(out),
                "data set": name,
                "winner test": win.get(metric),
                "winner trial": win.get("trial"),
                "trials": sum(1 for d in (sweep / "trials").iterdir() if d.is_dir()),
                "trained": len(rows),
                "improving at limit": sum(x["improving_at_limit"] for x in rows),
                "extended": sum(x["extended"] > 0 for x in rows),
                "extra epochs": sum(x["extended"] for x in rows),
                "epochs run": sum(x["run"] for x in rows),
                "fit s": sum(x["train_seconds"] for x in rows),
                "sweep s": float(r["tuner"]["seconds"]),
            }
        )
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="+", type=Path, help="benchmarks/domains.py --out folders")
    ap.add_argument("--trials", action="store_true", help="also print every trained trial")
    args = ap.parse_args()
    cols = [
        "data set",
        "winner test",
        "trials",
        "trained",
        "improving at limit",
        "extended",
        "extra epochs",
        "epochs run",
        "fit s",
        "sweep s",
        "out",
    ]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for out in args.out:
        for row in summarize(out):
            cells = [
                f"{v:.3f}" if k == "winner test" else f"{v:.0f}" if isinstance(v, float) else str(v)
                for k, v in row.items()
                if k in cols
            ]
            ordered = dict(zip([k for k in row if k in cols], cells, strict=True))
            print("| " + " | ".join(ordered[c] for c in cols) + " |")
            if args.trials:
                for t in trial_rows(out / "results" / f"domains-{row['data set']}"):
                    print(f"    {t}")


if __name__ == "__main__":
    main()
