"""The final ranking's folds trained during the search (tuner.sweep.folds_ahead): the same fold
scores as a final ranking that trains them all after the search, no fold trained twice."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_draws import _ranking, _study


class _Synchronous:
    """A fold process that trains a fold as it is started (in this process) and hands it back later."""

    def __init__(self, folds):
        self.folds = folds
        self.done: list = []
        self.closed = False

    def start(self, key, params, fold, limit, epochs):
        import tuner.pipeline as pipeline

        self.done.append((key, pipeline.fold_score(params, self.folds[fold], limit, epochs)))

    def finished(self):
        out, self.done = self.done, []
        return out

    def close(self):
        self.closed = True


@pytest.mark.parametrize("seed", range(6))
def test_folds_trained_during_the_search_end_as_after_it(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The search records 12 trials one at a time, the fold process trains the rule's next fold
    after each; the final ranking then has the same fold scores as one that trained every fold
    after the search, and trains no fold twice."""
    import types

    from tuner.budgets import Budgets
    from tuner.sweep import final_ranking, fold_pool
    from tuner.sweep.final_ranking import FOLD_SCORES, SECONDS
    from tuner.sweep.folds_ahead import FoldsAhead

    rng = np.random.default_rng(200 + seed)
    draws = [list(np.clip(rng.uniform(0.5, 0.9) + rng.normal(0, 0.08, 5), 0, 1)) for _ in range(12)]
    feasible = list(rng.random(12) > 0.2)
    after, run = _ranking(monkeypatch, draws)
    study = _study(draws, feasible)
    run(study)  # every fold after the search

    during, _ = _ranking(monkeypatch, draws)
    pools: list[_Synchronous] = []

    def open_background(folds, log_dir=None):
        pools.append(_Synchronous(folds))
        return pools[-1]

    monkeypatch.setattr(fold_pool, "open_background", open_background)
    problem = types.SimpleNamespace(folds=[f"fold{i}" for i in range(2, 6)], budgets=Budgets())
    source = _study(draws, feasible).trials
    growing = _study(draws[:0], [])
    ahead = FoldsAhead(problem)
    for trial in source:  # the search records one trial at a time
        growing.add_trial(trial)
        ahead.update(growing)
    in_search = len(during)
    events: list = []
    final_ranking.complete_ranking(growing, problem, lambda kind, **i: events.append((kind, i)), ahead=ahead)
    assert growing.user_attrs[FOLD_SCORES] == study.user_attrs[FOLD_SCORES]
    assert 0 < in_search <= 12 and len(set(during)) == len(during) and set(after) <= set(during)
    assert len(pools) == 1 and pools[0].closed  # stopped when the final ranking starts
    done = growing.user_attrs[SECONDS]
    assert done["during_search"] == in_search and done["trainings"] == len(during)
    assert done["unused"] == len(during) - len(after) and done["processes"] == 1  # then in this process
    note = next(i["text"] for k, i in events if k == "note")
    assert f"fold trainings in 0 s ({in_search} during the search; {done['unused']} trained ahead and not" in note


def test_the_search_time_fold_process_runs_at_idle_priority() -> None:
    """SCHED_IDLE, not a nice value (beside a training, at nice 10 the training's epochs took
    30-50% longer, at SCHED_IDLE 3%, in one test). The final ranking's own processes run at normal
    priority."""
    import os

    from tuner.sweep import fold_pool

    background = fold_pool.open_background([1, 2])
    normal = fold_pool.Pool([1, 2], 1)
    try:
        assert background is not None
        assert os.sched_getscheduler(background._procs[0].pid) == os.SCHED_IDLE
        assert os.sched_getscheduler(normal._procs[0].pid) == os.SCHED_OTHER
    finally:
        background.close()
        normal.close()


def test_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from tuner.sweep import folds_ahead, post_pool

    monkeypatch.setattr(post_pool, "wanted", lambda workers, engine: True)
    monkeypatch.setattr("tuner.threads.cores", lambda: 2)
    small = types.SimpleNamespace(folds=["f2", "f3"])
    monkeypatch.delenv(folds_ahead.ON_ENV, raising=False)
    assert not folds_ahead.wanted(1, "tpe", small)
    monkeypatch.setenv(folds_ahead.ON_ENV, "1")
    assert folds_ahead.wanted(1, "tpe", small)
    assert not folds_ahead.wanted(1, "tpe", types.SimpleNamespace(folds=[]))  # no cross-validation
