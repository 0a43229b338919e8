"""Per-op cycle model: each op's work units from hand-derived formulas, cycles = units x the
target's coefficients, bands, float and unsupported-op handling, DSP cost."""

from __future__ import annotations

import math

import pytest

from tuner.errors import InputError
from tuner.estimate import DspCost, estimate_tflite
from tuner.estimate._features import kernel_path, op_units
from tuner.estimate._graph import parse
from tuner.targets import load_target


def _units(models, name, path="cmsis-nn-dsp"):
    g = parse(models[name])
    return g, [op_units(g, op, path) for op in g.ops]


# conv model: 8x8x2 input, Conv2D(4, 3) valid -> 6x6x4; filter row 3*3*2 = 18 = 4*4 + 2
_PIX, _COUT, _COL = 6 * 6, 4, 18
_CONV_WBYTES = 4 * 18 + 4 * 4  # int8 filter + int32 bias


def test_conv_generic_path_counts_im2col_and_the_scalar_tail(models):
    _, (u,) = _units(models, "conv")
    assert u == {
        "op": 1.0,
        "mac_conv": _PIX * _COUT * _COL,
        "im2col": _PIX * _COL,
        "tail": _PIX * _COUT * (_COL % 4),  # SMLAD consumes 4 int8 per step; 2 left per output
        "out": _PIX * _COUT,
        "wbyte": _CONV_WBYTES,
    }


def test_helium_counts_16_lane_instructions(models):
    _, (u,) = _units(models, "conv", "helium")
    assert u["mac_conv"] == _PIX * _COUT * 32  # 18 MACs per output take two 16-lane instructions
    assert "tail" not in u  # tail predication, no scalar loop
    _, (u,) = _units(models, "fc", "helium")
    assert u["mac_fc"] == 8 * 16  # 16 inputs: exactly one instruction per output


def test_reference_and_c_paths_count_plain_macs(models):
    _, (u,) = _units(models, "conv", "reference")
    assert u == {"op": 1.0, "mac_conv": _PIX * _COUT * _COL, "out": _PIX * _COUT, "wbyte": _CONV_WBYTES}
    _, (u,) = _units(models, "conv", "cmsis-nn-c")
    assert u["mac_conv"] == _PIX * _COUT * _COL and "tail" not in u


def test_esp_nn_s3_falls_back_to_c_below_8_channels(models):
    _, (u,) = _units(models, "conv", "esp-nn-pie")  # 2 input channels: not a multiple of 8
    assert u["mac_conv"] == 16 * _PIX * _COUT * _COL


def test_one_by_one_conv_takes_the_fast_path(models):
    g, us = _units(models, "branches")  # Conv2D(4, 1) and Conv2D(8, 1) on 8x8, 4 then 8 input channels
    convs = [u for op, u in zip(g.ops, us, strict=True) if op.name == "CONV_2D"]
    assert [u.get("mac_1x1") for u in convs] == [8 * 8 * 4 * 4, 8 * 8 * 8 * 8]
    assert all("im2col" not in u and "mac_conv" not in u for u in convs)
    g, us = _units(models, "branches", "reference")  # reference kernels have no such path
    assert all("mac_1x1" not in u for op, u in zip(g.ops, us, strict=True))


def test_depthwise_3x3_fast_path_and_generic(models):
    g, us = _units(models, "small_cnn")  # DepthwiseConv2D(3) valid on 14x14x8 -> 12x12x8
    dw = next(u for op, u in zip(g.ops, us, strict=True) if op.name == "DEPTHWISE_CONV_2D")
    assert dw["mac_dw3"] == 12 * 12 * 8 * 9 and "mac_dw" not in dw
    _, (u,) = _units(models, "dw5")  # 5x5: no fast path
    assert u["mac_dw"] == 8 * 8 * 4 * 25 and "mac_dw3" not in u
    _, (u,) = _units(models, "dw5", "helium")  # 4 channels = one group of 4 int32 lanes
    assert u["mac_dw"] == 8 * 8 * 4 * 25


def test_fc_units_and_weight_bytes(models):
    _, (u,) = _units(models, "fc")
    assert u == {"op": 1.0, "mac_fc": 16 * 8, "out": 8, "wbyte": 16 * 8}  # the converter drops a zero bias


def test_mvp_runs_mac_ops_on_the_accelerator(models):
    g, us = _units(models, "small_cnn", "mvp")
    by_op = {op.name: u for op, u in zip(g.ops, us, strict=True)}
    assert by_op["CONV_2D"]["mvp_mac"] == 14 * 14 * 8 * 9 and "mac_conv" not in by_op["CONV_2D"]
    assert by_op["MAX_POOL_2D"]["mvp_out"] == 6 * 6 * 8  # pooling runs there too
    assert by_op["SOFTMAX"] == {"op": 1.0, "act": 3}  # the CPU


def test_kernel_path_rules():
    assert kernel_path("cmsis-nn", "cortex-m4f") == "cmsis-nn-dsp"
    assert kernel_path("cmsis-nn", "cortex-m0plus") == "cmsis-nn-c"
    assert kernel_path("esp-nn", "xtensa-lx7") == "esp-nn-pie"
    assert kernel_path("esp-nn", "xtensa-lx6") == "esp-nn-c"
    with pytest.raises(KeyError, match="unknown kernel family 'tpu'"):
        kernel_path("tpu", "x")


def test_pool_reshape_softmax_add_units(models):
    g, us = _units(models, "small_cnn")
    by_op = {op.name: u for op, u in zip(g.ops, us, strict=True)}
    assert by_op["MAX_POOL_2D"] == {"op": 1.0, "elem": 6 * 6 * 8 * 4}  # output x 2x2 window
    assert by_op["RESHAPE"] == {"op": 1.0, "move": 288}  # int8 bytes copied
    assert by_op["SOFTMAX"] == {"op": 1.0, "act": 3}
    g, us = _units(models, "residual")
    add = next(u for op, u in zip(g.ops, us, strict=True) if op.name == "ADD")
    assert add == {"op": 1.0, "elem": 2 * 8 * 8 * 4}  # two inputs read per output element
    g, us = _units(models, "branches")
    cat = next(u for op, u in zip(g.ops, us, strict=True) if op.name == "CONCATENATION")
    assert cat == {"op": 1.0, "move": 8 * 8 * 8}  # int8 bytes written


@pytest.mark.parametrize("target", ["nano33ble", "ek-ra6m4", "esp32-s3", "ek-ra8d1", "rp2040", "xg24"])
def test_one_layer_cycles(models, target):
    t = load_target(target)
    c = t.latency.cycles_per_unit
    u = op_units(parse(models["conv"]), parse(models["conv"]).ops[0], kernel_path(t.kernels, t.core))
    cycles = sum(c[k] * v for k, v in u.items())
    assert cycles > c["op"]
    e = estimate_tflite(models["conv"], t, exact=False)
    assert e.layers[0].cycles == pytest.approx(cycles)
    assert e.latency_ms == pytest.approx(cycles / t.clock_hz * 1e3)
    low, high = t.latency.band_low, t.latency.band_high
    if t.latency.calibrated:  # the band of this model's mix of units (normalised conformal)
        half = t.latency.unit_band.half_width({k: c[k] * v for k, v in u.items()})
        low, high = math.exp(-half), math.exp(half)
    else:
        assert t.latency.unit_band is None
    assert e.latency_ms_low == pytest.approx(e.latency_ms * low)
    assert e.latency_ms_high == pytest.approx(e.latency_ms * high)
    macs = 6 * 6 * 4 * 18
    assert e.naive_latency_ms == pytest.approx(t.latency.naive_cycles_per_mac * macs / t.clock_hz * 1e3)


def test_calibrated_band_depends_on_the_models_mix_of_units(models):
    # esp32 is calibrated on person detection only: a model made of the same kinds of work gets a
    # narrower band than a dense model, whose fully-connected cost only the prior knows
    t = load_target("esp32")
    assert t.latency.calibrated and t.latency.unit_band is not None
    conv = estimate_tflite(models["small_cnn"], t, exact=False)
    fc = estimate_tflite(models["fc"], t, exact=False)
    ratio = lambda e: e.latency_ms_high / e.latency_ms_low  # noqa: E731
    assert ratio(fc) > 1.2 * ratio(conv) > 1.2
    for e in (conv, fc):  # symmetric in log space
        assert e.latency_ms_high / e.latency_ms == pytest.approx(e.latency_ms / e.latency_ms_low)


def test_memory_term_uses_the_board_facts(models):
    t = load_target("nucleo-l4r5zi")
    assert t.memory.cycles_per_byte == 0.75 and t.memory.flash_wait_states == 5
    e = estimate_tflite(models["fc"], t, exact=False)
    c = t.latency.cycles_per_unit
    assert e.layers[0].cycles == pytest.approx(c["op"] + c["mac_fc"] * 128 + c["out"] * 8 + c["wbyte"] * 128)


def test_latency_is_sum_of_layers(models):
    e = estimate_tflite(models["small_cnn"], "nano33ble", exact=False)
    assert e.latency_ms == pytest.approx(sum(layer.latency_ms for layer in e.layers))
    assert e.macs == sum(layer.macs for layer in e.layers) == 14 * 14 * 8 * 9 + 12 * 12 * 8 * 9 + 288 * 16 + 48


def test_float_model_is_estimated_with_a_note(models):
    i8 = estimate_tflite(models["conv"], "nano33ble", exact=False)
    f = estimate_tflite(models["float_conv"], "nano33ble", exact=False)
    t = load_target("nano33ble")
    g = parse(models["float_conv"])
    cycles = sum(t.latency.cycles_per_unit[k] * v for k, v in op_units(g, g.ops[0], "cmsis-nn-dsp").items())
    assert f.latency_ms == pytest.approx(4.0 * cycles / t.clock_hz * 1e3)  # float32 weights: 4x the bytes streamed
    assert f.latency_ms > 4.0 * i8.latency_ms
    assert any("float model" in n and "TFLITE_BUILTINS_INT8" in n for n in f.notes)
    assert f.latency_ms_high / f.latency_ms > i8.latency_ms_high / i8.latency_ms
    assert i8.layers[0].scratch_bytes == 80 and f.layers[0].scratch_bytes == 0  # float: reference kernels


def test_unsupported_op_named_and_band_widened(models, monkeypatch):
    import tuner.estimate._estimate as est_mod

    base = estimate_tflite(models["residual"], "nano33ble", exact=False)
    monkeypatch.setattr(est_mod, "is_supported", lambda name: name != "ADD")
    e = estimate_tflite(models["residual"], "nano33ble", exact=False)
    assert e.unsupported_ops == ("ADD",)
    assert any("unsupported op(s) ADD" in n for n in e.notes)
    assert e.latency_ms == pytest.approx(base.latency_ms)  # the rest is still estimated
    assert e.latency_ms_high > base.latency_ms_high and e.latency_ms_low < base.latency_ms_low
    add = next(layer for layer in e.layers if layer.op == "ADD")
    assert "unsupported" in add.note and add.cycles > 0


def test_dsp_cost_is_added(models):
    t = load_target("nano33ble")
    dsp = DspCost({"fft": 1000, "mac": 500, "log": 10}, buffer_bytes=2048, name="mfe")
    e = estimate_tflite(models["conv"], t, dsp=dsp, exact=False)
    nn = estimate_tflite(models["conv"], t, exact=False)
    cyc = 1000 * t.dsp_cycles_per_op["fft"] + 500 * t.dsp_cycles_per_op["mac"] + 10 * t.dsp_cycles_per_op["log"]
    assert e.dsp_latency_ms == pytest.approx(cyc / t.clock_hz * 1e3)
    assert e.latency_ms == pytest.approx(nn.latency_ms + e.dsp_latency_ms)
    assert e.dsp_ram_bytes == 2048 and e.ram_bytes == nn.ram_bytes + 2048


@pytest.mark.parametrize(
    "ops, buf, match", [({"fft": -1}, 0, ">= 0"), ({"conv": 3}, 0, "unknown op kinds"), ({}, -5, ">= 0")]
)
def test_bad_dsp_cost(ops, buf, match):
    with pytest.raises(InputError, match=match):
        DspCost(ops, buf)


def _rename_op(buf: bytes, old: str, new: str) -> bytes:
    """Rewrite the flatbuffer so that every `old` op becomes a `new` op (same tensors)."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    m = schema.ModelT.InitFromObj(schema.Model.GetRootAs(buf, 0))
    for oc in m.operatorCodes:
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == getattr(schema.BuiltinOperator, old):
            oc.builtinCode = oc.deprecatedBuiltinCode = getattr(schema.BuiltinOperator, new)
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_real_unsupported_op_end_to_end(models):
    buf = _rename_op(models["residual"], "ADD", "REDUCE_PROD")  # an op the cost model does not know
    base = estimate_tflite(models["residual"], "ek-ra6m4", exact=False)
    e = estimate_tflite(buf, "ek-ra6m4", exact=True)
    assert e.unsupported_ops == ("REDUCE_PROD",)
    assert any("REDUCE_PROD" in n for n in e.notes)
    assert e.macs == base.macs and len(e.layers) == len(base.layers)
    assert e.latency_ms_high > base.latency_ms_high
    # tflite-micro has no kernel for it: the arena is planned analytically, and the note says so
    assert e.arena_method == "analytical"
    assert any("tflite-micro could not allocate" in n for n in e.notes)
    assert e.arena_bytes > 0
