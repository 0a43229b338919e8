"""A fake pipeline for engine and runner tests: no TensorFlow training, milliseconds per trial.

The fake keeps the pipeline's contract: a `precheck` event, `on_epoch(epoch, logs)` per epoch (so
pruning runs), `CandidateRejected` for over-budget candidates, an exception for crashing ones.
"""

from __future__ import annotations

import importlib
import types
from pathlib import Path

import pytest

from tuner.budgets import Budgets
from tuner.errors import CandidateRejected
from tuner.estimate.training_time import HostThroughput

SPACE = """
name: fake
domain: motion
data: seglearn-watch
fixed: {epochs: 4, batch_size: 32}
params:
  width: {type: categorical, choices: [8, 16, 32, 64]}
  depth: {type: int, low: 1, high: 3}
  kernel: {type: categorical, choices: [3, 5], when: {depth: [2, 3]}}
  rate: {type: float, low: 0.0, high: 0.5, step: 0.25}
"""

TINY = """
name: tiny
domain: motion
data: seglearn-watch
fixed: {epochs: 4}
params:
  width: {type: categorical, choices: [8, 16]}
"""


def score(p: dict) -> float:
    """A deterministic 'accuracy' with a clear optimum (wide, shallow, rate 0.25)."""
    return 0.5 + 0.1 * (p["width"] / 64) - 0.05 * p.get("depth", 1) - 0.2 * abs(p.get("rate", 0.25) - 0.25)


def fake_run_candidate(params, problem, on_event=None, on_epoch=None, stages=None):
    from tuner.pipeline import CandidateResult

    emit = on_event or (lambda *a, **k: None)
    problem.calls.append(dict(params))
    lat = params["width"] / 8.0
    ram = 1000 * params["width"]
    if params["width"] == 64 and params.get("depth") == 3:
        raise RuntimeError("simulated converter crash")
    if problem.budgets.latency_ms and lat > problem.budgets.latency_ms:
        raise CandidateRejected(
            f"latency {lat:.1f} ms > budget {problem.budgets.latency_ms:g} ms",
            problem.budgets.margins(lat, ram, ram, 1.0),
            {"latency_ms": lat, "ram_bytes": ram},
        )
    est = {"latency_ms": lat, "ram_bytes": ram, "flash_bytes": 2 * ram, "macs": 100 * params["width"]}
    emit("precheck", estimate=est, est_train_seconds=1.0, metrics={"n_train": 100})
    acc = score(params)
    epochs = int(problem.epochs or params.get("epochs", 4))
    curve = []
    for e in range(epochs):
        curve.append(acc * (e + 1) / epochs)
        if on_epoch:
            on_epoch(e, {"val_accuracy": curve[-1]})
    metrics = {
        "float_accuracy": acc,
        "int8_accuracy": acc,
        "train_seconds": 0.01,
        "est_train_seconds": 1.0,
        "epochs_run": epochs,
        "n_train": 100,
        "history": {"val_accuracy": curve},
    }
    return CandidateResult("feasible", "", metrics, est)


@pytest.fixture
def fake_sweep(tmp_path, monkeypatch):
    """Run sweeps through the real runner with the fake pipeline; returns (run, problem, results root)."""
    import tuner.pipeline
    from tuner.sweep import runner as sweep_runner

    monkeypatch.setenv("TUNER_RESULTS", str(tmp_path / "results"))
    (tmp_path / "fake.yaml").write_text(SPACE)
    (tmp_path / "tiny.yaml").write_text(TINY)
    problem = types.SimpleNamespace(epochs=None, budgets=Budgets(), calls=[], host=None, seed=0, folds=[])

    def check(settings, space, target, budgets, n=8, startup=None, problem=problem):
        problem.budgets = budgets
        problem.epochs = settings.epochs
        return problem

    monkeypatch.setattr(sweep_runner, "check_budgets_reachable", check)
    monkeypatch.setattr(sweep_runner, "_load_problem", lambda settings, space, target: problem)
    monkeypatch.setattr(sweep_runner, "_fit_space", lambda settings, space, problem, emit: (settings, space))
    monkeypatch.setattr(sweep_runner, "_keras_cleanup", lambda: None)
    monkeypatch.setattr(tuner.pipeline, "run_candidate", fake_run_candidate)
    # trials call run_candidate (the fake) only when not overlapped
    monkeypatch.setattr(importlib.import_module("tuner.sweep.post_pool"), "wanted", lambda *a: False)
    monkeypatch.setattr(
        tuner.pipeline,
        "save_artifacts",
        lambda folder, params, res: Path(folder).mkdir(parents=True, exist_ok=True),
    )
    fixed_host = HostThroughput(0.1, 1e-3, 1e-9)
    monkeypatch.setattr("tuner.estimate.training_time.refreshed_host", lambda folder, *_: fixed_host)

    def run(name: str, space: str = "fake", resume: bool = False, **kw):
        from tuner.sweep import SweepSettings, run_sweep

        kw.setdefault("trials", 6)
        settings = SweepSettings.checked(name=name, space=str(tmp_path / f"{space}.yaml"), **kw)
        return run_sweep(settings, resume=resume)

    return run, problem, tmp_path / "results"
