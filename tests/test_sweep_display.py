"""The live view shows the ranking score (the sweep's metric of the int8 model on validation), labelled
as such, not the int8 test accuracy: the leaderboard ranks on validation, so the view must agree."""

from __future__ import annotations

import importlib
import io
import types
from pathlib import Path

import pytest
from rich.console import Console

from tuner.cli._display import SweepDisplay
from tuner.sweep import CandidateState, TrialRecord


def _text(display: SweepDisplay) -> str:
    buf = io.StringIO()
    Console(file=buf, width=200, color_system=None).print(display._render())
    return buf.getvalue()


def _rec(trial: int, state: str, **metrics: float | str) -> TrialRecord:
    return TrialRecord(trial=trial, state=CandidateState(state), reason="", params={}, metrics=dict(metrics))


def test_best_is_the_validation_score_not_test_accuracy() -> None:
    d = SweepDisplay(3, metric="balanced_accuracy")
    assert "best val balanced_accuracy -" in _text(d)
    recs = [
        # trial 0 ranks first (val 0.90) although trial 1 has the higher test accuracy
        _rec(0, "feasible", val_score=0.90, int8_accuracy=0.70, metric="balanced_accuracy"),
        _rec(1, "feasible", val_score=0.80, int8_accuracy=0.95, metric="balanced_accuracy"),
        _rec(2, "pruned", val_score=0.99, int8_accuracy=0.99, metric="balanced_accuracy"),  # not ranked
    ]
    d("progress", done=3, total=3, records=recs)
    text = _text(d)
    assert "best val balanced_accuracy 0.900" in text
    assert "0.950" not in text and "0.990" not in text
    assert "feasible 2" in text and "pruned 1" in text


def test_the_final_ranking_shows_no_trial_and_its_lower_cross_validated_best() -> None:
    d = SweepDisplay(2)
    d("note", text="ranking score: 5-fold ...", folds=5)
    d("trial", number=1, params={})
    one = [_rec(0, "feasible", val_score=0.90, val_draws=1), _rec(1, "feasible", val_score=0.85, val_draws=1)]
    d("progress", done=2, total=2, records=one)
    assert "best val accuracy (fold 1) 0.900" in _text(d)  # during the search: fold 1's score
    d("stage", stage="final ranking: trial 0, fold 2/5", trial=None)
    assert "trial 1" not in _text(d) and "final ranking: trial 0, fold 2/5" in _text(d)
    # trial 0's mean over 5 folds is 0.80: the best shown is now trial 1's 0.83
    five = [_rec(0, "feasible", val_score=0.80, val_draws=5), _rec(1, "feasible", val_score=0.83, val_draws=5)]
    d("progress", done=2, total=None, records=five)
    assert "best val accuracy (5 folds) 0.830" in _text(d) and "2/2" in _text(d)


def test_one_split_has_no_fold_label() -> None:
    d = SweepDisplay(1)
    d("progress", done=1, total=1, records=[_rec(0, "feasible", val_score=0.9, val_draws=1)])
    assert "best val accuracy 0.900" in _text(d)


def test_result_line_names_both_scores() -> None:
    d = SweepDisplay(1)
    d("result", number=4, state="feasible", reason="", int8_accuracy=0.7, val_score=0.9, metric="macro_f1")
    assert "trial 4: feasible, val macro_f1 0.900, int8 test accuracy 0.700" in _text(d)


def test_sweeps_recorded_before_val_score_show_test_accuracy_labelled_so() -> None:
    d = SweepDisplay(2)
    d("progress", done=2, total=2, records=[_rec(0, "feasible", int8_accuracy=0.81), _rec(1, "feasible")])
    assert "best int8 test acc 0.810" in _text(d)


SPACE = """
name: fake
domain: tabular
data: iris
fixed: {epochs: 2}
params:
  width: {type: categorical, choices: [8, 16, 32]}
"""


def _fake_run_candidate(params, problem, on_event=None, on_epoch=None, stages=None):
    from tuner.pipeline import CandidateResult

    w = params["width"]
    # validation prefers narrow networks, the test split wide ones: the view must follow validation
    metrics = {
        "float_accuracy": w / 40,
        "int8_accuracy": w / 40,
        "val_score": 1.0 - w / 100,
        "metric": "balanced_accuracy",
        "train_seconds": 0.01,
        "est_train_seconds": 1.0,
        "epochs_run": 2,
        "n_train": 10,
        "history": {"val_metric": [0.5, 1.0 - w / 100]},
    }
    est = {"latency_ms": 1.0, "ram_bytes": 1000, "flash_bytes": 2000, "macs": 100}
    return CandidateResult("feasible", "", metrics, est)


def test_sweep_drives_the_view_with_validation_scores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tuner.pipeline
    from tuner.budgets import Budgets
    from tuner.estimate.training_time import HostThroughput
    from tuner.sweep import SweepSettings, run_sweep
    from tuner.sweep import runner as sweep_runner

    monkeypatch.setenv("TUNER_RESULTS", str(tmp_path / "results"))
    (tmp_path / "fake.yaml").write_text(SPACE)
    problem = types.SimpleNamespace(epochs=None, budgets=Budgets(), host=None, seed=0, folds=[])
    monkeypatch.setattr(sweep_runner, "check_budgets_reachable", lambda *a, **k: problem)
    monkeypatch.setattr(sweep_runner, "_load_problem", lambda settings, space, target: problem)
    monkeypatch.setattr(sweep_runner, "_fit_space", lambda settings, space, problem, emit: (settings, space))
    monkeypatch.setattr(sweep_runner, "_keras_cleanup", lambda: None)
    monkeypatch.setattr(tuner.pipeline, "run_candidate", _fake_run_candidate)
    # trials call run_candidate (the fake) only when not overlapped
    monkeypatch.setattr(importlib.import_module("tuner.sweep.post_pool"), "wanted", lambda *a: False)
    monkeypatch.setattr(
        tuner.pipeline, "save_artifacts", lambda folder, params, res: Path(folder).mkdir(parents=True, exist_ok=True)
    )
    fixed_host = HostThroughput(0.1, 1e-3, 1e-9)
    monkeypatch.setattr("tuner.estimate.training_time.refreshed_host", lambda folder, *_: fixed_host)
    settings = SweepSettings.checked(
        name="view", space=str(tmp_path / "fake.yaml"), trials=6, metric="balanced_accuracy"
    )
    d = SweepDisplay(6, metric="balanced_accuracy")
    results: list[dict] = []

    def on_event(kind: str, **info):
        if kind == "result":
            results.append(info)
        d(kind, **info)

    run_sweep(settings, on_event=on_event)
    assert len(results) == 6 and all(r["metric"] == "balanced_accuracy" for r in results)
    # every result (trained or reused duplicate) carries the validation score beside the test accuracy
    widths = {round(40 * r["int8_accuracy"]) for r in results}
    assert all(r["val_score"] == pytest.approx(1.0 - round(40 * r["int8_accuracy"]) / 100) for r in results)
    # the best shown is the narrowest sampled width's validation score, not any test accuracy
    assert f"best val balanced_accuracy {1.0 - min(widths) / 100:.3f}" in _text(d)
