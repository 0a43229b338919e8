"""Cross-validation folds 2..K are paid only by candidates that can still rank first
(pipeline.more_draws, run after the search by tuner.sweep.final_ranking): the rule, its guarantee
for the winner over simulated sweeps, resuming a killed final ranking, a trial training fold 1
only, and the pre-check counting every fold's training."""

from __future__ import annotations

import numpy as np
import pytest

from tuner.pipeline import DRAW_MARGIN, more_draws
from tuner.sweep.records import CandidateState, TrialRecord


def test_more_draws_while_the_mean_so_far_is_within_the_margin_of_the_best() -> None:
    assert DRAW_MARGIN == 0.1
    assert more_draws([0.3], None)  # no feasible trial yet: every draw
    assert more_draws([0.76], 0.85)  # 0.76 >= 0.85 - 0.1
    assert not more_draws([0.74], 0.85)
    assert not more_draws([0.8, 0.6], 0.85)  # mean 0.70
    assert more_draws([0.9, 0.62], 0.85)  # mean 0.76
    assert not more_draws([0.76], 0.85, margin=0.05)


def _study(draws: list[list[float]], feasible: list[bool]):
    """An in-memory study of finished trials: trial n scored draws[n][0] on fold 1."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    for n, (d, ok) in enumerate(zip(draws, feasible, strict=True)):
        attrs = {"candidate": {"id": n}, "state": "feasible" if ok else "rejected", "val_score": d[0]}
        attrs |= {"val_draws": 1, "best_epoch": 3}
        study.add_trial(optuna.trial.create_trial(value=d[0] if ok else 0.0, user_attrs=attrs))
    return study


def _ranking(monkeypatch: pytest.MonkeyPatch, draws: list[list[float]], stop_after: int | None = None):
    """complete_ranking with scripted fold scores; returns the (trial, fold) trainings it ran."""
    import types

    import tuner.pipeline as pipeline
    from tuner.budgets import Budgets
    from tuner.sweep import final_ranking, fold_pool

    folds = [f"fold{i}" for i in range(2, 6)]
    calls: list[tuple[int, int]] = []

    def fold_score(params, fold, limit, epochs, keep=None):
        assert epochs == 3  # fold 1's best epoch
        if stop_after is not None and len(calls) == stop_after:
            raise KeyboardInterrupt
        calls.append((params["id"], folds.index(fold) + 2))
        return draws[params["id"]][folds.index(fold) + 1], 1.0

    monkeypatch.setattr(pipeline, "fold_score", fold_score)
    monkeypatch.setattr(fold_pool, "_cleanup", lambda: None)
    monkeypatch.setattr(fold_pool, "processes_for", lambda k: 0)  # in this process, one at a time
    problem = types.SimpleNamespace(folds=folds, budgets=Budgets())
    return calls, lambda study, emit=None: final_ranking.complete_ranking(study, problem, emit)


@pytest.mark.parametrize("seed", range(20))
def test_the_top_ranked_candidate_always_has_every_fold(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated sweeps: 5 folds per candidate (a quality plus per-fold noise as large as on the
    motion demo's 14 validation subjects), some over budget. After the final ranking, the candidate
    ranked first by the mean of the folds it ran has all 5; over-budget candidates train no fold;
    the ranking saves trainings; a second call trains nothing."""
    from tuner.sweep.final_ranking import FOLD_SCORES, with_fold_scores
    from tuner.sweep.records import TrialRecord

    rng = np.random.default_rng(seed)
    draws = [list(np.clip(rng.uniform(0.4, 0.9) + rng.normal(0, 0.08, 5), 0, 1)) for _ in range(15)]
    feasible = list(rng.random(15) > 0.2)
    study = _study(draws, feasible)
    calls, run = _ranking(monkeypatch, draws)
    run(study)
    recs = with_fold_scores([TrialRecord.from_frozen(t) for t in study.trials], study.user_attrs[FOLD_SCORES])
    ok = [r for r in recs if r.state is CandidateState.FEASIBLE]
    top = max(ok, key=lambda r: r.metrics["val_score"])
    assert top.metrics["val_draws"] == 5 and top.metrics["val_score"] == pytest.approx(np.mean(draws[top.trial]))
    assert all(feasible[n] for n, _ in calls)
    assert len(calls) < 4 * sum(feasible)
    assert len(set(calls)) == len(calls)  # no fold trained twice
    # a candidate left with fewer folds is more than the margin below the best complete mean
    best = top.metrics["val_score"]
    assert all(r.metrics["val_score"] < best - DRAW_MARGIN for r in ok if r.metrics.get("val_draws", 1) < 5)
    n = len(calls)
    run(study)
    assert len(calls) == n


def test_a_killed_final_ranking_resumes_without_repeating_a_fold(monkeypatch: pytest.MonkeyPatch) -> None:
    from tuner.sweep.final_ranking import FOLD_SCORES, SECONDS

    draws = [[0.8, 0.7, 0.9, 0.8, 0.75], [0.78, 0.8, 0.82, 0.79, 0.8], [0.5, 0.6, 0.5, 0.5, 0.5]]
    whole, run = _ranking(monkeypatch, draws)
    run(_study(draws, [True] * 3))
    assert whole == [(0, 2), (0, 3), (0, 4), (0, 5), (1, 2), (1, 3), (1, 4), (1, 5)]  # 0.5 < 0.79 - 0.1
    study = _study(draws, [True] * 3)
    calls, run = _ranking(monkeypatch, draws, stop_after=5)
    with pytest.raises(KeyboardInterrupt):
        run(study)
    assert calls == whole[:5] and study.user_attrs[FOLD_SCORES]["1"] == pytest.approx(draws[1][:2])
    more, run = _ranking(monkeypatch, draws)
    events: list[tuple[str, dict]] = []
    run(study, lambda kind, **info: events.append((kind, info)))
    assert more == whole[5:]
    stages = [i["stage"] for k, i in events if k == "stage"]
    assert stages == [f"final ranking: trial {n}, fold {f}/5" for n, f in more] + ["final ranking done"]
    notes = [i["text"] for k, i in events if k == "note"]
    assert len(notes) == 1 and notes[0].startswith("final ranking: 3 fold trainings in ")
    assert notes[0].endswith(" s; 2 candidates have all 5 folds, the others cannot rank first")
    assert study.user_attrs[SECONDS]["trainings"] == 3  # the interrupted run recorded none


def test_a_duplicate_ranks_with_its_twins_folds() -> None:
    from tuner.sweep.final_ranking import with_fold_scores

    recs = [
        TrialRecord(0, CandidateState.FEASIBLE, "", {}, {"val_score": 0.9, "val_draws": 1}),
        TrialRecord(1, CandidateState.FEASIBLE, "", {}, {"val_score": 0.9, "val_draws": 1}, duplicate_of=0),
        TrialRecord(2, CandidateState.REJECTED, "", {}, {"val_score": 0.95}),
    ]
    out = with_fold_scores(recs, {"0": [0.9, 0.7], "2": [0.95, 0.95]})
    assert [r.metrics["val_score"] for r in out] == [pytest.approx(0.8), pytest.approx(0.8), 0.95]
    assert out[1].metrics["val_scores"] == [0.9, 0.7] and out[1].metrics["val_draws"] == 2


@pytest.fixture(scope="module")
def small_problem(tmp_path_factory: pytest.TempPathFactory):
    from _small_data import write_long_csv

    from tuner.budgets import Budgets
    from tuner.pipeline import Problem
    from tuner.targets import load_target

    csv = write_long_csv(tmp_path_factory.mktemp("draws") / "m.csv", n_recordings=40)
    p = Problem.from_source(str(csv), load_target("nano33ble"), Budgets(), epochs=2, domain="motion", rate_hz=50.0)
    return p.configure()


PARAMS = {
    "window_ms": 1000,
    "stride_ms": 500,
    "dsp": "raw",
    "family": "dense",
    "layers": 1,
    "units1": 8,
    "dropout": 0.0,
    "learning_rate": 0.01,
    "batch_size": 32,
    "patience": 2,
}


def test_a_trial_trains_fold_1_only(small_problem, monkeypatch: pytest.MonkeyPatch) -> None:
    """Folds 2..K wait for the final ranking: the trial's score is fold 1's."""
    import tuner.pipeline as pipeline

    monkeypatch.setattr(pipeline, "fold_score", lambda *a, **k: pytest.fail("a fold trained inside the trial"))
    assert len(small_problem.folds) == 4  # 5-fold cross-validation: fold 1 is the first training
    res = pipeline.run_candidate(PARAMS, small_problem)
    m = res.metrics
    assert res.state == "feasible" and m["val_draws"] == 1 == len(m["val_scores"])
    assert m["val_score"] == m["val_scores"][0] and 1 <= m["best_epoch"] <= m["epochs_run"]
    assert "validation_fit" not in m["stage_seconds"]
    # the machine's load before and after training, for judging the training-time estimate
    assert len(m["load_average"]) == 2 and all(v >= 0 for v in m["load_average"])


def test_the_rule_is_stated_where_sweep_yaml_reads_it(small_problem) -> None:
    """Was "3 repeated validation splits ... draws 2-3": the re-draws became 5 folds."""
    p = small_problem
    note = p.validation_note
    pool = len(p.train) + len(p.val)
    assert pool == 28  # 40 recordings, 12 held out for test
    assert note.startswith(
        f"5-fold stratified cross-validation over a pool of 28 samples (train + validation): the ranking "
        f"score is the mean accuracy over the 5 validation folds, every sample in exactly one; fold 1 "
        f"({len(p.val)} validation, {len(p.train)} training) trains the model that is exported and tested"
    )
    assert note.endswith(
        "the search learns from fold 1; after it, folds 2-5 train (for the epochs fold 1's early stopping "
        "kept, without validating each epoch) only the candidates within the budgets that can still rank "
        "first, best first, while their mean so far is within 0.1 of the best mean over all 5 folds (the "
        "winner always has all 5)"
    )


def test_precheck_counts_a_training_per_fold(small_problem, monkeypatch: pytest.MonkeyPatch) -> None:
    from tuner.models import build_model
    from tuner.pipeline import precheck

    pre, feats = small_problem.features(PARAMS)
    model = build_model(PARAMS, pre.input_shape, len(small_problem.class_names), seed=0)
    x_tr = feats["train"][0]
    _, five = precheck(model, x_tr, small_problem, pre.cost(), PARAMS)
    monkeypatch.setattr(small_problem, "folds", [])
    _, one = precheck(model, x_tr, small_problem, pre.cost(), PARAMS)
    assert five.seconds == pytest.approx(5 * one.seconds)
    assert (five.low, five.high) == pytest.approx((5 * one.low, 5 * one.high))


def test_a_fold_trains_exactly_the_epochs_fold_1_kept(small_problem, monkeypatch: pytest.MonkeyPatch) -> None:
    import tuner.pipeline as pipeline
    import tuner.train

    runs = []
    real = tuner.train.train

    def spy(*args, **kwargs):
        runs.append(real(*args, **kwargs))
        return runs[-1]

    monkeypatch.setattr(tuner.train, "train", spy)
    score, seconds = pipeline.fold_score(PARAMS, small_problem.folds[0], None, 3)
    assert [(r.epochs_run, r.best_epoch) for r in runs] == [(3, 3)]
    assert "val_loss" not in runs[0].history  # no validation pass per epoch
    assert 0.0 <= score <= 1.0 and seconds == pytest.approx(runs[0].train_seconds)


class _OutOfOrder:
    """A fold pool of `slots` that finishes the last started fold first (as a busy child may)."""

    def __init__(self, slots: int, folds: list) -> None:
        self.slots, self.folds, self.started = slots, folds, []

    def start(self, key, params, fold, limit, epochs) -> None:
        self.started.append((key, params, fold, limit, epochs))

    def wait(self):
        import tuner.pipeline as pipeline

        key, params, fold, limit, epochs = self.started.pop()
        return key, pipeline.fold_score(params, self.folds[fold], limit, epochs)

    def close(self) -> None:
        self.started.clear()


@pytest.mark.parametrize("slots", [2, 3])
@pytest.mark.parametrize("seed", range(10))
def test_folds_trained_side_by_side_end_as_one_at_a_time(seed: int, slots: int, monkeypatch: pytest.MonkeyPatch):
    """Several folds at a time, finishing in any order, and the ones trained ahead of the rule:
    the same fold scores as the one-at-a-time ranking, every fold it asked for trained once."""
    from tuner.sweep import fold_pool
    from tuner.sweep.final_ranking import FOLD_SCORES, SECONDS

    rng = np.random.default_rng(100 + seed)
    draws = [list(np.clip(rng.uniform(0.5, 0.9) + rng.normal(0, 0.08, 5), 0, 1)) for _ in range(12)]
    feasible = list(rng.random(12) > 0.2)
    one, run = _ranking(monkeypatch, draws)
    study = _study(draws, feasible)
    run(study)
    side, run = _ranking(monkeypatch, draws)
    monkeypatch.setattr(fold_pool, "open_pool", lambda folds, k, log_dir=None: _OutOfOrder(slots, folds))
    events: list[tuple[str, dict]] = []
    twin = _study(draws, feasible)
    run(twin, lambda kind, **info: events.append((kind, info)))
    assert twin.user_attrs[FOLD_SCORES] == study.user_attrs[FOLD_SCORES]
    assert set(one) <= set(side) and len(set(side)) == len(side)
    done = twin.user_attrs[SECONDS]
    assert done["trainings"] == len(side) and done["unused"] == len(side) - len(one) and done["processes"] == slots
    note = next(i["text"] for k, i in events if k == "note")
    assert f"({slots} side by side; {len(side) - len(one)} trained ahead and not needed)" in note


def test_the_rule_asks_for_the_leaders_folds_first() -> None:
    from tuner.sweep.final_ranking import requests, settled

    scores = {0: [0.8], 1: [0.85], 2: [0.5]}
    assert requests(scores, 5, {}, 3) == [(1, 2), (1, 3), (1, 4)]  # no bar yet: the best takes every fold
    known = {(1, 2): 0.8, (1, 4): 0.9}  # fold 4 came back before fold 3
    assert requests(scores, 5, known, 2) == [(1, 3), (1, 5)]
    assert settled(scores, 5, known) == {0: [0.8], 1: [0.85, 0.8], 2: [0.5]}  # fold 4 waits for fold 3


def test_fold_processes_score_as_this_process() -> None:
    """The final ranking's children (tuner.sweep.fold_pool) train a fold to the same score, to the
    last bit, as this process: every op on one thread in both (tuner.threads), whatever runs beside.
    A conv1d on the demo's data, whose score moves when a child splits ops over 2 threads
    (0.807 -> 0.770 when checked)."""
    import tensorflow as tf

    from tuner.budgets import Budgets
    from tuner.pipeline import Problem
    from tuner.sweep import fold_pool
    from tuner.targets import load_target

    assert tf.config.threading.get_intra_op_parallelism_threads() == 1  # conftest set it as the CLI does
    problem = Problem.from_source("seglearn-watch", load_target("nano33ble"), Budgets(), domain="motion").configure()
    conv = {**PARAMS, "window_ms": 2000, "dsp": "raw", "family": "conv1d", "layers": 2, "units1": 16}
    conv |= {"units2": 32, "kernel_size": 5}
    inline = fold_pool.Inline(problem.folds)
    pool = fold_pool.Pool(problem.folds, 2)
    thread = fold_pool.Pool(problem.folds, 0, here=True)  # the final ranking's trainer in this process
    try:
        for key, fold in (("a", 0), ("b", 1)):
            pool.start(key, conv, fold, None, 2)
        thread.start("d", conv, 0, None, 2)
        inline.start("c", conv, 0, None, 2)
        here = dict([inline.wait(), thread.wait()])
        there = dict([pool.wait(), pool.wait()])
    finally:
        pool.close()
        thread.close()
    assert isinstance(there["a"], tuple) and isinstance(there["b"], tuple)
    assert 0.5 < here["c"][0] < 1.0 and there["a"][0] == here["c"][0] == here["d"][0]
    assert there["b"][0] != there["a"][0]


def test_a_trainer_trains_a_candidates_next_fold_on_the_model_it_compiled(small_problem, monkeypatch) -> None:
    """`fold_score(keep=...)`, as every fold trainer calls it: the candidate's next fold trains the
    model compiled for the previous one (its weights, dropout seeds and optimizer set back), to the
    same scores, to the last bit, as new models, with the train step traced once per batch shape,
    not once per fold; a different candidate gets a new model."""
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    from tuner.pipeline import fold_score
    from tuner.sweep.runner import _keras_cleanup

    traces = []
    step = TensorFlowTrainer.train_step
    monkeypatch.setattr(TensorFlowTrainer, "train_step", lambda self, data: traces.append(1) or step(self, data))
    params = {**PARAMS, "dropout": 0.3, "layers": 2, "units2": 8}
    other = {**params, "units1": 16}

    def scores(keep: dict | None) -> tuple[list[float], int]:
        traces.clear()
        out = []
        for p, fold in ((params, 0), (params, 1), (params, 2), (other, 1)):
            out.append(fold_score(p, small_problem.folds[fold], None, 4, keep=keep)[0])
            _keras_cleanup()  # as the trainers do after every fold
        return out, len(traces)

    new, new_traces = scores(None)
    kept, kept_traces = scores({})
    # folds 2 and 3 train in batches of 15, fold 1 in batches of 16 (57 and 64 windows): the kept
    # model is traced again once for the new batch shape, not for fold 3
    assert kept == new and (new_traces, kept_traces) == (4, 3)
    assert len(set(new[:3])) > 1  # three folds, not one score three times


def test_a_fold_process_that_dies_fails_its_fold_only(small_problem) -> None:
    """A child killed before its first fold takes none; one killed with a fold in hand fails that
    fold (the final ranking scores it 0, as a fold that raises); with none left, this process trains."""
    import time

    from tuner.sweep import fold_pool

    pool = fold_pool.Pool(small_problem.folds, 2)
    try:
        pool._procs[0].kill()
        pool.start("a", PARAMS, 0, None, 2)
        pool.start("b", PARAMS, 1, None, 2)
        first = dict([pool.wait(), pool.wait()])
        assert isinstance(first["a"], tuple) and isinstance(first["b"], tuple) and pool.slots == 1
        pool.start("c", PARAMS, 0, None, 400)  # long enough to be killed while training
        time.sleep(2.0)
        pool._procs[1].kill()
        key, failed = pool.wait()
        assert key == "c" and isinstance(failed, RuntimeError) and "died" in str(failed)
        pool.start("d", PARAMS, 0, None, 2)
        key, here = pool.wait()
        assert key == "d" and here[0] == first["a"][0]  # trained in this process, the same score
    finally:
        pool.close()


def test_threads_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from tuner import threads

    monkeypatch.delenv(threads.INTRA_ENV, raising=False)
    monkeypatch.delenv(threads.INTER_ENV, raising=False)
    monkeypatch.setattr(threads, "cores", lambda: 8)
    assert (threads.intra_op(), threads.inter_op(), threads.inter_op(3), threads.inter_op(16)) == (1, 8, 2, 1)
    monkeypatch.setenv(threads.INTRA_ENV, "4")
    monkeypatch.setenv(threads.INTER_ENV, "junk")
    assert (threads.intra_op(), threads.inter_op()) == (4, 8)
    # this process's TensorFlow already runs with one thread per op (conftest): asking again is fine,
    # asking for another setting is refused
    import tensorflow as tf

    assert int(tf.constant(1) + 1) == 2  # an op ran: the threads are fixed from here
    assert threads.configure() is False
    monkeypatch.setenv(threads.INTRA_ENV, "1")
    assert threads.configure() is True
