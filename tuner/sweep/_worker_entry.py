"""Entry point of one `--workers N` child process: `python -m tuner.sweep._worker_entry NAME INDEX DEADLINE`."""

from __future__ import annotations

import sys

from tuner.errors import InputError


def main(argv: list[str]) -> int:
    name, index, deadline = argv[0], int(argv[1]), float(argv[2])
    from tuner._quiet import import_tensorflow_quietly

    import_tensorflow_quietly(lean=True)  # threads: the parent put this worker's share in the environment
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
