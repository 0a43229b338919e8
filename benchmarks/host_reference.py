"""Measure the reference probe shipped in tuner/_data/host_reference.json.

A sweep without a training-time budget does not probe the machine (15-25 s); it starts from this
reference, scaled by a one-second load check (tuner.estimate.training_time.reference_host). The
reference is the median of N probes, each measured in a fresh process with the sweep's TensorFlow
threads (tuner.threads) and divided by its own load check, so `check_s` is 1.

    python benchmarks/host_reference.py                 # 8 probes, prints the JSON
    python benchmarks/host_reference.py --probes 5 --write
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMES = ["overhead_s", "step_s", "mac_s", "dw_mac_s", "bn_elem_s", "compile_s", "compile_layer_s", "conv_step_s"]


def child() -> None:
    from tuner._quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from tuner.estimate.training_time import measure_host

    host = measure_host()
    print("PROBE " + json.dumps(dataclasses.asdict(host)), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--probes", type=int, default=8)
    ap.add_argument("--write", action="store_true", help="write tuner/_data/host_reference.json")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child()
    probes, loads = [], []
    for i in range(args.probes):
        loads.append(os.getloadavg()[0])
        out = subprocess.run([sys.executable, __file__, "--child"], capture_output=True, text=True, check=True)
        probe = json.loads(next(line[6:] for line in out.stdout.splitlines() if line.startswith("PROBE ")))
        probes.append(probe)
        print(f"probe {i + 1}: load {loads[-1]:.1f}, check {probe['check_s']:.3f} s", flush=True)
    ref = dict(probes[0])
    for key in TIMES:
        ref[key] = statistics.median(p[key] / p["check_s"] for p in probes)
    cpu = platform.processor() or platform.machine()
    ref |= {"check_s": 1.0, "load_scale": 1.0}
    ref["source"] = (
        f"reference probe: median of {len(probes)} probes of the development machine ({os.cpu_count()}-core "
        f"{cpu} VM, TensorFlow CPU, every op on one thread) at load {min(loads):.1f}-{max(loads):.1f}, each "
        f"divided by its load check; scaled by this machine's load check"
    )
    text = json.dumps(ref, indent=1) + "\n"
    print(text)
    if args.write:
        (ROOT / "tuner" / "_data" / "host_reference.json").write_text(text)


if __name__ == "__main__":
    main()
