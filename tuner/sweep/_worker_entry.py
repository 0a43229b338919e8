"""Entry point of one `--workers N` child process: `python -m tuner.sweep._worker_entry NAME INDEX DEADLINE`."""

from __future__ import annotations

import os
import sys

from tuner.errors import InputError


def main(argv: list[str]) -> int:
    name, index, deadline = argv[0], int(argv[1]), float(argv[2])
    import tensorflow as tf

    n = int(os.environ.get("TF_NUM_INTRAOP_THREADS", "0"))
    if n:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(int(os.environ.get("TF_NUM_INTEROP_THREADS", n)))
    from tuner.sweep.runner import run_worker
    from tuner.sweep.settings import load_settings

    try:
        run_worker(load_settings(name), index, deadline or None)
    except InputError as exc:
        print(f"error: {exc}", flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
