"""Registry and parameter validation of tuner.models: pure Python, no TensorFlow needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tuner.errors import InputError
from tuner.models import FAMILIES, FamilySpec, adapt_input_shape, build_model, check_params
from tuner.models._registry import resolve

REPO = Path(__file__).resolve().parents[2]
KNOWN = "dense, conv1d, conv2d, dscnn, mobilenet_v1, mobilenet_v2"


def test_registry_lists_the_six_families_in_order():
    assert list(FAMILIES) == KNOWN.split(", ")
    for name, spec in FAMILIES.items():
        assert isinstance(spec, FamilySpec)
        assert spec.name == name
        assert spec.description and "\n" not in spec.description
        assert "family" in spec.params and "weights_path" in spec.params
        assert {k for k in spec.defaults} <= {*spec.params, "units"}


@pytest.mark.parametrize(
    ("family", "rank", "alphas"),
    [
        ("dense", 1, None),
        ("conv1d", 2, None),
        ("conv2d", 3, None),
        ("dscnn", 3, None),
        ("mobilenet_v1", 3, (0.1, 0.2, 0.25, 0.35, 0.5)),
        ("mobilenet_v2", 3, (0.35, 0.5, 0.75, 1.0)),
    ],
)
def test_family_spec_rank_and_alphas(family, rank, alphas):
    spec = FAMILIES[family]
    assert spec.input_rank == rank
    assert spec.allowed_alphas == alphas
    assert spec.reads("alpha") == (alphas is not None)
    assert spec.reads("units3") == (alphas is None)
    assert not spec.reads("learning_rate")


def test_import_does_not_load_tensorflow():
    code = (
        "import sys, tuner.models as m; m.check_params({'family': 'dense'}); "
        "print('keras' in sys.modules, 'tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_unknown_family_names_the_key_and_lists_known():
    with pytest.raises(InputError, match=rf"unknown model family 'resnet' \(key 'family'\); known: {KNOWN}$"):
        check_params({"family": "resnet"})


def test_missing_family():
    with pytest.raises(InputError, match=rf"need the key 'family'; known families: {KNOWN}"):
        check_params({"layers": 2})


@pytest.mark.parametrize(
    ("family", "alpha", "allowed"),
    [
        ("mobilenet_v1", 0.3, "0.1, 0.2, 0.25, 0.35, 0.5"),
        ("mobilenet_v1", 1.0, "0.1, 0.2, 0.25, 0.35, 0.5"),
        ("mobilenet_v2", 0.25, "0.35, 0.5, 0.75, 1.0"),
        ("mobilenet_v2", "0.35", "0.35, 0.5, 0.75, 1.0"),
    ],
)
def test_alpha_not_allowed(family, alpha, allowed):
    with pytest.raises(InputError, match=rf"^alpha {alpha} is not allowed for {family}; allowed: {allowed}$"):
        check_params({"family": family, "alpha": alpha})


def test_allowed_alpha_and_defaults():
    assert resolve({"family": "mobilenet_v1", "alpha": 0.25}).alpha == 0.25
    assert resolve({"family": "mobilenet_v2", "alpha": 0.35 + 1e-12}).alpha == 0.35
    assert resolve({"family": "mobilenet_v1"}).alpha == 0.25
    assert resolve({"family": "mobilenet_v2"}).alpha == 0.35


def test_keys_a_family_does_not_read_are_ignored():
    # a flat candidate also carries DSP and training keys, and grid search may carry alpha for dense
    check_params({"family": "dense", "alpha": 0.3, "learning_rate": 0.01, "dsp": "spectral"})


def test_units_default_to_previous_block_width():
    assert resolve({"family": "dense"}).units == (32, 32)
    assert resolve({"family": "conv2d", "layers": 3, "units1": 8}).units == (8, 8, 8)
    assert resolve({"family": "conv1d", "layers": 3, "units1": 8, "units2": 16}).units == (8, 16, 16)
    assert resolve({"family": "dscnn"}).units == (64, 64, 64, 64)
    # units beyond `layers` are ignored (conditional keys of a grid search)
    assert resolve({"family": "dense", "layers": 1, "units1": 4, "units2": 0}).units == (4,)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"family": "dense", "layers": 0}, r"`layers` must be an integer >= 1, but got layers=0\."),
        ({"family": "dense", "layers": 1.5}, r"`layers` must be an integer >= 1, but got layers=1\.5\."),
        ({"family": "dense", "layers": True}, r"`layers` must be an integer >= 1, but got layers=True\."),
        ({"family": "conv2d", "units2": "8"}, r"`units2` must be an integer >= 1, but got units2='8'\."),
        ({"family": "conv1d", "kernel_size": 0}, r"`kernel_size` must be an integer >= 1, but got kernel_size=0\."),
        ({"family": "conv1d", "pooling": "max"}, r"pooling 'max' is not allowed for conv1d; allowed: flatten, avg"),
        ({"family": "dscnn", "dropout": 1.0}, r"`0 <= dropout < 1` must hold, but got dropout=1\.0\."),
        ({"family": "dense", "dropout": -0.1}, r"`0 <= dropout < 1` must hold, but got dropout=-0\.1\."),
    ],
)
def test_bad_values(params, match):
    with pytest.raises(InputError, match=match):
        check_params(params)


def test_integral_floats_are_accepted():
    # YAML or a float-typed search dimension may give 2.0
    assert resolve({"family": "dense", "layers": 2.0, "units1": 8.0}).units == (8, 8)


def test_weights_path_must_exist_and_be_weights_h5(tmp_path):
    with pytest.raises(InputError, match=r"`weights_path` file not found: .*nope\.weights\.h5"):
        check_params({"family": "mobilenet_v1", "weights_path": str(tmp_path / "nope.weights.h5")})
    with pytest.raises(InputError, match=r"a Keras '\.weights\.h5' file, but got weights_path=.*/m\.h5\.$"):
        check_params({"family": "mobilenet_v1", "weights_path": str(tmp_path / "m.h5")})


@pytest.mark.parametrize(
    ("family", "shape", "expected"),
    [
        ("dense", (7,), (7,)),
        ("dense", (4, 5, 2), (4, 5, 2)),
        ("conv1d", (16,), (16, 1)),
        ("conv1d", (16, 3), (16, 3)),
        ("conv1d", (49, 10, 1), (49, 10)),
        ("conv2d", (49, 10), (49, 10, 1)),
        ("dscnn", (49, 10, 1), (49, 10, 1)),
        ("mobilenet_v2", (32, 32, 3), (32, 32, 3)),
    ],
)
def test_adapt_input_shape(family, shape, expected):
    assert adapt_input_shape(family, shape) == expected


@pytest.mark.parametrize("family", ["conv2d", "dscnn", "mobilenet_v1", "mobilenet_v2"])
def test_2d_families_reject_flat_features(family):
    match = (
        rf"^{family} needs input of rank 3 \(height, width, channels\) or \(height, width\), "
        r"but got input_shape=\(20,\)\.$"
    )
    with pytest.raises(InputError, match=match):
        check_params({"family": family}, input_shape=(20,))


@pytest.mark.parametrize("shape", [(0, 3), (4, -1), ()])
def test_bad_input_shape(shape):
    with pytest.raises(InputError, match="input_shape must be a non-empty tuple of positive integers"):
        check_params({"family": "conv1d"}, input_shape=shape)


def test_build_model_validates_before_importing_keras():
    with pytest.raises(InputError, match=r"`n_classes >= 2` must hold, but got n_classes=1\."):
        build_model({"family": "dense"}, (4,), 1)
    with pytest.raises(InputError, match="unknown model family"):
        build_model({"family": "lstm"}, (4,), 2)


@pytest.mark.parametrize(
    ("key", "section"),
    [
        ("epochs", "training"),
        ("learning_rate", "training"),
        ("dropout", "training"),
        ("units7", "architecture"),
        ("kernel_size", "architecture"),
        ("alpha", "architecture"),
        ("pooling", "architecture"),
        ("window_ms", "preprocessing"),
        ("fft_length", "preprocessing"),
        ("units0", "preprocessing"),  # not a block index
    ],
)
def test_parameter_sections_come_from_the_registry(key, section):
    from tuner.models import is_model_param, param_section

    assert param_section(key) == section
    assert is_model_param(key) == (section != "preprocessing")


def test_every_key_a_family_reads_is_a_model_param():
    from tuner.models import is_model_param

    keys = [k.replace("<i>", "1") for spec in FAMILIES.values() for k in spec.params]
    assert len(keys) > len(FAMILIES) and all(is_model_param(k) for k in keys)
