"""Engines that are Optuna samplers (tpe, nsga2, random) and the grid engine."""

from __future__ import annotations

import json
import math
import random
import statistics
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution

from tuner.engines._base import Asked, FixedSampler

COST_POWER = 1.0  # acquisition / cost ** COST_POWER: "expected improvement per second"
MIN_COST_TRIALS = 4  # trials with measured epochs before costs are predicted
RIDGE = 1.0


def tpe_sampler(seed: int, cost_aware: bool = False) -> optuna.samplers.BaseSampler:
    """The sampler of `tpe` (`tpe-cost`: `cost_aware`, the acquisition divided by predicted seconds).
    Constraints come from trial.set_constraint (Optuna 5);
    multivariate+group handles the conditional parameters (fft_length only with spectral DSP, ...).
    10 random start-up trials and 64 EI candidates: with 8 and 24, one seed in three found nothing
    feasible early and TPE at 30 trials trailed random at 90 (benchmarks/search_efficiency.py, 2025)."""
    kw = {"seed": seed, "n_startup_trials": 10, "n_ei_candidates": 64, "multivariate": True, "group": True}
    if cost_aware:
        return CostAwareTPESampler(cost_power=COST_POWER, **kw)
    return optuna.samplers.TPESampler(**kw)


def _features(space: dict[str, BaseDistribution], values: dict[str, np.ndarray]) -> np.ndarray:
    """Design matrix: one-hot per categorical choice (internal index), log or plain value per number."""
    cols = []
    for name, dist in sorted(space.items()):
        v = np.asarray(values[name], dtype=float)
        if isinstance(dist, CategoricalDistribution):
            cols.extend((np.round(v) == i).astype(float) for i in range(len(dist.choices)))
        else:
            lo, hi = float(dist.low), float(dist.high)  # type: ignore[attr-defined]
            if getattr(dist, "log", False):
                v, lo, hi = np.log(np.maximum(v, 1e-12)), math.log(lo), math.log(hi)
            cols.append((v - lo) / ((hi - lo) or 1.0))
    return np.stack(cols, axis=1) if cols else np.zeros((len(next(iter(values.values()), [])), 0))


def trial_fit_seconds(attrs: dict[str, Any]) -> float | None:
    """Measured training seconds per epoch of a trial that trained (complete or pruned), else None."""
    secs = [float(s) for s in attrs.get("epoch_seconds") or [] if s is not None and s > 0]
    return sum(secs) / len(secs) if secs else None


class CostModel:
    """Predicted seconds of a candidate: a ridge regression of log(training seconds per epoch) on
    its parameters, fitted on the trials that trained, times the typical number of epochs run,
    plus the typical time a trial spends outside `fit` (conversion, evaluation, ...)."""

    def __init__(self, study: optuna.Study, space: dict[str, BaseDistribution]) -> None:
        self.space = space
        self.ready = False
        rows, ys, epochs, overhead = [], [], [], []
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        for t in study.get_trials(deepcopy=False, states=states):
            per_epoch = trial_fit_seconds(t.user_attrs)
            if per_epoch is None or any(n not in t.params for n in space):
                continue
            rows.append({n: space[n].to_internal_repr(t.params[n]) for n in space})
            ys.append(math.log(per_epoch))
            if t.state == optuna.trial.TrialState.COMPLETE and t.user_attrs.get("epochs_run"):
                epochs.append(float(t.user_attrs["epochs_run"]))
                stages = t.user_attrs.get("stage_seconds") or {}
                overhead.append(sum(float(v) for k, v in stages.items() if k != "fit"))
        if len(ys) < MIN_COST_TRIALS or not space:
            return
        x = _features(space, {n: np.array([r[n] for r in rows]) for n in space})
        y = np.array(ys)
        self.mean = float(y.mean())
        self.coef = np.linalg.solve(x.T @ x + RIDGE * np.eye(x.shape[1]), x.T @ (y - self.mean))
        self.epochs = statistics.median(epochs) if epochs else 1.0
        self.overhead = statistics.median(overhead) if overhead else 0.0
        self.ready = True

    def seconds(self, samples: dict[str, np.ndarray]) -> np.ndarray:
        """Predicted seconds of each candidate in `samples` (Optuna's internal representation)."""
        per_epoch = np.exp(self.mean + _features(self.space, samples) @ self.coef)
        return per_epoch * self.epochs + self.overhead


class CostAwareTPESampler(optuna.samplers.TPESampler):
    """TPE whose acquisition, the density ratio l(x)/g(x) of good to bad trials, is divided by the
    candidate's predicted seconds ** cost_power (`CostModel`): of the `n_ei_candidates` drawn, the
    one with the best expected improvement per second is tried. Until `MIN_COST_TRIALS` trials have
    trained, and for parameter groups no trained trial has, it is plain TPE."""

    def __init__(self, *, cost_power: float = COST_POWER, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cost_power = cost_power
        self._context: tuple[Any, dict[str, BaseDistribution]] | None = None

    def _sample(self, study: Any, trial: Any, search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        self._context = (study, search_space)
        try:
            return super()._sample(study, trial, search_space)
        finally:
            self._context = None

    def _compute_acquisition_func(self, samples: dict[str, np.ndarray], mpe_below: Any, mpe_above: Any) -> np.ndarray:
        acq = super()._compute_acquisition_func(samples, mpe_below, mpe_above)
        if self._context is None or not self.cost_power or study_is_multi_objective(self._context[0]):
            return acq
        model = CostModel(*self._context)
        if not model.ready:
            return acq
        return acq - self.cost_power * np.log(model.seconds(samples))


def study_is_multi_objective(study: Any) -> bool:
    return len(study.directions) > 1


class OptunaEngine:
    """TPE, NSGA-II or random: the study's sampler proposes, the space samples through the trial."""

    uses_pruner = True

    def __init__(self, name: str, space: Any, seed: int) -> None:
        self.name = name
        self.space = space
        self.multi_objective = name == "nsga2"
        self.per_second = name == "tpe-cost"
        if name in ("tpe", "tpe-cost"):
            self.sampler: optuna.samplers.BaseSampler = tpe_sampler(seed, cost_aware=self.per_second)
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
