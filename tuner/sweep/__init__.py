"""What only makes sense inside a sweep: its settings, the runner and its workers, the outcome of
one trial, resume after a crash, pruning. Other packages use only the names below.

`tuner.sweep` as an attribute of the `tuner` package is the API verb (`tuner.sweep(...)`);
this package is reached by `from tuner.sweep import ...`.
"""

from __future__ import annotations

from tuner.sweep.records import METRIC_ATTRS, CandidateState, TrialRecord
from tuner.sweep.runner import run_sweep
from tuner.sweep.settings import SweepSettings, check_name, load_settings, open_study, records, storage_url, sweep_dir
from tuner.sweep.storage import redact_url

__all__ = [
    "METRIC_ATTRS",
    "CandidateState",
    "SweepSettings",
    "TrialRecord",
    "check_name",
    "load_settings",
    "open_study",
    "records",
    "redact_url",
    "run_sweep",
    "storage_url",
    "sweep_dir",
]
