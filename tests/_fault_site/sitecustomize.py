"""Loaded at start-up by worker processes of fault-injection sweeps (tests/_faults.py puts this
folder on PYTHONPATH): swaps in the fault pipeline when TUNER_FAULT is set."""

import os

if os.environ.get("TUNER_FAULT"):
    from tests._faults import install

    install()
