"""Latency accuracy of the estimator: leave-one-out error, per-op model vs the naive baseline.

Rebuilds the reference models of `shared/calibration/README.md` in Keras
(`benchmarks/reference_models.py`), counts their work units with the estimator, and for every
measurement of `calibration/latency.csv`:

- leave-one-out (LOO): refit everything without that row, predict it. Rows whose board has
  other rows measure the error the bundled *calibrated* profiles have on an unseen model;
- leave-one-board-out (cold start): drop every row of the board, predict it from the other
  boards of the kernel family (CoreMark/MHz transfer). This is the error of the *transferred*
  profiles (boards without measurements, e.g. nano33ble).

The naive baseline is one cycles-per-MAC constant per board, fitted and transferred by the same
rules. Prints markdown tables (MAPE = mean absolute percentage error).

    python benchmarks/estimator_accuracy.py [--models DIR] [--check]

`--check` also verifies that the work units stored in `tuner/estimate/_calibration_data.py`
(which the bundled profiles were fitted with) match the rebuilt models.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the repo, if tuner is not installed

from reference_models import REFERENCE_MACS, build_all  # noqa: E402


def _table(rows, title: str) -> None:
    from tuner.estimate._fit import mape

    print(f"\n### {title}\n")
    print("| board | kernels | model | measured ms | per-op ms | per-op err | naive ms | naive err |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r.board} | {r.kernels} | {r.model} | {r.measured_ms:.1f} | {r.per_op_ms:.1f} | "
            f"{r.per_op_err:+.0%} | {r.naive_ms:.1f} | {r.naive_err:+.0%} |"
        )
    by_board = defaultdict(list)
    for r in rows:
        by_board[r.board].append(r)
    print("\n| board | rows | per-op MAPE | naive MAPE |")
    print("|---|---:|---:|---:|")
    for b, rs in by_board.items():
        per_op, naive = mape([r.per_op_err for r in rs]), mape([r.naive_err for r in rs])
        print(f"| {b} | {len(rs)} | {per_op:.1%} | {naive:.1%} |")
    print(
        f"| **overall** | {len(rows)} | **{mape([r.per_op_err for r in rows]):.1%}** | "
        f"**{mape([r.naive_err for r in rows]):.1%}** |"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="results/reference_models", help="cache folder for the .tflite files")
    ap.add_argument("--check", action="store_true", help="fail if stored work units differ from the rebuilt models")
    args = ap.parse_args()

    from tuner.estimate._calibration_data import MEASUREMENTS, REFERENCE_FEATURES
    from tuner.estimate._features import model_features
    from tuner.estimate._fit import leave_one_board_out, leave_one_out, mape
    from tuner.estimate._graph import op_macs, parse

    features, status = {}, 0
    print("| model | MACs (listed) | MACs (rebuilt) | work units match stored |")
    print("|---|---:|---:|---|")
    for name, path in build_all(args.models).items():
        g = parse(path)
        features[name] = model_features(g)
        macs = sum(op_macs(g, op) for op in g.ops)
        same = all(abs(features[name][k] - REFERENCE_FEATURES[name][k]) < 0.5 for k in features[name])
        status |= int(args.check and not same) | int(macs != REFERENCE_MACS[name])
        print(f"| {name} | {REFERENCE_MACS[name]:,} | {macs:,} | {'yes' if same else 'NO'} |")

    loo = leave_one_out(MEASUREMENTS, features)
    within = [r for r in loo if not r.cold_start]
    cold = leave_one_board_out(MEASUREMENTS, features)
    _table(within, "Leave-one-out, boards with other measurements (error of a calibrated profile)")
    _table(cold, "Leave-one-board-out (cold start: error of a transferred profile)")
    per_op, naive = mape([r.per_op_err for r in within]), mape([r.naive_err for r in within])
    print(
        f"\nGoal: leave-one-out MAPE <= 15% and clearly below naive: per-op {per_op:.1%} vs naive "
        f"{naive:.1%} "
        f"-> {'met' if per_op <= 0.15 and per_op < naive else 'NOT met'}"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
