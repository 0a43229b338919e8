"""Trials per hour with 1 and 2 worker processes (`tuner sweep --workers N`) on this machine.

Both runs train the same candidates: a grid over a small, discrete slice of the motion space
(small dense/conv1d models, the case where one process cannot use both cores). Throughput is
measured between the first trial's start and the last trial's end (steady state), and also over
the whole command (including TensorFlow import, data loading and the host measurement).

    python benchmarks/parallel.py [--epochs 4] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPACE = """
name: motion-parallel
domain: motion
data: seglearn-watch
fixed: {epochs: 4, batch_size: 32, patience: 8, window_ms: 2000, stride_ms: 500, learning_rate: 0.003,
        dropout: 0.1, layers: 2, units2: 16, kernel_size: 3}
params:
  dsp: {type: categorical, choices: [raw, stats]}
  family: {type: categorical, choices: [dense, conv1d]}
  units1: {type: categorical, choices: [16, 32, 64]}
"""
GRID = 12  # 2 x 2 x 3 candidates


def run(workers: int, epochs: int, root: Path, space: Path) -> dict[str, float]:
    import optuna

    name = f"par{workers}"
    env = {**os.environ, "TUNER_RESULTS": str(root)}
    cmd = [
        sys.executable,
        "-c",
        "import tuner.cli as c; getattr(c, 'entry', c.main)()",
        "sweep",
        "--name",
        name,
        "--space",
        str(space),
        "--engine",
        "grid",
        "--trials",
        str(GRID),
        "--epochs",
        str(epochs),
        "--workers",
        str(workers),
    ]
    start = time.time()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.time() - start
    trials = optuna.load_study(study_name=name, storage=f"sqlite:///{root / name / 'study.db'}").get_trials()
    assert len(trials) == GRID, f"{len(trials)} trials"
    first = min(t.datetime_start for t in trials)
    last = max(t.datetime_complete for t in trials)
    steady = (last - first).total_seconds()
    return {
        "workers": workers,
        "trials": len(trials),
        "steady_s": steady,
        "wall_s": wall,
        "per_hour": 3600 * len(trials) / steady,
        "per_hour_wall": 3600 * len(trials) / wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        space = root / "motion-parallel.yaml"
        space.write_text(SPACE)
        rows = [run(w, args.epochs, root, space) for w in args.workers]
    print(f"cores: {os.cpu_count()}, {GRID} trials of small motion models, {args.epochs} epochs each")
    print(f"{'workers':>7} {'trials/hour':>12} {'speed-up':>9} {'incl. start-up':>15} {'speed-up':>9}")
    for r in rows:
        print(
            f"{r['workers']:>7} {r['per_hour']:>12.0f} {r['per_hour'] / rows[0]['per_hour']:>8.2f}x "
            f"{r['per_hour_wall']:>15.0f} {r['per_hour_wall'] / rows[0]['per_hour_wall']:>8.2f}x"
        )


if __name__ == "__main__":
    main()
