import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# TensorFlow's threads as the CLI sets them (tuner.threads), before any test runs an op
from tuner._quiet import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()


@pytest.fixture(scope="session")
def pick_results(tmp_path_factory):
    """One tiny real sweep (tests/_pick_sweep.py), shared by the pick/export/retrain/report tests."""
    from _pick_sweep import build

    return build(tmp_path_factory.mktemp("pick"))


@pytest.fixture
def results(pick_results, monkeypatch):
    monkeypatch.setenv("TUNER_RESULTS", str(pick_results))
    return pick_results
