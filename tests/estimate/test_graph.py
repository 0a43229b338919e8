from __future__ import annotations

import pytest

from tuner.errors import InputError
from tuner.estimate._graph import op_macs, parse


def test_conv_macs_closed_form(models):
    g = parse(models["conv"])
    (op,) = g.ops
    assert op.name == "CONV_2D"
    assert g.t(op.outputs[0]).shape == (1, 6, 6, 4)
    assert op_macs(g, op) == 6 * 6 * 4 * (3 * 3 * 2)
    assert op.options["padding"] == "valid" and op.options["stride_h"] == 1


def test_depthwise_and_fc_macs(models):
    g = parse(models["dw5"])
    assert [o.name for o in g.ops] == ["DEPTHWISE_CONV_2D"]
    assert op_macs(g, g.ops[0]) == 8 * 8 * 4 * 25
    g = parse(models["fc"])
    assert [o.name for o in g.ops] == ["FULLY_CONNECTED"]
    assert op_macs(g, g.ops[0]) == 16 * 8


def test_int8_and_float_detection(models):
    assert parse(models["conv"]).is_int8
    f = parse(models["float_conv"])
    assert not f.is_int8 and f.float_tensors >= 2


def test_reads_path(models):
    assert parse(models["conv_path"]).model_bytes == len(models["conv"])


@pytest.mark.parametrize(
    "data, match",
    [
        (b"", "not a TFLite flatbuffer"),
        (b"hello world, not a model", "not a TFLite flatbuffer"),
        (b"\x18\x00\x00\x00TFL3" + b"\xff" * 40, "corrupt TFLite flatbuffer|no subgraph|no operators"),
    ],
)
def test_corrupt_input(data, match):
    with pytest.raises(InputError, match=match):
        parse(data)


def test_truncated_model(models):
    with pytest.raises(InputError, match="corrupt TFLite flatbuffer|no operators|no subgraph"):
        parse(models["small_cnn"][: len(models["small_cnn"]) // 3])


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="model file not found"):
        parse(tmp_path / "nope.tflite")
