"""One tiny real sweep shared by the pick/export/retrain/report tests (trained once per process).

Grid over three dense widths on the motion demo data, 2 epochs: two feasible candidates and one
(4096 units, ~370 kB of weights) over the 200 kB flash budget, rejected before training.
Also two sweeps made from it: `none-fit` (only the rejected trial) and `empty` (no trials).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

SPACE = {
    "name": "pick-tiny",
    "domain": "motion",
    "data": "seglearn-watch",
    "fixed": {
        "epochs": 2,
        "batch_size": 32,
        "patience": 2,
        "window_ms": 1000,
        "stride_ms": 1000,
        "dsp": "spectral",
        "fft_length": 16,
        "family": "dense",
        "layers": 1,
        "dropout": 0.0,
        "learning_rate": 0.005,
    },
    "params": {"units1": {"type": "categorical", "choices": [8, 16, 4096]}},
}
_CACHE: dict[str, Path] = {}


def build(root: Path) -> Path:
    """Run the shared sweeps under `root` (once per process); returns the results root."""
    if "root" in _CACHE:
        return _CACHE["root"]
    import optuna

    import tuner

    results = root / "results"
    old = os.environ.get("TUNER_RESULTS")
    os.environ["TUNER_RESULTS"] = str(results)
    try:
        space = root / "pick-tiny.yaml"
        space.write_text(yaml.safe_dump(SPACE))
        tuner.sweep(space=str(space), name="pick", trials=3, engine="grid", seed=0, flash_kb=200, repeats=1)
        settings = yaml.safe_load((results / "pick" / "sweep.yaml").read_text())
        picked = optuna.load_study(study_name="pick", storage=f"sqlite:///{results / 'pick' / 'study.db'}")
        for name in ("empty", "none-fit"):  # no trials; only the rejected trial of "pick"
            folder = results / name
            folder.mkdir(parents=True)
            (folder / "sweep.yaml").write_text(yaml.safe_dump({**settings, "name": name}))
            study = optuna.create_study(
                study_name=name, storage=f"sqlite:///{folder / 'study.db'}", directions=picked.directions
            )
            if name == "none-fit":
                for t in picked.trials:
                    if t.user_attrs.get("state") == "rejected":
                        study.add_trial(t)
    finally:
        if old is None:
            os.environ.pop("TUNER_RESULTS", None)
        else:
            os.environ["TUNER_RESULTS"] = old
    _CACHE["root"] = results
    return results
