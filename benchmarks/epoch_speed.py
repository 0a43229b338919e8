"""Seconds per epoch of representative candidates under training-speed settings, accuracy beside.

Settings: the sweep's default fit; `steps_per_execution` 8 and 32 (several optimizer steps per
call into the graph); XLA (`jit_compile=True`); a `tf.data` pipeline with the features cached and
prefetched; TensorFlow thread counts (each in a child process, since they are fixed at start-up).
Same candidate, seed and epochs for all, so validation accuracy should agree within noise.

    python benchmarks/epoch_speed.py                     # all spaces, 4 epochs
    python benchmarks/epoch_speed.py --spaces motion --epochs 6
    python benchmarks/epoch_speed.py --settings spe8 spe8-built --thread-settings default --repeat 2

`spe8-built`: `steps_per_execution` 8 with the training state built before the fit
(tuner.train.build_for_fit), as sweeps train since the fifteenth round (docs/engines.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

CANDIDATES: dict[str, list[dict[str, Any]]] = {
    "motion": [
        {
            "window_ms": 2000,
            "stride_ms": 500,
            "dsp": "stats",
            "family": "dense",
            "layers": 2,
            "units1": 32,
            "units2": 16,
            "dropout": 0.1,
        },
        {
            "window_ms": 2000,
            "stride_ms": 500,
            "dsp": "raw",
            "family": "conv1d",
            "layers": 2,
            "units1": 16,
            "units2": 32,
            "kernel_size": 5,
            "dropout": 0.1,
        },
    ],
    "image": [
        {
            "family": "conv2d",
            "resolution": 32,
            "color": "grayscale",
            "layers": 3,
            "units1": 8,
            "units2": 16,
            "units3": 32,
            "kernel_size": 3,
            "dropout": 0.1,
        },
        {"family": "mobilenet_v1", "resolution": 32, "color": "grayscale", "alpha": 0.25, "dropout": 0.1},
    ],
    "audio": [
        {
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
        },
    ],
}
DATA = {"motion": "seglearn-watch", "image": "mnist-5k", "audio": "keywords"}
SETTINGS = ["default", "spe8", "spe32", "jit", "tfdata"]


def measure(space: str, params: dict[str, Any], setting: str, epochs: int) -> dict[str, Any]:
    import keras
    import numpy as np
    import tensorflow as tf

    from tuner.budgets import Budgets
    from tuner.models import build_model
    from tuner.pipeline import Problem
    from tuner.targets import load_target

    problem = Problem.from_source(DATA[space], load_target("nano33ble"), Budgets(), domain=space)
    pre, feats = problem.features(params)
    (x, y), (xv, yv) = feats["train"], feats["val"]
    keras.utils.set_random_seed(0)
    model = build_model(params, pre.input_shape, len(problem.class_names), seed=0)
    spe = {"spe8": 8, "spe8-built": 8, "spe32": 32}.get(setting, 1)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=spe,
        jit_compile=setting == "jit",
    )
    if setting == "spe8-built":  # the sweep's fit: training state built before it (one trace of the step)
        from tuner.train import build_for_fit

        build_for_fit(model)
    times: list[float] = []
    mark = {"t": 0.0}
    cb = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs: mark.update(t=time.perf_counter()),
        on_epoch_end=lambda e, logs: times.append(time.perf_counter() - mark["t"]),
    )
    if setting == "tfdata":
        train = tf.data.Dataset.from_tensor_slices((x, y)).cache().shuffle(len(x), seed=0).batch(32)
        val = tf.data.Dataset.from_tensor_slices((xv, yv)).cache().batch(32)
        hist = model.fit(train.prefetch(2), validation_data=val.prefetch(2), epochs=epochs, verbose=0, callbacks=[cb])
    else:
        hist = model.fit(x, y, validation_data=(xv, yv), epochs=epochs, batch_size=32, verbose=0, callbacks=[cb])
    return {
        "space": space,
        "family": params["family"],
        "setting": setting,
        "first_s": times[0],
        "epoch_s": float(np.median(times[1:])),
        "val_acc": float(hist.history["val_accuracy"][-1]),
        "threads": os.environ.get("TUNER_BENCH_THREADS", "default"),
    }


def child(args: argparse.Namespace) -> None:
    if args.threads != "default":
        import tensorflow as tf

        intra, inter = (int(v) for v in args.threads.split(","))
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    params = json.loads(args.params)
    print("ROW " + json.dumps(measure(args.space, params, args.setting, args.epochs)), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spaces", nargs="+", default=list(CANDIDATES))
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--thread-settings", nargs="+", default=["default", "2,1", "1,1"], help="intra,inter")
    ap.add_argument("--only-threads", action="store_true", help="only the thread settings (with the sweep's spe8)")
    ap.add_argument("--settings", nargs="+", default=SETTINGS, help=f"of {SETTINGS + ['spe8-built']}")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each (interleaved)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--space", help=argparse.SUPPRESS)
    ap.add_argument("--params", help=argparse.SUPPRESS)
    ap.add_argument("--setting", default="default", help=argparse.SUPPRESS)
    ap.add_argument("--threads", default="default", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    rows = []
    runs = (
        []
        if args.only_threads
        else [(s, p, st, "default") for s in args.spaces for p in CANDIDATES[s] for st in args.settings]
    )
    # thread counts with the fit the sweep uses (steps_per_execution 8), TensorFlow's default beside
    threads = args.thread_settings if args.only_threads else args.thread_settings[1:]
    runs += [(s, p, "spe8", th) for s in args.spaces for p in CANDIDATES[s] for th in threads]
    runs = [r for _ in range(args.repeat) for r in runs]
    for space, params, setting, threads in runs:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TUNER_BENCH_THREADS=threads)
        cmd = [sys.executable, __file__, "--child", "--space", space, "--params", json.dumps(params)]
        cmd += ["--setting", setting, "--threads", threads, "--epochs", str(args.epochs)]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("ROW ")), None)
        if line is None:
            print(f"{space} {params['family']} {setting} {threads}: failed: {out.stderr.strip()[-300:]}", flush=True)
            continue
        r = json.loads(line[4:])
        rows.append(r)
        print(
            f"{space} {r['family']} {setting} threads={threads}: first {r['first_s']:.2f} s, "
            f"epoch {r['epoch_s']:.2f} s, val acc {r['val_acc']:.3f} (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    print(f"\nload now: {os.getloadavg()}\n")
    print("| space | family | setting | threads (intra,inter) | first epoch s | s/epoch | val acc |")
    print("|---|---|---|---|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['space']} | {r['family']} | {r['setting']} | {r['threads']} | {r['first_s']:.2f} "
            f"| {r['epoch_s']:.2f} | {r['val_acc']:.3f} |"
        )


if __name__ == "__main__":
    main()
