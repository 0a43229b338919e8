"""Speed of the estimator: fast path (analytical arena) and exact path (tflite-micro arena).

Goal (issue 4): fast path <= 50 ms per model, exact path <= 0.5 s per model of MobileNet size,
on the 2-core development machine. Usage:

    python benchmarks/estimator_speed.py [--models DIR] [--repeat N]

Builds the reference models with `benchmarks/reference_models.py` (cached in DIR) and prints a
markdown table. Times are wall-clock medians; the first call of the process (module imports)
is excluded as warm-up and reported separately. The exact path keeps a tflite-micro worker
process; "new worker" is one exact call that has to start it first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the repo, if tuner is not installed

from reference_models import REFERENCE_MACS, build_all  # noqa: E402

FAST_LIMIT_MS = 50.0
EXACT_LIMIT_S = 0.5


def _median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="results/reference_models", help="cache folder for the .tflite files")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per model and path")
    ap.add_argument("--target", default="nano33ble", help="target id")
    args = ap.parse_args()
    paths = build_all(args.models)

    t0 = time.perf_counter()
    from tuner.estimate import _tflm, estimate_tflite
    from tuner.targets import load_target

    target = load_target(args.target)
    estimate_tflite(paths["kws_dscnn"].read_bytes(), target, exact=False)
    warm = time.perf_counter() - t0

    print(
        f"Estimator speed on target {args.target} (median of {args.repeat} runs; first call with imports: "
        f"{warm * 1e3:.0f} ms)\n"
    )
    print(
        "| model | MACs | .tflite bytes | ops | fast path (ms) | exact path (s) | exact, new worker (s) "
        "| arena fast / exact (B) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    ok = True
    for name, path in paths.items():
        buf = path.read_bytes()
        fast = _median_time(lambda b=buf: estimate_tflite(b, target, exact=False), args.repeat)
        _tflm._shutdown()  # the first exact call of a process starts the tflite-micro worker
        t = time.perf_counter()
        estimate_tflite(buf, target, exact=True)
        cold = time.perf_counter() - t
        exact = _median_time(lambda b=buf: estimate_tflite(b, target, exact=True), args.repeat)
        ef = estimate_tflite(buf, target, exact=False)
        ee = estimate_tflite(buf, target, exact=True)
        ok &= fast * 1e3 <= FAST_LIMIT_MS and exact <= EXACT_LIMIT_S
        print(
            f"| {name} | {REFERENCE_MACS[name]:,} | {len(buf):,} | {len(ef.layers)} | {fast * 1e3:.1f} | "
            f"{exact:.3f} | {cold:.2f} | {ef.arena_bytes:,} / {ee.arena_bytes:,} |"
        )
    print(
        f"\nlimits: fast <= {FAST_LIMIT_MS:g} ms, exact <= {EXACT_LIMIT_S:g} s per model: "
        f"{'met' if ok else 'NOT met'}"
        f" (a new worker is started once per process; load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
