"""`fit_transform_train` (one pass over the training split's features) against `fit` then
`transform_train`/`transform` (two passes), to the bit, and the pass count `Problem.features` pays."""

from __future__ import annotations

import numpy as np
import pytest

from tuner.data import Dataset
from tuner.preprocess.audio import AudioPreprocessor
from tuner.preprocess.motion import MotionPreprocessor


def _motion(seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    x = [rng.normal(size=(int(rng.integers(120, 200)), 3)).astype(np.float32) for _ in range(8)]
    return Dataset("timeseries", x, np.arange(8) % 2, ("a", "b"), rate_hz=50.0, meta={"domain": "motion"})


@pytest.mark.parametrize(
    "params",
    [
        {"dsp": "raw", "window_ms": 1000, "stride_ms": 500},
        {"dsp": "stats", "window_ms": 2000, "stride_ms": 250},
        {
            "dsp": "stats_spectral",
            "window_ms": 1000,
            "stride_ms": 250,
            "fft_length": 32,
            "filter": "highpass",
            "filter_cutoff_hz": 2,
        },
    ],
)
def test_motion_one_pass_equals_two(params: dict) -> None:
    ds = _motion()
    two = MotionPreprocessor(params, 50.0, 3)
    two.fit(ds)
    x2, y2 = two.transform_train(ds)
    one = MotionPreprocessor(params, 50.0, 3)
    x1, y1 = one.fit_transform_train(ds)
    assert x1.dtype == np.float32 and np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert one.state() == two.state()
    # the training stride, not the evaluation hop (250 ms): a 500 ms stride gives fewer windows
    if params["stride_ms"] == 500:
        assert len(x1) < len(one.transform(ds)[0])


@pytest.mark.parametrize("dsp", ["mfe", "mfcc", "spectrogram"])
def test_audio_one_pass_equals_two(dsp: str) -> None:
    rng = np.random.default_rng(1)
    clips = [rng.normal(scale=0.1, size=16000).astype(np.float32) for _ in range(4)]
    ds = Dataset("timeseries", clips, np.array([0, 1, 0, 1]), ("a", "b"), rate_hz=16000.0, meta={"domain": "audio"})
    params = {"dsp": dsp, "frame_ms": 32, "frame_stride_ms": 20, "n_filters": 20, "fft_length": 256}
    two = AudioPreprocessor(params)
    two.fit(ds)
    x2, _ = two.transform(ds)
    one = AudioPreprocessor(params)
    x1, y1 = one.fit_transform_train(ds)
    assert np.array_equal(x1, x2) and np.array_equal(y1, ds.y) and one.state() == two.state()


def test_problem_features_compute_the_training_split_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The training windows' features are computed once per setting (they were computed twice:
    once to fit the standardizer, once to transform), the validation and test ones once each."""
    from tuner.budgets import Budgets
    from tuner.pipeline import Problem

    ds = _motion()
    problem = Problem(
        "x", ds.subset(np.arange(6)), ds.subset(np.arange(6, 7)), ds.subset(np.arange(7, 8)), None, Budgets()
    )
    calls: list[int] = []
    real = MotionPreprocessor._features
    monkeypatch.setattr(MotionPreprocessor, "_features", lambda self, w: calls.append(len(w)) or real(self, w))
    pre, feats = problem.features({"dsp": "stats", "window_ms": 1000, "stride_ms": 250})
    n_train, n_val, n_test = (len(feats[s][0]) for s in ("train", "val", "test"))
    assert sorted(calls) == sorted([n_train, n_val, n_test])
    problem.features({"dsp": "stats", "window_ms": 1000, "stride_ms": 250})  # cached: no more passes
    assert len(calls) == 3
