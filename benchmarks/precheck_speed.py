"""Time to reject an over-budget candidate before training (the pre-check: build, int8-convert the
untrained model, estimate), on the motion data. The first call warms TensorFlow's converter up.

    python benchmarks/precheck_speed.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import time

PARAMS = {
    "window_ms": 2000,
    "stride_ms": 1000,
    "dsp": "raw",
    "family": "conv1d",
    "layers": 2,
    "units1": 32,
    "units2": 32,
    "kernel_size": 5,
    "dropout": 0.1,
    "learning_rate": 0.001,
    "epochs": 30,
    "batch_size": 32,
    "patience": 8,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from tuner.budgets import Budgets
    from tuner.errors import CandidateRejected
    from tuner.pipeline import Problem, run_candidate
    from tuner.targets import load_target

    problem = Problem.from_source("seglearn-watch", load_target("nano33ble"), Budgets(), domain="motion")
    problem.features(PARAMS)  # data windowing is cached per preprocessing setting
    problem.budgets = Budgets(latency_ms=2e-3, train_seconds=0.5)
    seconds = []
    for _ in range(args.repeat + 1):
        start = time.perf_counter()
        try:
            run_candidate(PARAMS, problem)
            raise SystemExit("the candidate was not rejected")
        except CandidateRejected:
            seconds.append(time.perf_counter() - start)
    print(f"first call (warm-up): {seconds[0]:.2f} s")
    rest = sorted(seconds[1:])
    print(f"next {len(rest)} calls: best {rest[0]:.2f} s, median {rest[len(rest) // 2]:.2f} s, worst {rest[-1]:.2f} s")


if __name__ == "__main__":
    main()
