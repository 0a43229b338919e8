from __future__ import annotations

import math

import pytest

from tuner.errors import InputError
from tuner.estimate import estimate_tflite
from tuner.estimate._calibrate import calibrate, read_measurements
from tuner.estimate._validate import band_q, leave_one_model_out
from tuner.targets import load_target


def _csv(tmp_path, models, factor, names=("small_cnn", "residual", "branches", "dw5")):
    base = load_target("nano33ble")
    lines = ["model,latency_ms"]
    for n in names:
        ms = estimate_tflite(models[n], base, exact=False).latency_ms * factor
        lines.append(f"{models[n + '_path']},{ms}")
    p = tmp_path / "m.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_recovers_a_scaled_board(models, tmp_path):
    base = load_target("nano33ble")
    prof, report = calibrate(base, read_measurements(_csv(tmp_path, models, 1.5)), "my-board")
    assert prof.id == "my-board" and prof.latency.calibrated and prof.kernels == base.kernels
    for k, v in base.latency.cycles_per_unit.items():
        if k == "wbyte":  # the memory term keeps the board's memory facts (little to learn from 4 tiny models)
            assert prof.latency.cycles_per_unit[k] == pytest.approx(v, rel=0.05)
        else:  # the core scale absorbs the 1.5 (and the memory term's share of it)
            assert prof.latency.cycles_per_unit[k] == pytest.approx(1.5 * v, rel=1e-2)
    assert all(r.fitted_ms == pytest.approx(r.measured_ms, rel=1e-2) for r in report)
    assert all(r.loo_ms == pytest.approx(r.measured_ms, rel=1e-2) for r in report)
    # calibrated now: the family's normalised leave-one-model-out quantile (own residuals ~0: nothing to widen)
    q, _ = band_q(leave_one_model_out(), "cmsis-nn")
    ub = prof.latency.unit_band
    assert ub.q == float(f"{q:.4g}") and "leave-one-out residuals of the 4 user measurements" in ub.source
    # the band of each measured model follows from q and the fit's posterior
    for n in ("small_cnn", "dw5"):
        e = estimate_tflite(models[n], prof, exact=False)
        assert e.latency_ms_high / e.latency_ms < base.latency.band_high  # narrower than transferred
        assert e.latency_ms_high / e.latency_ms > math.exp(ub.q * ub.noise_sd * 0.999)


def test_one_row_moves_a_board_from_transferred_to_calibrated(models, tmp_path):
    base = load_target("nano33ble")
    assert not base.latency.calibrated
    prof, (row,) = calibrate(base, read_measurements(_csv(tmp_path, models, 0.5, ("small_cnn",))), "b")
    assert prof.latency.calibrated and row.loo_ms is None
    assert row.fitted_ms == pytest.approx(row.measured_ms, rel=0.02)
    q, _ = band_q(leave_one_model_out(), "cmsis-nn")  # the calibrated band
    assert prof.latency.unit_band.q == float(f"{q:.4g}") and base.latency.unit_band is None
    e = estimate_tflite(models["small_cnn"], prof, exact=False)  # the measured model: narrower than transferred
    assert e.latency_ms_high / e.latency_ms < base.latency.band_high
    assert prof.latency.band_high < base.latency.band_high


def test_a_clock_of_zero_is_refused_not_read_as_the_base_boards(models, tmp_path):
    base = load_target("nano33ble")
    rows = read_measurements(_csv(tmp_path, models, 0.5, ("small_cnn",)))
    with pytest.raises(InputError, match="clock_hz must be > 0, got 0"):
        calibrate(base, rows, "b", clock_hz=0)


@pytest.mark.parametrize(
    "text, match",
    [
        ("model,latency_ms\n", "no measurements"),
        ("a.tflite\n", "expected 'model_path,latency_ms'"),
        ("model,latency_ms\nMISSING.tflite,3\n", "model file not found"),
        ("model,latency_ms\nX,abc\n", "latency_ms must be a number"),
        ("X,-3\n", "latency_ms must be > 0"),
    ],
)
def test_bad_csv(tmp_path, models, text, match):
    p = tmp_path / "m.csv"
    p.write_text(text.replace("X", str(models["conv_path"])))
    with pytest.raises(InputError, match=match):
        read_measurements(p)


def test_missing_csv(tmp_path):
    with pytest.raises(InputError, match="measurements file not found"):
        read_measurements(tmp_path / "none.csv")
