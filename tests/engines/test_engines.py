"""One contract for every engine: the same study attributes, the exact trial budget, failures and
rejections recorded without stopping the sweep, identical candidates reused (fake pipeline)."""

from __future__ import annotations

import optuna
import pytest

from tuner.engines import ENGINES, directions, make_engine
from tuner.errors import InputError
from tuner.sweep import open_study, records
from tuner.sweep.records import CandidateState


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_every_engine_writes_the_same_study(fake_sweep, engine):
    run, problem, root = fake_sweep
    folder = run(f"c-{engine}", engine=engine, trials=8, latency_ms=6.0, epochs=2)
    study = open_study(f"c-{engine}")
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 8
    assert [t.number for t in trials] == list(range(8))
    assert len(study.directions) == len(directions(engine))
    for t in trials:
        assert t.state.is_finished()
        a = t.user_attrs
        assert a["engine"] == engine
        assert a["state"] in ("feasible", "rejected", "failed", "pruned")  # tpe-cost prunes after 1 of 2 epochs
        assert set(a["candidate"]) >= {"width", "depth", "epochs"}
        if a["state"] == "failed":
            assert t.state == optuna.trial.TrialState.FAIL
            assert "simulated converter crash" in a["reason"]
            assert "Traceback" in (folder / "trials" / str(t.number) / "error.txt").read_text()
        else:
            assert set(t.constraints) == {"latency", "ram", "flash", "train_time"}
            assert set(a["margins"]) == set(t.constraints)
        if a["state"] == "rejected" and "latency" in a["reason"]:
            assert a["candidate"]["width"] == 64 and t.constraints["latency"] > 0
    recs = records(study)
    feasible = [r for r in recs if r.state is CandidateState.FEASIBLE]
    assert feasible and all(r.metrics["int8_accuracy"] > 0 for r in feasible)
    # a reused twin trains nothing: one pipeline call per distinct, non-duplicate trial
    assert len(problem.calls) == sum(1 for r in recs if r.duplicate_of is None)


def test_identical_candidates_are_reused(fake_sweep):
    run, problem, _ = fake_sweep
    run("dup", space="tiny", engine="random", trials=6)
    recs = records(open_study("dup"))
    assert len(recs) == 6
    assert len(problem.calls) == 2  # only two distinct candidates exist
    dups = [r for r in recs if r.duplicate_of is not None]
    assert len(dups) == 4
    for r in dups:
        twin = recs[r.duplicate_of]
        assert r.params == twin.params and r.metrics["int8_accuracy"] == twin.metrics["int8_accuracy"]


def test_grid_walks_every_candidate_once_then_stops(fake_sweep):
    run, problem, _ = fake_sweep
    run("grid", space="tiny", engine="grid", trials=5)
    recs = records(open_study("grid"))
    assert sorted(r.params["width"] for r in recs) == [8, 16]  # exhausted after 2, no duplicates


def test_grid_refuses_a_continuous_space():
    from tuner.space import load_space

    with pytest.raises(InputError, match="grid search needs every float parameter to have a `step`"):
        make_engine("grid", load_space("motion"), 0, folder=None)


def test_unknown_engine_names_the_known_ones():
    with pytest.raises(InputError, match=r"unknown engine 'cmaes'; known: tpe, nsga2, random, grid, hyperband"):
        make_engine("cmaes", None, 0, folder=None)


def test_keras_tuner_engines_refuse_several_workers(fake_sweep):
    run, _, _ = fake_sweep
    with pytest.raises(InputError, match="--engine hyperband keeps keras-tuner's search state in one process"):
        run("hbw", engine="hyperband", workers=2)


def test_resume_continues_to_the_new_total(fake_sweep):
    run, problem, _ = fake_sweep
    run("res", engine="tpe", trials=3)
    first = [(r.trial, r.params) for r in records(open_study("res"))]
    run("res", engine="tpe", trials=7, resume=True)
    recs = records(open_study("res"))
    assert len(recs) == 7
    assert [(r.trial, r.params) for r in recs[:3]] == first
    with pytest.raises(InputError, match="no sweep named 'nope' to resume"):
        run("nope", trials=2, resume=True)
    with pytest.raises(InputError, match="sweep 'res' already exists; add --resume"):
        run("res", trials=2)


def test_timeout_stops_the_sweep(fake_sweep):
    run, problem, _ = fake_sweep
    run("to", engine="random", trials=50, timeout=0.0001)
    assert len(records(open_study("to"))) <= 1


def test_hyperband_sets_epochs_per_trial(fake_sweep):
    run, problem, _ = fake_sweep
    run("hb", engine="hyperband", trials=12, epochs=9)
    recs = records(open_study("hb"))
    epochs = [r.params["epochs"] for r in recs]
    assert set(epochs) <= {1, 3, 9} and 1 in epochs and 3 in epochs  # successive halving


@pytest.mark.parametrize("engine", ["random", "nsga2"])
def test_pruned_trials_are_recorded_as_pruned_with_their_curve(fake_sweep, engine):
    run, problem, _ = fake_sweep
    run(f"prune-{engine}", engine=engine, trials=24, epochs=8)
    study = open_study(f"prune-{engine}")
    pruned = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned  # random: the median rule fires on this fake (deeper = worse at every epoch); nsga2: the Pareto rule
    for t in pruned:
        assert t.user_attrs["state"] == "pruned" and t.user_attrs["reason"].startswith("pruned at epoch 6")
        assert len(t.user_attrs["val_accuracy_curve"]) == 6 and set(t.constraints) >= {"latency", "ram"}
        # --epochs 8: planned 8, never extended; pruned at 6, nothing beyond the plan
        assert [t.user_attrs[k] for k in ("max_epochs_used", "epoch_cap_used", "extended_epochs")] == [8, 8, 0]
    states = {r.state for r in records(study) if r.trial in {t.number for t in pruned}}
    assert states == {CandidateState.PRUNED}


def test_tpe_cost_prunes_at_equal_training_time(fake_sweep):
    run, problem, _ = fake_sweep
    run("prune-cost", engine="tpe-cost", trials=24, epochs=8)
    pruned = [t for t in open_study("prune-cost").get_trials() if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned  # warm-up: a fifth of 8 epochs, 2; then the equal-time rule (deeper = worse here)
    for t in pruned:
        epochs = len(t.user_attrs["val_accuracy_curve"])
        assert epochs >= 3 and t.user_attrs["reason"].startswith(f"epoch {epochs}: pruned after ")
        assert "earlier trials after the same training time" in t.user_attrs["reason"]


def test_the_machine_is_probed_only_when_a_training_time_budget_needs_it(fake_sweep, monkeypatch):
    from tuner.estimate.training_time import HostThroughput

    run, _problem, _root = fake_sweep
    asked = []
    monkeypatch.setattr(
        "tuner.estimate.training_time.refreshed_host",
        lambda folder, measure=True: asked.append(measure) or HostThroughput(0.1, 1e-3, 1e-9),
    )
    run("no-budget", trials=1)
    run("budget", trials=1, max_train_minutes=60.0)
    assert asked == [False, True]  # no budget: the reference probe, scaled (no 15-25 s probe)


def test_a_resume_says_which_stored_settings_it_continues_with(fake_sweep, tmp_path):
    from tuner.sweep import SweepSettings, run_sweep

    run, _problem, _root = fake_sweep
    run("r", trials=1)
    notes = []
    other = SweepSettings.checked(name="r", space=str(tmp_path / "tiny.yaml"), trials=2, target="esp32s3")
    run_sweep(other, resume=True, on_event=lambda kind, **kw: notes.append(kw["text"]) if kind == "note" else None)
    (note,) = [n for n in notes if n.startswith("resuming")]
    assert f"space {tmp_path / 'fake.yaml'}" in note and "target nano33ble" in note  # the stored ones
    assert "only --trials, --timeout, --workers and --storage apply" in note
