"""Every loader on small files made here, and the group-aware split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.data.conftest import write_wav
from tuner.data import load_data, split
from tuner.data.files import load_path
from tuner.errors import InputError


def test_npz_tabular_image_and_timeseries(tmp_path: Path) -> None:
    np.savez(tmp_path / "tab.npz", x=np.arange(40, dtype=float).reshape(10, 4), y=np.array([0, 1] * 5))
    ds = load_data(str(tmp_path / "tab.npz"))
    assert ds.kind == "tabular" and ds.x.shape == (10, 4) and ds.class_names == ("0", "1")
    np.savez(tmp_path / "img.npz", x=np.full((6, 8, 8), 0.5), y=np.array(["a", "b"] * 3))
    ds = load_data(str(tmp_path / "img.npz"))
    assert ds.kind == "image" and ds.x.shape == (6, 8, 8, 1) and ds.class_names == ("a", "b")
    assert ds.x.max() == 127.5  # [0, 1] images are rescaled to 0-255
    np.savez(tmp_path / "rgba.npz", x=np.zeros((6, 8, 8, 4)), y=np.array(["a", "b"] * 3))
    with pytest.raises(InputError, match=r"images need 1 \(gray\) or 3 \(RGB\) channels"):
        load_data(str(tmp_path / "rgba.npz"))
    np.savez(tmp_path / "ts.npz", x=np.zeros((6, 50, 3)), y=np.array([0, 1] * 3), rate_hz=25.0, groups=np.arange(6))
    ds = load_data(str(tmp_path / "ts.npz"))
    assert ds.kind == "timeseries" and len(ds.x) == 6 and ds.x[0].shape == (50, 3) and ds.rate_hz == 25.0
    assert list(ds.groups) == list(range(6))


def _long_frame(n_samples: int = 8, rows: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    parts = []
    for s in range(n_samples):
        parts.append(
            pd.DataFrame(
                {
                    "sample": f"s{s}",
                    "label": ["walk", "run"][s % 2],
                    "subject": f"p{s % 4}",
                    "time_ms": np.arange(rows) * 20.0,
                    "ax": rng.normal(size=rows),
                    "ay": rng.normal(size=rows),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("sep", [";", "\t"])
def test_a_semicolon_or_tab_separated_csv_reads_as_the_comma_one(tmp_path: Path, sep: str) -> None:
    df = _long_frame()
    df.to_csv(tmp_path / "comma.csv", index=False)
    df.to_csv(tmp_path / "other.csv", index=False, sep=sep)
    a, b = load_data(str(tmp_path / "comma.csv")), load_data(str(tmp_path / "other.csv"))
    assert b.class_names == a.class_names and b.channel_names == a.channel_names and b.rate_hz == a.rate_hz
    np.testing.assert_array_equal(np.concatenate(b.x), np.concatenate(a.x))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_long_format(tmp_path: Path, suffix: str) -> None:
    df = _long_frame()
    path = tmp_path / f"rec{suffix}"
    df.to_csv(path, index=False) if suffix == ".csv" else df.to_parquet(path)
    ds = load_data(str(path))
    assert ds.kind == "timeseries" and len(ds) == 8
    assert ds.x[0].shape == (60, 2) and ds.channel_names == ("ax", "ay")
    assert ds.rate_hz == pytest.approx(50.0)  # from time_ms steps of 20 ms
    assert ds.class_names == ("run", "walk") and list(ds.y[:2]) == [1, 0]
    assert sorted(set(ds.groups)) == ["p0", "p1", "p2", "p3"]
    np.testing.assert_allclose(ds.x[1][:, 0], df[df["sample"] == "s1"]["ax"].to_numpy(), rtol=1e-6)


def test_wide_format_with_groups(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "f1": np.arange(12.0),
            "f2": np.arange(12.0) * 2,
            "label": ["a", "b", "c"] * 4,
            "subject": np.repeat(["u1", "u2", "u3", "u4"], 3),
        }
    )
    df.to_csv(tmp_path / "t.csv", index=False)
    ds = load_data(str(tmp_path / "t.csv"))
    assert ds.kind == "tabular" and ds.x.shape == (12, 2) and ds.class_names == ("a", "b", "c")
    assert ds.channel_names == ("f1", "f2") and ds.groups[0] == "u1"


def test_folder_of_per_subject_files_groups_by_file(tmp_path: Path) -> None:
    df = _long_frame().drop(columns=["subject"])
    for i in range(3):
        df.assign(sample=df["sample"] + f"-{i}").to_csv(tmp_path / f"subject{i}.csv", index=False)
    ds = load_data(str(tmp_path))
    assert len(ds) == 24 and sorted(set(ds.groups)) == ["subject0", "subject1", "subject2"]


def test_image_folder(image_folder: Path) -> None:
    ds = load_data(str(image_folder))
    assert ds.kind == "image" and ds.class_names == ("cat", "dog", "owl") and len(ds) == 12
    assert isinstance(ds.x, list)  # different sizes are kept; the DSP block resizes
    assert all(im.shape[2] == 3 for im in ds.x)  # gray images joined colour ones as RGB


def test_image_folder_same_size_stacks(tmp_path: Path) -> None:
    from tests.data.conftest import write_image

    for cls in ("a", "b"):
        for i in range(2):
            write_image(tmp_path / cls / f"{i}.png", np.full((5, 7), 10 * i, dtype=np.uint8))
    ds = load_data(str(tmp_path))
    assert isinstance(ds.x, np.ndarray) and ds.x.shape == (4, 5, 7, 1) and ds.x.dtype == np.uint8


def test_wav_folder_resamples_any_rate_and_groups_speakers(tmp_path: Path) -> None:
    for cls in ("yes", "no"):
        for spk in ("ann", "bob", "cid"):
            for k in range(2):
                rate = 8000 if spk == "ann" else 16000
                sig = 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)
                if spk == "bob":  # stereo
                    sig = np.stack([sig, sig], axis=1)
                write_wav(tmp_path / cls / f"{spk}_nohash_{k}.wav", sig, rate)
    ds = load_data(str(tmp_path))
    assert ds.kind == "timeseries" and ds.meta["domain"] == "audio" and ds.rate_hz == 16000
    assert all(c.shape == (16000, 1) for c in ds.x)  # 8 kHz resampled to 16 kHz, stereo mixed down
    assert sorted(set(ds.groups)) == ["ann", "bob", "cid"]


def test_a_wav_cut_short_is_read_with_a_warning_naming_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sig = 0.5 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    for cls in ("yes", "no"):
        for k in range(3):
            write_wav(tmp_path / cls / f"s{k}_nohash_0.wav", sig, 16000)
    cut = tmp_path / "no" / "s1_nohash_0.wav"
    cut.write_bytes(cut.read_bytes()[:16044])  # header + 8,000 of 16,000 frames (16-bit)
    with caplog.at_level("WARNING", logger="tuner.data"):
        ds = load_data(str(tmp_path))
    assert len(ds) == 6
    (warned,) = [r.getMessage() for r in caplog.records if "cut short" in r.getMessage()]
    assert str(cut) in warned and "50% of the audio" in warned


def test_group_split_keeps_subjects_apart() -> None:
    from tuner.data import Dataset

    y = np.array([0, 1] * 20)
    groups = np.repeat([f"g{i}" for i in range(10)], 4)
    ds = Dataset("tabular", np.zeros((40, 2), dtype=np.float32), y, ("a", "b"), groups)
    tr, va, te = split(ds, seed=3)
    assert not set(te.groups) & set(tr.groups) and not set(te.groups) & set(va.groups)
    assert not set(va.groups) & set(tr.groups)  # validation subjects are unseen in training too
    assert len(set(te.groups)) == 3 and len(set(va.groups)) == 1  # 30% of 10, 20% of the other 7
    assert len(tr) + len(va) + len(te) == 40
    again = split(ds, seed=3)[2]
    assert list(again.groups) == list(te.groups)  # seeded


def test_stratified_split_without_groups() -> None:
    from tuner.data import Dataset

    y = np.array([0] * 30 + [1] * 10)
    ds = Dataset("tabular", np.zeros((40, 2), dtype=np.float32), y, ("a", "b"))
    tr, va, te = split(ds, seed=0)
    assert np.bincount(te.y).tolist() == [9, 3]  # 30% of each class


def test_load_path_picks_by_content(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(InputError, match="unsupported data format '.txt'"):
        load_path(tmp_path / "x.txt")


def test_file_name_prefixes_that_are_class_names_are_not_subjects(tmp_path: Path) -> None:
    from tests.data.conftest import write_image

    for cls in ("cat", "dog", "owl"):
        for i in range(4):
            write_image(tmp_path / cls / f"{cls}_{i}.png", np.zeros((4, 4), dtype=np.uint8))
    assert load_data(str(tmp_path)).groups is None  # 'cat_0.png' names the class, not a subject


def test_split_falls_back_to_samples_when_no_subject_split_keeps_every_class(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tuner.data import Dataset

    y = np.repeat([0, 1, 2], 4)
    groups = np.repeat(["a", "b", "c"], 4)  # each class recorded by one subject only
    ds = Dataset("tabular", np.zeros((12, 2), dtype=np.float32), y, ("x", "y", "z"), groups, source="d")
    with caplog.at_level("WARNING", logger="tuner.data"):
        tr, va, te = split(ds)
    assert set(tr.y) == {0, 1, 2} and "splitting by sample" in caplog.text


def test_accepted_data_still_shows_the_loaders_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import pandas as pd

    rows = [{"sample": s, "label": "ab"[s % 2], "ax": 0.1 * t} for s in range(6) for t in range(20)]
    pd.DataFrame(rows).to_csv(tmp_path / "long.csv", index=False)
    with caplog.at_level("WARNING", logger="tuner.data"):
        ds = load_data(str(tmp_path / "long.csv"))
    assert ds.rate_hz == 50.0
    assert [r.getMessage() for r in caplog.records if "assuming 50 Hz" in r.getMessage()]  # held, then shown
