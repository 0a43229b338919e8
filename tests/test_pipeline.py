"""Pipeline plumbing that trains nothing: the pre-check cache per architecture and the stage timer."""

from __future__ import annotations

import numpy as np
import pytest

from tuner.budgets import Budgets
from tuner.estimate.training_time import HostThroughput
from tuner.pipeline import Problem, StageTimer, precheck
from tuner.targets import load_target

BASE = {"family": "dense", "layers": 1, "units1": 16, "dropout": 0.0, "learning_rate": 1e-3, "batch_size": 32}


def test_precheck_converts_each_architecture_once(monkeypatch):
    import tuner.quantize
    from tuner.models import build_model

    calls = []
    real = tuner.quantize.to_int8
    monkeypatch.setattr(tuner.quantize, "to_int8", lambda m, *a, **k: calls.append(m) or real(m, *a, **k))
    problem = Problem("none", None, None, None, load_target("nano33ble"), Budgets(), epochs=4)
    problem.host = HostThroughput(0.5, 0.01, 1e-9, compile_s=1.0, compile_layer_s=0.1)
    x = np.random.default_rng(0).random((64, 12)).astype(np.float32)

    def run(params):
        return precheck(build_model(params, (12,), 3, seed=0), x, problem, None, params, n_val=30)

    est, train = run(BASE)
    again, train2 = run({**BASE, "learning_rate": 0.01, "dropout": 0.3, "batch_size": 8})
    assert len(calls) == 1  # training settings do not change the int8 graph
    assert again is est
    # but they change the training time: 64 samples / batch 8 -> 8 steps instead of 4 (batch 32 is
    # cut to 16 on 64 samples: at least 4 steps an epoch, tuner.schedule)
    assert train2.epoch_seconds - train.epoch_seconds == pytest.approx(4 * 0.01)
    assert est["macs"] == 12 * 16 + 16 * 3
    run({**BASE, "units1": 32})
    assert len(calls) == 2


def test_stage_timer_adds_up_repeated_stages():
    timed = StageTimer()
    for _ in range(2):
        with timed("fit"):
            pass
    with pytest.raises(ValueError), timed("write"):
        raise ValueError("a failing stage is still timed")
    assert set(timed.seconds) == {"fit", "write"}


@pytest.mark.parametrize("mac_s,fits", [(1e-12, True), (1.0, False)])
def test_budget_check_uses_this_machines_throughput(monkeypatch, mac_s, fits):
    """The first budget check estimates training time with the machine's measurement, not a default."""
    import tuner.estimate.training_time as tt
    from tuner.errors import InputError
    from tuner.space import load_space
    from tuner.sweep import SweepSettings
    from tuner.sweep.runner import check_budgets_reachable

    host = HostThroughput(0.0, 0.0, mac_s, compile_s=0.0, compile_layer_s=0.0)
    monkeypatch.setattr(tt, "machine_host", lambda *_: host)
    settings = SweepSettings(space="tabular", max_train_minutes=1.0, trials=1)
    space, target = load_space("tabular"), load_target("nano33ble")
    budgets = settings.budgets(target)
    if fits:
        problem = check_budgets_reachable(settings, space, target, budgets, n=3)
        assert problem.host.mac_s == 1e-12
    else:
        with pytest.raises(InputError, match=r"Estimated training time \(.*; band .*, host measurement\) is larger"):
            check_budgets_reachable(settings, space, target, budgets, n=3)
