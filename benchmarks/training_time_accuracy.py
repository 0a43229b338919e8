"""Training-time estimate against the actual time, out of sample, over finished sweeps.

Every trial records its estimate before it trains (`est_compile_seconds`, `est_epoch_seconds`,
`est_train_seconds` and its band: fitted only on the trials before it) and, after, the actual
`train_seconds` of its first training (`fit`, early stopping included) and `val_draws`.
What is compared with what:
- **before the trial** (the headline): one training at the epochs the estimate expects it to run
  (`est_fit_seconds`: est_compile + est_epochs x est_epoch, the epochs from the sweep's earlier
  trials), against `train_seconds`, the same one training; band coverage: the actual inside
  `est_fit_seconds_low/high`. Trials recorded before `est_fit_seconds` existed: all planned epochs
  (`max_epochs_used`) and est_train_seconds_low/high scaled to one training.
- planned epochs: est_compile + max_epochs_used x est_epoch against `train_seconds` (the older
  headline; early stopping makes the actual shorter, training on while improving longer).
- at the epochs run (a check of the cost model, not an estimate: the epochs are known only after):
  est_compile + epochs_run x est_epoch against `train_seconds`.
- all draws: `est_train_seconds` is what the `--max-train-minutes` gate uses, every planned
  validation draw (1 or 3) x all planned epochs; since draws 2-3 run only for a candidate that can
  still rank first (pipeline.more_draws), it is compared with the first training plus the
  `validation` stage (the other draws' training, conversion and scoring: a slight over-count).
First of a family: the sweep's first trained trial of that model family (no factor of its own yet).

    python benchmarks/training_time_accuracy.py RESULTS_ROOT [RESULTS_ROOT ...]

RESULTS_ROOT holds sweep folders (`<name>/sweep.yaml`, `<name>/trials/<n>/metrics.json`), e.g. a
TUNER_RESULTS folder or `benchmarks/overhead.py --keep`'s. A hit is an estimate within x1.5 of the
actual (ratio in [1/1.5, 1.5]). Pruned and rejected trials have no metrics.json and are skipped.
`--replay` re-makes the estimates with this code from each sweep's `host.json` and its earlier
trials (still out of sample), to compare estimators on the same recorded sweeps.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import yaml

HIT = 1.5


def _draws_planned(m: dict[str, Any]) -> int:
    """Validation draws the recorded gate figure assumed (est_train_seconds / one training's)."""
    epochs = int(m.get("max_epochs_used") or len(m.get("epoch_seconds") or []) or 1)
    one = float(m["est_compile_seconds"]) + epochs * float(m["est_epoch_seconds"])
    return max(1, round(float(m["est_train_seconds"]) / one)) if one > 0 else 1


def _replayed(sweep: Path, trials: list[tuple[Path, dict[str, Any], dict[str, Any]]]) -> dict[int, dict[str, Any]]:
    """The estimates this code makes before each trial of a finished sweep: its `host.json` and
    the trials before it only (as the sweep would have, but with today's estimator)."""
    from tuner.estimate.training_time import HostThroughput, TrainingTimeModel, observed_from_attrs

    host = HostThroughput.load(sweep / "host.json")
    seen: list[Any] = []
    out = {}
    for path, m, cand in trials:
        attrs = {**m, "candidate": cand, "macs": (m.get("precheck_estimate") or {}).get("macs")}
        obs = observed_from_attrs(attrs)
        if obs is None:
            continue
        est = TrainingTimeModel(host, seen).estimate(obs.cost, int(m.get("max_epochs_used") or obs.epochs_run))
        draws = _draws_planned(m)
        out[int(path.parent.name)] = {
            "est_compile_seconds": est.compile_seconds,
            "est_epoch_seconds": est.epoch_seconds,
            "est_train_seconds": est.seconds * draws,
            "est_train_seconds_low": est.low * draws,
            "est_train_seconds_high": est.high * draws,
            "est_train_source": est.source,
            "est_fit_seconds": est.expected_seconds,
            "est_fit_seconds_low": est.expected_range[0],
            "est_fit_seconds_high": est.expected_range[1],
        }
        seen.append(obs)
    return out


def rows_of(sweep: Path, replay: bool = False) -> list[dict[str, Any]]:
    """One row per trained trial of one sweep folder, in trial order (`replay`: with the estimates
    this code makes, `_replayed`, instead of the recorded ones)."""
    space = str((yaml.safe_load((sweep / "sweep.yaml").read_text()) or {}).get("space", "?"))
    space = Path(space).stem if "/" in space else space  # a space file: its name
    paths = sorted((p for p in (sweep / "trials").glob("*/metrics.json")), key=lambda p: int(p.parent.name))
    trials = []
    for path in paths:
        m = json.loads(path.read_text())
        if not m.get("train_seconds") or m.get("est_epoch_seconds") is None or m.get("duplicate_of") is not None:
            continue
        cand_file = path.parent / "candidate.yaml"
        trials.append((path, m, (yaml.safe_load(cand_file.read_text()) or {}) if cand_file.exists() else {}))
    redone = _replayed(sweep, trials) if replay else {}
    out, seen = [], set()
    for path, m, cand in trials:
        draws_planned = _draws_planned(m)
        m = {**m, **redone.get(int(path.parent.name), {})}
        family = str(cand.get("family", "?"))
        run = len(m.get("epoch_seconds") or []) or int(m.get("epochs_run") or 0)
        planned = int(m.get("max_epochs_used") or run)
        one = float(m["est_compile_seconds"]) + planned * float(m["est_epoch_seconds"])
        low, high = (
            float(m["est_train_seconds_low"]) / draws_planned,
            float(m["est_train_seconds_high"]) / draws_planned,
        )
        if m.get("est_fit_seconds") is not None:  # recorded since the estimate predicts the epochs run
            one, low, high = (
                float(m["est_fit_seconds"]),
                float(m["est_fit_seconds_low"]),
                float(m["est_fit_seconds_high"]),
            )
        val_draws = int(m.get("val_draws") or 1)
        extra = float((m.get("stage_seconds") or {}).get("validation", 0.0)) if val_draws > 1 else 0.0
        out.append(
            {
                "sweep": sweep.name,
                "trial": int(path.parent.name),
                "space": space,
                "family": family,
                "first_of_family": family not in seen,
                "actual": float(m["train_seconds"]),
                "before": one,
                "low": low,
                "high": high,
                "planned": float(m["est_compile_seconds"]) + planned * float(m["est_epoch_seconds"]),
                "at_run": float(m["est_compile_seconds"]) + run * float(m["est_epoch_seconds"]),
                "gate": float(m["est_train_seconds"]),
                "actual_all_draws": float(m["train_seconds"]) + extra,
                "draws": f"{val_draws}/{draws_planned}",
                "source": m.get("est_train_source", ""),
            }
        )
        seen.add(family)
    return out


def _hits(pairs: list[tuple[float, float]]) -> str:
    ok = sum(1 for est, act in pairs if abs(math.log(est / act)) <= math.log(HIT))
    return f"{ok}/{len(pairs)} ({ok / len(pairs):.0%})" if pairs else "-"


def _covered(rows: list[dict[str, Any]]) -> str:
    ok = sum(1 for r in rows if r["low"] <= r["actual"] <= r["high"])
    return f"{ok}/{len(rows)} ({ok / len(rows):.0%})" if rows else "-"


def table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| trials | n | within x1.5 before the trial | band coverage | planned epochs within x1.5 "
        "| within x1.5 at epochs run | gate (all draws) within x1.5 | median est/actual |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    groups = [(s, [r for r in rows if r["space"] == s]) for s in sorted({r["space"] for r in rows})]
    groups += [("all", rows), ("first of a family", [r for r in rows if r["first_of_family"]])]
    groups += [("later trials", [r for r in rows if not r["first_of_family"]])]
    for name, sel in groups:
        if not sel:
            continue
        ratios = sorted(r["before"] / r["actual"] for r in sel)
        lines.append(
            f"| {name} | {len(sel)} | {_hits([(r['before'], r['actual']) for r in sel])} | {_covered(sel)} "
            f"| {_hits([(r['planned'], r['actual']) for r in sel])} "
            f"| {_hits([(r['at_run'], r['actual']) for r in sel])} "
            f"| {_hits([(r['gate'], r['actual_all_draws']) for r in sel])} | {ratios[len(ratios) // 2]:.2f} |"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("roots", nargs="+", type=Path, help="results folders (TUNER_RESULTS) holding sweeps")
    ap.add_argument("--json", action="store_true", help="print the per-trial rows as JSON")
    ap.add_argument(
        "--replay",
        action="store_true",
        help="re-make each trial's estimate with this code (the sweep's host.json, earlier trials only)",
    )
    args = ap.parse_args()
    sweeps = [p.parent for root in args.roots for p in sorted(root.glob("*/sweep.yaml"))]
    if not sweeps:
        print(f"error: no sweep folders (<name>/sweep.yaml) under {', '.join(map(str, args.roots))}", file=sys.stderr)
        sys.exit(2)
    rows = [r for s in sweeps for r in rows_of(s, args.replay)]
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print("\n".join(table(rows)))


if __name__ == "__main__":
    main()
