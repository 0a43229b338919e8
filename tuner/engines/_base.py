"""The engine interface and the fixed-value sampler that lets non-Optuna engines write Optuna trials."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution


@dataclass
class Asked:
    """One candidate handed out by an engine: the live Optuna trial and its params."""

    trial: Any  # optuna.trial.Trial
    params: dict[str, Any]
    epochs: int | None = None  # training epochs chosen by the engine (Hyperband), else None
    ref: Any = None  # engine-side handle (keras-tuner trial)
    extra: dict[str, Any] = field(default_factory=dict)


class Engine(Protocol):
    name: str
    multi_objective: bool
    uses_pruner: bool  # the runner's pruning applies (Hyperband does its own early stopping)
    sampler: optuna.samplers.BaseSampler

    def ask(self, study: optuna.Study) -> Asked | None:
        """Next candidate, or None when the engine has nothing left (grid exhausted)."""
        ...

    def tell(self, asked: Asked, score: float | None) -> None:
        """Score of a finished candidate (feasible int8 accuracy, 0 when over budget); None: failed."""
        ...


class FixedSampler(optuna.samplers.BaseSampler):
    """Returns the values an outside engine chose (set in `values` before sampling).

    A value missing from `values` (a parameter the outside engine does not know) falls back to a
    seeded random draw, so sampling never fails.
    """

    def __init__(self, seed: int) -> None:
        self.values: dict[str, Any] = {}
        self._random = optuna.samplers.RandomSampler(seed=seed)

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(self, study: Any, trial: Any, search_space: dict) -> dict[str, Any]:
        return {}

    def sample_independent(self, study: Any, trial: Any, name: str, dist: BaseDistribution) -> Any:
        if name not in self.values:
            return self._random.sample_independent(study, trial, name, dist)
        v = self.values[name]
        if isinstance(dist, CategoricalDistribution):
            return next((c for c in dist.choices if c == v), v)
        if isinstance(dist, IntDistribution):
            return int(round(v))
        if isinstance(dist, FloatDistribution):
            v = min(max(float(v), dist.low), dist.high)
            if dist.step:
                v = dist.low + round((v - dist.low) / dist.step) * dist.step
                v = round(v, 10)
            return v
        return v
