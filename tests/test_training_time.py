"""Training-time estimate: the formula by hand, the refit on finished trials, the rejection message."""

from __future__ import annotations

import pytest

from tuner.budgets import Budgets
from tuner.estimate.training_time import HostThroughput, fit, format_duration, refreshed_host


def test_epoch_seconds_by_hand():
    h = HostThroughput(overhead_s=0.5, step_s=0.01, mac_s=1e-9)
    # 1000 samples / batch 32 -> 32 steps; 1000 * 20_000 MACs * 1e-9 = 0.02 s
    assert h.epoch_seconds(20_000, 1000, 32) == pytest.approx(0.5 + 32 * 0.01 + 0.02)
    assert h.estimate_seconds(20_000, 1000, 32, 10) == pytest.approx(1.0 + 10 * 0.84)


def test_fit_recovers_the_coefficients_and_keeps_the_prior_until_four_trials():
    true = HostThroughput(0.3, 0.004, 2e-9)
    rows = [
        (m, s, b, e, e * true.epoch_seconds(m, s, b))
        for m, s, b, e in [
            (1e4, 800, 32, 5),
            (5e5, 800, 16, 3),
            (2e6, 1600, 32, 2),
            (3e4, 3200, 64, 4),
            (1e6, 400, 8, 6),
        ]
    ]
    prior = HostThroughput(1.0, 1.0, 1.0, source="prior")
    assert fit(rows[:3], prior) is prior
    got = fit(rows, prior)
    assert got.overhead_s == pytest.approx(0.3, rel=1e-3)
    assert got.step_s == pytest.approx(0.004, rel=1e-3)
    assert got.mac_s == pytest.approx(2e-9, rel=1e-3)
    assert got.source == "refit on 5 trials"


@pytest.mark.parametrize("seconds,text", [(2310, "38m 30s"), (1200, "20m 0s"), (59.6, "1m 0s"), (3725, "1h 2m 5s")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_rejection_message_names_estimate_and_limit():
    b = Budgets(train_seconds=20 * 60)
    assert b.violations(1.0, 1, 1, 2310.0) == ["Estimated training time (38m 30s) is larger than the limit (20m 0s)"]
    assert b.margins(1.0, 1, 1, 2310.0)["train_time"] == pytest.approx(2310 / 1200 - 1)


def test_refreshed_host_reuses_the_saved_measurement(tmp_path):
    saved = HostThroughput(0.2, 0.003, 1e-9, source="measured on this host")
    saved.save(tmp_path / "host.json")
    assert refreshed_host(tmp_path, []) == saved  # no new measurement, no refit below 4 trials


def test_depthwise_and_batchnorm_have_their_own_costs():
    h = HostThroughput(0.0, 0.0, 1e-10, dw_mac_s=6e-10, bn_elem_s=2e-8)
    # 100 samples x (600 other MACs x 1e-10 + 400 depthwise MACs x 6e-10 + 50 BN elements x 2e-8)
    expected = 100 * (600 * 1e-10 + 400 * 6e-10 + 50 * 2e-8)
    assert h.epoch_seconds(1000, 100, 10, dw_macs=400, bn_elems=50) == pytest.approx(expected)
    assert HostThroughput(0.0, 0.0, 1e-10).epoch_seconds(1000, 100, 10, dw_macs=400) == pytest.approx(1e-5)


def test_fit_keeps_the_measured_depthwise_and_batchnorm_costs():
    true = HostThroughput(0.2, 0.003, 1e-9, dw_mac_s=5e-9, bn_elem_s=3e-8)
    cases = [
        (1e5, 0, 0, 800, 32, 5),
        (4e5, 1e5, 2e4, 800, 32, 3),
        (2e6, 0, 0, 1600, 16, 2),
        (5e4, 1e4, 5e3, 3200, 64, 4),
        (1e6, 2e5, 4e4, 400, 8, 6),
    ]
    rows = [(m, s, b, e, e * true.epoch_seconds(m, s, b, d, n), d, n) for m, d, n, s, b, e in cases]
    got = fit(rows, HostThroughput(1.0, 1.0, 1.0, dw_mac_s=5e-9, bn_elem_s=3e-8))
    assert (got.overhead_s, got.step_s) == (pytest.approx(0.2, rel=1e-3), pytest.approx(0.003, rel=1e-3))
    assert got.mac_s == pytest.approx(1e-9, rel=1e-3)
    assert (got.dw_mac_s, got.bn_elem_s) == (5e-9, 3e-8)


def test_host_json_of_an_older_sweep_still_loads(tmp_path):
    (tmp_path / "host.json").write_text('{"overhead_s": 0.1, "step_s": 0.001, "mac_s": 1e-9, "source": "old"}')
    h = HostThroughput.load(tmp_path / "host.json")
    assert (h.dw_mac_s, h.bn_elem_s) == (None, 0.0)
