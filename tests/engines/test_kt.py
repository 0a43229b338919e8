"""keras-tuner oracles driven directly: space translation, no stop after failures, resume."""

from __future__ import annotations

import optuna
import pytest

from tuner.engines import make_engine
from tuner.engines._base import FixedSampler
from tuner.engines._kt import to_hyperparameters
from tuner.space import load_space


@pytest.mark.parametrize("name", ["motion", "image", "audio", "tabular"])
def test_every_bundled_space_translates(name):
    space = load_space(name)
    hp, _ = to_hyperparameters(space)
    assert {h.name for h in hp.space} == set(space.params)


def test_conditions_become_nested_scopes():
    hp, _ = to_hyperparameters(load_space("image"))
    units3 = next(h for h in hp.space if h.name == "units3")
    assert [(c.name, c.values) for c in units3.conditions] == [("family", ["conv2d"]), ("layers", [3])]


def test_fixed_sampler_snaps_to_the_distribution():
    from optuna.distributions import FloatDistribution, IntDistribution

    s = FixedSampler(0)
    s.values = {"a": 0.30000000000000004, "b": 2.6}
    assert s.sample_independent(None, None, "a", FloatDistribution(0.0, 0.5, step=0.1)) == 0.3
    assert s.sample_independent(None, None, "b", IntDistribution(1, 3)) == 3


@pytest.mark.parametrize("engine", ["hyperband", "bayesian"])
def test_failures_never_stop_the_oracle_and_resume_reissues_the_running_trial(tmp_path, engine):
    space = load_space("motion")
    study = optuna.create_study(sampler=None)
    eng = make_engine(engine, space, 0, tmp_path, max_epochs=9)
    study.sampler = eng.sampler
    for _ in range(6):  # kt's default would raise after 3 consecutive failures
        asked = eng.ask(study)
        eng.tell(asked, None)
        study.tell(asked.trial, state=optuna.trial.TrialState.FAIL)
    running = eng.ask(study)  # the process "dies" here
    again = make_engine(engine, space, 0, tmp_path, max_epochs=9)
    study.sampler = again.sampler
    reissued = again.ask(study)
    assert reissued.params == running.params and reissued.ref.trial_id == running.ref.trial_id
