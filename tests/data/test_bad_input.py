"""Every bad input of issue 5: one-line InputError naming the problem and the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.data.conftest import write_image, write_wav
from tuner.data import load_data
from tuner.errors import InputError


def _images(root: Path, per_class: dict[str, int]) -> None:
    rng = np.random.default_rng(0)
    for cls, n in per_class.items():
        for i in range(n):
            write_image(root / cls / f"{i}.png", rng.integers(0, 255, (8, 8), dtype=np.uint8))


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no images .* found; use one sub-folder per class"):
        load_data(str(tmp_path))
    (tmp_path / "cat").mkdir()
    with pytest.raises(InputError, match="no images"):
        load_data(str(tmp_path))


def test_files_without_class_folders(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(InputError, match="put them in one sub-folder per class"):
        load_data(str(tmp_path))


def test_single_class(tmp_path: Path) -> None:
    _images(tmp_path, {"cat": 4})
    with pytest.raises(InputError, match=r"only one class \(cat\); a classifier needs >= 2"):
        load_data(str(tmp_path))


def test_class_with_one_sample(tmp_path: Path) -> None:
    _images(tmp_path, {"cat": 4, "dog": 1})
    with pytest.raises(InputError, match="class 'dog' has a single sample; add samples or drop it"):
        load_data(str(tmp_path))


def test_nan_and_inf(tmp_path: Path) -> None:
    x = np.ones((6, 3))
    x[2, 1] = np.nan
    np.savez(tmp_path / "n.npz", x=x, y=[0, 1] * 3)
    with pytest.raises(InputError, match="NaN or inf .* sample 2"):
        load_data(str(tmp_path / "n.npz"))
    df = pd.DataFrame({"a": [1.0, np.inf, 2, 3], "label": ["x", "y", "x", "y"]})
    df.to_csv(tmp_path / "i.csv", index=False)
    with pytest.raises(InputError, match="NaN or inf"):
        load_data(str(tmp_path / "i.csv"))


def test_csv_without_label_column(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1, 2], "b": [3, 4]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(InputError, match="no 'label' column .*; add one"):
        load_data(str(tmp_path / "t.csv"))


def test_non_numeric_column(tmp_path: Path) -> None:
    pd.DataFrame({"a": ["x", "y"], "label": [0, 1]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(InputError, match="column 'a' is not numeric"):
        load_data(str(tmp_path / "t.csv"))


def test_recording_column_under_another_name_gets_the_fix(tmp_path: Path) -> None:
    """A long table whose recording id is not called 'sample' reads as a wide table: the error names the fix."""
    df = pd.DataFrame({"recording": ["r0"] * 3 + ["r1"] * 3, "a": range(6), "label": ["x"] * 3 + ["y"] * 3})
    df.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(InputError, match="column 'recording' is not numeric.*rename it to 'sample'$"):
        load_data(str(tmp_path / "t.csv"))


def test_text_column_of_other_values_gets_no_recording_hint(tmp_path: Path) -> None:
    df = pd.DataFrame({"colour": ["red", "blue", "red", "blue"], "a": range(4), "label": [0, 1, 0, 1]})
    df.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(InputError, match="column 'colour' is not numeric") as err:
        load_data(str(tmp_path / "t.csv"))
    assert "sample'" not in str(err.value).split("time)")[-1]


def test_folder_named_like_a_bundled_set_is_not_silently_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's folder `digits` must not load the bundled 8x8 digits: the bare name is refused with the
    fix, and ./digits loads the folder."""
    from PIL import Image

    from tuner.data import data_domain

    for c in ("a", "b"):
        (tmp_path / "digits" / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((12, 12), 40 * i, np.uint8), mode="L").save(tmp_path / "digits" / c / f"{i}.png")
    monkeypatch.chdir(tmp_path)
    for call in (load_data, data_domain):
        with pytest.raises(InputError, match=r"both a bundled set and a path here; pass \./digits"):
            call("digits")
    ds = load_data("./digits")
    assert ds.kind == "image" and ds.class_names == ("a", "b") and len(ds.y) == 6


def test_ragged_samples_cannot_be_stacked(tmp_path: Path) -> None:
    x = np.empty(4, dtype=object)
    x[:] = [np.zeros(3), np.zeros(5), np.zeros(3), np.zeros(2)]
    np.savez(tmp_path / "r.npz", x=x, y=[0, 1, 0, 1])
    with pytest.raises(InputError, match="cannot read|equal-length"):
        load_data(str(tmp_path / "r.npz"))


@pytest.mark.parametrize(
    "extra, message",
    [  # each was a traceback (exit 1), or, for class_names, every candidate failing in training
        (
            {"y": np.eye(3)[np.arange(12) % 3]},
            r"'y' must hold one label per sample \(shape \(12,\)\), got shape \(12, 3\); "
            r"for one-hot labels save y.argmax\(axis=1\)",
        ),
        (
            {"class_names": np.array(["a", "b"])},
            r"'class_names' has 2 names but 'y' has 3 classes; give one name per class",
        ),
        ({"groups": np.arange(5)}, r"'groups' of shape \(5,\) must hold one group per sample \(12\)"),
        ({"rate_hz": np.array([50.0, 60.0])}, r"'rate_hz' must be one positive number \(in Hz\), got \[50.0, 60.0\]"),
        ({"rate_hz": 0.0}, r"'rate_hz' must be one positive number \(in Hz\), got 0.0"),  # was: read as images
    ],
    ids=["one-hot-y", "class-names", "groups", "rate-array", "rate-0"],
)
def test_npz_fields_of_the_wrong_shape(tmp_path: Path, extra: dict, message: str) -> None:
    arrays = {"x": np.zeros((12, 50, 3)), "y": np.arange(12) % 3, "rate_hz": 25.0, **extra}
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(InputError, match=rf"d.npz: {message}"):
        load_data(str(tmp_path / "d.npz"))


def test_npz_y_as_a_column_and_class_names_in_label_order(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((6, 4)), y=np.array([[2], [0], [1]] * 2), class_names=["c0", "c1", "c2"])
    ds = load_data(str(tmp_path / "d.npz"))
    assert ds.y.tolist() == [2, 0, 1, 2, 0, 1] and ds.class_names == ("c0", "c1", "c2")


def test_wide_rows_of_mixed_lengths(tmp_path: Path) -> None:
    (tmp_path / "w.csv").write_text("label,v1,v2,v3,v4\na,1,2,3,4\nb,1,2,,\na,1,2,3,4\nb,4,3,2,1\n")
    with pytest.raises(InputError, match=r"samples have mixed lengths \(row 3 stops after 2 of 4 values\)"):
        load_data(str(tmp_path / "w.csv"))


def test_recordings_shorter_than_every_window(tmp_path: Path) -> None:
    """Mixed lengths are windowed; a class whose recordings are all shorter than the window is refused."""
    from tuner.data import split
    from tuner.preprocess import build_preprocessor

    rows = []
    for s in range(12):
        n = 200 if s % 2 == 0 else 20  # class 'b' only has 20-row (0.4 s) recordings
        rows.append(pd.DataFrame({"sample": s, "label": "ab"[s % 2], "ax": np.arange(n, dtype=float)}))
    pd.concat(rows).to_csv(tmp_path / "m.csv", index=False)
    ds = load_data(str(tmp_path / "m.csv"), domain="motion")
    train = split(ds)[0]
    pre = build_preprocessor({"dsp": "raw", "window_ms": 1000, "stride_ms": 500}, train)
    with pytest.raises(InputError, match="class 'b' has no recording as long as one window .* shorten window_ms"):
        pre.fit(train)


def test_every_row_has_a_sample_id(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("sample,label,v\n1,a,1\n,a,2\n1,a,3\n2,b,4\n")
    with pytest.raises(InputError, match=r"m.csv: row 3 has an empty 'sample'; give every row its recording id$"):
        load_data(str(tmp_path / "m.csv"))  # was: the row dropped without a word


def test_one_label_per_sample(tmp_path: Path) -> None:
    pd.DataFrame({"sample": [1, 1, 2, 2], "label": ["a", "b", "a", "a"], "v": [1.0, 2, 3, 4]}).to_csv(
        tmp_path / "m.csv", index=False
    )
    with pytest.raises(InputError, match="sample 1 has 2 labels"):
        load_data(str(tmp_path / "m.csv"))


@pytest.mark.parametrize(
    "times, message",
    [
        ([0, 10, 10, 20], r"column 'time_ms' repeats at row 4 \(sample 1: 10 then 10\)"),
        ([0, 10, 5, 20], r"column 'time_ms' goes back at row 4 \(sample 1: 10 then 5\)"),
    ],
)
def test_time_column_out_of_order_within_a_sample(tmp_path: Path, times: list[int], message: str) -> None:
    # was accepted: repeated stamps gave half the rate (50 Hz for rows at 100 Hz), backward steps were dropped
    ok = [0, 10, 20, 30]  # samples 2-4 start again at 0: a new recording, not a step back
    df = pd.DataFrame(
        {
            "sample": np.repeat([1, 2, 3, 4], 4),
            "label": np.repeat(["a", "a", "b", "b"], 4),
            "time_ms": times + ok * 3,
            "v": np.arange(16.0),
        }
    )
    df.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(InputError, match=rf"m.csv: {message}; one row per time step, in time order$"):
        load_data(str(tmp_path / "m.csv"))
    df["time_ms"] = ok * 4
    df.to_csv(tmp_path / "m.csv", index=False)
    assert load_data(str(tmp_path / "m.csv")).rate_hz == pytest.approx(100.0)


def _corrupt_images(root: Path, n_bad: int) -> None:
    _images(root, {"cat": 30, "dog": 30})
    for i in range(n_bad):
        (root / "cat" / f"bad{i}.png").write_bytes(b"not a png at all")


def test_few_corrupt_images_are_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _corrupt_images(tmp_path, 1)
    with caplog.at_level("WARNING", logger="tuner.data"):
        ds = load_data(str(tmp_path))
    assert len(ds) == 60
    assert "bad0.png" in caplog.text and "skipping unreadable image file" in caplog.text


def test_many_corrupt_images_are_refused(tmp_path: Path) -> None:
    _corrupt_images(tmp_path, 8)
    with pytest.raises(InputError, match="8 of 68 image files are unreadable .*bad0.png.*; repair or remove them"):
        load_data(str(tmp_path))


def test_corrupt_wav(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for cls in ("yes", "no"):
        for i in range(20):
            write_wav(tmp_path / cls / f"{i}.wav", np.zeros(1600), 16000)
    (tmp_path / "yes" / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    with caplog.at_level("WARNING", logger="tuner.data"):
        assert len(load_data(str(tmp_path))) == 40
    assert "broken.wav" in caplog.text
    for i in range(5):
        (tmp_path / "no" / f"broken{i}.wav").write_bytes(b"garbage")
    with pytest.raises(InputError, match="6 of 46 WAV files are unreadable"):
        load_data(str(tmp_path))


def test_missing_path_and_single_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="neither a bundled set .* nor an existing path"):
        load_data(str(tmp_path / "nope"))
    write_wav(tmp_path / "a.wav", np.zeros(100), 16000)
    with pytest.raises(InputError, match="a single file is one sample; pass the folder"):
        load_data(str(tmp_path / "a.wav"))


def test_data_that_does_not_fit_the_space_domain(image_folder: Path) -> None:
    msg = "image data does not fit the motion search space; use --space image"
    with pytest.raises(InputError, match=msg):
        load_data(str(image_folder), domain="motion")


def test_wav_folder_with_motion_space(tmp_path: Path) -> None:
    for cls in ("yes", "no"):
        for i in range(2):
            write_wav(tmp_path / cls / f"{i}.wav", np.zeros(1600), 16000)
    with pytest.raises(InputError, match="audio recordings do not fit the motion search space; use --space audio"):
        load_data(str(tmp_path), domain="motion")


def test_messages_are_one_line(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1, 2]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(InputError) as info:
        load_data(str(tmp_path / "t.csv"))
    assert "\n" not in str(info.value)
