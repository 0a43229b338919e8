"""Small and imbalanced data: training schedule, metrics (vs scikit-learn), class weights,
cross-validation folds, one evaluation hop for every candidate. Nothing here trains a model."""

from __future__ import annotations

import numpy as np
import pytest

from tuner.data import Dataset, split
from tuner.metrics import balanced_class_weights, confusion, recalls, scores
from tuner.schedule import schedule


def test_schedule_gives_small_data_enough_steps_and_patience() -> None:
    # 50 windows: batch min(32, max(8, ceil(50/4)=13)) = 13 -> 4 steps/epoch -> 75 epochs, patience 15
    assert schedule(50, 32, 20, 6) == schedule(50, 32, 20, 6)
    s = schedule(50, 32, 20, 6)
    assert (s.batch_size, s.epochs, s.patience) == (13, 75, 15)
    # 5 samples: one batch of 5 per epoch; 300 steps capped at 300 epochs (cap 500)
    assert (schedule(5, 32, 20, 6).batch_size, schedule(5, 32, 20, 6).epochs) == (5, 300)
    # plenty of data: unchanged (3200 samples = 100 steps/epoch x 20 epochs)
    big = schedule(3200, 32, 20, 6)
    assert (big.batch_size, big.epochs, big.patience) == (32, 20, 6)
    # explicit --epochs is the user's maximum: kept
    assert schedule(50, 32, 8, 6, fixed_epochs=True).epochs == 8


def test_metrics_match_scikit_learn() -> None:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    rng = np.random.default_rng(0)
    y = rng.choice(4, 200, p=[0.7, 0.2, 0.08, 0.02])
    pred = np.where(rng.random(200) < 0.7, y, rng.integers(0, 4, 200))
    pred[pred == 3] = 0  # class 3 never predicted: its F1 is 0
    got = scores(confusion(y, pred, 5))  # class 4 neither true nor predicted: ignored
    assert got["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert got["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert got["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))


def test_majority_guess_scores_high_accuracy_but_low_balanced_metrics() -> None:
    y = np.array([0] * 60 + [1] * 12 + [2] * 8)
    cm = confusion(y, np.zeros_like(y), 3)
    got = scores(cm)
    assert got["accuracy"] == pytest.approx(0.75)
    assert got["balanced_accuracy"] == pytest.approx(1 / 3)
    assert got["macro_f1"] == pytest.approx((2 * 60 / (60 + 80)) / 3)  # F1 of class 0, zero for 1 and 2
    assert recalls(cm) == [1.0, 0.0, 0.0]


def test_balanced_class_weights_only_when_imbalanced() -> None:
    w = balanced_class_weights(np.array([0] * 60 + [1] * 12 + [2] * 8), 3)
    assert w == pytest.approx({0: 80 / 180, 1: 80 / 36, 2: 80 / 24})
    assert balanced_class_weights(np.array([0] * 10 + [1] * 9), 2) is None  # 10/9 < 1.5


def _recordings(n: int = 40, groups: bool = False) -> Dataset:
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(100, 2)).astype(np.float32) for _ in range(n)]
    g = np.array([f"s{i % 7}" for i in range(n)]) if groups else None  # every subject: both classes
    return Dataset("timeseries", x, np.arange(n) % 2, ("a", "b"), g, 50.0, source="t")


@pytest.mark.parametrize("groups", [False, True])
def test_small_validation_is_cross_validated_over_the_pool(groups: bool) -> None:
    """Was: 3 seeded re-draws that could overlap. Now 5 folds over train + validation: fold 1 is
    the problem's own train/validation (the first training), folds 2-5 the extra trainings, every
    pool recording validated once, the test split in none."""
    from tuner.budgets import Budgets
    from tuner.pipeline import Problem

    tr, va, te = split(_recordings(groups=groups), seed=0)
    pool = {id(a) for a in tr.x} | {id(a) for a in va.x}
    p = Problem("t", tr, va, te, None, Budgets()).configure()
    assert len(va) < 20 and len(p.folds) == 4
    vals = [{id(a) for a in f.val.x} for f in [p, *p.folds]]
    assert sorted(len(v) for v in vals) == sorted(len(f.val) for f in [p, *p.folds])
    assert set().union(*vals) == pool and sum(map(len, vals)) == len(pool)  # each once
    assert p.test is te and all(len(f.test) == 0 for f in p.folds)  # a fold only scores its validation
    assert all(not {id(a) for a in f.train.x} & v for f, v in zip([p, *p.folds], vals, strict=True))
    if groups:
        assert all(not set(f.train.groups) & set(f.val.groups) for f in [p, *p.folds])
    how = "5-fold grouped stratified" if groups else "5-fold stratified"
    assert p.validation_note.startswith(f"{how} cross-validation over a pool of {len(pool)} samples")
    one = Problem("t", tr, va, te, None, Budgets()).configure(repeats=1)
    assert one.folds == [] and one.train is tr and one.val is va  # no cross-validation: the seeded split


def test_validation_and_test_windows_use_one_hop_for_every_stride() -> None:
    from tuner.preprocess.motion import MotionPreprocessor

    ds = _recordings(4)
    sizes = {}
    for stride in (250, 500, 1000):
        pre = MotionPreprocessor({"window_ms": 1000, "stride_ms": stride, "dsp": "raw"}, 50.0, 2)
        pre.fit(ds)
        sizes[stride] = (len(pre.transform_train(ds)[0]), len(pre.transform(ds)[0]))
    # 100 samples, windows of 50, per recording: (100 - 50) // hop + 1 windows; 250 ms = 12 samples
    # (12.5 rounds to even) -> 5, 500 ms = 25 -> 3, 1000 ms = 50 -> 2; evaluation always every 12 -> 5
    assert sizes == {250: (20, 20), 500: (12, 20), 1000: (8, 20)}


@pytest.mark.parametrize("repeats", [None, 1])
def test_retrain_trains_on_the_data_of_the_sweeps_first_training(tmp_path, monkeypatch, repeats) -> None:
    """The exported config carries the sweep's `repeats`: retrain trains once, on fold 1 (small data,
    default) or on the seeded split (repeats 1), as the sweep's first training did."""
    from _small_data import write_long_csv

    import tuner.estimate.training_time as training_time
    import tuner.pipeline as pipeline
    from tuner.budgets import Budgets
    from tuner.config import CandidateConfig, load_config, save_config
    from tuner.errors import CandidateFailed, InputError
    from tuner.exporter import retrain

    csv = write_long_csv(tmp_path / "m.csv", n_recordings=40)
    params = {"window_ms": 1000, "stride_ms": 500, "dsp": "raw", "family": "dense", "layers": 1, "units1": 8}
    cfg = CandidateConfig(
        name="s/trial-0", data=str(csv), domain="motion", space="motion", target="nano33ble", rate_hz=50.0,
        repeats=repeats, candidate=params,
    )  # fmt: skip
    save_config(cfg, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml").repeats == repeats
    seen = {}

    def stop(params, problem, on_event=None):
        seen["problem"] = problem
        raise CandidateFailed("stopped by the test")

    monkeypatch.setattr(pipeline, "run_candidate", stop)
    monkeypatch.setattr(training_time, "machine_host", lambda *_, **__: None)
    with pytest.raises(InputError, match="stopped by the test"):
        retrain(tmp_path / "config.yaml", out=tmp_path / "out")
    sweep = pipeline.Problem.from_source(str(csv), None, Budgets(), domain="motion", rate_hz=50.0)
    sweep.configure(repeats=repeats)
    assert len(sweep.folds) == (4 if repeats is None else 0)
    got = seen["problem"]
    assert got.folds == []  # one training
    assert [a.tobytes() for a in got.val.x] == [a.tobytes() for a in sweep.val.x]
    assert [a.tobytes() for a in got.train.x] == [a.tobytes() for a in sweep.train.x]


def test_retrain_reads_the_machines_cached_probe_instead_of_measuring_again(tmp_path, monkeypatch) -> None:
    """retrain's training-time figures come from the probe the sweeps cached (15-25 s once per
    machine), scaled by the load check, not from a new probe every time."""
    from _small_data import write_long_csv

    import tuner.estimate.training_time as tt
    import tuner.pipeline as pipeline
    from tuner.config import CandidateConfig, save_config
    from tuner.errors import CandidateFailed, InputError
    from tuner.exporter import retrain

    monkeypatch.setenv("TUNER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(tt, "_NOW", {})
    cached = tt.HostThroughput(0.1, 0.002, 1e-9, source="measured on this host", check_s=0.1, probe=tt.PROBE_VERSION)
    tt._machine_cache().parent.mkdir(parents=True)
    cached.save(tt._machine_cache())
    monkeypatch.setattr(tt, "measure_host", lambda: pytest.fail("retrain measured the machine again"))
    monkeypatch.setattr(tt, "load_check", lambda: 0.2)  # twice as slow now as when the probe ran
    csv = write_long_csv(tmp_path / "m.csv", n_recordings=40)
    params = {"window_ms": 1000, "stride_ms": 500, "dsp": "raw", "family": "dense", "layers": 1, "units1": 8}
    cfg = CandidateConfig(
        name="s/trial-0", data=str(csv), domain="motion", space="motion", target="nano33ble", rate_hz=50.0,
        candidate=params,
    )  # fmt: skip
    save_config(cfg, tmp_path / "config.yaml")
    seen = {}

    def stop(params, problem, on_event=None):
        seen["host"] = problem.host
        raise CandidateFailed("stopped by the test")

    monkeypatch.setattr(pipeline, "run_candidate", stop)
    with pytest.raises(InputError, match="stopped by the test"):
        retrain(tmp_path / "config.yaml", out=tmp_path / "out")
    assert seen["host"].step_s == pytest.approx(2 * cached.step_s)
    assert seen["host"].mac_s == pytest.approx(2 * cached.mac_s)
