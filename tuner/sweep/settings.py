"""Settings of a sweep and where it lives: `results/<name>/sweep.yaml`, its study, its records."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator

from tuner.budgets import Budgets
from tuner.errors import InputError
from tuner.paths import results_root
from tuner.sweep.records import TrialRecord
from tuner.sweep.storage import env_storage, real_url, redact_url, scrub

# A sweep name is a folder under results/: nothing that can climb out of it or hide in it.
NAME_RULE = "letters, digits, '.', '_' and '-' only, at most 64 characters, not '.' or '..'"
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def check_name(name: Any) -> str:
    """The sweep name if it follows NAME_RULE; InputError with the rule otherwise."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise InputError(f"sweep name {name!r} is not allowed: use {NAME_RULE}")
    return name


# Settings that define the search; a worker joining a shared study must agree on them.
_DEFINING = (
    "space",
    "target",
    "data",
    "engine",
    "epochs",
    "latency_ms",
    "ram_kb",
    "flash_kb",
    "max_train_minutes",
    "seed",
)


class SweepSettings(BaseModel):
    """Resolved settings of a sweep, saved as `results/<name>/sweep.yaml` and in the study."""

    model_config = ConfigDict(extra="forbid")
    name: str = "demo"
    space: str = "motion"
    target: str = "nano33ble"
    data: str | None = None  # None: the space's default data
    engine: str = "tpe"
    trials: int = Field(10, gt=0)
    timeout: float | None = Field(None, gt=0)
    epochs: int | None = Field(None, gt=0)
    latency_ms: float | None = Field(None, gt=0)
    ram_kb: float | None = Field(None, gt=0)
    flash_kb: float | None = Field(None, gt=0)
    max_train_minutes: float | None = Field(None, gt=0)
    storage: str | None = Field(None, repr=False)  # in memory as given; dumped with the password redacted
    workers: int = Field(1, gt=0)
    seed: int = 0
    tuner_version: str | None = None  # of the tuner that created the sweep (set when it is created)

    @field_validator("name")
    @classmethod
    def _name_rule(cls, v: str) -> str:
        return check_name(v)

    @field_serializer("storage")
    def _redacted(self, v: str | None) -> str | None:  # sweep.yaml, the study, the report: never the password
        return None if v is None else redact_url(v)

    @classmethod
    def checked(cls, **values: Any) -> SweepSettings:
        """Validate; a bad value is an InputError naming the option, e.g. '--trials must be > 0, got 0'."""
        if "name" in values:
            check_name(values["name"])
        try:
            return cls(**values)
        except ValidationError as exc:
            err = exc.errors()[0]
            opt = "--" + str(err["loc"][0]).replace("_", "-") if err["loc"] else "settings"
            raise InputError(f"{opt}: {err['msg'].lower()}, got {err.get('input')!r}") from None

    def budgets(self, target: Any) -> Budgets:
        """Budgets from flags; RAM and flash default to the target's."""
        return Budgets(
            latency_ms=self.latency_ms,
            ram_bytes=int(self.ram_kb * 1024) if self.ram_kb else target.ram_bytes,
            flash_bytes=int(self.flash_kb * 1024) if self.flash_kb else target.flash_bytes,
            train_seconds=self.max_train_minutes * 60 if self.max_train_minutes else None,
        )


def sweep_dir(name: str) -> Path:
    """`results/<name>/`; InputError if `name` breaks NAME_RULE (every verb taking a NAME passes here)."""
    return results_root() / check_name(name)


def storage_url(settings: SweepSettings) -> str:
    """The URL to connect with: the sweep's own SQLite file, the given URL, or, when the settings were
    read back with the password redacted, the real URL from TUNER_STORAGE (InputError if missing)."""
    if settings.storage is None:
        return f"sqlite:///{(sweep_dir(settings.name) / 'study.db').resolve()}"
    return real_url(settings.storage)


def open_study(name: str, storage: str | None = None) -> Any:
    """Open an existing sweep's study (read side: leaderboard, export, report)."""
    import optuna

    folder = sweep_dir(name)
    settings_file = folder / "sweep.yaml"
    url = storage
    if url is None and settings_file.exists():
        url = storage_url(load_settings(name))
    url = url or env_storage()  # no local sweep.yaml: the shared storage from TUNER_STORAGE, if set
    if url is None:
        known = sorted(p.name for p in results_root().glob("*") if (p / "sweep.yaml").exists())
        raise InputError(f"no sweep named '{name}' in {results_root()}/; known: {', '.join(known) or 'none'}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return optuna.load_study(study_name=name, storage=url)
    except Exception as exc:
        raise InputError(
            scrub(f"cannot open the study of sweep '{name}' in {redact_url(url)}: {type(exc).__name__}: {exc}", url)
        ) from None


def load_settings(name: str) -> SweepSettings:
    path = sweep_dir(name) / "sweep.yaml"
    if not path.exists():
        raise InputError(f"no sweep named '{name}' to resume in {results_root()}/; start it without --resume")
    return SweepSettings.model_validate(yaml.safe_load(path.read_text()))


def records(study: Any) -> list[TrialRecord]:
    return [TrialRecord.from_frozen(t) for t in study.get_trials(deepcopy=False)]
