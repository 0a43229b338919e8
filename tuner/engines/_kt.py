"""keras-tuner's Hyperband and Bayesian-optimization oracles, driven directly (no kt Tuner).

Our search space is translated into kt `HyperParameters` (conditions become conditional scopes).
Each `ask` creates a kt trial, and its values reach the Optuna trial through a `FixedSampler`, so the
study looks the same as with any other engine. Failed and rejected candidates never stop the
search: the oracle's consecutive-failure limit is set out of reach (STACK-NOTES section 4).

Hyperband's `tuner/epochs` becomes the candidate's `epochs`. We do not warm-start a promoted trial
from its parent's checkpoint: it trains from scratch for the bracket's epoch count (simpler and
reproducible; costs at most a factor 1 + 1/factor more epochs).

The oracle keeps its state in `results/<name>/kt/<engine>/` (kt's own files); a resumed sweep
reloads it and kt re-issues the trial that was running when the process died.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import optuna

from tuner.engines._base import Asked, FixedSampler

_NEVER = 10**9


def to_hyperparameters(space: Any) -> tuple[Any, dict[str, dict[str, Any]]]:
    """kt HyperParameters for `space`, plus maps back for choices kt cannot hold as-is (mixed types)."""
    import keras_tuner as kt

    hp = kt.HyperParameters()
    decode: dict[str, dict[str, Any]] = {}
    known: set[str] = set()

    def scopes_of(name: str) -> list[tuple[str, list[Any]]] | None:
        """kt conditional scopes for `name`, outermost first (a parent's own conditions enclose it);
        None when a condition on a fixed value can never hold."""
        out: list[tuple[str, list[Any]]] = []
        for dep, allowed in space.params[name].when.items():
            if dep in space.fixed:  # a condition on a fixed value is always or never true
                if space.fixed[dep] not in allowed:
                    return None
            elif dep in known:
                for scope in scopes_of(dep) or []:
                    if scope not in out:
                        out.append(scope)
                out.append((dep, list(allowed)))
            # else: a key filled by aliased parameters; kt treats the parameter as always active,
            # and the space's own sampling still decides whether it is used
        return out

    for name, p in space.params.items():
        scopes = scopes_of(name)
        if scopes is None:
            continue
        known.add(name)
        with contextlib.ExitStack() as stack:
            for dep, allowed in scopes:
                stack.enter_context(hp.conditional_scope(dep, allowed))
            if p.type == "categorical":
                choices = list(p.choices or [])
                if len({type(c) for c in choices}) > 1:
                    decode[name] = {str(c): c for c in choices}
                    choices = [str(c) for c in choices]
                hp.Choice(name, choices)
            elif p.type == "int":
                hp.Int(
                    name,
                    int(p.low),
                    int(p.high),
                    step=int(p.step or 1),
                    sampling="log" if p.log else "linear",
                )
            else:
                hp.Float(name, float(p.low), float(p.high), step=p.step, sampling="log" if p.log else "linear")
    return hp, decode


class KerasTunerEngine:
    multi_objective = False

    def __init__(self, name: str, space: Any, seed: int, state_dir: Path, max_epochs: int) -> None:
        import keras_tuner as kt

        self.name = name
        self.space = space
        self.uses_pruner = name == "bayesian"  # Hyperband stops early by its own brackets
        self.sampler = FixedSampler(seed)
        hp, self._decode = to_hyperparameters(space)
        common = dict(
            objective=kt.Objective("score", "max"),
            hyperparameters=hp,
            seed=seed + 1,
            allow_new_entries=False,
            tune_new_entries=False,
            max_retries_per_trial=0,
            max_consecutive_failed_trials=_NEVER,
        )
        if name == "hyperband":
            self.oracle = kt.oracles.HyperbandOracle(
                max_epochs=max(int(max_epochs), 1), factor=3, hyperband_iterations=_NEVER, **common
            )
        else:
            self.oracle = kt.oracles.BayesianOptimizationOracle(max_trials=_NEVER, **common)
        self.oracle.verbose = 0
        state_dir.mkdir(parents=True, exist_ok=True)
        self.oracle._set_project_dir(str(state_dir), name)
        if os.path.exists(os.path.join(str(state_dir), name, "oracle.json")):
            self.oracle.reload()  # ongoing trials of a dead process go to kt's retry queue

    def ask(self, study: optuna.Study) -> Asked | None:
        kt_trial = self.oracle.create_trial("worker")
        if kt_trial.status != "RUNNING":  # STOPPED or IDLE: the oracle has nothing to hand out
            return None
        values = dict(kt_trial.hyperparameters.values)
        epochs = values.get("tuner/epochs")
        values = {k: self._decode.get(k, {}).get(v, v) for k, v in values.items() if not k.startswith("tuner/")}
        self.sampler.values = values
        trial = study.ask()
        params = self.space.sample(trial)
        if epochs is not None:
            params["epochs"] = int(epochs)
        trial.set_user_attr("engine_trial", kt_trial.trial_id)
        return Asked(trial, params, epochs=int(epochs) if epochs is not None else None, ref=kt_trial)

    def tell(self, asked: Asked, score: float | None) -> None:
        kt_trial = asked.ref
        if score is None:
            kt_trial.status = "FAILED"
            kt_trial.message = "candidate failed"
        else:
            self.oracle.update_trial(kt_trial.trial_id, {"score": float(score)})
            kt_trial.status = "COMPLETED"
        self.oracle.end_trial(kt_trial)
