"""The exported candidate config: complete and human-editable, enough for `tuner retrain` alone.

On disk the candidate's parameters are grouped in three sections a person can find their way
around: `preprocessing` (window, DSP block, ...), `architecture` (family, layers, units, ...) and
`training` (epochs, batch size, learning rate, ...), each value commented with what the search space
allowed. In memory they are one flat `candidate` dict, as the pipeline takes it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tuner.errors import InputError
from tuner.models import param_section

SECTIONS = ("preprocessing", "architecture", "training")


def section_of(key: str) -> str:
    """training, architecture or preprocessing: from the model registry (tuner.models)."""
    return param_section(key)


class BudgetsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    latency_ms: float | None = Field(None, gt=0)
    ram_kb: float | None = Field(None, gt=0)
    flash_kb: float | None = Field(None, gt=0)
    max_train_minutes: float | None = Field(None, gt=0)


class CandidateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    name: str = Field(description="sweep name and trial it came from, for the record")
    data: str = Field(description="bundled demo set name or path to the data")
    domain: str
    space: str = Field(description="search space the candidate was sampled from")
    target: str
    seed: int = 0
    rate_hz: float | None = Field(None, gt=0, description="sampling rate given for time series without a time column")
    metric: Literal["accuracy", "balanced_accuracy", "macro_f1"] = Field(
        "accuracy", description="validation metric early stopping watches (the sweep's ranking metric)"
    )
    class_weight: Literal["balanced"] | None = Field(None, description="balanced: weigh classes by 1/count")
    repeats: int | None = Field(
        None, gt=0, description="the sweep's cross-validation folds (None: 5 on small data); retrain trains on fold 1"
    )
    budgets: BudgetsConfig = Field(default_factory=BudgetsConfig)
    candidate: dict[str, Any] = Field(description="preprocessing, architecture and training parameters")

    @model_validator(mode="before")
    @classmethod
    def _merge_sections(cls, raw: Any) -> Any:
        """Accept the sectioned file layout (preprocessing/architecture/training) or a flat `candidate`."""
        if not isinstance(raw, dict) or not any(s in raw for s in SECTIONS):
            return raw
        raw = dict(raw)
        flat: dict[str, Any] = dict(raw.pop("candidate", None) or {})
        for s in SECTIONS:
            part = raw.pop(s, None) or {}
            if not isinstance(part, dict):
                raise ValueError(f"section '{s}' must be a mapping of parameter: value, got {part!r}")
            flat.update(part)
        raw["candidate"] = flat
        return raw


def _check_training(c: dict[str, Any]) -> None:
    ints = {"epochs": 1, "batch_size": 1, "patience": 0}
    for key, low in ints.items():
        if key in c and (not isinstance(c[key], int) or isinstance(c[key], bool) or c[key] < low):
            raise InputError(f"training.{key} must be an integer >= {low}, got {c[key]!r}")
    if "learning_rate" in c:
        v = c["learning_rate"]
        if not isinstance(v, int | float) or isinstance(v, bool) or not (0 < v < 1 and math.isfinite(v)):
            raise InputError(f"training.learning_rate must be a number in (0, 1), got {v!r}")
    if "dropout" in c:
        v = c["dropout"]
        if not isinstance(v, int | float) or isinstance(v, bool) or not 0 <= v < 1:
            raise InputError(f"training.dropout must be a number in [0, 1), got {v!r}")


def load_config(path: str | Path) -> CandidateConfig:
    """Read and validate a config written by `tuner export`; any problem -> one-line InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise InputError(f"{path}: malformed YAML{line}; fix the syntax or re-export with `tuner export`") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping (a config written by `tuner export`)")
    try:
        cfg = CandidateConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"]) or "config"
        got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
        raise InputError(f"{path}: field '{field}': {err['msg']}{got}") from None
    from tuner.models import check_params
    from tuner.space import load_space

    try:
        _check_training(cfg.candidate)
        try:
            space = load_space(cfg.space)
        except InputError:
            space = None  # a user's space file that moved: the model check below still runs
        if space is not None:
            known = set(space.fixed) | {space.key_of(n) for n in space.params}
            unknown = [k for k in cfg.candidate if k not in known]
            if unknown:
                k = unknown[0]
                raise InputError(
                    f"parameter '{k}' is not in search space '{cfg.space}' (a typo?); known: {', '.join(sorted(known))}"
                )
            space.validate_candidate(cfg.candidate)
        check_params(cfg.candidate)
    except InputError as exc:
        msg = str(exc).replace("candidate.", "")
        raise InputError(f"{path}: {msg}") from None
    try:
        from tuner.targets import load_target

        load_target(cfg.target)
    except InputError as exc:
        raise InputError(f"{path}: field 'target': {exc}") from None
    return cfg


def _comment(key: str, space: Any) -> str:
    if space is None:
        return ""
    p = next((p for n, p in space.params.items() if space.key_of(n) == key), None)
    if p is None:
        return "fixed during the sweep; editable" if key in space.fixed else ""
    if p.type == "categorical":
        allowed = "one of " + ", ".join(str(c) for c in p.choices or [])
    else:
        allowed = f"{p.type} in [{p.low:g}, {p.high:g}]"
    return f"{p.help + '; ' if p.help else ''}{allowed}"


def _scalar(v: Any) -> str:
    return yaml.safe_dump(v, default_flow_style=True, width=10**6).strip().removesuffix("\n...").strip()


def render_config(cfg: CandidateConfig) -> str:
    """The YAML text of a config: header, settings, budgets, and the sectioned, commented candidate."""
    try:
        from tuner.space import load_space

        space = load_space(cfg.space)
    except InputError:
        space = None
    unset = {k for k in ("rate_hz", "class_weight", "repeats") if getattr(cfg, k) is None}
    unset |= {"metric"} if cfg.metric == "accuracy" else set()  # defaults left out: older configs read alike
    head = cfg.model_dump(exclude={"candidate"} | unset)
    lines = [
        "# Candidate exported by `tuner export`. Edit any value, then run `tuner retrain THIS_FILE`",
        "# (`--data PATH` trains on other data, `--epochs N` longer, `--qat` quantization-aware).",
        "# data: bundled demo set name or a path; target: board id (`tuner targets`);",
        "# budgets are reported against after retraining (retrain never rejects the model).",
        yaml.safe_dump(head, sort_keys=False).rstrip(),
    ]
    for section in SECTIONS:
        keys = [k for k in cfg.candidate if section_of(k) == section]
        lines.append(f"{section}:" + ("" if keys else " {}"))
        for k in keys:
            comment = _comment(k, space)
            lines.append(f"  {k}: {_scalar(cfg.candidate[k])}" + (f"  # {comment}" if comment else ""))
    return "\n".join(lines) + "\n"


def save_config(cfg: CandidateConfig, path: Path) -> None:
    path.write_text(render_config(cfg))
