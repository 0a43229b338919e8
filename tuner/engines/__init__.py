"""Search engines behind one interface.

Every engine hands the runner an `Asked` (a live Optuna trial plus the candidate's params) and
hears back a score; the runner records everything in the sweep's Optuna study, so leaderboard,
export and report do not care which engine ran. Optuna engines sample through the study's sampler;
`grid` walks the space's distinct candidates; `hyperband` and `bayesian` drive keras-tuner's
oracles directly and pass their choices to Optuna through a fixed-value sampler.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuner.engines._base import Asked, Engine
from tuner.errors import InputError

__all__ = ["ENGINES", "MULTI_OBJECTIVE", "PER_SECOND", "Asked", "Engine", "directions", "make_engine"]

ENGINES = {
    "tpe": "Optuna TPE with constraints (infeasible regions are learned); default",
    "nsga2": "Optuna NSGA-II, multi-objective: int8 accuracy up, latency down, RAM down",
    "random": "Optuna random sampling (baseline)",
    "grid": "every distinct candidate of a small, discrete space, in seeded random order",
    "hyperband": "keras-tuner Hyperband oracle: many short trainings, the best get more epochs",
    "bayesian": "keras-tuner Bayesian optimization oracle (Gaussian process)",
    "tpe-cost": "tpe weighing expected improvement by predicted seconds, pruning at equal training time "
    "(issue 14; measured, not the default: docs/engines.md)",
}

MULTI_OBJECTIVE = {"nsga2"}
# Engines with the per-second rules: cost-aware sampling, the equal-time pruner, the scaled warm-up.
PER_SECOND = {"tpe-cost"}
# Engines whose search state lives in one process (keras-tuner oracles): one worker only.
SINGLE_PROCESS = {"hyperband", "bayesian"}


def check_engine(name: str) -> None:
    if name not in ENGINES:
        raise InputError(f"unknown engine '{name}'; known: {', '.join(ENGINES)}")


def directions(engine: str) -> list[str]:
    return ["maximize", "minimize", "minimize"] if engine in MULTI_OBJECTIVE else ["maximize"]


def make_engine(name: str, space: Any, seed: int, folder: Path, max_epochs: int = 30) -> Engine:
    """The engine `name` for `space`; `folder` keeps engine state that is not in the study (keras-tuner)."""
    check_engine(name)
    if name in ("hyperband", "bayesian"):
        from tuner.engines._kt import KerasTunerEngine

        return KerasTunerEngine(name, space, seed, folder / "kt", max_epochs)
    if name == "grid":
        from tuner.engines._optuna import GridEngine

        return GridEngine(space, seed)
    from tuner.engines._optuna import OptunaEngine

    return OptunaEngine(name, space, seed)
