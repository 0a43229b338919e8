"""Retrain from an exported config: same seed and data -> same accuracy and the same graph; --qat."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from tuner.errors import InputError

ACCURACY_TOLERANCE = 0.02  # same seed and data; only thread scheduling differs between runs


@pytest.fixture
def exported(pick_results, monkeypatch, tmp_path):
    import tuner

    monkeypatch.setenv("TUNER_RESULTS", str(pick_results))
    return tuner.export("pick", "best", tmp_path / "winner")


def graph(tflite: bytes) -> tuple[list[str], list[tuple[str, tuple[int, ...]]]]:
    """Op list and (dtype, shape) of every tensor, read from the flatbuffer."""
    from tuner.quantize import interpreter

    it = interpreter(tflite)
    ops = [op["op_name"] for op in it._get_ops_details()]
    tensors = [(np.dtype(t["dtype"]).name, tuple(int(d) for d in t["shape"])) for t in it.get_tensor_details()]
    return ops, tensors


@pytest.mark.slow
def test_retrain_same_seed_and_data_reproduces_the_candidate(exported, tmp_path):
    import tuner

    folder, summary = tuner.retrain(exported / "config.yaml", out=tmp_path / "again")
    from tuner.exporter import EXPORT_FILES

    assert sorted(p.name for p in folder.iterdir()) == sorted(EXPORT_FILES)  # with the same deploy bundle
    cand = json.loads((exported / "metrics.json").read_text())["metrics"]
    m = summary["metrics"]
    assert abs(m["float_accuracy"] - cand["float_accuracy"]) <= ACCURACY_TOLERANCE
    assert abs(m["int8_accuracy"] - cand["int8_accuracy"]) <= ACCURACY_TOLERANCE
    old_ops, old_tensors = graph((exported / "model_int8.tflite").read_bytes())
    new_ops, new_tensors = graph((folder / "model_int8.tflite").read_bytes())
    assert new_ops == old_ops and "FULLY_CONNECTED" in new_ops
    assert new_tensors == old_tensors
    assert summary["state"] == "feasible" and summary["metrics"]["int8_method"] == "ptq"
    assert yaml.safe_load((folder / "config.yaml").read_text()) == yaml.safe_load(
        (exported / "config.yaml").read_text()
    )


@pytest.mark.slow
def test_retrain_qat_reports_float_ptq_and_qat(exported, tmp_path):
    import tuner
    from tuner.quantize import is_int8_end_to_end

    folder, summary = tuner.retrain(exported / "config.yaml", out=tmp_path / "qat", qat=True, qat_epochs=1)
    m = summary["metrics"]
    for key in ("float_accuracy", "ptq_int8_accuracy", "qat_int8_accuracy", "qat_float_accuracy"):
        assert 0.3 < m[key] <= 1.0, key  # 7 classes: chance is 0.14
    assert m["qat_epochs"] == 1
    # the int8 model kept is the better one on the validation split; both are written
    kept = m["int8_method"]
    assert kept == ("qat" if m["qat_val_int8_accuracy"] >= m["ptq_val_int8_accuracy"] else "ptq")
    assert m["int8_accuracy"] == m[f"{kept}_int8_accuracy"]
    assert m["int8_drop"] == pytest.approx(m["float_accuracy"] - m["int8_accuracy"])
    files = {p.name for p in folder.iterdir()}
    assert {"model_int8.tflite", "model_int8_ptq.tflite", "model_int8_qat.tflite"} <= files
    assert (folder / "model_int8.tflite").read_bytes() == (folder / f"model_int8_{kept}.tflite").read_bytes()
    qat_tfl = (folder / "model_int8_qat.tflite").read_bytes()
    assert is_int8_end_to_end(qat_tfl)
    # fake quantization leaves no trace in the graph: same ops and shapes as the post-training int8 model
    ptq_ops, ptq_tensors = graph((exported / "model_int8.tflite").read_bytes())
    qat_ops, qat_tensors = graph(qat_tfl)
    assert qat_ops == ptq_ops
    assert sorted(s for _, s in qat_tensors) == sorted(s for _, s in ptq_tensors)  # order may differ
    saved = json.loads((folder / "metrics.json").read_text())["metrics"]
    assert saved["qat_int8_accuracy"] == m["qat_int8_accuracy"] and saved["int8_method"] == kept


@pytest.mark.slow
def test_retrain_bad_input_before_any_training(exported, tmp_path):
    import tuner

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    with pytest.raises(InputError, match="exists and is not empty"):
        tuner.retrain(exported / "config.yaml", out=busy)
    with pytest.raises(InputError, match="--epochs must be >= 1, got 0"):
        tuner.retrain(exported / "config.yaml", epochs=0, out=tmp_path / "x")
    raw = yaml.safe_load((exported / "config.yaml").read_text())
    raw["architecture"]["units1"] = -5
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(InputError, match=r"bad.yaml: .*units1"):
        tuner.retrain(bad, out=tmp_path / "y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "busy", "winner"]


def test_quantize_aware_refuses_what_it_cannot_fold():
    import keras

    from tuner.qat import quantize_aware

    inp = keras.Input((8, 8, 1))
    x = keras.layers.BatchNormalization()(inp)  # BatchNorm on the input: nothing to fold it into
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x))
    with pytest.raises(InputError, match=r"--qat does not support models with BatchNormalization \(not after"):
        quantize_aware(keras.Model(inp, out))
    inp = keras.Input((8, 8, 1))
    x = keras.layers.SeparableConv2D(4, 3)(inp)
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x))
    with pytest.raises(InputError, match="SeparableConv2D"):
        quantize_aware(keras.Model(inp, out))


@pytest.mark.slow
def test_quantize_aware_folds_batchnorm_and_relu_of_a_dscnn():
    import keras

    from tuner.models import build_model
    from tuner.qat import QConv2D, QDepthwiseConv2D, quantize_aware
    from tuner.quantize import is_int8_end_to_end, to_int8

    model = build_model({"family": "dscnn", "layers": 2, "units1": 8, "units2": 8, "dropout": 0.0}, (20, 10, 1), 4)
    rng = np.random.default_rng(0)
    for bn in [lyr for lyr in model.layers if isinstance(lyr, keras.layers.BatchNormalization)]:
        c = bn.gamma.shape[0]  # non-trivial statistics so that folding matters
        bn.set_weights([rng.uniform(0.5, 2, c), rng.normal(0, 0.5, c), rng.normal(0, 0.5, c), rng.uniform(0.5, 2, c)])
    q = quantize_aware(model)
    inner = q.layers[-1]
    assert not [lyr for lyr in inner.layers if isinstance(lyr, keras.layers.BatchNormalization | keras.layers.ReLU)]
    assert {QConv2D, QDepthwiseConv2D} <= {type(lyr) for lyr in inner.layers}
    assert all(lyr.use_bias for lyr in inner.layers if isinstance(lyr, QConv2D | QDepthwiseConv2D))
    x = rng.normal(size=(128, 20, 10, 1)).astype("float32")
    q(x, training=True)  # set the activation ranges
    p_float, p_q = model.predict(x, verbose=0), q.predict(x, verbose=0)
    assert (p_float.argmax(1) == p_q.argmax(1)).mean() > 0.9 and np.abs(p_float - p_q).max() < 0.15
    ptq, qat = to_int8(model, x), to_int8(q, x)
    assert is_int8_end_to_end(qat)
    assert graph(qat)[0] == graph(ptq)[0]  # BN folded and ReLU fused exactly as the converter does


def test_quantize_aware_keeps_weights_and_predictions_close():
    import keras

    from tuner.qat import QConv1D, QDense, quantize_aware

    keras.utils.set_random_seed(0)
    inp = keras.Input((32, 3))
    x = keras.layers.Conv1D(8, 3, padding="same", activation="relu")(inp)
    x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(4, activation="softmax")(x)
    model = keras.Model(inp, out)
    q = quantize_aware(model)
    kinds = {type(lyr).__name__ for lyr in q.layers[-1].layers}
    assert {QConv1D.__name__, QDense.__name__} <= kinds
    x = np.random.default_rng(0).normal(size=(64, 32, 3)).astype("float32")
    q(x, training=True)  # one training-mode pass sets the activation ranges
    p_float, p_q = model.predict(x, verbose=0), q.predict(x, verbose=0)
    assert np.abs(p_float - p_q).max() < 0.1  # 8-bit rounding only
    assert (p_float.argmax(1) == p_q.argmax(1)).mean() > 0.9


@pytest.mark.slow
def test_qat_recovers_a_ptq_collapse():
    """A function-preserving activation outlier (one conv channel x300, its uses /300) leaves the float
    model unchanged but ruins post-training int8; QAT fine-tuning learns around it."""
    import keras

    from tuner.qat import qat_finetune
    from tuner.quantize import predict_int8, to_int8

    rng = np.random.default_rng(0)

    def make(n):  # 3 classes: sinusoids of 1, 2 or 3 periods per window on 3 noisy channels
        y = rng.integers(0, 3, n)
        t = np.arange(32) / 32
        x = np.stack([np.sin(2 * np.pi * (y[:, None] + 1) * t + rng.uniform(0, 6.3, (n, 1))) for _ in range(3)], -1)
        return (x + 0.8 * rng.normal(size=x.shape)).astype("float32"), y

    feats = {"train": make(1500), "val": make(300), "test": make(600)}
    keras.utils.set_random_seed(0)
    inp = keras.Input((32, 3))
    x = keras.layers.Conv1D(8, 3, padding="same", activation="relu", name="c1")(inp)
    x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.Conv1D(8, 3, padding="same", activation="relu", name="c2")(x)
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(x)))
    model.compile(optimizer=keras.optimizers.Adam(5e-3), loss="sparse_categorical_crossentropy")
    model.fit(*feats["train"], epochs=5, batch_size=32, verbose=0)
    x_te, y_te = feats["test"]

    def acc(probs):
        return float((probs.argmax(1) == y_te).mean())

    float_before = acc(model.predict(x_te, verbose=0))
    c1, c2 = model.get_layer("c1"), model.get_layer("c2")
    k, b = c1.get_weights()
    k[..., 0] *= 300
    b[0] *= 300
    c1.set_weights([k, b])
    k, b = c2.get_weights()
    k[:, 0, :] /= 300
    c2.set_weights([k, b])
    assert acc(model.predict(x_te, verbose=0)) == pytest.approx(float_before, abs=0.01) and float_before > 0.8
    ptq = acc(predict_int8(to_int8(model, feats["train"][0]), x_te))
    q = qat_finetune(model, feats, {"learning_rate": 5e-3, "batch_size": 32, "patience": 3}, epochs=5)
    assert ptq < float_before - 0.2  # measured: float 0.907, PTQ 0.507
    assert q.int8_accuracy > ptq + 0.15  # measured: QAT 0.805


@pytest.mark.slow
def test_retrain_on_other_data_and_more_epochs(exported, tmp_path):
    """--data: the same candidate on a user's NPZ (here the demo recordings cropped to one length)."""
    import tuner
    from tuner.data import load_data

    ds = load_data("seglearn-watch")
    n = min(len(r) for r in ds.x)
    npz = tmp_path / "my_recordings.npz"
    np.savez(
        npz,
        x=np.stack([r[:n] for r in ds.x]),
        y=np.asarray(ds.y),
        groups=np.asarray(ds.groups),
        rate_hz=50.0,
        class_names=np.asarray(ds.class_names),
    )
    folder, summary = tuner.retrain(exported / "config.yaml", data=str(npz), epochs=3, out=tmp_path / "mine")
    cfg = yaml.safe_load((folder / "config.yaml").read_text())
    assert cfg["data"] == str(npz) and cfg["training"]["epochs"] == 3
    m = summary["metrics"]
    assert m["epochs_run"] <= 3 and m["int8_accuracy"] > 0.3  # 7 classes: chance is 0.14
    assert m["n_train"] + m["n_val"] + m["n_test"] < 6000  # cropped recordings: fewer windows than the demo set
