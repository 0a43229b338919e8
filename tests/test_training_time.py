"""Training-time estimate: the formula by hand, the refit on finished trials, the rejection message."""

from __future__ import annotations

import math

import pytest

from tuner.budgets import Budgets
from tuner.estimate.training_time import HostThroughput, format_duration, refreshed_host


def test_epoch_seconds_by_hand():
    h = HostThroughput(overhead_s=0.5, step_s=0.01, mac_s=1e-9)
    # 1000 samples / batch 32 -> 32 steps; 1000 * 20_000 MACs * 1e-9 = 0.02 s
    assert h.epoch_seconds(20_000, 1000, 32) == pytest.approx(0.5 + 32 * 0.01 + 0.02)
    # each conv layer adds its per-step cost to all 32 steps
    h = HostThroughput(overhead_s=0.5, step_s=0.01, mac_s=1e-9, conv_step_s=0.002)
    assert h.epoch_seconds(20_000, 1000, 32, conv_layers=3) == pytest.approx(0.5 + 32 * (0.01 + 3 * 0.002) + 0.02)


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
    assert refreshed_host(tmp_path) == saved  # no new measurement


def test_depthwise_and_batchnorm_have_their_own_costs():
    h = HostThroughput(0.0, 0.0, 1e-10, dw_mac_s=6e-10, bn_elem_s=2e-8)
    # 100 samples x (600 other MACs x 1e-10 + 400 depthwise MACs x 6e-10 + 50 BN elements x 2e-8)
    expected = 100 * (600 * 1e-10 + 400 * 6e-10 + 50 * 2e-8)
    assert h.epoch_seconds(1000, 100, 10, dw_macs=400, bn_elems=50) == pytest.approx(expected)
    assert HostThroughput(0.0, 0.0, 1e-10).epoch_seconds(1000, 100, 10, dw_macs=400) == pytest.approx(1e-5)


def test_host_json_of_an_older_sweep_still_loads(tmp_path):
    (tmp_path / "host.json").write_text('{"overhead_s": 0.1, "step_s": 0.001, "mac_s": 1e-9, "source": "old"}')
    h = HostThroughput.load(tmp_path / "host.json")
    assert (h.dw_mac_s, h.bn_elem_s) == (None, 0.0)


# --- TrainingTimeModel: tracing per model, validation per epoch, per-family factor, band ---

from tuner.estimate.training_time import (  # noqa: E402
    Observed,
    TrainCost,
    TrainingTimeModel,
    densest_centre,
    observed_from_attrs,
)
from tuner.pipeline import train_time_message  # noqa: E402

HOST = HostThroughput(0.5, 0.01, 1e-9, compile_s=1.0, compile_layer_s=0.1)
# 1000 train samples / batch 32 -> 32 steps; per sample 20_000 MACs x 1e-9 = 2e-5 s
DENSE = TrainCost("dense", macs=20_000, n_train=1000, n_val=300, batch_size=32, n_layers=5)
PRIOR_EPOCH = 0.5 + 32 * 0.01 + 1000 * 2e-5 + 300 * 2e-5 / 3  # 0.842


def test_prior_estimate_by_hand():
    est = TrainingTimeModel(HOST).estimate(DENSE, epochs=10)
    assert est.epoch_seconds == pytest.approx(PRIOR_EPOCH)
    # tracing before any trial: the probe's (1 s + 0.1 s per layer) for the training and validation graphs
    assert est.compile_seconds == pytest.approx(2 * (1.0 + 5 * 0.1))
    assert est.seconds == pytest.approx(3.0 + 10 * PRIOR_EPOCH)
    assert (est.low, est.high) == (pytest.approx(est.seconds / 2), pytest.approx(est.seconds * 2))
    assert est.for_epochs(4) == pytest.approx(3.0 + 4 * PRIOR_EPOCH)


def _seen(cost: TrainCost, factor: float, compile_s: float = 0.0) -> Observed:
    epoch = factor * TrainingTimeModel(HOST)._prior_epoch(cost)
    return Observed(cost, 5, compile_s + 5 * epoch, epoch, compile_s)


def test_family_factor_is_shrunk_toward_the_all_families_factor():
    conv = TrainCost("conv2d", macs=400_000, n_train=1000, n_val=300, batch_size=32, n_layers=9)
    seen = [_seen(DENSE, 2.0), _seen(conv, 0.5)] * 4  # interleaved: oldest first
    model = TrainingTimeModel(HOST, seen)
    # weights halve every 3 trials back: trial i of 8 weighs 0.5 ** ((7 - i) / 3)
    w = [0.5 ** ((7 - i) / 3) for i in range(8)]
    wd, wc = sum(w[0::2]), sum(w[1::2])  # dense at even positions (+ln2), conv at odd (-ln2)
    glob = (wd - wc) * math.log(2) / (wd + wc)
    assert model.global_log == pytest.approx(glob)
    dense_log = (wd * math.log(2) + 2 * glob) / (wd + 2)
    assert model.estimate(DENSE, 10).epoch_seconds == pytest.approx(PRIOR_EPOCH * math.exp(dense_log))
    # an unseen family takes the all-families factor and the prior band
    unseen = TrainCost("dscnn", macs=20_000, n_train=1000, n_val=300, batch_size=32, n_layers=5)
    est = model.estimate(unseen, 10)
    assert est.epoch_seconds == pytest.approx(PRIOR_EPOCH * math.exp(glob))
    assert est.high / est.seconds == pytest.approx(2.0)
    got = model.estimate(DENSE, 10)
    assert got.source == "fitted on 4 dense trials (8 in all)"


def test_recent_trials_weigh_more_in_the_factor():
    # the machine slowed down: the same net's epochs took 1x the formula, then 2x
    slow = TrainingTimeModel(HOST, [_seen(DENSE, 1.0)] * 3 + [_seen(DENSE, 2.0)] * 3)
    fast = TrainingTimeModel(HOST, [_seen(DENSE, 2.0)] * 3 + [_seen(DENSE, 1.0)] * 3)
    # weights 2^-5/3 .. 2^-1 on the first three trials, 2^-2/3 .. 1 on the last three (x2 in `slow`)
    w = [0.5 ** ((5 - i) / 3) for i in range(6)]
    glob = sum(w[3:]) / sum(w)  # the all-families factor, in units of ln2
    assert slow.estimate(DENSE, 1).epoch_seconds == pytest.approx(
        PRIOR_EPOCH * math.exp((sum(w[3:]) * math.log(2) + 2 * glob * math.log(2)) / (sum(w) + 2))
    )
    # unweighted, both would be at x2^0.5; the recent trials pull each toward its last speed
    assert slow.estimate(DENSE, 1).epoch_seconds > PRIOR_EPOCH * 2**0.5
    assert fast.estimate(DENSE, 1).epoch_seconds < PRIOR_EPOCH * 2**0.5


def test_tracing_is_fitted_on_the_first_epoch_excess():
    small = TrainCost("dense", 20_000, 1000, 300, 32, n_layers=4)
    big = TrainCost("dense", 20_000, 1000, 300, 32, n_layers=24)
    # tracing = 0.5 s + 0.2 s per layer
    seen = [_seen(small, 1.0, 0.5 + 0.2 * 4), _seen(big, 1.0, 0.5 + 0.2 * 24), _seen(big, 1.0, 0.5 + 0.2 * 24)]
    model = TrainingTimeModel(HOST, seen)
    assert model.compile == (pytest.approx(0.5), pytest.approx(0.2))
    assert model.estimate(TrainCost("dense", 20_000, 1000, 300, 32, n_layers=10), 1).compile_seconds == pytest.approx(
        2.5
    )


def test_observed_from_the_trial_attributes():
    attrs = {
        "candidate": {"family": "conv2d", "batch_size": 16},
        "macs": 1000,
        "n_train": 800,
        "n_val": 200,
        "dw_macs": 0,
        "bn_elems": 0,
        "n_layers": 7,
        "train_seconds": 6.5,
        "epoch_seconds": [3.0, 1.0, 1.5, 1.0],
    }
    o = observed_from_attrs(attrs)
    assert o.cost == TrainCost("conv2d", 1000, 800, 200, 16, 0, 0, 7)
    assert (o.epochs_run, o.epoch_seconds, o.compile_seconds) == (4, 1.0, 2.0)
    assert observed_from_attrs({**attrs, "duplicate_of": 3}) is None
    assert observed_from_attrs({k: v for k, v in attrs.items() if k != "epoch_seconds"}) is None


def test_training_time_rejection_says_estimate_and_band():
    est = TrainingTimeModel(HOST).estimate(DENSE, epochs=2000)  # 3.0 + 2000 * 0.842 = 1687 s
    reasons = Budgets(train_seconds=20 * 60).violations(1.0, 1, 1, est.seconds)
    assert train_time_message(reasons, est) == [
        "Estimated training time (28m 7s; band 14m 4s-56m 14s, host measurement) is larger than the limit (20m 0s)"
    ]


def test_prior_tracing_of_a_probe_that_traced_both_graphs_is_taken_as_measured():
    both = HostThroughput(0.5, 0.01, 1e-9, compile_s=1.0, compile_layer_s=0.1, compile_graphs=2)
    assert TrainingTimeModel(both).estimate(DENSE, epochs=10).compile_seconds == pytest.approx(1.0 + 5 * 0.1)


def test_scaled_host_is_that_many_times_slower_on_every_term():
    h = HostThroughput(
        0.5,
        0.01,
        1e-9,
        source="measured on this host",
        dw_mac_s=3e-9,
        bn_elem_s=2e-8,
        compile_s=1.0,
        compile_layer_s=0.1,
        compile_graphs=2,
        check_s=0.1,
    )
    slow = h.scaled(2.5)
    for macs, dw, bn in [(20_000, 0, 0), (50_000, 10_000, 3_000)]:
        assert slow.epoch_seconds(macs, 1000, 32, dw, bn) == pytest.approx(
            2.5 * h.epoch_seconds(macs, 1000, 32, dw, bn)
        )
    assert TrainingTimeModel(slow).estimate(DENSE, 7).seconds == pytest.approx(
        2.5 * TrainingTimeModel(h).estimate(DENSE, 7).seconds
    )
    assert (slow.load_scale, slow.check_s) == (2.5, 0.1)
    assert slow.scaled(0.4).load_scale == pytest.approx(1.0)
    assert slow.source == "measured on this host (x2.50 for the load now)"
    assert slow.scaled(0.4).source == "measured on this host (x1.00 for the load now)"


def test_machine_host_scales_the_cached_probe_by_the_load_check_now(tmp_path, monkeypatch):
    from tuner.estimate import training_time as tt

    monkeypatch.setenv("TUNER_CACHE", str(tmp_path))
    monkeypatch.setattr(tt, "_NOW", {})
    probe = HostThroughput(
        0.2, 0.003, 1e-9, source="measured on this host", check_s=0.1, compile_graphs=2, probe=tt.PROBE_VERSION
    )
    probe.save(tt._machine_cache())
    monkeypatch.setattr(tt, "measure_host", lambda: pytest.fail("a cached probe with a check is not measured again"))
    monkeypatch.setattr(tt, "load_check", lambda: 0.3)
    now = tt.machine_host()
    assert now.load_scale == pytest.approx(3.0)
    assert now.step_s == pytest.approx(0.009)
    assert HostThroughput.load(tt._machine_cache()) == probe  # the cache keeps the probe as measured
    monkeypatch.setattr(tt, "load_check", lambda: pytest.fail("one check per sweep start"))
    assert tt.machine_host() is now
    monkeypatch.setattr(tt.time, "monotonic", lambda: 1e12)  # a later sweep in the same process
    monkeypatch.setattr(tt, "load_check", lambda: 0.05)
    assert tt.machine_host().load_scale == pytest.approx(0.5)
    monkeypatch.setattr(tt, "_NOW", {})
    monkeypatch.setattr(tt, "load_check", lambda: 100.0)  # a burst: clipped
    assert tt.machine_host().load_scale == pytest.approx(tt.MAX_LOAD_SCALE)


@pytest.mark.parametrize(
    "old",
    [
        HostThroughput(0.2, 0.003, 1e-9, source="measured on this host"),  # older than the load check
        HostThroughput(0.2, 1e-5, 1e-9, source="measured on this host", check_s=0.1),  # the dense-only probe 1
        HostThroughput(0.2, 0.003, 1e-9, check_s=0.1, probe=2),  # probe 2: TensorFlow's default threads
    ],
)
def test_machine_host_measures_again_a_probe_of_an_older_design(tmp_path, monkeypatch, old):
    from tuner.estimate import training_time as tt

    monkeypatch.setenv("TUNER_CACHE", str(tmp_path))
    monkeypatch.setattr(tt, "_NOW", {})
    old.save(tt._machine_cache())
    fresh = HostThroughput(0.1, 0.002, 1e-9, source="measured on this host", compile_graphs=2, check_s=0.08, probe=3)
    monkeypatch.setattr(tt, "measure_host", lambda: fresh)
    monkeypatch.setattr(tt, "load_check", lambda: pytest.fail("just measured: no scaling"))
    assert tt.machine_host() == fresh
    assert HostThroughput.load(tt._machine_cache()) == fresh


def _ran(epochs_run: int, planned: int, pruned: bool = False) -> Observed:
    return Observed(DENSE, epochs_run, 1.0 + epochs_run * PRIOR_EPOCH, PRIOR_EPOCH, 1.0, planned, pruned)


def test_expected_epochs_follow_the_sweeps_earlier_trials():
    assert TrainingTimeModel(HOST).estimate(DENSE, 10).expected_epochs == 10  # nothing seen: the plan
    # ratios 0.4, 2.0, 2.4 and 3.0 of the plan: the densest x1.5-either-way window holds the last
    # three (2.0-3.0 spans x1.5), centred between 2.0 and 3.0 on a log scale
    seen = [_ran(4, 10), _ran(20, 10), _ran(12, 5), _ran(45, 15)]
    est = TrainingTimeModel(HOST, seen).estimate(DENSE, 8)
    assert est.expected_epochs == pytest.approx(8 * math.sqrt(2.0 * 3.0))
    assert est.expected_seconds == pytest.approx(est.compile_seconds + est.expected_epochs * est.epoch_seconds)
    assert est.seconds == pytest.approx(est.compile_seconds + 8 * est.epoch_seconds)  # the gate keeps the plan
    # pruned trials (stopped by the pruner) and trials without a recorded plan say nothing about it
    same = TrainingTimeModel(HOST, [*seen, _ran(2, 10, pruned=True), _ran(3, 0)])
    assert same.epochs_log == pytest.approx(TrainingTimeModel(HOST, seen).epochs_log)


def test_densest_centre_of_equally_full_windows_is_the_one_nearest_the_median():
    w = math.log(1.5)
    assert densest_centre([0.0], w) == 0.0
    # two pairs, each within one window; the median (0.7) is nearer the upper pair's centre (1.25)
    assert densest_centre([0.0, 0.2, 1.2, 1.3], w) == pytest.approx(1.25)
    assert densest_centre([-1.0, 0.0, 0.2, 0.3, 5.0], w) == pytest.approx(0.15)  # the 3-value cluster


def test_expected_band_widens_with_the_spread_of_the_epochs_run():
    steady = TrainingTimeModel(HOST, [_ran(10, 10)] * 4).estimate(DENSE, 10)
    mixed = TrainingTimeModel(HOST, [_ran(5, 10), _ran(30, 10), _ran(10, 10), _ran(20, 10)]).estimate(DENSE, 10)
    lo, hi = steady.expected_range
    assert hi / steady.expected_seconds == pytest.approx(steady.high / steady.seconds)  # no epoch spread
    assert lo == pytest.approx(steady.expected_seconds**2 / hi)
    assert mixed.expected_range[1] / mixed.expected_seconds > 1.5 * (hi / steady.expected_seconds)


def test_observed_reads_the_plan_and_the_pruner():
    attrs = {"train_seconds": 9.0, "epoch_seconds": [3.0, 1.0, 1.0], "n_train": 100, "macs": 10, "candidate": {}}
    o = observed_from_attrs({**attrs, "max_epochs_used": 5, "state": "pruned"})
    assert (o.planned_epochs, o.pruned) == (5, True)
    assert (observed_from_attrs(attrs).planned_epochs, observed_from_attrs(attrs).pruned) == (0, False)


def test_a_saved_measurement_from_a_newer_version_still_loads(tmp_path):
    import json

    saved = HostThroughput(0.2, 0.003, 1e-9, source="measured on this host", check_s=0.1)
    (tmp_path / "host.json").write_text(json.dumps({**json.loads(json.dumps(saved.__dict__)), "gpu_s": 1.0}))
    assert HostThroughput.load(tmp_path / "host.json") == saved


def test_each_conv_layer_adds_its_cost_to_every_step():
    h = HostThroughput(0.1, 0.001, 1e-10, conv_step_s=5e-4)
    # 1000 samples / batch 32 -> 32 steps x (1 ms + 3 conv layers x 0.5 ms); 1000 x 20k MACs x 1e-10
    assert h.epoch_seconds(20_000, 1000, 32, conv_layers=3) == pytest.approx(0.1 + 32 * 0.0025 + 0.002)
    assert h.scaled(2.0).conv_step_s == pytest.approx(1e-3)
    attrs = {"train_seconds": 9.0, "epoch_seconds": [3.0, 1.0], "n_train": 100, "macs": 10, "conv_layers": 4}
    assert observed_from_attrs(attrs).cost.conv_layers == 4
    assert observed_from_attrs({**attrs, "conv_layers": None}).cost.conv_layers == 0  # a trial recorded before


def test_conv_layers_counts_every_kind_of_convolution():
    import keras

    from tuner.pipeline import _conv_layers

    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(4, 3),
            keras.layers.DepthwiseConv2D(3),
            keras.layers.SeparableConv2D(4, 3),
            keras.layers.MaxPooling2D(),
            keras.layers.Reshape((-1, 4)),
            keras.layers.Conv1D(4, 1),
            keras.layers.Flatten(),
            keras.layers.Dense(2),
        ]
    )
    assert _conv_layers(model) == 4


def test_probe_pending_until_this_machine_has_a_probe_of_the_current_design(tmp_path, monkeypatch):
    from tuner.estimate import training_time as tt

    monkeypatch.setenv("TUNER_CACHE", str(tmp_path))
    assert tt.probe_pending()
    HostThroughput(0.2, 0.003, 1e-9, check_s=0.1).save(tt._machine_cache())  # design 1
    assert tt.probe_pending()
    HostThroughput(0.2, 0.003, 1e-9, check_s=0.1, probe=tt.PROBE_VERSION).save(tt._machine_cache())
    assert not tt.probe_pending()


def test_without_a_probe_and_no_need_to_measure_the_reference_probe_is_scaled_by_the_check(tmp_path, monkeypatch):
    import tuner.estimate.training_time as tt

    monkeypatch.setenv("TUNER_CACHE", str(tmp_path))
    monkeypatch.setattr(tt, "_NOW", {})
    monkeypatch.setattr(tt, "measure_host", lambda: pytest.fail("no training-time budget: no 15-25 s probe"))
    monkeypatch.setattr(tt, "load_check", lambda: 0.07)
    ref = tt.reference_host()
    assert ref.check_s == 1.0 and ref.probe == tt.PROBE_VERSION and ref.source.startswith("reference probe")
    host = tt.machine_host(measure=False)
    assert host.step_s == pytest.approx(0.07 * ref.step_s) and host.mac_s == pytest.approx(0.07 * ref.mac_s)
    assert tt.probe_pending()  # not kept as this machine's probe: a sweep with a budget still measures it
    est = TrainingTimeModel(host).estimate(DENSE, 10)
    assert est.source == "reference probe"
    # once this machine has a probe, it is used either way
    own = HostThroughput(0.1, 0.002, 1e-9, source="measured on this host", check_s=0.07, probe=tt.PROBE_VERSION)
    own.save(tt._machine_cache())
    monkeypatch.setattr(tt, "_NOW", {})
    assert tt.machine_host(measure=False).step_s == pytest.approx(0.002)
