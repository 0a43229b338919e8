"""Kernel scratch (CMSIS-NN get_buffer_size rules), RAM composition, flash model."""

from __future__ import annotations

import pytest

from tuner.estimate import estimate_tflite
from tuner.estimate._flash import flash_bytes, kernel_code_bytes
from tuner.estimate._graph import parse
from tuner.estimate._memory import family_scratch
from tuner.targets import load_target


def _scratch(models, name, kernels="cmsis-nn"):
    g = parse(models[name])
    return {op.name: family_scratch(g, op, kernels) for op in g.ops}


def test_cmsis_conv_scratch(models):
    # 3x3 conv, cin=2: 2*2*round_up_4(3*3*2) = 4*20
    assert _scratch(models, "conv")["CONV_2D"] == 80


def test_cmsis_pointwise_has_no_scratch(models):
    g = parse(models["branches"])
    pw = [op for op in g.ops if op.name == "CONV_2D"]
    assert pw and all(family_scratch(g, op, "cmsis-nn") == 0 for op in pw)


def test_cmsis_depthwise_scratch(models):
    assert _scratch(models, "dw5")["DEPTHWISE_CONV_2D"] == 4 * 5 * 5 * 2  # not the 3x3 fast path
    g = parse(models["small_cnn"])
    dw = next(op for op in g.ops if op.name == "DEPTHWISE_CONV_2D")
    assert family_scratch(g, dw, "cmsis-nn") == 0  # 3x3, padding <= 1: fast path


def test_cmsis_avgpool_and_fc_scratch(models):
    s = _scratch(models, "pool_fc")
    assert s["AVERAGE_POOL_2D"] == 4 * 4 and s["FULLY_CONNECTED"] == 0


def test_reference_kernels_need_no_scratch(models):
    assert set(_scratch(models, "small_cnn", "reference").values()) == {0}


def test_ram_is_sum_of_parts(models):
    e = estimate_tflite(models["dw5"], "nano33ble", exact=False)
    assert e.ram_bytes == e.arena_bytes + e.scratch_bytes + e.runtime_ram_bytes + e.dsp_ram_bytes
    assert e.scratch_bytes == 208  # the 200-byte dw scratch, 16-aligned, on top of in+out
    assert e.layers[0].scratch_bytes == 200
    assert e.runtime_ram_bytes == 4096


def test_exact_and_fast_agree(models):
    exact = estimate_tflite(models["residual"], "nano33ble", exact=True)
    fast = estimate_tflite(models["residual"], "nano33ble", exact=False)
    assert exact.arena_method == "tflite-micro" and fast.arena_method == "analytical"
    assert abs(exact.arena_bytes - fast.arena_bytes) <= 64
    assert exact.latency_ms == fast.latency_ms and exact.flash_bytes == fast.flash_bytes


def test_kws_kernel_set_matches_calibration_readme():
    kws = {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX", "RESHAPE"}
    # framework 10.6 kB + kernels: ~40 kB reference, ~52 kB CMSIS-NN (Cortex-M4 TFLM build, measured 2025)
    assert 10_600 + sum(kernel_code_bytes(kws, "reference").values()) == 40_000
    assert 10_600 + sum(kernel_code_bytes(kws, "cmsis-nn").values()) == 52_000


def test_flash_is_model_plus_code(models):
    t = load_target("esp32")
    e = estimate_tflite(models["small_cnn"], t, exact=False)
    ops = {layer.op for layer in e.layers}
    code = sum(kernel_code_bytes(ops, t.kernels).values())
    expected = len(models["small_cnn"]) + (t.flash_framework_bytes.value + code) * t.code_size_factor.value
    assert (
        e.flash_bytes
        == round(expected)
        == flash_bytes(
            len(models["small_cnn"]), ops, t.kernels, t.flash_framework_bytes.value, t.code_size_factor.value
        )[0]
    )
    assert e.model_bytes == len(models["small_cnn"])


@pytest.mark.parametrize("kernels", ["cmsis-nn", "reference"])
def test_unknown_op_gets_default_code_size(kernels):
    assert kernel_code_bytes({"FOO"}, kernels)["FOO"] == 3000
