import numpy as np
import pytest

from tuner.errors import CandidateFailed


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 12)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return x, y


def _model(seed=0):
    from tuner.models import build_model

    return build_model({"family": "dense", "layers": 1, "units1": 16, "dropout": 0.0}, (12,), 2, seed=seed)


def test_train_restores_best_epoch_and_learns(toy):
    from tuner.train import train

    x, y = toy
    m = _model()
    r = train(m, x[:300], y[:300], x[300:], y[300:], {"learning_rate": 0.01, "epochs": 6, "patience": 2}, seed=1)
    # 300 samples at batch 32 = 10 steps per epoch: at least 300 steps -> 30 planned epochs, patience 6,
    # up to 3 x 30 while still improving
    assert r.plan == {"batch_size_used": 32, "max_epochs_used": 30, "patience_used": 6, "epoch_cap_used": 90}
    assert 1 <= r.best_epoch <= r.epochs_run <= 90
    assert r.extended_epochs == max(0, r.epochs_run - 30)
    assert r.history["val_accuracy"][r.best_epoch - 1] == max(r.history["val_accuracy"])
    acc = float((m.predict(x[300:], verbose=0).argmax(1) == y[300:]).mean())
    assert acc == pytest.approx(max(r.history["val_accuracy"]), abs=1e-6)  # best weights restored
    assert acc > 0.8


def test_nan_loss_fails_the_candidate(toy):
    from tuner.train import train

    x, y = toy
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(CandidateFailed, match="NaN"):
        train(_model(), bad, y, x, y, {"epochs": 2}, seed=0)


def test_int8_model_is_int8_end_to_end_and_agrees_with_float(toy):
    from tuner.quantize import interpreter, is_int8_end_to_end, predict_int8, to_int8
    from tuner.train import train

    x, y = toy
    m = _model()
    train(m, x[:300], y[:300], x[300:], y[300:], {"learning_rate": 0.01, "epochs": 5}, seed=0)
    tfl = to_int8(m, x[:300])
    assert is_int8_end_to_end(tfl)
    ops = {op["op_name"] for op in interpreter(tfl)._get_ops_details()}
    assert ops == {"FULLY_CONNECTED", "SOFTMAX"}  # batch-1 input: no SHAPE/STRIDED_SLICE/PACK
    p8 = predict_int8(tfl, x[300:])
    pf = m.predict(x[300:], verbose=0)
    assert (p8.argmax(1) == pf.argmax(1)).mean() > 0.95
    assert np.abs(p8 - pf).max() < 0.1


def test_train_records_the_time_of_every_epoch(toy):
    from tuner.train import train

    x, y = toy
    # explicit epochs (as --epochs): kept as given, not raised to the minimum optimizer steps
    r = train(_model(), x[:300], y[:300], x[300:], y[300:], {"patience": 5}, seed=0, epochs=3)
    assert len(r.epoch_seconds) == r.epochs_run == 3
    assert all(s > 0 for s in r.epoch_seconds)


def test_the_train_step_is_traced_once_and_trains_as_keras_alone(toy, monkeypatch):
    """The training state is built before the fit (tuner.train.build_for_fit): without it Keras creates
    Adam's moments and the metrics' totals inside the first traced step and TensorFlow traces it twice."""
    import keras
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    from tuner import train as tr

    x, y = toy
    traces = []
    step = TensorFlowTrainer.train_step
    monkeypatch.setattr(TensorFlowTrainer, "train_step", lambda self, data: traces.append(1) or step(self, data))

    def weights_after(build: bool) -> tuple[np.ndarray, int]:
        traces.clear()
        if not build:
            monkeypatch.setattr(tr, "build_for_fit", lambda model: None)
        m = _model()
        tr.train(m, x[:300], y[:300], x[300:], y[300:], {"learning_rate": 0.01}, seed=0, epochs=3)
        keras.backend.clear_session()
        return np.concatenate([w.ravel() for w in m.get_weights()]), len(traces)

    ours, ours_traces = weights_after(build=True)
    lazy, lazy_traces = weights_after(build=False)
    assert (ours_traces, lazy_traces) == (1, 2)
    assert np.array_equal(ours, lazy)  # same weights to the bit: only the tracing changed


def test_int8_conversion_needs_no_savedmodel_and_matches_it():
    """The frozen-graph path gives the same int8 model (ops, outputs) as from_keras_model, which
    writes and re-reads a SavedModel; the sweep no longer goes through the latter."""
    import tensorflow as tf

    from tuner.models import build_model
    from tuner.quantize import interpreter, predict_int8, to_int8

    params = {"family": "conv2d", "layers": 2, "units1": 4, "units2": 8, "kernel_size": 3, "dropout": 0.0}
    model = build_model(params, (12, 12, 1), 3, seed=0)
    x = np.random.default_rng(0).random((40, 12, 12, 1)).astype(np.float32)
    saved = tf.lite.TFLiteConverter.from_keras_model
    calls = []
    tf.lite.TFLiteConverter.from_keras_model = staticmethod(lambda m: calls.append(m) or saved(m))
    try:
        fast = to_int8(model, x, n_samples=20)
    finally:
        tf.lite.TFLiteConverter.from_keras_model = saved
    assert calls == []  # no SavedModel round trip

    import keras

    inp = keras.Input((12, 12, 1), batch_size=1)
    conv = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, model(inp)))
    rep = x[np.random.default_rng(0).choice(40, size=20, replace=False)]
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([r[None]] for r in rep)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    slow = bytes(conv.convert())

    def ops(buf):
        return [op["op_name"] for op in interpreter(buf)._get_ops_details()]

    assert (
        ops(fast)
        == ops(slow)
        == ["CONV_2D", "MAX_POOL_2D", "CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]
    )
    np.testing.assert_array_equal(predict_int8(fast, x), predict_int8(slow, x))
