"""Start-up: the budget check pre-checks the candidate the sweep's engine proposes first, so the
first trial reuses its features and conversion (cached in the Problem)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize("space_name,seed", [("motion", 0), ("audio", 3)])
def test_budget_check_starts_with_the_engines_first_candidate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, space_name: str, seed: int
) -> None:
    import optuna

    from tuner.engines import make_engine
    from tuner.space import load_space
    from tuner.sweep import runner
    from tuner.sweep.settings import SweepSettings

    space = load_space(space_name)
    checked = []
    monkeypatch.setattr(runner, "precheck_only", lambda params, problem, precheck: checked.append(params) or "")
    settings = SweepSettings(space=space_name, seed=seed)
    assert runner._first_fitting(settings, space, "problem", None, 16) == "problem"
    engine = make_engine(settings.engine, space, runner._engine_seed(settings, 0, 0), tmp_path, 30)
    study = optuna.create_study(sampler=engine.sampler)
    assert checked == [engine.ask(study).params]
