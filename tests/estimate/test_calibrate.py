from __future__ import annotations

import pytest

from tuner.errors import InputError
from tuner.estimate import estimate_tflite
from tuner.estimate._calibrate import calibrate, read_measurements
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
        assert prof.latency.cycles_per_unit[k] == pytest.approx(1.5 * v, rel=2e-3)
    assert all(r.fitted_ms == pytest.approx(r.measured_ms, rel=2e-3) for r in report)
    assert all(r.loo_ms == pytest.approx(r.measured_ms, rel=5e-3) for r in report)
    assert prof.latency.band_low == pytest.approx(1.0, abs=0.01)
    assert "leave-one-out residuals of the 4 user measurements" in prof.latency.source


def test_few_rows_keep_base_band(models, tmp_path):
    base = load_target("nano33ble")
    prof, _ = calibrate(base, read_measurements(_csv(tmp_path, models, 0.5, ("conv",))), "b")
    assert (prof.latency.band_low, prof.latency.band_high) == (base.latency.band_low, base.latency.band_high)


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
