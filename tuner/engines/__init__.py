"""Search engines behind one interface: each gives an Optuna sampler, so every engine writes the
same Optuna study and leaderboard, export and report do not care which one ran."""

from __future__ import annotations

from typing import Any

from tuner.errors import InputError

ENGINES = {
    "tpe": "Optuna TPE with constraints (infeasible regions are learned); default",
    "nsga2": "Optuna NSGA-II, multi-objective: int8 accuracy up, latency down, RAM down",
    "random": "Optuna random sampling (baseline)",
    "grid": "Optuna grid over every categorical/int/stepped-float value (small spaces)",
}

MULTI_OBJECTIVE = {"nsga2"}


def directions(engine: str) -> list[str]:
    return ["maximize", "minimize", "minimize"] if engine in MULTI_OBJECTIVE else ["maximize"]


def make_sampler(engine: str, space: Any, seed: int) -> Any:
    import optuna

    if engine not in ENGINES:
        raise InputError(f"unknown engine '{engine}'; known: {', '.join(ENGINES)}")
    if engine == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=5, multivariate=True, group=True)
    if engine == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=8)
    if engine == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    grid: dict[str, list] = {}
    for name, p in space.params.items():
        grid[name] = p.grid_values()
    return optuna.samplers.GridSampler(grid, seed=seed)
