"""Search efficiency per second: the pick after 5, 10 and 20 minutes, per engine, over several seeds.

Each (space, engine, seed) is a real sweep through the runner (engine, pruning, constraints,
dedupe, study) with a `--timeout`, on a simulated clock so the whole benchmark fits a shared
2-core machine: candidate evaluations are memoized (a NAS-Bench-style tabular benchmark).
A candidate is trained once, to the end (early stopping, no pruning), with the wall and CPU
seconds of every stage recorded: before `fit` (features, build, pre-check), each epoch, after `fit`
(int8 conversion, evaluation, exact estimate). Whenever an engine proposes it, it is replayed
epoch by epoch: the pruner sees the same validation curve, and the sweep's clock advances by the
recorded seconds up to where the candidate stopped, was pruned or was cut by the deadline. The
search itself (sampler, pruner, study writes) runs for real and its time counts. The clock starts
at the first trial (start-up is the same for every engine: benchmarks/overhead.py). The seeds vary
the search, not the training noise (data split and training seed 0 everywhere).

The pool: the spaces have a continuous learning rate, so engines almost never propose the same
candidate twice and training every proposal would cost the benchmark's full simulated time per
run. `--build-pool N` trains N uniformly random candidates per space (random engine, seed
POOL_SEED); a run then replays an exact match when there is one and otherwise the pool's nearest
candidate (`distance`: family, DSP, input, widths, then dropout and learning rate), so the
engines search a surrogate of the space made of real trained candidates (as NAS-Bench-301 uses a
surrogate). `--train-misses` trains every new proposal instead (exact, slow).

    nice -n 10 python benchmarks/search_efficiency.py --build-pool 60       # train the pools (slow)
    python benchmarks/search_efficiency.py                                  # image + audio, 3 engines, 3 seeds
    python benchmarks/search_efficiency.py --spaces motion --seeds 7        # where settings were checked
    python benchmarks/search_efficiency.py --report-only                    # table from saved runs

`--clock cpu` (default) replays the process's CPU seconds (user + system, all threads), which load
from other processes does not inflate; `--clock wall` replays recorded wall seconds.
The pick at time T is what the sweep would pick: the feasible trial finished by T with the best
ranking score (int8 on validation); the table shows that score and the pick's int8 test accuracy.
Outputs (in --out): `cache-<space>.json` (the pool), `runs-<space>-<clock>.json` (finished trials
with their times), `search_efficiency-<clock>.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

# space -> budgets passed to the sweep (RAM and flash: the default target's)
SPACES: dict[str, dict[str, float]] = {
    "image": {},
    "audio": {},
    "motion": {"latency_ms": 2.0, "ram_kb": 11.5},
    "tabular": {"latency_ms": 0.3, "ram_kb": 6.0},
}
# engine label -> engine passed to the sweep: the per-second rules (tpe-cost), the default (tpe), random
ENGINES = {"per-second": "tpe-cost", "default": "tpe", "random": "random"}
# "pool": the random engine that builds the pool (--build-pool), not reported
CHECKPOINTS_MIN = [1, 2, 5, 10, 20]  # 5, 10, 20: the issue; 1, 2: where the engines still differ


class SimClock:
    """Real seconds (wall or CPU) of the search itself, minus the real time of cache misses, plus
    the recorded cost of every replayed candidate."""

    def __init__(self, kind: str) -> None:
        self.real = time.perf_counter if kind == "wall" else time.process_time
        self.origin = self.real()
        self.skipped = 0.0
        self.added = 0.0
        self.started = False  # 0 until the first trial: start-up does not count

    def time(self) -> float:
        return self.real() - self.origin - self.skipped + self.added if self.started else 0.0

    def start(self) -> None:
        self.origin, self.skipped, self.added, self.started = self.real(), 0.0, 0.0, True


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _train_once(run_candidate: Any, params: dict[str, Any], problem: Any) -> dict[str, Any]:
    """Run the real pipeline on a candidate to the end; the record replayed afterwards."""
    from tuner.errors import CandidateRejected

    t0 = _now()
    marks: dict[str, Any] = {"fit": None, "epochs": [], "curve": []}

    def on_event(kind: str, **info: Any) -> None:
        if kind == "precheck":
            marks["precheck"] = info
        if kind == "stage" and info.get("stage") == "train":
            marks["fit"] = _now()

    def on_epoch(epoch: int, logs: dict[str, float]) -> None:
        marks["epochs"].append(_now())
        marks["curve"].append(float(logs.get("val_metric", logs.get("val_accuracy", float("nan")))))

    try:
        res = run_candidate(params, problem, on_event=on_event, on_epoch=on_epoch)
    except CandidateRejected as rej:
        t1 = _now()
        cost = {k: {"pre": t1[i] - t0[i], "epochs": [], "post": 0.0} for i, k in enumerate(("wall", "cpu"))}
        return {"kind": "rejected", "reason": rej.reason, "margins": rej.margins, "metrics": rej.metrics, "cost": cost}
    except Exception as exc:  # noqa: BLE001 - recorded as a failed candidate
        t1 = _now()
        cost = {k: {"pre": t1[i] - t0[i], "epochs": [], "post": 0.0} for i, k in enumerate(("wall", "cpu"))}
        return {"kind": "failed", "reason": f"{type(exc).__name__}: {exc}"[:300], "cost": cost}
    t1 = _now()
    fit = marks["fit"] or t0
    cost = {}
    for i, k in enumerate(("wall", "cpu")):
        cum = [e[i] - fit[i] for e in marks["epochs"]]
        last = marks["epochs"][-1][i] if marks["epochs"] else fit[i]
        cost[k] = {"pre": fit[i] - t0[i], "epochs": cum, "post": t1[i] - last}
    pre = marks.get("precheck", {})
    metrics = json.loads(json.dumps(res.metrics, default=str))
    return {
        "kind": "ok",
        "state": res.state,
        "reason": res.reason,
        "estimate": {k: v for k, v in res.estimate.items() if k != "layers"},
        "metrics": metrics,
        "precheck": {
            "estimate": {k: v for k, v in pre.get("estimate", {}).items() if k != "layers"},
            "est_train_seconds": pre.get("est_train_seconds"),
            "metrics": pre.get("metrics", {}),
        },
        "curve": marks["curve"],
        "cost": cost,
    }


def _memoized(
    run_candidate: Any,
    cache: dict[str, Any],
    cache_file: Path,
    clock: SimClock,
    kind: str,
    stats: dict[str, Any],
    pool: bool = False,
) -> Any:
    """The pipeline's run_candidate, memoized and replayed on the simulated clock. `pool`: a candidate
    never trained replays its nearest trained one (`nearest`) instead of being trained."""
    from tuner.errors import CandidateFailed, CandidateRejected
    from tuner.pipeline import CandidateResult
    from tuner.sweep.pruning import Pruned

    def run(
        params: dict[str, Any], problem: Any, on_event: Any = None, on_epoch: Any = None, stages: Any = None
    ) -> Any:
        key = json.dumps({**params, "_epochs": problem.epochs}, sort_keys=True, default=str)
        if key not in cache and pool:
            key, dist = nearest(params, problem.epochs, cache)
            stats["nearest"] += 1
            stats["distance"] += dist
        elif key not in cache:
            stats["evaluated"] += 1
            start = clock.real()
            cache[key] = _train_once(run_candidate, params, problem)
            tmp = cache_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(cache))
            tmp.replace(cache_file)
            clock.skipped += clock.real() - start
        else:
            stats["replayed"] += 1
        rec = cache[key]
        cost = rec["cost"][kind]
        clock.added += cost["pre"]
        if rec["kind"] == "rejected":
            raise CandidateRejected(rec["reason"], rec["margins"], rec["metrics"])
        if rec["kind"] == "failed":
            raise CandidateFailed(rec["reason"])
        if on_event:
            on_event("precheck", **rec["precheck"])
        done = 0.0
        for e, (acc, cum) in enumerate(zip(rec["curve"], cost["epochs"], strict=True)):
            clock.added += cum - done
            done = cum
            if on_epoch:
                try:
                    on_epoch(e, {"val_metric": acc, "val_accuracy": acc})
                except Pruned as pr:
                    pr.train_seconds = cum  # type: ignore[attr-defined]
                    pr.epoch_seconds = [  # type: ignore[attr-defined]
                        b - a for a, b in zip([0.0, *cost["epochs"]], cost["epochs"][: e + 1], strict=False)
                    ]
                    raise
        clock.added += cost["post"]
        return CandidateResult(rec["state"], rec["reason"], dict(rec["metrics"]), dict(rec["estimate"]))

    return run


# How much a difference in one parameter moves a candidate away (nearest-neighbour lookup in the
# pool): architecture and input first, then widths, then the optimizer's settings.
WEIGHTS = {"family": 100.0, "dsp": 50.0, "resolution": 20.0, "alpha": 20.0, "color": 20.0, "layers": 10.0}
WEIGHTS |= {"window_ms": 10.0, "units": 3.0, "kernel_size": 3.0, "dropout": 1.0, "learning_rate": 5.0}
DEFAULT_WEIGHT = 5.0
CATEGORIES = ("family", "dsp", "color", "alpha")


def distance(p: dict[str, Any], q: dict[str, Any]) -> float:
    """Distance between two candidates: weighted mismatches; widths and resolution by log2 ratio,
    dropout per 0.1, learning rate per decade, other numbers by relative difference."""
    import math

    d = 0.0
    for k in set(p) | set(q):
        a, b = p.get(k), q.get(k)
        if a == b:
            continue
        w = WEIGHTS.get("units" if k.startswith("units") else k, DEFAULT_WEIGHT)
        if a is None or b is None or isinstance(a, str) or isinstance(b, str) or k in CATEGORIES:
            d += w
        elif k == "learning_rate":
            d += w * abs(math.log10(float(a) / float(b)))
        elif k == "dropout":
            d += w * abs(float(a) - float(b)) / 0.1
        elif k.startswith("units") or k == "resolution":
            d += w * abs(math.log2(float(a) / float(b)))
        else:
            d += w * abs(float(a) - float(b)) / max(abs(float(a)), abs(float(b)))
    return d


def nearest(params: dict[str, Any], epochs: Any, cache: dict[str, Any]) -> tuple[str, float]:
    """Key of the trained candidate nearest to `params` (same epochs setting), and its distance."""
    best, best_d = "", float("inf")
    for key in sorted(cache):
        other = json.loads(key)
        if other.pop("_epochs", None) != epochs:
            continue
        d = distance(params, other)
        if d < best_d:
            best, best_d = key, d
    if not best:
        raise SystemExit("the pool is empty: build it first (--build-pool N)")
    return best, best_d


def run_one(
    space: str, label: str, seed: int, minutes: float, kind: str, out: Path, pool: bool = True, trials: int = 100_000
) -> list[dict[str, Any]]:
    """One sweep on the simulated clock; its finished trials with the (simulated) time they finished."""
    import optuna

    import tuner.pipeline
    from tuner.sweep import SweepSettings, open_study, run_sweep
    from tuner.sweep import pruning as sweep_pruning
    from tuner.sweep import runner as sweep_runner

    cache_file = out / f"cache-{space}.json"
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    clock = SimClock(kind)
    fake_time = types.SimpleNamespace(time=clock.time, perf_counter=time.perf_counter, sleep=time.sleep)
    sweep_runner.time = fake_time
    sweep_pruning.time = fake_time
    stats: dict[str, Any] = {"evaluated": 0, "replayed": 0, "nearest": 0, "distance": 0.0}
    tuner.pipeline.run_candidate = _memoized(REAL_RUN, cache, cache_file, clock, kind, stats, pool)
    tuner.pipeline.save_artifacts = lambda folder, params, res: None
    sweep_runner._engine_seed = lambda settings, index, n_existing: seed
    if pool:  # nothing is trained: skip the start-up pre-check conversions (not on the clock anyway)
        sweep_runner.check_budgets_reachable = lambda *a, problem=None, **k: problem
    finished: dict[int, float] = {}
    started: list[bool] = []

    def emit(kind_: str, **info: Any) -> None:
        if kind_ == "trial" and not started:
            started.append(True)
            clock.start()  # the deadline was set at 0 (clock not started): minutes from here
        if kind_ == "result":
            finished[info["number"]] = clock.time()

    name = f"{space}-{label}-{seed}"
    t0 = time.time()
    run_sweep(
        SweepSettings.checked(
            name=name,
            space=space,
            engine=ENGINES.get(label, "random"),
            trials=trials,
            timeout=minutes * 60,
            seed=0,
            **SPACES[space],
        ),
        on_event=emit,
    )
    rows = []
    for t in open_study(name).get_trials(deepcopy=False):
        if t.number not in finished or t.state == optuna.trial.TrialState.RUNNING:
            continue
        a = t.user_attrs
        rows.append(
            {
                "number": t.number,
                "t": finished[t.number],
                "state": a.get("state"),
                "val_score": a.get("val_score"),
                "int8_accuracy": a.get("int8_accuracy"),
                "family": (a.get("candidate") or {}).get("family"),
                "epochs_run": a.get("epochs_run"),
                "duplicate": a.get("duplicate_of") is not None,
            }
        )
    print(
        f"{space:7s} {label:11s} seed {seed}: {len(rows)} trials in {minutes:.0f} simulated min "
        f"({time.time() - t0:.0f} s real; trained {stats['evaluated']}, replayed {stats['replayed']} "
        f"of which {stats['nearest']} the nearest in the pool (mean distance "
        f"{stats['distance'] / max(stats['nearest'], 1):.1f}); pool {len(cache)})",
        flush=True,
    )
    return rows


REAL_RUN: Any = None


def pick_at(rows: list[dict[str, Any]], seconds: float) -> tuple[float, float] | None:
    """(val score, int8 test accuracy) of the sweep's pick among trials finished by `seconds`."""
    ok = [r for r in rows if r["t"] <= seconds and r["state"] == "feasible" and r["val_score"] is not None]
    if not ok:
        return None
    best = max(ok, key=lambda r: (r["val_score"], -r["t"]))
    return float(best["val_score"]), float(best["int8_accuracy"])


def _cell(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.mean(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def report(out: Path, kind: str) -> str:
    lines = [
        f"Clock: {kind} seconds. Cells: mean [min-max] over seeds of the pick's int8 validation score "
        "(what the sweep ranks on) / mean of the pick's int8 test accuracy.",
        "",
        "| space | engine | seeds | "
        + " | ".join(f"{m} min val / test" for m in CHECKPOINTS_MIN)
        + " | trials in 20 min |",
        "|---|---|---|" + "---|" * (len(CHECKPOINTS_MIN) + 1),
    ]
    goals = []
    for f in sorted(out.glob(f"runs-*-{kind}.json")):
        space = f.stem.removeprefix("runs-").removesuffix(f"-{kind}")
        runs = json.loads(f.read_text())
        by_engine: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for key, rows in runs.items():
            label, seed = key.rsplit("/", 1)
            by_engine.setdefault(label, {})[seed] = rows
        for label in ENGINES:
            seeds = by_engine.get(label, {})
            if not seeds:
                continue
            cells = []
            for m in CHECKPOINTS_MIN:
                picks = [p for p in (pick_at(r, m * 60) for r in seeds.values()) if p]
                n_none = len(seeds) - len(picks)
                tests = f"{statistics.mean(p[1] for p in picks):.3f}" if picks else "-"
                cell = f"{_cell([p[0] for p in picks])} / {tests}"
                cells.append(cell + (f" ({n_none} none)" if n_none else ""))
            n_trials = [len([r for r in rows if r["t"] <= CHECKPOINTS_MIN[-1] * 60]) for rows in seeds.values()]
            lines.append(
                f"| {space} | {label} | {len(seeds)} | " + " | ".join(cells) + f" | {statistics.mean(n_trials):.0f} |"
            )
        goals.append(_goal(space, by_engine))
    text = "\n".join(lines + [""] + [g for g in goals if g])
    (out / f"search_efficiency-{kind}.md").write_text(text + "\n")
    return text


def _goal(space: str, by_engine: dict[str, dict[str, list[dict[str, Any]]]]) -> str:
    """'per-second reaches the default's 20-minute result in N minutes': the first time (15 s steps)
    at which the mean over seeds of tpe-cost's pick (val score) is at least tpe's mean at 20 minutes."""
    old, new = by_engine.get("default", {}), by_engine.get("per-second", {})
    if not old or not new:
        return ""
    horizon = CHECKPOINTS_MIN[-1] * 60
    olds = [p[0] for p in (pick_at(r, horizon) for r in old.values()) if p]
    if not olds:
        return ""
    target = statistics.mean(olds)
    for seconds in range(15, horizon + 1, 15):
        vals = [(pick_at(r, seconds) or (0.0, 0.0))[0] for r in new.values()]
        if statistics.mean(vals) >= target:
            return (
                f"{space}: per-second (tpe-cost) reaches the default's 20-minute result (val {target:.3f}, mean of "
                f"{len(olds)} seeds) in {seconds / 60:.2f} minutes ({len(new)} seeds)"
            )
    return (
        f"{space}: per-second (tpe-cost) does not reach the default's 20-minute result (val {target:.3f}) "
        f"within 20 minutes"
    )


POOL_SEED = 4242  # the pool: uniformly random candidates (random engine, this seed), trained to the end


def _run_in_subprocess(space: str, label: str, seed: int, minutes: float, kind: str, out: Path, **kw: Any) -> None:
    """One sweep in a fresh interpreter (no state shared between sweeps), rows saved."""
    import subprocess

    runs_file = out / f"runs-{space}-{kind}.json"
    code = (
        "import json, sys; from pathlib import Path; import benchmarks.search_efficiency as b; import tuner.pipeline\n"
        "b.REAL_RUN = tuner.pipeline.run_candidate\n"
        f"rows = b.run_one({space!r}, {label!r}, {seed}, {minutes}, {kind!r}, Path({str(out)!r}), **{kw!r})\n"
        f"f = Path({str(runs_file)!r}); import fcntl; lock = open(str(f) + '.lock', 'w')\n"
        "fcntl.flock(lock, fcntl.LOCK_EX)  # runs of other seeds may write the same file\n"
        "r = json.loads(f.read_text()) if f.exists() else {}\n"
        f"r[{label + '/' + str(seed)!r}] = rows; f.write_text(json.dumps(r))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spaces", nargs="+", default=["image", "audio"], choices=list(SPACES))
    ap.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    ap.add_argument("--seeds", nargs="+", type=int, default=[101, 102, 103])
    ap.add_argument("--minutes", type=float, default=CHECKPOINTS_MIN[-1], help="simulated sweep length")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="cpu")
    ap.add_argument("--build-pool", type=int, metavar="N", help="train N random candidates per space (the pool)")
    ap.add_argument("--pool-seed", type=int, default=POOL_SEED, help="seed of the pool's random candidates")
    ap.add_argument("--train-misses", action="store_true", help="train every new candidate (no nearest lookup)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TUNER_RESULTS"] = tmp
        if args.build_pool:
            for space in args.spaces:
                _run_in_subprocess(
                    space, "pool", args.pool_seed, 1e6, args.clock, args.out, pool=False, trials=args.build_pool
                )
        elif not args.report_only:
            for seed in args.seeds:
                for space in args.spaces:
                    runs_file = args.out / f"runs-{space}-{args.clock}.json"
                    for label in args.engines:
                        runs = json.loads(runs_file.read_text()) if runs_file.exists() else {}
                        if f"{label}/{seed}" not in runs:
                            _run_in_subprocess(
                                space, label, seed, args.minutes, args.clock, args.out, pool=not args.train_misses
                            )
    print(report(args.out, args.clock))


if __name__ == "__main__":
    main()
