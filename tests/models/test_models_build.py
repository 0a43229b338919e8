"""Keras builders: shapes, closed-form MACs, seeding, weights_path, rank adaptation."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tuner.errors import InputError  # noqa: E402
from tuner.models import FAMILIES, build_model, count_macs  # noqa: E402

# one tiny, fast case per family: (params, input_shape)
TINY = {
    "dense": ({"family": "dense", "layers": 2, "units1": 16, "units2": 8}, (20,)),
    "conv1d": ({"family": "conv1d", "layers": 2, "units1": 4, "units2": 8}, (16, 3)),
    "conv2d": ({"family": "conv2d", "layers": 2, "units1": 4, "units2": 8}, (8, 8, 1)),
    "dscnn": ({"family": "dscnn", "layers": 1, "units1": 8}, (10, 4, 1)),
    "mobilenet_v1": ({"family": "mobilenet_v1", "alpha": 0.1}, (16, 16, 1)),
    "mobilenet_v2": ({"family": "mobilenet_v2", "alpha": 0.35}, (16, 16, 1)),
}


def test_tiny_cases_cover_every_family():
    assert set(TINY) == set(FAMILIES)


@pytest.mark.parametrize("family", list(TINY))
def test_output_shape_and_softmax_head(family):
    params, shape = TINY[family]
    model = build_model(params, shape, 3)
    assert tuple(model.input.shape) == (None, *shape)
    assert tuple(model.output.shape) == (None, 3)
    head = model.layers[-1]
    assert isinstance(head, keras.layers.Dense) and head.activation is keras.activations.softmax
    y = model(np.zeros((2, *shape), "float32")).numpy()
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


# Hand-derived MAC counts (conv: out_positions * out_ch * k_window * in_ch; depthwise:
# out_positions * ch * k_window; dense: in * out). 3 classes unless noted.
def test_macs_dense():
    # 20*16 + 16*8 + 8*3
    assert count_macs(build_model(*TINY["dense"], 3)) == 320 + 128 + 24 == 472


def test_macs_conv1d():
    # conv1 16 steps*4*(3*3) = 576; pool -> 8; conv2 8*8*(3*4) = 768; pool -> 4; dense (4*8)*3 = 96
    assert count_macs(build_model(*TINY["conv1d"], 3)) == 576 + 768 + 96 == 1440


def test_macs_conv1d_on_flat_features_with_avg_pooling():
    # (16,) -> (16, 1); conv1 16*4*3*1 = 192; pool 8; conv2 8*8*3*4 = 768; pool 4; avg -> 8; dense 8*3
    params = {"family": "conv1d", "layers": 2, "units1": 4, "units2": 8, "pooling": "avg"}
    model = build_model(params, (16,), 3)
    assert model.get_layer("reshape_input").output.shape == (None, 16, 1)
    assert count_macs(model) == 192 + 768 + 24 == 984


def test_macs_conv2d():
    # conv1 8*8*4*(9*1) = 2304; pool 4x4; conv2 4*4*8*(9*4) = 4608; pool 2x2; dense (2*2*8)*3 = 96
    assert count_macs(build_model(*TINY["conv2d"], 3)) == 2304 + 4608 + 96 == 7008


def test_macs_dscnn_depthwise_block():
    # stem (10,4) stride 2 on 10x4x1 -> 5x2x8: 5*2*8*(10*4*1) = 3200
    # depthwise 3x3: 5*2*8*9 = 720; pointwise 1x1: 5*2*8*8 = 640; avg pool -> 8; dense 8*2 = 16
    model = build_model(*TINY["dscnn"], 2)
    assert model.get_layer("stem_conv").kernel_size == (10, 4)
    assert count_macs(model) == 3200 + 720 + 640 + 16 == 4576


def test_macs_dscnn_mlperf_kws():
    # MLPerf Tiny KWS DS-CNN on 49x10 MFCC, 12 classes: stem 25x5x64 with a 10x4 kernel,
    # 4 x (depthwise 3x3 + pointwise 64->64) at 25x5, classifier 64*12. STACK-NOTES: 2.66 M MACs.
    model = build_model({"family": "dscnn"}, (49, 10, 1), 12)
    expected = 25 * 5 * 64 * 40 + 4 * (25 * 5 * 64 * 9 + 25 * 5 * 64 * 64) + 64 * 12
    assert count_macs(model) == expected == 2_656_768


def test_macs_mobilenet_v1_matches_paper():
    # Howard et al. 2017, Table 6: 0.25 MobileNet-224 has 41 million mult-adds (1000 classes)
    model = build_model({"family": "mobilenet_v1", "alpha": 0.25}, (224, 224, 3), 1000)
    assert count_macs(model) == pytest.approx(41e6, rel=0.01)


def test_macs_mobilenet_v2_matches_paper():
    # Sandler et al. 2018: MobileNetV2 1.0 at 224 has 300 million multiply-adds
    model = build_model({"family": "mobilenet_v2", "alpha": 1.0}, (224, 224, 3), 1000)
    assert count_macs(model) == pytest.approx(300e6, rel=0.01)


@pytest.mark.parametrize(("family", "alpha"), [("mobilenet_v1", 0.25), ("mobilenet_v2", 0.5)])
def test_mobilenet_matches_keras_applications_architecture(family, alpha):
    # same channel rounding, strides and head as keras.applications (built with weights=None: no download)
    shape = (32, 32, 3)
    ref_cls = keras.applications.MobileNet if family == "mobilenet_v1" else keras.applications.MobileNetV2
    ref = ref_cls(input_shape=shape, alpha=alpha, weights=None, classes=10)
    ours = build_model({"family": family, "alpha": alpha}, shape, 10)
    assert count_macs(ours) == count_macs(ref)
    assert ours.count_params() == ref.count_params()


@pytest.mark.parametrize("family", ["dscnn", "mobilenet_v1", "mobilenet_v2"])
def test_batchnorm_momentum_is_0_9(family):
    # keras.applications' 0.999 keeps small-data runs at chance (STACK-NOTES, image/audio facts)
    params, shape = TINY[family]
    model = build_model(params, shape, 2)
    bns = [la for la in model.layers if isinstance(la, keras.layers.BatchNormalization)]
    assert bns and all(bn.momentum == 0.9 for bn in bns)


def test_units_fall_back_to_previous_block():
    model = build_model({"family": "dense", "layers": 3, "units1": 8}, (5,), 2)
    assert [model.get_layer(f"dense{i}").units for i in (1, 2, 3)] == [8, 8, 8]
    model = build_model({"family": "dscnn", "layers": 2, "units1": 8, "units2": 16}, (10, 4), 2)
    assert model.get_layer("stem_conv").filters == 8
    assert model.get_layer("block1_pw_conv").filters == 8
    assert model.get_layer("block2_pw_conv").filters == 16


def test_rank_adaptation():
    m = build_model({"family": "conv1d"}, (49, 10, 1), 2)  # spectrogram -> (time, features)
    assert m.get_layer("reshape_input").output.shape == (None, 49, 10)
    m = build_model({"family": "conv2d"}, (49, 10), 2)  # (h, w) -> (h, w, 1)
    assert m.get_layer("reshape_input").output.shape == (None, 49, 10, 1)
    m = build_model({"family": "dense"}, (4, 5, 2), 2)
    assert m.get_layer("dense1").input.shape == (None, 40)
    with pytest.raises(InputError, match=r"conv2d needs input of rank 3"):
        build_model({"family": "conv2d"}, (20,), 2)


def test_pooling_stops_at_one_position():
    # 3 blocks of 2x pooling on a 3x1 input: pool (2,1) once, then nothing left to pool
    m = build_model({"family": "conv2d", "layers": 3, "units1": 2}, (3, 1, 1), 2)
    assert m.get_layer("flatten").input.shape == (None, 1, 1, 2)
    m = build_model({"family": "conv1d", "layers": 3, "units1": 2}, (2, 1), 2)
    assert m.get_layer("flatten").input.shape == (None, 1, 2)


def _weights(model):
    return [w.numpy() for w in model.weights]


@pytest.mark.parametrize("family", list(TINY))
def test_same_seed_same_weights(family):
    params, shape = TINY[family]
    a, b = _weights(build_model(params, shape, 3, seed=7)), _weights(build_model(params, shape, 3, seed=7))
    assert len(a) == len(b) > 0
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    c = _weights(build_model(params, shape, 3, seed=8))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_layers_get_distinct_initial_weights():
    # seeded initializers must not give equal-shaped layers identical kernels
    m = build_model({"family": "dense", "layers": 2, "units1": 8}, (8,), 8)
    k1, k2 = m.get_layer("dense2").kernel.numpy(), m.get_layer("classifier").kernel.numpy()
    assert not np.array_equal(k1, k2)


def test_weights_path_round_trip(tmp_path):
    params, shape = TINY["mobilenet_v1"]
    trained = build_model(params, shape, 3, seed=1)
    path = tmp_path / "m.weights.h5"
    trained.save_weights(path)
    loaded = build_model({**params, "weights_path": str(path)}, shape, 3, seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(_weights(trained), _weights(loaded), strict=True))
    with pytest.raises(InputError, match=r"`weights_path` .*m\.weights\.h5 does not fit this mobilenet_v1"):
        build_model({**params, "alpha": 0.25, "weights_path": str(path)}, shape, 3)


def test_count_macs_nested_batch1_wrapper():
    model = build_model(*TINY["conv2d"], 3)
    i = keras.Input((8, 8, 1), batch_size=1)
    assert count_macs(keras.Model(i, model(i))) == count_macs(model) == 7008


def test_count_macs_refuses_unknown_layers():
    i = keras.Input((4, 3))
    m = keras.Model(i, keras.layers.Dense(2)(keras.layers.SimpleRNN(5)(i)))
    with pytest.raises(ValueError, match=r"layer 'simple_rnn.*' of type SimpleRNN is not supported"):
        count_macs(m)
