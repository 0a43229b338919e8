"""Issue 12's user story, end to end on generated data: a small long CSV without a time column and an
imbalanced image folder. No trial is spent on settings the data cannot support, every candidate
trains for enough optimizer steps, and the ranking uses the chosen metric on validation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from _small_data import write_imbalanced_images, write_long_csv

pytestmark = pytest.mark.slow


def _rows(name: str) -> list[dict]:
    from tuner.api import leaderboard

    df = leaderboard(name, include_all=True)
    return json.loads(df.astype(object).where(df.notna(), None).to_json(orient="records"))


def _trained_enough(folder: Path) -> None:
    from tuner.schedule import MIN_STEPS

    m = json.loads((folder / "metrics.json").read_text())
    steps_per_epoch = math.ceil(m["n_train"] / m["batch_size_used"])
    converged = m["epochs_run"] == m["best_epoch"] + m["patience_used"]  # early stopping ended it
    perfect = max(m["history"]["val_metric"]) == 1.0  # nothing left to gain on validation
    assert converged or perfect or m["epochs_run"] * steps_per_epoch >= MIN_STEPS


def test_small_long_csv_without_time_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tuner

    monkeypatch.setenv("TUNER_RESULTS", str(tmp_path / "results"))
    csv = write_long_csv(tmp_path / "motion.csv")  # 80 recordings of 90-110 samples, 4 classes, 6 channels
    notes: list[str] = []
    folder = tuner.sweep(
        data=str(csv), name="csv", trials=2, rate_hz=50.0, on_event=lambda k, **i: notes.append(i.get("text", ""))
    )
    settings = yaml.safe_load((folder / "sweep.yaml").read_text())
    assert settings["space"] == "motion" and settings["rate_hz"] == 50.0
    assert settings["resolved_space"]["params"]["window_ms"]["choices"] == [1000]  # 2000/3000 ms > 90 samples
    assert "window_ms 2000, 3000" in settings["space_note"] and settings["space_note"] in notes
    # 80 recordings, no subjects: the small validation split makes the ranking score 5-fold cross-validation
    assert settings["validation"].startswith("5-fold stratified cross-validation over a pool of")
    rows = _rows("csv")
    assert [r["state"] for r in rows] == ["feasible"] * 2  # none rejected as impossible
    assert rows[0]["val_score"] == max(r["val_score"] for r in rows)
    assert all(r["int8_balanced_accuracy"] is not None and r["int8_macro_f1"] is not None for r in rows)
    for r in rows:
        _trained_enough(folder / "trials" / str(r["trial"]))
    assert rows[0]["int8_accuracy"] >= 0.8  # a random forest on per-recording statistics: 1.0
    # the final ranking trained folds 2-5 after the search: the winner's score is their mean
    from tuner.sweep import open_study

    folds = open_study("csv").user_attrs["fold_scores"][str(rows[0]["trial"])]
    assert rows[0]["val_draws"] == 5 == len(folds) and rows[0]["val_score"] == pytest.approx(sum(folds) / 5)
    first = json.loads((folder / "trials" / str(rows[0]["trial"]) / "metrics.json").read_text())
    assert first["val_scores"] == [folds[0]]  # the trial itself trained fold 1 only
    out = tuner.export("csv", out=tmp_path / "export")
    assert yaml.safe_load((out / "config.yaml").read_text())["rate_hz"] == 50.0
    assert json.loads((out / "metrics.json").read_text())["metrics"]["val_scores"] == folds


def test_imbalanced_image_folder_ranked_by_balanced_accuracy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tuner

    monkeypatch.setenv("TUNER_RESULTS", str(tmp_path / "results"))
    imgs = write_imbalanced_images(tmp_path / "imgs")  # 60/12/8 grayscale 20x20
    # one validation draw here (the CSV story covers repeated draws): keeps this test to minutes
    folder = tuner.sweep(data=str(imgs), name="img", trials=2, metric="balanced_accuracy", repeats=1)
    settings = yaml.safe_load((folder / "sweep.yaml").read_text())
    params = settings["resolved_space"]["params"]
    assert params["family"]["choices"] == ["conv2d"] and params["color"]["choices"] == ["grayscale"]
    assert params["resolution_cnn"]["choices"] == [16]  # 24, 32, 48 > 20 px
    assert settings["class_weights"].startswith("balanced")
    rows = _rows("img")
    assert [r["state"] for r in rows] == ["feasible"] * 2
    assert {r["metric"] for r in rows} == {"balanced_accuracy"}
    assert rows[0]["val_score"] == max(r["val_score"] for r in rows)
    for r in rows:
        _trained_enough(folder / "trials" / str(r["trial"]))
        assert set(r["int8_recall"]) == {"c0", "c1", "c2"}
    cfg = yaml.safe_load((tuner.export("img", out=tmp_path / "export") / "config.yaml").read_text())
    assert cfg["metric"] == "balanced_accuracy" and cfg["class_weight"] == "balanced"
