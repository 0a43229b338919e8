"""Where bundled data files (targets, search spaces) and results live."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent / "_data"
TARGETS_DIR = PACKAGE_DATA / "targets"
SPACES_DIR = PACKAGE_DATA / "search_spaces"


def results_root() -> Path:
    """Root folder of sweep outputs: $TUNER_RESULTS or ./results."""
    return Path(os.environ.get("TUNER_RESULTS", "results"))
