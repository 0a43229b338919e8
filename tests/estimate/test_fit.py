"""Calibration data file, the fit, the memory term, the conformal band, bundled profiles in sync."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from pydantic import ValidationError

from tuner.errors import InputError
from tuner.estimate._boards import BOARD_BY_ID, Memory
from tuner.estimate._calibration_data import LATENCY_CSV, measurements, read_rows, reference_graphs
from tuner.estimate._fit import SIGMA_U, fit_path, observations
from tuner.estimate._graph import op_macs
from tuner.estimate._profiles import all_profiles
from tuner.estimate._validate import Held, band, band_q, conformal_q, jackknife_coverage, leave_one_model_out
from tuner.targets import UnitBand, dump_target, load_target, share_log_sd


def test_shipped_csv_rows_and_sources():
    rows = measurements()
    assert len(rows) == 41
    assert all(r.source and r.latency_ms > 0 and 0 <= r.weight <= 1 for r in rows)
    assert {r.family for r in rows} == {"", "cmsis-nn", "cmsis-nn-helium", "esp-nn", "reference", "mvp"}
    # every unfitted or zero-weight row says why
    assert all(r.use for r in rows if r.weight == 0)
    first = rows[0]
    assert (first.board, first.model, first.latency_ms, first.clock_mhz) == ("nucleo-l4r5zi", "kws_dscnn", 181.917, 120)
    assert first.cycles == pytest.approx(181.917e-3 * 120e6)


def test_reference_graphs_count_the_listed_macs():
    graphs = reference_graphs()
    for r in measurements():
        g = graphs[r.model]
        assert sum(op_macs(g, op) for op in g.ops) == r.macs, r.model


def test_every_fitted_row_is_used():
    obs = observations()
    assert len(obs) == sum(1 for r in measurements() if r.family)  # all 7 models have a graph


def test_bad_csv(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(LATENCY_CSV.read_text().replace("181.917", "-1", 1))
    with pytest.raises(InputError, match=r"c.csv:2: latency_ms > 0.*must hold, got -1.0"):
        read_rows(p)
    p.write_text("board,core\nx,y\n")
    with pytest.raises(InputError, match=r"lacks columns \['clock_mhz'"):
        read_rows(p)


def test_memory_cost_per_byte_from_board_facts():
    assert BOARD_BY_ID["nucleo-l4r5zi"].memory.cycles_per_byte == pytest.approx(6 / 8)  # 5 WS, 64-bit reads
    assert BOARD_BY_ID["nucleo-f413zh"].memory.cycles_per_byte == pytest.approx(4 / 16)  # 3 WS, 128-bit bus
    assert BOARD_BY_ID["rp2040"].memory.cycles_per_byte == pytest.approx(50 / 8)  # XIP line fill
    assert Memory("internal-flash", None, None).cycles_per_byte == pytest.approx(3 / 4)  # assumed 2 WS, 4 B
    assert "assumed" in BOARD_BY_ID["nano33ble"].memory.describe()


def test_fit_recovers_a_board_twice_as_slow():
    obs = observations()
    slow = [replace(o, board="slow", cycles=2 * o.cycles) for o in obs if o.board == "ek-ra6m4"]
    base = fit_path("cmsis-nn-dsp", obs)
    fit = fit_path("cmsis-nn-dsp", [*obs, *slow])
    # the memory term is not scaled by the board, so the scale is a little more than 2x
    assert fit.scale["slow"] / fit.scale["ek-ra6m4"] == pytest.approx(2.0, rel=0.05)
    assert fit.scale["ek-ra6m4"] == pytest.approx(base.scale["ek-ra6m4"], rel=0.1)


def test_fit_pins_the_anchor_and_keeps_the_memory_term():
    f = fit_path("cmsis-nn-dsp", observations())
    assert f.coeffs["mac_conv"] == 1.0
    o = next(o for o in observations() if o.board == "nucleo-l4r5zi" and o.model == "ad_fc_autoencoder")
    assert o.units["wbyte"] > 264_192  # int8 weights plus int32 biases
    expected = f.scale[o.board] * f.unit_cycles(o.units) + f.memory_factor * 0.75 * o.units["wbyte"]
    assert f.cycles(f.scale[o.board], o.units, o.cpb) == pytest.approx(expected)


def test_conformal_quantile():
    r = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert conformal_q(r) == 0.8  # ceil(10 * 0.8) = 8th smallest
    assert conformal_q(r[:3]) == math.inf  # ceil(4 * 0.8) = 4 > 3 residuals: no finite band
    assert conformal_q(r[:5]) == 0.5  # ceil(6 * 0.8) = 5th of 5


def _held(family: str, ratio: float) -> Held:
    return Held("b", family, "p", "m", ratio, 1.0, 1.0, 1.0, "own scale", "")


def test_jackknife_coverage_is_out_of_sample():
    # ten rows, log-residuals 0.1 .. 1.0: each row's band comes from the other nine
    held = [_held("f", math.exp(0.1 * i)) for i in range(1, 11)]
    cov, ratio, n = jackknife_coverage(held)
    # q for the others = 8th smallest of 9: rows 1..8 see q >= their residual, rows 9 and 10 do not
    assert (cov, n) == (0.8, 10)
    assert ratio == pytest.approx(math.exp(2 * 0.9))
    low, high, what = band(held, "f")
    assert (low, high) == (pytest.approx(math.exp(-0.9)), pytest.approx(math.exp(0.9)))
    assert what == "10 f rows"


def test_small_family_borrows_the_pool_of_all():
    held = [_held("big", math.exp(0.1 * i)) for i in range(1, 11)] + [_held("small", math.exp(2.0))]
    _, _, what = band(held, "small")
    assert what.startswith("11 rows of all families (small has 1")


def test_lomo_predicts_only_boards_with_other_rows():
    lomo = leave_one_model_out()
    cmsis = [h for h in lomo if h.family == "cmsis-nn" and h.weight > 0]
    assert sorted((h.board, h.model) for h in cmsis) == sorted(
        [("nucleo-l4r5zi", m) for m in ("kws_dscnn", "vww_mobilenetv1_025", "ic_resnet8", "ad_fc_autoencoder")]
        + [("ek-ra6m4", "kws_dscnn"), ("ek-ra6m4", "vww_mobilenetv1_025")]
    )


def _close(a, b, path="") -> list[str]:
    """Where two parsed profiles differ: numbers beyond 1e-3 relative or 1e-7 (the fit's least squares move
    in the 6th digit between machines' BLAS builds), anything else at all."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in _close(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _close(x, y, f"{path}[{i}]")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return [] if abs(a - b) <= 1e-3 * max(abs(a), abs(b)) + 1e-7 else [f"{path}: {a} vs {b}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def test_bundled_profiles_match_the_fit():
    import yaml

    for t in all_profiles():
        diff = _close(yaml.safe_load(dump_target(load_target(t.id))), yaml.safe_load(dump_target(t)))
        assert not diff, f"targets/{t.id}.yaml is stale ({diff[:3]}): run python -m tuner.estimate._profiles"


def test_a_stale_profile_is_caught():
    assert _close({"a": [1.0, 0.00423240]}, {"a": [1.0, 0.00423241]}) == []
    assert _close({"a": [1.0, 0.0042324]}, {"a": [1.0, 0.0043324]}) == [".a[1]: 0.0042324 vs 0.0043324"]
    assert _close({"a": "x"}, {"a": "y"}) == [".a: 'x' vs 'y'"]


def test_accuracy_benchmark_prints_the_out_of_sample_figures():
    import subprocess
    import sys
    from pathlib import Path

    from tuner.estimate._validate import leave_one_board_out, mape

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "estimator_accuracy.py"
    p = subprocess.run([sys.executable, str(script), "--shipped"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    lomo = [h for h in leave_one_model_out() if h.family == "cmsis-nn" and h.weight > 0]
    lobo = [h for h in leave_one_board_out() if h.family == "cmsis-nn" and h.weight > 0]
    line = next(x for x in p.stdout.splitlines() if x.startswith("| cmsis-nn |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[1] == str(len(lomo)) and cells[2] == f"{mape([h.per_op_err for h in lomo]):.1%}"
    assert cells[6] == str(len(lobo)) and cells[7] == f"{mape([h.per_op_err for h in lobo]):.1%}"
    assert "LOMO MAPE <= 15%" in p.stdout and "### What was fitted on what" in p.stdout


def test_posterior_sd_small_for_a_seen_mix_of_units_large_for_a_prior_only_unit():
    obs = observations()
    f = fit_path("cmsis-nn-dsp", [o for o in obs if o.model != "ad_fc_autoencoder"])
    kws = next(o for o in obs if o.board == "nucleo-l4r5zi" and o.model == "kws_dscnn")
    ad = next(o for o in obs if o.board == "nucleo-l4r5zi" and o.model == "ad_fc_autoencoder")
    sd_kws, sd_ad = f.log_sd(kws.board, kws.units, kws.cpb), f.log_sd(ad.board, ad.units, ad.cpb)
    assert sd_kws < 0.1 and 0.25 < sd_ad < SIGMA_U  # FC cost: only its prior (SIGMA_U) knows it
    cov = f.unit_log_cov("nucleo-l4r5zi")
    # no row has FC work: its log cost = the prior's spread on top of the board scale's
    assert cov["mac_fc"]["mac_fc"] == pytest.approx(SIGMA_U**2 + cov["mac_conv"]["mac_conv"], rel=0.05)
    assert set(cov) == {*f.coeffs, "wbyte"}


def test_share_log_sd_is_the_delta_method():
    cov = {"op": {"op": 0.04, "out": 0.01}, "out": {"op": 0.01, "out": 0.09}}
    # shares 1/4, 3/4: var = 0.04/16 + 2 * 0.01 * 3/16 + 0.09 * 9/16
    assert share_log_sd(cov, {"op": 1.0, "out": 3.0}) == pytest.approx(math.sqrt(0.0025 + 0.00375 + 0.050625))
    assert share_log_sd(cov, {"op": 0.0}) == 0.0
    band = UnitBand(q=2.0, noise_sd=0.1, log_cov=cov, source="test")
    assert band.half_width({"op": 1.0}) == pytest.approx(2.0 * math.hypot(0.2, 0.1))
    with pytest.raises(ValidationError, match="unknown units"):
        UnitBand(q=1.0, noise_sd=0.1, log_cov={"bogus": {"bogus": 1.0}}, source="test")
    with pytest.raises(ValidationError, match=">= 0"):
        UnitBand(q=1.0, noise_sd=0.1, log_cov={"op": {"op": -1.0}}, source="test")


def test_normalised_conformal_scores_residuals_by_their_sd():
    # scores 0.1 .. 1.0 as in the plain case, on rows whose sd alternates 0.2 / 0.4
    sds = [0.2 if i % 2 else 0.4 for i in range(1, 11)]
    held = [replace(_held("f", math.exp(0.1 * i * sd)), sigma=sd) for i, sd in zip(range(1, 11), sds, strict=True)]
    assert [h.score for h in held] == pytest.approx([0.1 * i for i in range(1, 11)])
    cov, ratio, n = jackknife_coverage(held)
    assert (cov, n) == (0.8, 10)  # q from the other nine: 0.9 for rows 1-8, 0.8 for rows 9 and 10
    # bands exp(2 q sd): 0.32, 0.36 x4 | 0.64, 0.72 x4 in log: the median is between 0.36 and 0.64
    assert ratio == pytest.approx(math.exp(0.5))
    q, _ = band_q(held, "f")
    assert q == pytest.approx(0.9)
    low, high, _ = band(held, "f")  # typical band: q x the median sd
    assert high == pytest.approx(math.exp(0.27)) and low == pytest.approx(math.exp(-0.27))


def test_calibrated_profiles_carry_the_band_per_model_transferred_do_not():
    from tuner.estimate._features import kernel_path
    from tuner.estimate._profiles import typical_half_width

    for t in all_profiles():
        assert (t.latency.unit_band is not None) == t.latency.calibrated, t.id
        if t.latency.calibrated:  # shown band: the median over the reference models on the board
            half = typical_half_width(t.latency.unit_band, t.latency.cycles_per_unit, kernel_path(t.kernels, t.core))
            assert t.latency.band_high == pytest.approx(math.exp(half), abs=1e-3), t.id
            assert t.latency.band_low == pytest.approx(math.exp(-half), abs=1e-3), t.id
