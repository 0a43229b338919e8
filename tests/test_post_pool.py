"""A trial's post stages (int8 conversion, evaluations, exact estimate) in the child process beside
the next training (tuner.sweep.post_pool): the same results as in the sweep's process."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

CLI = [sys.executable, "-c", "from tuner.cli import entry; entry()"]


def _job():
    import keras

    from tuner.pipeline import PostJob
    from tuner.quantize import calibration_rows
    from tuner.targets import load_target

    keras.utils.set_random_seed(0)  # unseeded, 3 epochs sometimes stayed at chance (0.24)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 12)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1)
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:200], y[:200], epochs=3, verbose=0)
    job = PostJob(
        n_classes=3,
        seed=0,
        weights=model.get_weights(),
        rows=calibration_rows(x[:200], seed=0),
        x_va=x[200:250],
        y_va=y[200:250],
        x_te=x[250:],
        y_te=y[250:],
        metric="balanced_accuracy",
        target=load_target("nano33ble"),
        dsp=None,
        model_json=model.to_json(),
    )
    return model, job


def _same(a: dict, b: dict) -> None:
    assert a["tflite"] == b["tflite"]
    assert a["val_scores"] == b["val_scores"]
    assert a["float"] == b["float"] and a["int8"] == b["int8"]
    assert a["estimate"] == b["estimate"]


@pytest.mark.slow
def test_the_child_gives_this_process_results_and_a_dead_child_hands_back():
    from tuner.pipeline import post_stages
    from tuner.sweep.post_pool import PostProcess

    model, job = _job()
    here = post_stages(model, job)
    assert 0.3 < here["int8"][0] <= 1.0  # a trained model, not chance on 3 classes
    pool = PostProcess()
    try:
        assert pool._ready.wait(120), "the child did not start"
        pool.submit(job)
        there = pool.result()
        assert not isinstance(there, BaseException), there
        assert "rebuild" in there["stage_seconds"]  # rebuilt from its config and weights over there
        _same(here, there)
        pool._proc.kill()  # the child dies: this process takes the job over
        pool._proc.wait()
        pool.submit(job)
        again = pool.result()
        _same(here, again)
        assert pool._proc is None
    finally:
        pool.close()


def test_jobs_run_here_until_the_child_has_started():
    from tuner.pipeline import post_stages
    from tuner.sweep.post_pool import PostProcess

    model, job = _job()
    pool = PostProcess()
    try:
        pool.submit(job)  # the child is still importing TensorFlow: the job runs in this process
        assert pool._thread is None and not pool._ready.is_set()
        _same(post_stages(model, job), pool.result())
    finally:
        pool.close()


def test_post_stages_that_fail_fail_that_trial_only(tmp_path):
    import optuna

    from tuner.errors import CandidateFailed
    from tuner.pipeline import StageTimer, Trained
    from tuner.sweep.outcome import Pending, finish_and_record

    class Engine:
        def tell(self, *a):
            pass

    study = optuna.create_study()
    trial = study.ask()
    asked = type("Asked", (), {"trial": trial, "params": {"units": 8}})()
    tdir = tmp_path / "trials" / "0"
    tdir.mkdir(parents=True)
    (tdir / "model.keras").write_bytes(b"saved after training")
    trained = Trained(None, None, {}, None, None, StageTimer())
    out = finish_and_record(
        Pending(study, asked, Engine(), None, tdir, trained), CandidateFailed("int8 conversion failed: no kernel")
    )
    assert out == {"state": "failed", "reason": "int8 conversion failed: no kernel"}
    assert study.trials[0].state == optuna.trial.TrialState.FAIL
    assert sorted(p.name for p in tdir.iterdir()) == ["candidate.yaml", "error.txt"]
    assert "CandidateFailed: int8 conversion failed: no kernel" in (tdir / "error.txt").read_text()


SPACE = """
name: overlap-tiny
domain: motion
data: seglearn-watch
fixed: {epochs: 2, batch_size: 32, patience: 2, window_ms: 1000, stride_ms: 500, dsp: spectral,
        fft_length: 16, family: dense, layers: 1, dropout: 0.0, learning_rate: 0.005}
params:
  units1: {type: categorical, choices: [8, 16, 24]}
"""


@pytest.mark.slow
def test_an_overlapped_sweep_records_what_a_sequential_one_does(tmp_path):
    """Overlapped: post stages in a child, the final ranking's folds trained during the search
    (tuner.sweep.folds_ahead, on with TUNER_FOLDS_AHEAD=1); sequential: TUNER_OVERLAP=0. The watch
    data has 5 folds."""
    import optuna

    (tmp_path / "s.yaml").write_text(SPACE)
    runs = {}
    for overlap in ("1", "0"):
        root = tmp_path / f"r{overlap}"
        env = {**os.environ, "TUNER_RESULTS": str(root), "TUNER_OVERLAP": overlap, "TUNER_FOLDS_AHEAD": "1"}
        args = ["sweep", "--space", str(tmp_path / "s.yaml"), "--engine", "grid", "--trials", "3", "--name", "o"]
        r = subprocess.run(CLI + args, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        runs[overlap] = root / "o"
    assert (runs["1"] / "post_process.log").exists() and not (runs["0"] / "post_process.log").exists()
    attrs = {
        o: optuna.load_study(study_name="o", storage=f"sqlite:///{d}/study.db").user_attrs for o, d in runs.items()
    }
    assert attrs["1"]["fold_scores"] == attrs["0"]["fold_scores"]  # to the last bit
    assert any(len(s) == 5 for s in attrs["1"]["fold_scores"].values())
    assert attrs["0"]["final_ranking_seconds"]["during_search"] == 0
    timing = ("seconds", "load_average", "est_", "stage_seconds")
    for t in range(3):
        a, b = (Path(runs[o] / "trials" / str(t)) for o in ("1", "0"))
        digest = [hashlib.sha1((d / "model_int8.tflite").read_bytes()).hexdigest() for d in (a, b)]
        assert digest[0] == digest[1]
        ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
        assert "rebuild" in ma["stage_seconds"] and "rebuild" not in mb["stage_seconds"]
        same = {k: v for k, v in ma.items() if not any(s in k for s in timing)}
        assert same == {k: v for k, v in mb.items() if not any(s in k for s in timing)}
        assert same["int8_accuracy"] > 0.3  # trained: 7 classes
