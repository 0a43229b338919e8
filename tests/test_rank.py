"""Ranking on hand-made records: no TensorFlow, no training."""

from __future__ import annotations

import numpy as np
import pytest

from tuner.errors import InputError
from tuner.rank import (
    INT8_DROP_FLAG,
    best_trial,
    find_trial,
    leaderboard_frame,
    pareto_ranks,
    parse_weights,
    weighted_scores,
)
from tuner.sweep.records import CandidateState, TrialRecord


def rec(n, acc, lat, ram, flash, state="feasible", reason="", float_acc=None, dup=None):
    m = {
        "int8_accuracy": acc,
        "float_accuracy": acc if float_acc is None else float_acc,
        "latency_ms": lat,
        "latency_ms_low": lat * 0.8,
        "latency_ms_high": lat * 1.3,
        "ram_bytes": ram,
        "flash_bytes": flash,
        "train_seconds": 3.0,
        "est_train_seconds": 2.5,
    }
    if acc is not None:
        m["int8_drop"] = m["float_accuracy"] - acc
    else:
        m = {"latency_ms": lat, "ram_bytes": ram, "flash_bytes": flash}
    return TrialRecord(n, CandidateState(state), reason, {"units1": n}, m, duplicate_of=dup)


RECS = [
    rec(0, 0.80, 5.0, 20_000, 90_000),
    rec(1, 0.90, 9.0, 30_000, 95_000),
    rec(2, 0.90, 4.0, 30_000, 95_000),  # same accuracy as 1, dominates it
    rec(3, None, 50.0, 900_000, 99_000, state="rejected", reason="RAM 878.9 kB > budget 256 kB"),
    rec(4, 0.85, 1.0, 10_000, 80_000, float_acc=0.95),  # int8 drop 0.10: flagged
    TrialRecord(5, CandidateState.FAILED, "NaN loss", {"units1": 5}),
]


def test_pareto_ranks_hand_derived():
    # minimize both: (1,4) (2,2) (4,1) on the front; (3,3) dominated by (2,2); (5,5) by all of rank 1
    v = np.array([[1, 4], [2, 2], [4, 1], [3, 3], [5, 5]], dtype=float)
    assert pareto_ranks(v).tolist() == [0, 0, 0, 1, 2]
    assert pareto_ranks(np.array([[1.0, 1.0], [1.0, 1.0]])).tolist() == [0, 0]  # equal rows do not dominate


def test_default_order_feasible_first_accuracy_then_pareto():
    df = leaderboard_frame(RECS, include_all=True)
    assert df["trial"].tolist() == [2, 1, 4, 0, 3, 5]
    assert df["state"].tolist() == ["feasible"] * 4 + ["rejected", "failed"]
    ranks = dict(zip(df["trial"], df["pareto_rank"], strict=True))
    assert ranks[2] == 0 and ranks[1] == 1 and ranks[4] == 0  # 4 is fastest and smallest: on the front
    assert df.loc[df.trial == 3, "reason"].item() == "RAM 878.9 kB > budget 256 kB"
    assert best_trial(RECS).trial == 2


def test_only_feasible_without_all_and_contract_columns():
    df = leaderboard_frame(RECS)
    assert set(df["state"]) == {"feasible"}
    for col in (
        "trial",
        "state",
        "int8_accuracy",
        "float_accuracy",
        "latency_ms",
        "ram_bytes",
        "flash_bytes",
        "train_seconds",
        "reason",
        "params",
        "latency_ms_low",
        "latency_ms_high",
        "est_train_seconds",
    ):
        assert col in df.columns


def test_accuracy_resolution_ties_go_to_pareto():
    recs = [rec(0, 0.9001, 9.0, 30_000, 95_000), rec(1, 0.9, 2.0, 10_000, 90_000)]
    assert leaderboard_frame(recs)["trial"].tolist() == [1, 0]  # 0.01 point apart: the cheaper one wins


def test_int8_drop_flag():
    df = leaderboard_frame(RECS, include_all=True)
    flagged = df.loc[df["int8_drop_flag"], "trial"].tolist()
    assert flagged == [4]
    assert df.loc[df.trial == 4, "int8_drop"].item() > INT8_DROP_FLAG


def test_sort_by_column_keeps_feasible_first():
    df = leaderboard_frame(RECS, include_all=True, sort="latency_ms")
    assert df["trial"].tolist()[:4] == [4, 2, 0, 1]
    assert df["trial"].tolist()[4] == 3
    df = leaderboard_frame(RECS, sort="ram_bytes:desc")
    assert df["ram_bytes"].tolist() == [30_000, 30_000, 20_000, 10_000]
    assert leaderboard_frame(RECS, sort="float_accuracy")["trial"].tolist()[0] == 4  # accuracy: high first


@pytest.mark.parametrize(
    "bad, match",
    [
        ("speed", "cannot sort by 'speed'"),
        ("latency_ms:up", "sort direction must be 'asc' or 'desc'"),
    ],
)
def test_sort_bad_column(bad, match):
    with pytest.raises(InputError, match=match):
        leaderboard_frame(RECS, sort=bad)


def test_weighted_score_hand_computed():
    w = parse_weights("accuracy=1,latency=0.3,ram=0.1")
    assert w == {"accuracy": 1.0, "latency": 0.3, "ram": 0.1}
    df = leaderboard_frame(RECS, weights=w)
    # feasible: acc 0.80 .90 .90 .85 -> norm 0 1 1 .5; latency 5 9 4 1 -> 1-(x-1)/8 = .5 0 .625 1;
    # ram 20k 30k 30k 10k -> 1-(x-10k)/20k = .5 0 0 1
    expected = {0: 0 + 0.3 * 0.5 + 0.1 * 0.5, 1: 1.0, 2: 1 + 0.3 * 0.625, 4: 0.5 + 0.3 + 0.1}
    got = dict(zip(df["trial"], df["score"], strict=True))
    assert got == pytest.approx(expected)
    assert df["trial"].tolist() == [2, 1, 4, 0]
    # latency-heavy weights put the fastest first
    assert leaderboard_frame(RECS, weights="accuracy=0.1,latency=1")["trial"].tolist()[0] == 4


def test_weighted_scores_constant_column_counts_as_best():
    import pandas as pd

    df = pd.DataFrame({"int8_accuracy": [0.5, 0.5], "latency_ms": [1.0, 3.0]})
    assert weighted_scores(df, {"accuracy": 1.0, "latency": 1.0}).tolist() == [2.0, 1.0]


@pytest.mark.parametrize(
    "text, match",
    [
        ("accuracy", "NAME=NUMBER"),
        ("speed=1", "unknown weight 'speed'; known: accuracy, latency, ram, flash, train_time"),
        ("accuracy=x", "weight 'accuracy' must be a number, got 'x'"),
        ("latency=-1", "must be >= 0"),
        ("accuracy=0,latency=0", "at least one weight must be > 0"),
    ],
)
def test_parse_weights_errors(text, match):
    with pytest.raises(InputError, match=match):
        parse_weights(text)


def test_find_trial():
    assert find_trial(RECS, "best").trial == 2
    assert find_trial(RECS, 3).state is CandidateState.REJECTED
    with pytest.raises(InputError, match=r"sweep 's' has no trial 42; it has trials 0\.\.5"):
        find_trial(RECS, 42, "s")
    with pytest.raises(InputError, match="trial must be a number or 'best', got 'first'"):
        find_trial(RECS, "first")
    with pytest.raises(InputError, match="has no trials yet"):
        find_trial([], "best", "s")
    with pytest.raises(InputError, match="has no trial 0; it has no trials yet"):
        find_trial([], 0, "s")
    with pytest.raises(InputError, match=r"no feasible candidate \(2 trials, none feasible\)"):
        find_trial([RECS[3], RECS[5]], "best", "s")


def test_duplicate_rows_say_which_trial_they_copy():
    recs = [rec(0, 0.8, 1.0, 1000, 1000), rec(1, 0.8, 1.0, 1000, 1000, dup=0)]
    df = leaderboard_frame(recs)
    assert df.loc[df.trial == 1, "reason"].item() == "(same as trial 0)"


def test_empty():
    assert leaderboard_frame([]).empty
    assert best_trial([]) is None


def test_pruned_is_its_own_state_and_never_feasible():
    # a pruned trial with a high validation accuracy so far must not rank as feasible or as the best
    pruned = TrialRecord(6, CandidateState.PRUNED, "pruned at epoch 6: val accuracy 0.5 < median 0.8", {"units1": 6})
    recs = [*RECS, pruned]
    df = leaderboard_frame(recs, include_all=True)
    assert df["trial"].tolist() == [2, 1, 4, 0, 3, 6, 5]  # after rejected, before failed
    assert df.loc[df.trial == 6, "state"].item() == "pruned"
    assert 6 not in leaderboard_frame(recs)["trial"].tolist()
    assert best_trial([pruned]) is None


def test_an_optuna_pruned_trial_reads_as_pruned_even_if_stored_as_rejected():
    import optuna

    study = optuna.create_study()
    t = study.ask()
    t.set_user_attr("state", "rejected")  # what sweeps before the PRUNED state stored
    t.set_user_attr("reason", "pruned at epoch 6")
    study.tell(t, state=optuna.trial.TrialState.PRUNED)
    rec = TrialRecord.from_frozen(study.trials[0])
    assert rec.state is CandidateState.PRUNED and rec.reason == "pruned at epoch 6"


def test_a_queued_trial_says_so():
    import optuna

    study = optuna.create_study()
    study.enqueue_trial({"units1": 8}, user_attrs={"retry_of": 3})  # what an interrupted trial leaves
    study.enqueue_trial({"units1": 16})
    recs = [TrialRecord.from_frozen(t) for t in study.trials]
    # was: state 'failed', reason 'WAITING'
    assert recs[0].reason == "queued (the re-run of interrupted trial 3, not run yet): `tuner sweep --resume` runs it"
    assert recs[1].reason == "queued (not run yet): `tuner sweep --resume` runs it"
