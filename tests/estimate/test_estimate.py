"""Public API contract: fields, JSON, inputs, bad input."""

from __future__ import annotations

import json

import pytest

from tuner.errors import InputError
from tuner.estimate import Estimate, estimate_tflite, layer_rows
from tuner.targets import load_target

REQUIRED = {
    "target",
    "macs",
    "latency_ms",
    "latency_ms_low",
    "latency_ms_high",
    "arena_bytes",
    "ram_bytes",
    "flash_bytes",
    "layers",
}


def test_to_dict_is_json_ready(models):
    e = estimate_tflite(models["small_cnn"], "nano33ble", exact=False)
    d = json.loads(json.dumps(e.to_dict()))
    assert REQUIRED <= set(d)
    assert set(d) == set(Estimate.__dataclass_fields__)
    assert d["target"] == "nano33ble"
    assert [layer["op"] for layer in d["layers"]][:2] == ["CONV_2D", "DEPTHWISE_CONV_2D"]
    assert d["layers"][0]["output_shape"] == [1, 14, 14, 8]
    assert d["latency_ms_low"] <= d["latency_ms"] <= d["latency_ms_high"]
    assert "per-op cycle model" in d["method"]


def test_accepts_path_target_object_and_profile_path(models, tmp_path):
    t = load_target("ek-ra6m4")
    a = estimate_tflite(models["conv_path"], "ek-ra6m4", exact=False)
    b = estimate_tflite(str(models["conv_path"]), t, exact=False)
    from tuner.paths import TARGETS_DIR

    c = estimate_tflite(models["conv"], str(TARGETS_DIR / "ek-ra6m4.yaml"), exact=False)
    assert a.latency_ms == b.latency_ms == c.latency_ms


def test_bad_inputs(models, tmp_path):
    with pytest.raises(InputError, match="unknown target 'nope'; known targets: .*nano33ble"):
        estimate_tflite(models["conv"], "nope")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"PK\x03\x04 this is a zip file")
    with pytest.raises(InputError, match="not a TFLite flatbuffer"):
        estimate_tflite(bad, "nano33ble")


def test_over_budget_notes(models):
    e = estimate_tflite(models["small_cnn"], "nano33ble", exact=False)
    assert not any("exceeds" in n for n in e.notes)
    tiny = load_target("nano33ble").model_copy(update={"ram_bytes": 1024, "flash_bytes": 2048})
    e = estimate_tflite(models["small_cnn"], tiny, exact=False)
    assert any("RAM" in n and "exceeds" in n for n in e.notes)
    assert any("flash" in n and "exceeds" in n for n in e.notes)


def test_estimator_does_not_import_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys; import tuner.estimate, tuner.targets, tuner.estimate._graph, tuner.estimate._memory; "
        "print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_layer_rows_memory_of_a_one_conv_model(models):
    # Conv2D(4, 3) on 8x8x2 int8: input 128 B + output 6*6*4 = 144 B; weights 4*3*3*2 = 72 B int8
    # plus 4 int32 biases = 16 B
    est = estimate_tflite(models["conv"], "nano33ble", exact=False).to_dict()
    (row,) = layer_rows(est, models["conv"])
    assert row["op"] == "CONV_2D" and row["macs"] == 6 * 6 * 4 * 3 * 3 * 2
    assert row["ram_bytes"] == 128 + 144 + row["scratch_bytes"] and row["weight_bytes"] == 72 + 16


def test_layer_rows_without_a_readable_model_warns_and_leaves_memory_out(models, caplog):
    est = estimate_tflite(models["conv"], "nano33ble", exact=False).to_dict()
    (row,) = layer_rows(est, b"not a model")
    assert row["op"] == "CONV_2D" and row["ram_bytes"] is None and row["weight_bytes"] is None
    assert "per-layer memory left out: not a TFLite flatbuffer" in caplog.text
