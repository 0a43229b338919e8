"""Cross-validation folds 2..K are paid only by candidates that can still rank first
(pipeline.more_draws): the rule, its guarantee for the winner over simulated sweeps, the pipeline
running the extra folds or not, and the pre-check counting every fold's training."""

from __future__ import annotations

import numpy as np
import pytest

from tuner.pipeline import DRAW_MARGIN, more_draws
from tuner.sweep.records import CandidateState, TrialRecord
from tuner.sweep.runner import best_score


def test_more_draws_while_the_mean_so_far_is_within_the_margin_of_the_best() -> None:
    assert DRAW_MARGIN == 0.1
    assert more_draws([0.3], None)  # no feasible trial yet: every draw
    assert more_draws([0.76], 0.85)  # 0.76 >= 0.85 - 0.1
    assert not more_draws([0.74], 0.85)
    assert not more_draws([0.8, 0.6], 0.85)  # mean 0.70
    assert more_draws([0.9, 0.62], 0.85)  # mean 0.76
    assert not more_draws([0.76], 0.85, margin=0.05)


def _record(n: int, state: str, score: float | None) -> TrialRecord:
    metrics = {} if score is None else {"val_score": score}
    return TrialRecord(n, CandidateState(state), "", {}, metrics)


def test_best_score_is_over_feasible_trials_only() -> None:
    assert best_score([]) is None
    recs = [_record(0, "rejected", 0.99), _record(1, "feasible", 0.7), _record(2, "feasible", 0.8)]
    assert best_score(recs + [_record(3, "pruned", None), _record(4, "feasible", None)]) == 0.8
    assert best_score([_record(0, "rejected", 0.99)]) is None


@pytest.mark.parametrize("seed", range(20))
def test_the_top_ranked_candidate_always_has_every_draw(seed: int) -> None:
    """Simulated sweeps: 5 folds per candidate (a quality plus per-fold noise as large as on the
    motion demo's 14 validation subjects), some over budget. The candidate ranked first by the mean
    of the folds it ran always ran all 5, and the rule saves trainings."""
    rng = np.random.default_rng(seed)
    recs: list[TrialRecord] = []
    ran = []
    for n in range(15):
        draws = np.clip(rng.uniform(0.4, 0.9) + rng.normal(0, 0.08, 5), 0, 1)
        feasible = rng.random() > 0.2
        scores = [float(draws[0])]
        for d in draws[1:]:
            if not feasible or not more_draws(scores, best_score(recs)):
                break
            scores.append(float(d))
        ran.append(len(scores))
        recs.append(_record(n, "feasible" if feasible else "rejected", float(np.mean(scores))))
    top = max((r for r in recs if r.state is CandidateState.FEASIBLE), key=lambda r: r.metrics["val_score"])
    assert ran[top.trial] == 5
    assert sum(ran) < 5 * len(ran)


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


@pytest.mark.parametrize("bar,draws", [(None, 5), (2.0, 1)])
def test_pipeline_runs_the_extra_folds_only_when_the_candidate_can_reach_the_best(
    small_problem, monkeypatch: pytest.MonkeyPatch, bar: float | None, draws: int
) -> None:
    import tuner.pipeline as pipeline

    calls, epochs = [], []

    def fold_score(params, fold, limit, best_epoch):
        calls.append(fold)
        epochs.append(best_epoch)
        return 0.25, 1.5

    monkeypatch.setattr(pipeline, "_fold_score", fold_score)
    monkeypatch.setattr(small_problem, "score_bar", bar)
    assert len(small_problem.folds) == 4  # 5-fold cross-validation: fold 1 is the first training
    res = pipeline.run_candidate(PARAMS, small_problem)
    m = res.metrics
    assert res.state == "feasible" and m["val_draws"] == draws == len(m["val_scores"])
    assert calls == small_problem.folds[: draws - 1]
    # folds 2..K train for the epoch fold 1's early stopping kept
    assert epochs == [m["best_epoch"]] * (draws - 1) and 1 <= m["best_epoch"] <= m["epochs_run"]
    assert m["val_score"] == pytest.approx(np.mean(m["val_scores"]))
    assert m["val_scores"][1:] == [0.25] * (draws - 1)
    # the folds' trainings are recorded apart (inside `validation`): they are training time, not overhead
    assert m["stage_seconds"].get("validation_fit", 0.0) == pytest.approx(1.5 * (draws - 1))
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
        "folds 2-5 train for the epochs fold 1's early stopping kept, without validating each epoch, and "
        "only while the candidate is within the budgets and its mean so far is within 0.1 of the best "
        "feasible score (the winner always has all 5)"
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
    score, seconds = pipeline._fold_score(PARAMS, small_problem.folds[0], None, 3)
    assert [(r.epochs_run, r.best_epoch) for r in runs] == [(3, 3)]
    assert "val_loss" not in runs[0].history  # no validation pass per epoch
    assert 0.0 <= score <= 1.0 and seconds == pytest.approx(runs[0].train_seconds)
