"""Spaces resolved against the data: what is dropped (derived by hand from the bundled YAMLs), the
per-window FFT choices, the cascade to dependent parameters, the space picked from the data, --rate-hz."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import optuna
import pytest

from tuner.errors import InputError
from tuner.preprocess.motion import spectral_features
from tuner.resolve import DataFacts, resolve_space
from tuner.space import load_space

optuna.logging.set_verbosity(optuna.logging.WARNING)
LENGTHS = tuple(range(90, 111)) * 4  # 84 recordings of 90-110 samples


def _choices(space, name: str) -> list:
    return space.params[name].choices if name in space.params else None


def _samples(space, n: int = 60) -> list[dict]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    out = []
    for _ in range(n):
        t = study.ask()
        out.append(space.sample(t))
        study.tell(t, 0.0)
    return out


def test_motion_drops_windows_longer_than_the_recordings_and_ffts_longer_than_the_window() -> None:
    # 50 Hz: 1000/2000/3000 ms = 50/100/150 samples; 95 % of the recordings hold >= 90 samples
    space, note = resolve_space(load_space("motion"), DataFacts("motion", 50.0, LENGTHS))
    assert _choices(space, "window_ms") == [1000]
    assert _choices(space, "fft_length") == [16, 32]  # 64 > 50
    assert "window_ms 2000, 3000" in note and "fft_length 64" in note and note.count("\n") == 0


def test_motion_ffts_are_chosen_per_window_and_cut_offs_stay_below_nyquist() -> None:
    # 20 Hz: windows of 20/40/60 samples all fit; FFT 32 fits only 40 and 60, 64 none; Nyquist 10 Hz
    space, note = resolve_space(load_space("motion"), DataFacts("motion", 20.0, LENGTHS))
    assert _choices(space, "window_ms") == [1000, 2000, 3000]
    assert "fft_length" not in space.params
    assert _choices(space, "fft_length_w1000") == [16]
    assert _choices(space, "fft_length_w2000") == [16, 32]
    assert _choices(space, "filter_cutoff_hz") == [2, 5]
    assert _choices(space, "power_edges") == ["0.5,2,5,10"]
    samples = _samples(space)
    for c in samples:
        if c["dsp"] in ("spectral", "stats_spectral"):  # the same per-window FFT choices for both
            assert c["fft_length"] <= c["window_ms"] * 20 / 1000
            assert c.get("filter_cutoff_hz", 0) < 10
        else:
            assert "fft_length" not in c and "filter" not in c
    assert {c["dsp"] for c in samples} == {"raw", "stats", "spectral", "stats_spectral"}
    assert "filter_cutoff_hz 10" in note


def test_motion_window_that_no_listed_fft_fits_gets_the_largest_power_of_two_that_does() -> None:
    # 8 Hz: windows of 8/16/24 samples; FFT 16 fits 2000 and 3000 ms only. Before, a spectral
    # candidate at 1000 ms got no fft_length, fell back to 16 and failed its trial.
    space, note = resolve_space(load_space("motion"), DataFacts("motion", 8.0, LENGTHS))
    assert _choices(space, "fft_length_w1000") == [8]
    assert _choices(space, "fft_length_w2000") == _choices(space, "fft_length_w3000") == [16]
    assert "fft_length 16 for 1000 ms windows (8 samples): replaced by 8" in note
    for c in _samples(space):
        if c["dsp"] in ("spectral", "stats_spectral"):
            assert c["fft_length"] <= c["window_ms"] * 8 / 1000
    feats = spectral_features(np.random.default_rng(0).standard_normal((3, 8, 6)).astype(np.float32), 8)
    assert feats.shape == (3, 6 * (3 + 4)) and np.isfinite(feats).all()


def test_motion_drops_stats_spectral_with_spectral_when_no_fft_fits() -> None:
    # 5 Hz: windows of 5/10/15 samples, every FFT (16-64) is longer: both blocks with a spectrum go
    space, note = resolve_space(load_space("motion"), DataFacts("motion", 5.0, LENGTHS))
    assert _choices(space, "dsp") == ["raw", "stats"]
    assert not {"fft_length", "filter", "spectrum"} & set(space.params)
    assert "dsp spectral, stats_spectral: no fft_length left for it" in note


def test_image_drops_upscaling_and_rgb_for_grayscale_and_the_families_left_without_resolution() -> None:
    space, note = resolve_space(load_space("image"), DataFacts("image", image_side=28, grayscale=True))
    assert _choices(space, "family") == ["conv2d"]
    assert _choices(space, "resolution_cnn") == [16, 24]
    assert _choices(space, "color") == ["grayscale"]
    assert not {"alpha", "alpha_v2", "resolution_mobilenet", "resolution_mnv2"} & set(space.params)
    assert "color rgb" in note and "mobilenet_v1" in note
    colour, _ = resolve_space(load_space("image"), DataFacts("image", image_side=64, grayscale=False))
    assert colour.params == load_space("image").params  # nothing to drop


def test_nothing_left_is_an_input_error_with_the_fix() -> None:
    with pytest.raises(InputError, match=r"space 'image-large' has nothing left .*images up to 28 px.*fix: "):
        resolve_space(load_space("image-large"), DataFacts("image", image_side=28, grayscale=True))
    with pytest.raises(InputError, match=r"window_ms 1000, 2000, 3000: longer than 95% of the recordings"):
        resolve_space(load_space("motion"), DataFacts("motion", 50.0, (30,) * 10))


def test_audio_drops_windows_longer_than_every_clip_but_keeps_one() -> None:
    space, note = resolve_space(load_space("audio"), DataFacts("audio", 16000.0, (14400,) * 5))  # 900 ms clips
    assert _choices(space, "window_ms") == [800] and "window_ms 1000" in note
    short, _ = resolve_space(load_space("audio"), DataFacts("audio", 16000.0, (8000,) * 5))  # 500 ms: pad
    assert _choices(short, "window_ms") == [800, 1000]


def test_data_facts_of_real_splits() -> None:
    from tuner.data import load_data, split
    from tuner.resolve import data_facts

    parts = split(load_data("mnist-5k"), seed=0)
    assert data_facts(parts, "image") == DataFacts("image", image_side=28, grayscale=True)
    watch = data_facts(split(load_data("seglearn-watch"), seed=0), "motion")
    assert watch.rate_hz == 50.0 and len(watch.lengths) == 140


# ------------------------------------------------------------------ space from the data, --rate-hz
def test_space_is_picked_from_the_data(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from _small_data import write_imbalanced_images, write_long_csv

    from tuner.data import data_domain

    long = write_long_csv(tmp_path / "long.csv", n_recordings=8)
    wide = tmp_path / "wide.csv"
    wide.write_text("a,b,label\n1,2,x\n3,4,y\n")
    imgs = write_imbalanced_images(tmp_path / "imgs", counts=(2, 2))
    assert [data_domain(str(p)) for p in (long, wide, imgs)] == ["motion", "tabular", "image"]
    assert [data_domain(n) for n in ("keywords", "iris", "digits")] == ["audio", "tabular", "image"]


def test_rate_hz_sets_the_rate_of_a_long_csv_and_is_refused_where_it_does_not_apply(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from _small_data import write_long_csv

    from tuner.data import load_data

    csv = write_long_csv(tmp_path / "long.csv", n_recordings=8)
    assert load_data(str(csv), rate_hz=20.0).rate_hz == 20.0
    assert load_data(str(csv)).rate_hz == 50.0  # the documented default, with a warning naming --rate-hz
    timed = tmp_path / "timed.csv"
    rows = [f"{s},{'ab'[s % 2]},{t * 10},{np.sin(t)}" for s in range(4) for t in range(20)]
    timed.write_text("sample,label,time_ms,ax\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match="--rate-hz 20 disagrees with the file's column 'time_ms' \\(100 Hz\\)"):
        load_data(str(timed), rate_hz=20.0)
    with pytest.raises(InputError, match="--rate-hz is for time series"):
        load_data("iris", rate_hz=20.0)


def test_rate_hz_warning_names_the_option(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from _small_data import write_long_csv

    from tuner.data import load_data

    load_data(str(write_long_csv(tmp_path / "long.csv", n_recordings=8)))
    assert "pass --rate-hz" in caplog.text


def test_cli_exits_2_when_the_space_has_nothing_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from tuner.cli import main

    monkeypatch.setenv("TUNER_RESULTS", str(tmp_path / "results"))
    monkeypatch.setattr(sys, "argv", ["tuner", "sweep", "--data", "digits", "--name", "x", "--trials", "1"])
    with pytest.raises(SystemExit) as info:
        main()
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert "space 'image' has nothing left for this data (images up to 8 px, grayscale)" in err  # picked from data
    assert not (tmp_path / "results" / "x").exists()
