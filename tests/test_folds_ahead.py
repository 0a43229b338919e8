"""The final ranking's folds trained during the search (tuner.sweep.folds_ahead): the same fold
scores as a final ranking that trains them all after the search, no fold trained twice."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_draws import _ranking, _study


class _Synchronous:
    """A fold pool that trains a fold as it is started (in this process) and hands it back later."""

    slots = 2

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

    def wait(self):
        return self.done.pop(0)

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

    def open_pool(folds, k, log_dir=None, nice=0):
        assert nice > 0  # the search's training goes first
        pools.append(_Synchronous(folds))
        return pools[-1]

    monkeypatch.setattr(fold_pool, "open_pool", open_pool)
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
    assert len(pools) == 1 and pools[0].closed  # the search's processes went on into the final ranking
    done = growing.user_attrs[SECONDS]
    left = len(pools[0].done)  # started by the final ranking and not waited for: stopped at close
    assert done["during_search"] == in_search and done["trainings"] == len(during) - left
    assert done["unused"] == len(during) - left - len(after)
    note = next(i["text"] for k, i in events if k == "note")
    assert f"(2 processes; {in_search} during the search; {done['unused']} trained ahead and not needed)" in note
