"""tinyml-tuner: hardware-aware AutoML for microcontrollers.

Python API with the CLI's verbs: `sweep`, `leaderboard`, `show`, `export`, `verify`, `retrain`, `report`.
Importing the package does not import TensorFlow; the heavy work is imported when a verb runs.
"""

from __future__ import annotations

import tuner.sweep as _sweep_package  # noqa: F401  (loaded first: the name `sweep` below stays the API verb)
from tuner.api import export, leaderboard, report, retrain, show, sweep, verify

__all__ = ["export", "leaderboard", "report", "retrain", "show", "sweep", "verify"]
__version__ = "0.1.0"
