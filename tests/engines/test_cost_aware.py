"""The default engine's cost-aware TPE: its cost model and what it samples."""

from __future__ import annotations

import warnings

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution

from tuner.engines._optuna import CostAwareTPESampler, CostModel, tpe_sampler

SPACE = {"family": CategoricalDistribution(["small", "big"]), "x": FloatDistribution(0.0, 1.0)}
TPE = {"n_startup_trials": 10, "n_ei_candidates": 64, "multivariate": True, "group": True}


def _sweep(sampler: optuna.samplers.BaseSampler, value, n: int = 40) -> tuple[optuna.Study, list[str]]:
    """40 trials; 'small' trains 1 s per epoch, 'big' 10 s (5 epochs), 2 s outside fit each."""
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    families = []
    for _ in range(n):
        t = study.ask()
        fam = t.suggest_categorical("family", ["small", "big"])
        x = t.suggest_float("x", 0.0, 1.0)
        sec = 1.0 if fam == "small" else 10.0
        t.set_user_attr("epoch_seconds", [sec] * 5)
        t.set_user_attr("epochs_run", 5)
        t.set_user_attr("stage_seconds", {"fit": 5 * sec, "int8_convert": 2.0})
        study.tell(t, value(fam, x))
        families.append(fam)
    return study, families[10:]  # after the 10 random start-up trials


def equal(fam: str, x: float) -> float:
    return 1.0 - (x - 0.5) ** 2


def big_better(fam: str, x: float) -> float:
    return (0.9 if fam == "big" else 0.5) - (x - 0.5) ** 2


def test_cost_model_predicts_trial_seconds():
    study, _ = _sweep(optuna.samplers.RandomSampler(seed=0), equal)
    model = CostModel(study, SPACE)
    assert model.ready and model.epochs == 5 and model.overhead == 2.0
    small, big = model.seconds({"family": np.array([0.0, 1.0]), "x": np.array([0.5, 0.5])})
    # true: 5 x 1 s + 2 s = 7 s and 5 x 10 s + 2 s = 52 s; the ridge shrinks the gap a little
    assert small == pytest.approx(7.0, rel=0.1)
    assert big == pytest.approx(52.0, rel=0.25)
    assert big / small > 5
    # too few trained trials: no prediction (plain TPE)
    few = optuna.create_study()
    for t in study.trials[:3]:
        few.add_trial(t)
    assert not CostModel(few, SPACE).ready


def test_equal_quality_goes_to_the_cheap_family():
    _, aware = _sweep(CostAwareTPESampler(seed=1, **TPE), equal)
    _, plain = _sweep(optuna.samplers.TPESampler(seed=1, **TPE), equal)
    assert aware.count("small") >= 26  # 30 of 30 with this seed
    assert plain.count("small") <= 21  # 16 of 30: TPE does not see the cost


def test_a_better_expensive_family_still_gets_most_of_the_time():
    _, aware = _sweep(CostAwareTPESampler(seed=1, **TPE), big_better)
    n_big = aware.count("big")
    assert n_big >= 10  # 15 of 30 with this seed: it still learns that 'big' scores higher
    assert 52 * n_big / (52 * n_big + 7 * (30 - n_big)) >= 0.8  # share of the seconds spent on 'big'


def test_tpe_cost_engine_is_cost_aware_and_tpe_is_not():
    from tuner.engines import make_engine

    assert isinstance(tpe_sampler(0, cost_aware=True), CostAwareTPESampler)
    assert type(tpe_sampler(0)) is optuna.samplers.TPESampler
    assert isinstance(make_engine("tpe-cost", None, 0, folder=None).sampler, CostAwareTPESampler)
    assert type(make_engine("tpe", None, 0, folder=None).sampler) is optuna.samplers.TPESampler
