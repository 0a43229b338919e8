"""Exceptions, chosen by what the caller must do next (as keras-tuner's errors.py).

- `InputError`: bad user input (file, flag, schema). The CLI prints one line and exits 2.
- `CandidateRejected`: the candidate breaks a budget; record it as rejected and go on.
- `CandidateFailed`: the candidate crashed (NaN loss, converter error, OOM); record and go on.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input. The message names the problem and the fix, on one line."""


class CandidateRejected(Exception):
    """A candidate is over a budget; `reason` says which and by how much."""

    def __init__(self, reason: str, margins: dict | None = None, metrics: dict | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.margins = margins or {}  # budget -> relative overshoot, as Optuna constraints
        self.metrics = metrics or {}  # pre-check figures (estimate, estimated training time)


class CandidateFailed(Exception):
    """A candidate could not be trained, converted or evaluated."""
