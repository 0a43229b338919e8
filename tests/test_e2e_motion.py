"""End to end on the real motion demo data: a tiny sweep, then leaderboard, export and retrain."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from _pick_sweep import SPACE as PICK_SPACE

from tuner.estimate import tflm_accepts

pytestmark = pytest.mark.slow

# 4096 units on 66 spectral features is ~300 kB of int8 weights: over the 200 kB flash budget.
SPACE = {**PICK_SPACE, "name": "tiny-motion"}


@pytest.fixture(scope="module")
def sweep_result(tmp_path_factory):
    import os

    root = tmp_path_factory.mktemp("e2e")
    os.environ["TUNER_RESULTS"] = str(root / "results")
    space = root / "tiny.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    import tuner

    folder = tuner.sweep(space=str(space), name="tiny", trials=3, engine="grid", seed=0, flash_kb=200, repeats=1)
    yield root, folder
    os.environ.pop("TUNER_RESULTS", None)


def test_leaderboard_has_feasible_and_rejected_rows(sweep_result):
    import tuner

    _, folder = sweep_result
    df = tuner.leaderboard("tiny", include_all=True)
    assert len(df) == 3
    assert set(df["state"]) == {"feasible", "rejected"}
    feasible = df[df["state"] == "feasible"]
    assert sorted(feasible["params"].map(lambda p: p["units1"])) == [8, 16]  # grid: each point once
    assert feasible["int8_accuracy"].between(0.2, 1.0).all()  # 7 classes: chance is 0.14
    assert feasible["float_accuracy"].notna().all() and feasible["latency_ms"].gt(0).all()
    assert list(df["state"]).index("rejected") > list(df["state"]).index("feasible")  # feasible first


def test_over_budget_candidate_rejected_without_training(sweep_result):
    import tuner

    _, folder = sweep_result
    df = tuner.leaderboard("tiny", include_all=True)
    rejected = df[df["state"] == "rejected"]
    assert list(rejected["params"].map(lambda p: p["units1"])) == [4096]
    for _, row in rejected.iterrows():
        assert row["reason"].startswith("flash ") and "> budget 200 kB" in row["reason"]
        assert row["train_seconds"] is None or np.isnan(row["train_seconds"])
        tdir = folder / "trials" / str(row["trial"])
        assert not (tdir / "model.keras").exists()
    import optuna

    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{folder / 'study.db'}")
    (t,) = [t for t in study.trials if t.user_attrs["state"] == "rejected"]
    assert t.user_attrs["epochs_run"] == 0
    assert t.constraints["flash"] > 0  # the sampler is told it is infeasible


def test_export_is_int8_and_arena_matches_tflite_micro(sweep_result):
    import tuner
    from tuner.quantize import is_int8_end_to_end

    root, folder = sweep_result
    out = tuner.export("tiny", out=root / "winner")
    from tuner.exporter import EXPORT_FILES

    assert sorted(p.name for p in out.iterdir()) == sorted(EXPORT_FILES)
    tfl = (out / "model_int8.tflite").read_bytes()
    assert is_int8_end_to_end(tfl)
    est = json.loads((out / "metrics.json").read_text())["estimate"]
    # the estimate is the smallest arena tflite-micro accepts (to its 16-byte alignment)
    tfl = (out / "model_int8.tflite").read_bytes()
    assert tflm_accepts(tfl, est["arena_bytes"], invoke=True)
    assert not tflm_accepts(tfl, est["arena_bytes"] - 16, invoke=True)
    header = (out / "model_int8.h").read_text()
    assert f"#define MODEL_INT8_LEN {len(tfl)}" in header


def test_exported_config_retrains_same_architecture(sweep_result):
    import tuner
    from tuner.quantize import interpreter

    root, _ = sweep_result
    cfg = root / "winner" / "config.yaml"
    if not cfg.exists():
        tuner.export("tiny", out=root / "winner")
    folder, summary = tuner.retrain(cfg, out=root / "retrained")
    a = interpreter((root / "winner" / "model_int8.tflite").read_bytes())
    b = interpreter((folder / "model_int8.tflite").read_bytes())
    assert [o["op_name"] for o in a._get_ops_details()] == [o["op_name"] for o in b._get_ops_details()]
    assert [tuple(t["shape"]) for t in a.get_tensor_details()] == [tuple(t["shape"]) for t in b.get_tensor_details()]
    assert summary["metrics"]["int8_accuracy"] > 0.2
