"""The first trial's training-time estimate when the machine's load differs from the probe's.

The host probe is cached once per machine; each sweep start scales it by a one-second load check
(tuner.estimate.training_time.load_check). For each pair (busy processes while the probe is
measured, busy processes during the sweep) this runs, in a fresh TUNER_CACHE, the probe and then a
fresh 1-trial sweep per space, and compares the first trial's estimate (at the epochs it ran) with
its actual `train_seconds`, with the check and without it (the estimate divided by its scale):

    python benchmarks/training_time_load.py                       # probe 0,3 x sweep 0,3 busy; 3 spaces
    python benchmarks/training_time_load.py --probe-busy 0 --sweep-busy 2 --spaces image
    python benchmarks/training_time_load.py --report-only

Busy processes are `while True: pass` loops (each takes one core). Rows: --out/rows.jsonl.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = "import sys; from tuner.cli import main; sys.argv[0] = 'tuner'; main()"


def busy(n: int) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    time.sleep(2 if n else 0)
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
        p.wait()


def one_pair(probe_busy: int, sweep_busy: int, spaces: list[str], work: Path, seed: int) -> list[dict]:
    cache = work / f"cache-p{probe_busy}-s{sweep_busy}"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TUNER_CACHE": str(cache), "TUNER_RESULTS": str(work / "results")}
    procs = busy(probe_busy)
    try:
        probe = "from tuner.estimate.training_time import machine_host; machine_host()"
        subprocess.run([sys.executable, "-c", probe], env=env, check=True, capture_output=True)
    finally:
        stop(procs)
    rows = []
    for space in spaces:
        name = f"load-p{probe_busy}-s{sweep_busy}-{space}"
        shutil.rmtree(work / "results" / name, ignore_errors=True)
        procs = busy(sweep_busy)
        try:
            cmd = [sys.executable, "-c", CLI, "sweep", "--space", space, "--trials", "1", "--name", name]
            run = subprocess.run([*cmd, "--seed", str(seed)], env=env, capture_output=True, text=True)
        finally:
            stop(procs)
        folder = work / "results" / name
        try:
            m = json.loads((folder / "trials/0/metrics.json").read_text())
            host = json.loads((folder / "host.json").read_text())
        except (OSError, ValueError):
            print(f"{name}: no trained trial ({run.stderr.strip().splitlines()[-1:]})", file=sys.stderr)
            continue
        est = m["est_compile_seconds"] + len(m["epoch_seconds"]) * m["est_epoch_seconds"]
        row = {
            "probe_busy": probe_busy,
            "sweep_busy": sweep_busy,
            "space": space,
            "scale": host.get("load_scale", 1.0),
            "actual": m["train_seconds"],
            "with_check": est,
            "without": est / host.get("load_scale", 1.0),
            "load": os.getloadavg()[0],
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def report(rows: list[dict]) -> None:
    print("| probe under | sweep under | space | check x | actual s | with check | est/actual | without | est/actual |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        a = r["actual"]
        print(
            f"| +{r['probe_busy']} busy | +{r['sweep_busy']} busy | {r['space']} | {r['scale']:.2f} | {a:.1f} | "
            f"{r['with_check']:.1f} | {r['with_check'] / a:.2f} | {r['without']:.1f} | {r['without'] / a:.2f} |"
        )
    for key in ("with_check", "without"):
        ratios = [r[key] / r["actual"] for r in rows]
        err = math.exp(statistics.median(abs(math.log(x)) for x in ratios)) if ratios else float("nan")
        within = sum(1 / 1.5 <= x <= 1.5 for x in ratios)
        band = sum(0.5 <= x <= 2.0 for x in ratios)
        n = len(ratios)
        print(f"{key}: median error x{err:.2f}; within x1.5 {within}/{n}; in the x0.5-x2 band {band}/{n}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--probe-busy", type=int, nargs="+", default=[0, 3])
    ap.add_argument("--sweep-busy", type=int, nargs="+", default=[0, 3])
    ap.add_argument("--spaces", nargs="+", default=["image", "motion", "audio"])
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/training_time_load"))
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    saved = args.out / "rows.jsonl"
    if not args.report_only:
        with tempfile.TemporaryDirectory() as tmp:
            rows = [
                r
                for p in args.probe_busy
                for s in args.sweep_busy
                for r in one_pair(p, s, args.spaces, Path(tmp), args.seed)
            ]
        saved.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report([json.loads(line) for line in saved.read_text().splitlines() if line])


if __name__ == "__main__":
    main()
