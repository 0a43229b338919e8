"""Engines that are Optuna samplers (tpe, nsga2, random) and the grid engine."""

from __future__ import annotations

import json
import random
from typing import Any

import optuna

from tuner.engines._base import Asked, FixedSampler


class OptunaEngine:
    """TPE, NSGA-II or random: the study's sampler proposes, the space samples through the trial."""

    uses_pruner = True

    def __init__(self, name: str, space: Any, seed: int) -> None:
        self.name = name
        self.space = space
        self.multi_objective = name == "nsga2"
        if name == "tpe":
            # Constraints come from trial.set_constraint (Optuna 5); multivariate+group handles the
            # conditional parameters (fft_length only with spectral DSP, ...). 10 random start-up
            # trials and 64 EI candidates: with 8 and 24, one seed in three found nothing feasible
            # early and TPE at 30 trials trailed random at 90 (benchmarks/search_efficiency.py).
            self.sampler: optuna.samplers.BaseSampler = optuna.samplers.TPESampler(
                seed=seed, n_startup_trials=10, n_ei_candidates=64, multivariate=True, group=True
            )
        elif name == "nsga2":
            self.sampler = optuna.samplers.NSGAIISampler(seed=seed, population_size=10)
        else:
            self.sampler = optuna.samplers.RandomSampler(seed=seed)

    def ask(self, study: optuna.Study) -> Asked:
        trial = study.ask()  # pops a WAITING trial first (a re-run of an interrupted candidate)
        return Asked(trial, self.space.sample(trial))

    def tell(self, asked: Asked, score: float | None) -> None:
        pass  # the runner's study.tell is all an Optuna sampler needs


def candidate_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def param_values(space: Any, candidate: dict[str, Any]) -> dict[str, Any]:
    """The values by parameter name that reproduce `candidate` (parameters may fill an aliased `key`)."""
    out = {}
    for name, p in space.params.items():
        key = getattr(p, "key", None) or name
        if key in candidate and space.is_active(name, candidate):
            out[name] = candidate[key]
    return out


class GridEngine:
    """Every distinct candidate of the space (inactive conditional parameters collapse), in an order
    shuffled by the sweep seed. Candidates already in the study are skipped, so workers sharing the
    study and resumed sweeps continue the same walk. Refuses spaces with continuous parameters."""

    name = "grid"
    multi_objective = False
    uses_pruner = True

    def __init__(self, space: Any, seed: int) -> None:
        self.space = space
        self.candidates = space.grid()  # InputError for a float without `step` or a huge grid
        random.Random(seed).shuffle(self.candidates)
        self.sampler = FixedSampler(seed)

    def ask(self, study: optuna.Study) -> Asked | None:
        seen = set()
        for t in study.get_trials(deepcopy=False):
            if t.user_attrs.get("interrupted"):
                continue
            cand = t.user_attrs.get("candidate")
            if cand is not None:
                seen.add(candidate_key(cand))
        todo = next((c for c in self.candidates if candidate_key(c) not in seen), None)
        if todo is None:
            return None
        self.sampler.values = param_values(self.space, todo)
        trial = study.ask()
        return Asked(trial, self.space.sample(trial))

    def tell(self, asked: Asked, score: float | None) -> None:
        pass
