"""The exported candidate config: complete and human-editable, enough for `tuner retrain` alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tuner.errors import InputError


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
    budgets: BudgetsConfig = Field(default_factory=BudgetsConfig)
    candidate: dict[str, Any] = Field(description="preprocessing, architecture and training parameters")


def load_config(path: str | Path) -> CandidateConfig:
    path = Path(path)
    if not path.exists():
        raise InputError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        raise InputError(f"{path}: malformed YAML; fix the syntax or re-export with `tuner export`") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping (a config written by `tuner export`)")
    try:
        cfg = CandidateConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise InputError(f"{path}: field '{field}': {err['msg']} (got {err.get('input')!r})") from None
    from tuner.models import check_params
    from tuner.space import load_space

    try:
        load_space(cfg.space).validate_candidate(cfg.candidate)
    except InputError as exc:
        if "unknown search space" not in str(exc) and "not found" not in str(exc):
            raise InputError(f"{path}: {exc}") from None
    try:
        check_params(cfg.candidate)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    return cfg


def save_config(cfg: CandidateConfig, path: Path) -> None:
    header = (
        "# Candidate exported by `tuner export`. Edit any value, then run `tuner retrain THIS_FILE`.\n"
        "# candidate: preprocessing (window_ms, dsp, ...), architecture (family, layers, units*, ...)\n"
        "# and training (epochs, batch_size, learning_rate, dropout, patience).\n"
    )
    path.write_text(header + yaml.safe_dump(cfg.model_dump(), sort_keys=False))
