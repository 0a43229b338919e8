"""Where a sweep's wall time goes: per-stage seconds of every trial and the share outside `fit`.

For each space, a short `tuner sweep` runs in a child process (a fresh Python, as a user would
run it) for each code version, interleaved space by space so both see the same machine load:

    python benchmarks/overhead.py                                # this checkout only
    python benchmarks/overhead.py --before main~3                # that git ref vs this checkout
    python benchmarks/overhead.py --before 20010e7 --before 4c3fdf9 --after HEAD   # three versions
    python benchmarks/overhead.py --spaces motion --trials 10 --before 098d54c
    python benchmarks/overhead.py --spaces motion --before 5255a03~1 --after-args "--folds 1" --label folds-1
    python benchmarks/overhead.py --report-only                  # tables from the saved results
    python benchmarks/overhead.py --keep /tmp/oh                 # keep the sweeps (see training_time_accuracy.py)

The older version runs from `git archive REF` unpacked in a temporary folder, on PYTHONPATH.
Wall time is measured around the child; start-up is the time from launching it to the start of
its first trial (Optuna's datetime_start), so it includes Python, imports and data loading;
"between trials" is the mean time from one trial's end to the next one's start (0 when the
next started first: since the post stages run beside the next training, `int8_convert` to
`estimate_exact` are the child's seconds, not the sweep's, and `post_wait` is what the sweep
waited for them). Each version has
its own machine cache (`--out/cache/N`, kept between runs): its first sweep measures the machine,
as a new user's first sweep does, and later ones reuse it.
`fit` is the sum of `train_seconds` (model.fit only). An older version that did not record it for
pruned trials has their whole trial time counted as fit, which flatters the older version. Stage
columns need a version that records `stage_seconds`; `validation` includes the training of the
cross-validation folds 2..K on small data; since `validation_fit` is recorded (the folds'
trainings, a part of `validation`), those count as `fit`, and only the rest of `validation`
(features, conversions, scoring of the folds) is outside it. Since the folds run after the search
(the final ranking, study attribute `final_ranking_seconds`), their trainings count as `fit` and the
rest of that phase is outside it; when they train in several processes side by side (their fit
seconds then add up to more than the phase's wall time), the phase's whole wall time counts as fit.
Results: `--out/overhead.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STAGES = [
    "features",
    "build",
    "precheck",
    "fit",
    "int8_convert",
    "validation",
    "validation_fit",
    "eval_float",
    "eval_int8",
    "estimate_exact",
    "write",
    "record",
    "post_wait",
    "final_ranking",
    "final_ranking_fit",
]


def checkout(ref: str, into: Path) -> Path:
    """The tree of git `ref` unpacked into `into` (no worktree metadata is written)."""
    into.mkdir(parents=True, exist_ok=True)
    arch = into / "src.tar"
    with open(arch, "wb") as fh:
        subprocess.run(["git", "-C", str(ROOT), "archive", ref], stdout=fh, check=True)
    with tarfile.open(arch) as tar:
        tar.extractall(into / "src", filter="data")
    return into / "src"


def run_sweep(
    tree: Path,
    space: str,
    trials: int,
    seed: int,
    results: Path,
    name: str,
    cache: Path | None = None,
    extra: list[str] | None = None,
) -> dict[str, Any]:
    """One sweep of `tree`'s code in a child process; wall, start-up, fit and stage seconds.
    `cache`: that version's own TUNER_CACHE (versions write different machine-probe files);
    `extra`: more `tuner sweep` arguments."""
    env = dict(os.environ, PYTHONPATH=str(tree), TUNER_RESULTS=str(results), TF_CPP_MIN_LOG_LEVEL="3")
    if cache is not None:
        env["TUNER_CACHE"] = str(cache)
    cmd = [sys.executable, "-c", "import tuner.cli as c; getattr(c, 'entry', c.main)()", "sweep", "--space", space]
    cmd += ["--trials", str(trials), "--seed", str(seed), "--name", name, *(extra or [])]
    launched = time.time()
    proc = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True)
    wall = time.time() - launched
    if proc.returncode != 0:
        raise RuntimeError(f"sweep failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{results / name / 'study.db'}")
    trials_ = [t for t in study.get_trials(deepcopy=False) if t.datetime_start and t.datetime_complete]
    first = min(t.datetime_start.timestamp() for t in trials_)
    fit = 0.0
    stages: dict[str, float] = {}
    for t in trials_:
        a = t.user_attrs
        fit += float(a["train_seconds"]) if a.get("train_seconds") else _duration(t) * (a.get("epochs_run", 0) > 0)
        fit += float((a.get("stage_seconds") or {}).get("validation_fit", 0.0))  # the other folds' trainings
        for k, v in (a.get("stage_seconds") or {}).items():
            stages[k] = stages.get(k, 0.0) + float(v)
    final = study.user_attrs.get("final_ranking_seconds") or {}  # folds 2..K after the search
    # in several processes side by side their fit seconds add up to more than the phase's wall time
    fit += min(float(final.get("fit", 0.0)), float(final.get("total", 0.0)))
    if final:
        stages["final_ranking"] = float(final.get("total", 0.0))
        stages["final_ranking_fit"] = float(final.get("fit", 0.0))
    ordered = sorted(trials_, key=lambda t: t.datetime_start)
    # a trial whose post stages ran beside the next training (tuner.sweep.post_pool) ends after the
    # next one started: no gap
    gaps = [
        max(0.0, (b.datetime_start - a.datetime_complete).total_seconds())
        for a, b in zip(ordered, ordered[1:], strict=False)
    ]
    return {
        "space": space,
        "trials": len(trials_),
        "between": statistics.mean(gaps) if gaps else 0.0,
        "wall": wall,
        "startup": first - launched,
        "fit": fit,
        "stages": stages,
        "startup_phases": study.user_attrs.get("startup_seconds", {}),
        "load": os.getloadavg()[0],
        "feasible_best": max(
            [float(t.user_attrs.get("int8_accuracy", 0)) for t in trials_ if t.user_attrs.get("state") == "feasible"]
            or [0.0]
        ),
    }


def _duration(t: Any) -> float:
    return (t.datetime_complete - t.datetime_start).total_seconds()


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| space | version | trials | wall s | start-up s | fit s | outside fit | between trials s | best int8 | load |"
    )
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out = 1 - r["fit"] / r["wall"]
        lines.append(
            f"| {r['space']} | {r['label']} | {r['trials']} | {r['wall']:.0f} | {r['startup']:.1f} | {r['fit']:.0f} "
            f"| {out:.0%} | {r.get('between', float('nan')):.1f} | {r['feasible_best']:.3f} | {r['load']:.1f} |"
        )
    staged = [r for r in rows if r["stages"]]
    if staged:
        lines += ["", "Seconds per trial, mean over the sweep's trials:", ""]
        lines.append("| space | version | " + " | ".join(STAGES) + " |")
        lines.append("|---|---|" + "---:|" * len(STAGES))
        for r in staged:
            cells = [f"{r['stages'].get(s, 0.0) / r['trials']:.2f}" for s in STAGES]
            lines.append(f"| {r['space']} | {r['label']} | " + " | ".join(cells) + " |")
        lines += ["", "Start-up phases (s):", ""]
        for r in staged:
            ph = ", ".join(f"{k} {v:.1f}" for k, v in r["startup_phases"].items())
            lines.append(f"- {r['space']} / {r['label']}: {ph}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spaces", nargs="+", default=["motion", "image", "audio"])
    ap.add_argument("--trials", type=int, default=6, help="trials per sweep")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--before", action="append", default=[], help="git ref of an older version to compare with (repeatable)"
    )
    ap.add_argument("--after", help="git ref to run as the newer version (default: this checkout as it is)")
    ap.add_argument("--label", default="after", help="label of the newer version's runs")
    ap.add_argument("--after-args", default="", help='more `tuner sweep` arguments for the newer version ("--folds 1")')
    ap.add_argument("--repeat", type=int, default=1, help="runs per version and space (interleaved)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    ap.add_argument("--keep", type=Path, help="keep the sweeps' results folders here (default: deleted)")
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    saved = args.out / "overhead.json"
    rows: list[dict[str, Any]] = json.loads(saved.read_text()) if saved.exists() else []
    if not args.report_only:
        with tempfile.TemporaryDirectory() as tmp:
            tmpd = Path(tmp)
            versions = [(args.label, checkout(args.after, tmpd / "after") if args.after else ROOT)]
            for i, ref in enumerate(args.before):
                versions.insert(i, (f"before ({ref})", checkout(ref, tmpd / f"before{i}")))
            for space in args.spaces:
                for k in range(args.repeat):
                    for v, (label, tree) in enumerate(versions):
                        name = f"oh-{space}-{len(rows)}"
                        root = (args.keep / label.split()[0]) if args.keep else tmpd / "results"
                        extra = shlex.split(args.after_args) if label == args.label else []
                        cache = args.out / "cache" / str(v)  # each version its own machine probe
                        r = run_sweep(tree, space, args.trials, args.seed, root, name, cache, extra)
                        r["label"] = label
                        rows.append(r)
                        saved.write_text(json.dumps(rows, indent=1))
                        print(
                            f"{space} {label} #{k}: wall {r['wall']:.0f} s, start-up {r['startup']:.1f} s, "
                            f"outside fit {1 - r['fit'] / r['wall']:.0%} (load {r['load']:.1f})",
                            flush=True,
                        )
    print(f"load now: {os.getloadavg()}; {os.cpu_count()} cores")
    print(table(rows))
    by = {}
    for r in rows:
        by.setdefault((r["space"], r["label"]), []).append(1 - r["fit"] / r["wall"])
    for (space, label), v in by.items():
        if len(v) > 1:
            print(f"{space} {label}: outside fit {statistics.mean(v):.0%} over {len(v)} runs")


if __name__ == "__main__":
    main()
