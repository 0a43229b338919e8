"""Search efficiency: best feasible int8 accuracy after n trials, per engine, over several seeds.

Each (space, engine, seed) is a real sweep through the runner (engine, constraints, dedupe,
pruning, study), with one shortcut that keeps the whole benchmark well under an hour on 2 cores:
candidate evaluations are memoized. A candidate is trained once (fixed data split and training
seed, `--epochs` epochs) and its result is replayed whenever any engine or seed proposes it again,
epoch by epoch, so pruning sees the same validation curve. The seeds therefore vary the search,
not the training noise: this is a tabular benchmark built on the fly, as NAS-Bench does.

    python benchmarks/search_efficiency.py                       # full: motion + tabular, 3 seeds
    python benchmarks/search_efficiency.py --seeds 0 1 --trials 20 --random-trials 60   # reduced
    python benchmarks/search_efficiency.py --report-only         # table + plot from saved runs

Budgets make part of each space infeasible, so constraint handling matters. Outputs (in --out):
`runs-<space>.json` (best-so-far curves), `cache-<space>.json` (memoized evaluations),
`search_efficiency.png` and `search_efficiency.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# space -> (epochs, budgets passed to the sweep)
SPACES: dict[str, tuple[int, dict[str, float]]] = {
    "motion": (4, {"latency_ms": 2.0, "ram_kb": 11.5}),
    "tabular": (20, {"latency_ms": 0.3, "ram_kb": 6.0}),
}
ENGINES = ["tpe", "nsga2", "random", "hyperband"]
CHECKPOINTS = [10, 20, 30, 60, 90]


def _memoized(run_candidate: Any, cache: dict[str, Any], cache_file: Path, stats: dict[str, int]) -> Any:
    """Wrap the pipeline's run_candidate: evaluate a candidate once, replay it afterwards."""
    from tuner.errors import CandidateFailed, CandidateRejected
    from tuner.pipeline import CandidateResult

    def run(
        params: dict[str, Any], problem: Any, on_event: Any = None, on_epoch: Any = None, stages: Any = None
    ) -> Any:
        key = json.dumps({**params, "_epochs": problem.epochs}, sort_keys=True, default=str)
        if key not in cache:
            stats["evaluated"] += 1
            try:
                res = run_candidate(params, problem)  # full training, no pruning: the curve is replayed
                est = {k: v for k, v in res.estimate.items() if k != "layers"}
                keep = (
                    "float_accuracy",
                    "int8_accuracy",
                    "train_seconds",
                    "est_train_seconds",
                    "epochs_run",
                    "n_train",
                    "history",
                )
                cache[key] = {
                    "kind": "ok",
                    "state": res.state,
                    "reason": res.reason,
                    "estimate": est,
                    "metrics": {k: res.metrics[k] for k in keep if k in res.metrics},
                }
            except CandidateRejected as rej:
                cache[key] = {"kind": "rejected", "reason": rej.reason, "margins": rej.margins, "metrics": rej.metrics}
            except Exception as exc:  # noqa: BLE001 - recorded as a failed candidate
                cache[key] = {"kind": "failed", "reason": f"{type(exc).__name__}: {exc}"[:300]}
            cache_file.write_text(json.dumps(cache))
        else:
            stats["replayed"] += 1
        rec = cache[key]
        if rec["kind"] == "rejected":
            raise CandidateRejected(rec["reason"], rec["margins"], rec["metrics"])
        if rec["kind"] == "failed":
            raise CandidateFailed(rec["reason"])
        if on_event:
            on_event("precheck", estimate=rec["estimate"], est_train_seconds=rec["metrics"]["est_train_seconds"])
        if on_epoch:
            for e, acc in enumerate(rec["metrics"]["history"].get("val_accuracy", [])):
                on_epoch(e, {"val_accuracy": acc})
        return CandidateResult(rec["state"], rec["reason"], dict(rec["metrics"]), dict(rec["estimate"]))

    return run


def best_so_far(study: Any) -> list[float]:
    """Best feasible int8 accuracy after each trial (0 until the first feasible one)."""
    out, best = [], 0.0
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if t.user_attrs.get("state") == "feasible":
            best = max(best, float(t.user_attrs.get("int8_accuracy", 0.0)))
        out.append(best)
    return out


def run_space(space: str, engines: list[str], seeds: list[int], trials: int, random_trials: int, out: Path) -> None:
    import tuner.pipeline
    from tuner.sweep import SweepSettings, open_study, run_sweep
    from tuner.sweep import runner as sweep_runner

    epochs, budgets = SPACES[space]
    cache_file = out / f"cache-{space}.json"
    runs_file = out / f"runs-{space}.json"
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    runs = json.loads(runs_file.read_text()) if runs_file.exists() else {}
    stats = {"evaluated": 0, "replayed": 0}
    tuner.pipeline.run_candidate = _memoized(tuner.pipeline.run_candidate, cache, cache_file, stats)
    tuner.pipeline.save_artifacts = lambda folder, params, res: None
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TUNER_RESULTS"] = tmp
        for seed in seeds:
            for engine in engines:
                key = f"{engine}/{seed}"
                n = random_trials if engine == "random" else trials
                if len(runs.get(key, [])) >= n:
                    continue
                # same data split and training seed (0) everywhere; `seed` drives the search only
                sweep_runner._engine_seed = lambda settings, index, n_existing, s=seed: s
                start = time.time()
                name = f"{space}-{engine}-{seed}"
                run_sweep(
                    SweepSettings.checked(
                        name=name, space=space, engine=engine, trials=n, epochs=epochs, seed=0, **budgets
                    )
                )
                runs[key] = best_so_far(open_study(name))
                runs_file.write_text(json.dumps(runs))
                print(
                    f"{space:8s} {engine:9s} seed {seed}: best {runs[key][-1]:.3f} after {n} trials "
                    f"({time.time() - start:.0f} s; evaluated {stats['evaluated']}, replayed {stats['replayed']})",
                    flush=True,
                )


def report(out: Path) -> str:
    lines = [
        "| space | engine | seeds | " + " | ".join(f"@{c}" for c in CHECKPOINTS) + " |",
        "|---|---|---|" + "---|" * len(CHECKPOINTS),
    ]
    curves: dict[str, dict[str, list[list[float]]]] = {}
    for f in sorted(out.glob("runs-*.json")):
        space = f.stem.removeprefix("runs-")
        for key, curve in json.loads(f.read_text()).items():
            curves.setdefault(space, {}).setdefault(key.split("/")[0], []).append(curve)
    for space, by_engine in curves.items():
        for engine in ENGINES:
            runs = by_engine.get(engine, [])
            if not runs:
                continue
            cells = []
            for c in CHECKPOINTS:
                vals = [r[c - 1] for r in runs if len(r) >= c]
                cells.append(f"{statistics.mean(vals):.3f} ± {statistics.pstdev(vals):.3f}" if vals else "")
            lines.append(f"| {space} | {engine} | {len(runs)} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    (out / "search_efficiency.md").write_text(table + "\n")
    _plot(curves, out / "search_efficiency.png")
    return table


def _plot(curves: dict[str, dict[str, list[list[float]]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, max(len(curves), 1), figsize=(6 * max(len(curves), 1), 4), squeeze=False)
    for ax, (space, by_engine) in zip(axes[0], curves.items(), strict=False):
        for engine in ENGINES:
            runs = by_engine.get(engine)
            if not runs:
                continue
            n = min(len(r) for r in runs)
            arr = np.array([r[:n] for r in runs])
            x = np.arange(1, n + 1)
            ax.plot(x, arr.mean(axis=0), label=f"{engine} ({len(runs)} seeds)")
            ax.fill_between(x, arr.min(axis=0), arr.max(axis=0), alpha=0.15)
        ax.set_title(f"{space}: best feasible int8 accuracy")
        ax.set_xlabel("trials")
        ax.set_ylabel("int8 accuracy (test split)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spaces", nargs="+", default=list(SPACES), choices=list(SPACES))
    ap.add_argument("--engines", nargs="+", default=ENGINES, choices=ENGINES)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--trials", type=int, default=30, help="trials per run for tpe, nsga2, hyperband")
    ap.add_argument("--random-trials", type=int, default=90, help="trials per run for random")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not args.report_only:
        for space in args.spaces:
            run_space(space, args.engines, args.seeds, args.trials, args.random_trials, args.out)
    print(report(args.out))
    print(f"plot: {args.out / 'search_efficiency.png'}", file=sys.stderr)


if __name__ == "__main__":
    main()
