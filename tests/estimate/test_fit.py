"""Calibration fit: leave-one-out accuracy vs the naive baseline, bundled profiles in sync."""

from __future__ import annotations

import pytest

from tuner.estimate._calibration_data import MEASUREMENTS, REFERENCE_FEATURES
from tuner.estimate._fit import fit_family, leave_one_board_out, leave_one_out, log_band, mape
from tuner.estimate._profiles import all_profiles
from tuner.targets import dump_target, load_target


def test_reference_features_count_the_listed_macs():
    for m in MEASUREMENTS:
        f = REFERENCE_FEATURES[m.model]
        assert f["mac_conv"] + f["mac_dw"] + f["mac_fc"] == m.macs


def test_leave_one_out_beats_naive_and_meets_goal():
    rows = [r for r in leave_one_out() if not r.cold_start]
    assert len(rows) == 6  # the boards with >= 2 measurements: nucleo-l4r5zi (4), ek-ra6m4 (2)
    per_op, naive = mape([r.per_op_err for r in rows]), mape([r.naive_err for r in rows])
    assert per_op <= 0.15
    assert per_op < 0.6 * naive


def test_cold_start_rows_are_reported():
    cold = leave_one_board_out()
    assert {r.board for r in cold} >= {"nucleo-l4r5zi", "ek-ra6m4", "rp2040", "esp32"}


def test_fit_reproduces_a_synthetic_board():
    # a board that is exactly 2x ek-ra6m4's cycles: the fitted scale doubles
    base = fit_family("cmsis-nn", MEASUREMENTS)
    twice = [m for m in MEASUREMENTS if m.board == "ek-ra6m4"]
    from dataclasses import replace

    rows = [replace(m, board="slow", latency_ms=2 * m.latency_ms) for m in twice]
    fit = fit_family("cmsis-nn", [*MEASUREMENTS, *rows])
    assert fit.board_scale["slow"] == pytest.approx(2 * fit.board_scale["ek-ra6m4"], rel=1e-3)
    assert fit.board_scale["ek-ra6m4"] == pytest.approx(base.board_scale["ek-ra6m4"], rel=0.2)


def test_log_band_covers_residuals():
    low, high = log_band([0.10, -0.20])
    assert low == pytest.approx(1 / 1.1) and high == pytest.approx(1 / 0.8)
    assert log_band([]) == (1.0, 1.0)


def test_bundled_profiles_match_the_fit():
    for t in all_profiles():
        assert dump_target(load_target(t.id)) == dump_target(t), (
            f"targets/{t.id}.yaml is stale: run python -m tuner.estimate._profiles"
        )
