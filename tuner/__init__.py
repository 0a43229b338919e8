"""tinyml-tuner: hardware-aware AutoML for microcontrollers.

Python API with the CLI's verbs: `sweep`, `leaderboard`, `export`, `retrain`. Importing the package
does not import TensorFlow; the heavy work is imported when a verb runs.
"""

from __future__ import annotations

from tuner.api import export, leaderboard, retrain, sweep

__all__ = ["export", "leaderboard", "retrain", "sweep"]
__version__ = "0.1.0"
