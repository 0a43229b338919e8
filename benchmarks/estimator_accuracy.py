"""Latency accuracy of the estimator on the shipped calibration data, out of sample.

For every row of `tuner/_data/calibration/latency.csv` whose model is rebuilt here
(`benchmarks/reference_models.py`: the seven reference models, MAC counts as listed):

- leave-one-model-out (LOMO): drop every row of one model on every board, refit, predict that
  model on the boards that keep other rows: the error of a *calibrated* profile on a new model;
- leave-one-board-out (LOBO): drop every row of one board, refit, predict it by the cold-start
  transfer: the error of a *transferred* profile (a board nobody measured).

Both for the per-op model and the naive baseline (one cycles-per-MAC constant per board, fitted
and transferred by the same rules), per kernel family and overall. Bands: split-conformal on the
same out-of-sample residuals; coverage is measured jackknife-style (each row's band is built
without it). Rows of weight 0 (see the `use` column) are shown but kept out of the means.

    python benchmarks/estimator_accuracy.py [--models DIR] [--shipped] [--write-graphs]

By default the reference models are rebuilt in Keras (cached in DIR) and the shipped graphs
(`reference_graphs.json`, what the fit reads) are checked against them; `--shipped` skips that,
`--write-graphs` rewrites the shipped graphs from the rebuilt models.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the repo, if tuner is not installed

CMSIS_GOALS = {"lomo": 0.15, "lobo": 0.30, "coverage": 0.80, "ratio": 2.0}


def _check_graphs(models_dir: str, write: bool) -> int:
    from reference_models import REFERENCE_MACS, build_all

    from tuner.estimate._calibration_data import GRAPHS_JSON, reference_graphs
    from tuner.estimate._features import PATHS, model_units
    from tuner.estimate._graph import graph_to_dict, op_macs, parse

    shipped = reference_graphs()
    rebuilt = {name: parse(path) for name, path in build_all(models_dir).items()}
    status = 0
    print("| model | MACs (listed) | MACs (rebuilt) | work units match the shipped graph (all paths) |")
    print("|---|---:|---:|---|")
    for name, g in rebuilt.items():
        macs = sum(op_macs(g, op) for op in g.ops)
        same = name in shipped and all(model_units(g, p) == model_units(shipped[name], p) for p in PATHS)
        status |= int(macs != REFERENCE_MACS[name]) | int(not same and not write)
        print(f"| {name} | {REFERENCE_MACS[name]:,} | {macs:,} | {'yes' if same else 'NO'} |")
    if write:
        out = {k: graph_to_dict(g) for k, g in rebuilt.items()}
        GRAPHS_JSON.write_text(json.dumps(out, separators=(",", ":"), sort_keys=True) + "\n")
        print(f"\nwrote {GRAPHS_JSON}")
    return status


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.1%}"


def _figures(held, family: str | None) -> tuple[int, float, float, float, float]:
    from tuner.estimate._validate import jackknife_coverage, mape

    rows = [h for h in held if h.weight > 0 and (family is None or h.family == family)]
    cov, ratio, n = jackknife_coverage(held, family)
    return n, mape([h.per_op_err for h in rows]), mape([h.naive_err for h in rows]), cov, ratio


def _cells(f: tuple[int, float, float, float, float]) -> list[str]:
    n, per_op, naive, cov, ratio = f
    return [str(n), _pct(per_op), _pct(naive), _pct(cov), "-" if math.isnan(ratio) else f"{ratio:.2f}"]


def _summary(lomo, lobo) -> dict:
    print("\n### Summary (rows with weight > 0)\n")
    print(
        "| family | LOMO rows | LOMO per-op MAPE | LOMO naive MAPE | LOMO band coverage | LOMO median high/low "
        "| LOBO rows | LOBO per-op MAPE | LOBO naive MAPE | LOBO band coverage | LOBO median high/low |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    figures = {}
    for fam in [*sorted({h.family for h in [*lomo, *lobo]}), None]:
        figures[fam] = (_figures(lomo, fam), _figures(lobo, fam))
        cells = ["**all**" if fam is None else fam, *_cells(figures[fam][0]), *_cells(figures[fam][1])]
        print("| " + " | ".join(cells) + " |")
    # the cross-path ratios were written after seeing the data: the cold start within a path alone
    same = [h for h in lobo if not h.how.startswith("cross-path")]
    figures["same-path"] = _figures(same, "cmsis-nn")
    print(
        "| cmsis-nn, LOBO rows without a cross-path ratio | | | | | | "
        + " | ".join(_cells(figures["same-path"]))
        + " |"
    )
    return figures


def _rows(held, title: str) -> None:
    from tuner.estimate._validate import jackknife_q

    print(f"\n### {title}\n")
    print("| board | path | model | weight | measured ms | per-op ms | per-op err | naive err | in band | scale from |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|---|")
    for h in held:
        q = jackknife_q(held, h)
        inside = "yes" if h.score <= q else "NO"
        w = h.half_width(q)
        print(
            f"| {h.board} | {h.path} | {h.model} | {h.weight:g} | {h.measured_ms:.3g} | {h.per_op_ms:.3g} | "
            f"{h.per_op_err:+.0%} | {h.naive_err:+.0%} | {inside} (x{math.exp(-w):.2f}..x{math.exp(w):.2f}) | "
            f"{h.how} |"
        )


def _unfitted() -> None:
    from tuner.estimate._calibration_data import measurements, reference_graphs
    from tuner.estimate._features import kernel_path, model_units
    from tuner.estimate._fit import fit_all, observations
    from tuner.targets import list_targets

    targets = {t.id: t for t in list_targets()}
    graphs = reference_graphs()
    ref = fit_all(observations()).get("reference")
    print("\n### Rows not fitted (kernels unstated, two cores): checked against the bundled profile\n")
    print(
        "The last column is what the board's fitted *reference*-kernel scale predicts, for rows whose speed "
        "suggests reference kernels (a check, not a claim about the kernels they used).\n"
    )
    print(
        "| board | kernels | model | measured ms | profile estimate ms | band | in band | why not fitted "
        "| reference path ms |"
    )
    print("|---|---|---|---:|---:|---|---|---|---:|")
    for m in measurements():
        if m.family or m.board not in targets or m.model not in graphs:
            continue
        t = targets[m.board]
        c = t.latency.cycles_per_unit
        units = model_units(graphs[m.model], kernel_path(t.kernels, t.core))
        ms = sum(c[k] * v for k, v in units.items()) / (m.clock_mhz * 1e3)
        lo, hi = ms * t.latency.band_low, ms * t.latency.band_high
        if t.latency.unit_band is not None:  # calibrated: the band of this model's mix of units
            half = t.latency.unit_band.half_width({k: c[k] * v for k, v in units.items()})
            lo, hi = ms * math.exp(-half), ms * math.exp(half)
        inside = "yes" if lo <= m.latency_ms <= hi else "NO"
        ref_ms = "-"
        if ref is not None and m.board in ref.scale:
            u = model_units(graphs[m.model], "reference")
            cpb = t.memory.cycles_per_byte
            ref_ms = f"{ref.cycles(ref.scale[m.board], u, cpb) / (m.clock_mhz * 1e3):.3g}"
        print(
            f"| {m.board} | {m.kernels} | {m.model} | {m.latency_ms:.3g} | {ms:.3g} | {lo:.3g}..{hi:.3g} | {inside} "
            f"| {m.use} | {ref_ms} |"
        )


def _nested_band_check(obs) -> None:
    """Would the training rows alone have chosen the normalised band? For each held-out model, an
    inner leave-one-model-out on the other models compares plain and normalised bands."""
    from dataclasses import replace

    from tuner.estimate._validate import _group, jackknife_coverage, leave_one_model_out

    print("\n### Nested check of the band rule (inner leave-one-model-out on the training rows of each fold)\n")
    print(
        "The normalised band was chosen after seeing the full-data figures; this is what the training rows "
        "of each outer fold say on their own (coverage, median high/low; inner pools under 5 rows borrow the "
        "pool of all families).\n"
    )
    print(
        "| family | outer held-out model | inner rows | plain: coverage, median high/low "
        "| normalised: coverage, median high/low |"
    )
    print("|---|---|---:|---|---|")
    for fam in ("cmsis-nn", "mvp"):
        for g in sorted({_group(o.model) for o in obs}):
            inner = leave_one_model_out([o for o in obs if _group(o.model) != g])
            plain = [replace(h, sigma=math.nan) for h in inner]
            c0, r0, n = jackknife_coverage(plain, fam)
            c1, r1, _ = jackknife_coverage(inner, fam)
            if n:
                print(f"| {fam} | {g} | {n} | {c0:.0%}, {r0:.2f} | {c1:.0%}, {r1:.2f} |")


def _fits() -> None:
    from tuner.estimate._fit import fit_all, observations

    obs = observations()
    print("\n### What was fitted on what (full fit, the bundled profiles)\n")
    print("| path | boards (rows, summed weight) | per-unit costs (x board scale) | memory factor g | board scales |")
    print("|---|---|---|---:|---|")
    for path, f in fit_all(obs).items():
        mine = [o for o in obs if o.path == path and o.weight > 0]
        boards = ", ".join(
            f"{b} ({sum(o.board == b for o in mine)}, {sum(o.weight for o in mine if o.board == b):g})"
            for b in sorted({o.board for o in mine})
        )
        coeffs = ", ".join(f"{k} {v:.3g}" for k, v in f.coeffs.items())
        scales = ", ".join(f"{b} {s:.3g}" for b, s in f.scale.items())
        print(f"| {path} | {boards} | {coeffs} | {f.memory_factor:.3g} | {scales} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="results/reference_models", help="cache folder for the rebuilt .tflite files")
    ap.add_argument("--shipped", action="store_true", help="use the shipped graphs without rebuilding the models")
    ap.add_argument("--write-graphs", action="store_true", help="rewrite the shipped graphs from the rebuilt models")
    args = ap.parse_args()
    status = 0 if args.shipped else _check_graphs(args.models, args.write_graphs)

    from tuner.estimate._fit import observations
    from tuner.estimate._validate import leave_one_board_out, leave_one_model_out

    obs = observations()
    lomo, lobo = leave_one_model_out(obs), leave_one_board_out(obs)
    figures = _summary(lomo, lobo)
    (_, *lomo_c), (_, *lobo_c) = figures["cmsis-nn"]
    _, *same = figures["same-path"]
    checks = [
        ("LOMO MAPE <= 15%", lomo_c[0] <= CMSIS_GOALS["lomo"], _pct(lomo_c[0])),
        ("LOMO below naive", lomo_c[0] < lomo_c[1], f"{_pct(lomo_c[0])} vs {_pct(lomo_c[1])}"),
        ("LOBO MAPE <= 30%", lobo_c[0] <= CMSIS_GOALS["lobo"], _pct(lobo_c[0])),
        ("LOBO below naive", lobo_c[0] < lobo_c[1], f"{_pct(lobo_c[0])} vs {_pct(lobo_c[1])}"),
        ("LOBO below naive, rows without a cross-path ratio", same[0] < same[1], f"{_pct(same[0])} vs {_pct(same[1])}"),
        ("LOMO coverage >= 80%", lomo_c[2] >= CMSIS_GOALS["coverage"], _pct(lomo_c[2])),
        ("LOBO coverage >= 80%", lobo_c[2] >= CMSIS_GOALS["coverage"], _pct(lobo_c[2])),
        ("LOMO median high/low <= 2", lomo_c[3] <= CMSIS_GOALS["ratio"], f"{lomo_c[3]:.2f}"),
        ("LOBO median high/low <= 2", lobo_c[3] <= CMSIS_GOALS["ratio"], f"{lobo_c[3]:.2f}"),
    ]
    print("\nGoals on the CMSIS-NN family:\n")
    for name, ok, value in checks:
        print(f"- {name}: {value} ({'met' if ok else 'NOT met'})")
    _rows(lomo, "Leave-one-model-out (a calibrated board, a model it has never seen)")
    _rows(lobo, "Leave-one-board-out (a board with no rows: the transferred profiles)")
    _nested_band_check(obs)
    _unfitted()
    _fits()
    return status


if __name__ == "__main__":
    sys.exit(main())
