"""Search spaces: a pydantic schema for `search_spaces/*.yaml` and sampling through an Optuna trial.

A space is data. Each parameter is categorical, int or float; `when` makes it conditional on
parameters declared before it (e.g. `alpha` only when `family` is a MobileNet). A sampled
`Candidate` is a plain dict holding only the active parameters plus the space's `fixed` values.

`key` lets two conditional parameters with different choices fill the same candidate key: Optuna
cannot change a categorical's choices between trials, so MobileNetV1's and MobileNetV2's alphas
are two parameters (`alpha_v1`, `alpha_v2`) that both write `alpha`.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tuner.errors import InputError
from tuner.paths import SPACES_DIR

Candidate = dict[str, Any]
Scalar = int | float | str | bool


class Param(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["categorical", "int", "float"]
    choices: list[Scalar] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    when: dict[str, list[Scalar]] = Field(default_factory=dict)
    key: str | None = Field(None, description="candidate key this parameter fills (default: its name)")
    help: str = ""

    @model_validator(mode="after")
    def _check(self) -> Param:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical parameter needs a non-empty `choices` list")
        else:
            if self.low is None or self.high is None:
                raise ValueError(f"an {self.type} parameter needs `low` and `high`")
            if self.low > self.high:
                raise ValueError(f"`low <= high` must hold, but got (low={self.low}, high={self.high})")
            if self.log and self.low <= 0:
                raise ValueError(f"`log: true` needs low > 0, but got low={self.low}")
        return self

    def grid_values(self) -> list[Scalar]:
        if self.type == "categorical":
            return list(self.choices or [])
        if self.type == "int":
            step = int(self.step or 1)
            return list(range(int(self.low), int(self.high) + 1, step))
        if self.step:
            n = int(round((self.high - self.low) / self.step))
            return [round(self.low + i * self.step, 10) for i in range(n + 1)]
        raise InputError("grid search needs every float parameter to have a `step`; add one or use --engine tpe")


class SearchSpace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    domain: Literal["motion", "image", "audio", "tabular"]
    description: str = ""
    data: str = Field(description="default data source: a bundled demo name or a path")
    fixed: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Param]

    @model_validator(mode="after")
    def _check_conditions(self) -> SearchSpace:
        seen: list[str] = list(self.fixed)
        for name, p in self.params.items():
            for dep, allowed in p.when.items():
                if dep not in seen:
                    raise ValueError(f"params.{name}.when refers to '{dep}', which must be declared before it")
                if not isinstance(allowed, list) or not allowed:
                    raise ValueError(f"params.{name}.when.{dep} must be a non-empty list of values")
            seen.append(self.key_of(name))
        return self

    @model_validator(mode="after")
    def _check_values(self) -> SearchSpace:
        """Model families, MobileNet alphas and DSP blocks must be ones the tuner knows."""
        from tuner.models import FAMILIES
        from tuner.preprocess.blocks import DSP_BLOCKS

        def choices(key: str) -> list[tuple[str, Param | None, list[Any]]]:
            out: list[tuple[str, Param | None, list[Any]]] = []
            if key in self.fixed:
                out.append((f"fixed.{key}", None, [self.fixed[key]]))
            out += [(f"params.{n}", p, list(p.choices or [])) for n, p in self.params.items() if self.key_of(n) == key]
            return out

        families = {v for _, _, vs in choices("family") for v in vs}
        for where, _, vs in choices("family"):
            for v in vs:
                if v not in FAMILIES:
                    raise ValueError(f"{where}: unknown model family {v!r}; known: {', '.join(FAMILIES)}")
        for where, p, vs in choices("alpha"):
            applies = (p.when.get("family") if p is not None else None) or sorted(families, key=str)
            for fam in applies:
                allowed = FAMILIES[fam].allowed_alphas if fam in FAMILIES else None
                if allowed is None:
                    continue
                for v in vs:
                    if not any(isinstance(v, int | float) and abs(float(v) - a) < 1e-9 for a in allowed):
                        raise ValueError(
                            f"{where}: alpha {v} is not allowed for {fam}; allowed: {', '.join(map(str, allowed))}"
                        )
        known = DSP_BLOCKS.get(self.domain)
        for where, _, vs in choices("dsp"):
            for v in vs:
                if known is not None and v not in known:
                    raise ValueError(f"{where}: dsp {v!r} is unknown for {self.domain}; known: {', '.join(known)}")
        return self

    def key_of(self, name: str) -> str:
        """Candidate key a parameter fills."""
        return self.params[name].key or name

    def is_active(self, name: str, values: dict[str, Any]) -> bool:
        return all(values.get(dep) in allowed for dep, allowed in self.params[name].when.items())

    def sample(self, trial: Any) -> Candidate:
        """Sample one candidate through an Optuna trial (parameters in declaration order)."""
        values: dict[str, Any] = dict(self.fixed)
        for name, p in self.params.items():
            if not self.is_active(name, values):
                continue
            if p.type == "categorical":
                v = trial.suggest_categorical(name, p.choices)
            elif p.type == "int":
                v = trial.suggest_int(name, int(p.low), int(p.high), step=int(p.step or 1), log=p.log)
            else:
                v = trial.suggest_float(name, p.low, p.high, step=p.step, log=p.log)
                v = round(v, 10) if p.step else v  # 0.30000000000000004 -> 0.3
            values[self.key_of(name)] = v
        return values

    def grid(self) -> list[Candidate]:
        """Every distinct candidate, for grid search over small spaces."""
        out: list[Candidate] = []
        names = list(self.params)
        axes = [self.params[n].grid_values() for n in names]
        size = math.prod(len(a) for a in axes)
        if size > 100_000:
            raise InputError(f"the grid of space '{self.name}' has {size} points; narrow it or use --engine tpe")
        seen: set[tuple] = set()
        for combo in itertools.product(*axes):
            values: dict[str, Any] = dict(self.fixed)
            for n, v in zip(names, combo, strict=True):
                if self.is_active(n, values):
                    values[self.key_of(n)] = v
            key = tuple(sorted((k, str(v)) for k, v in values.items()))
            if key not in seen:
                seen.add(key)
                out.append(values)
        return out

    def param_values(self, candidate: dict[str, Any]) -> dict[str, Any]:
        """The parameter values (by parameter name, not key) that produce `candidate`: what a sampler
        replaying a candidate must return (e.g. `alpha_v2` for a MobileNetV2 candidate's `alpha`)."""
        out: dict[str, Any] = {}
        for name in self.params:
            key = self.key_of(name)
            if key in candidate and self.is_active(name, candidate):
                out[name] = candidate[key]
        return out

    def validate_candidate(self, values: dict[str, Any]) -> None:
        """Check an (edited) candidate against the space; raise InputError naming the field."""
        for name, p in self.params.items():
            key = self.key_of(name)
            if key not in values or not self.is_active(name, values):
                continue
            v = values[key]
            if p.type == "categorical" and v not in (p.choices or []):
                raise InputError(f"candidate.{key}={v!r} is not one of {p.choices}")
            if p.type != "categorical":
                if not isinstance(v, int | float) or isinstance(v, bool):
                    raise InputError(f"candidate.{key} must be a number, got {v!r}")
                if not (p.low <= v <= p.high):
                    raise InputError(f"candidate.{key}={v} is outside [{p.low}, {p.high}]")


def list_spaces() -> list[str]:
    return sorted(p.stem for p in SPACES_DIR.glob("*.yaml"))


def load_space(name_or_path: str | Path) -> SearchSpace:
    """Load a bundled space by name or a user's YAML by path; errors name the field, rule and value."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SPACES_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise InputError(f"unknown search space '{name_or_path}'; known: {', '.join(list_spaces())}")
    if not path.exists():
        raise InputError(f"search space file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" at line {line + 1}" if line is not None else ""
        raise InputError(f"{path}: malformed YAML{where}; fix the syntax") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping with name, domain, data, params")
    try:
        return SearchSpace.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        if not err["loc"]:  # a whole-space rule; the message names the field itself
            raise InputError(f"{path}: {msg}") from None
        field = ".".join(str(x) for x in err["loc"])
        value = err.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        raise InputError(f"{path}: field '{field}': {msg}{shown}") from None
