"""Settings of a sweep and where it lives: `results/<name>/sweep.yaml`, its study, its records."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator

from tuner.budgets import Budgets
from tuner.errors import InputError
from tuner.paths import results_root
from tuner.sweep.records import TrialRecord
from tuner.sweep.storage import env_storage, real_url, redact_url, scrub, storage_problem

# A sweep name is a folder under results/: nothing that can climb out of it or hide in it.
# No leading '-': the commands would read such a name as an option (`tuner leaderboard -x`).
NAME_RULE = "letters, digits, '.', '_' and '-' only, at most 64 characters, not '.' or '..', not starting with '-'"
_NAME = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._-]{0,63}")


def check_name(name: Any) -> str:
    """The sweep name if it follows NAME_RULE; InputError with the rule otherwise."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise InputError(f"sweep name {name!r} is not allowed: use {NAME_RULE}")
    return name


# Keys every sweep.yaml has held since 0.1.0 (newer keys may be missing from older files).
_IN_EVERY_FILE = (
    "name",
    "space",
    "target",
    "data",
    "engine",
    "trials",
    "timeout",
    "epochs",
    "latency_ms",
    "ram_kb",
    "flash_kb",
    "max_train_minutes",
    "storage",
    "workers",
    "seed",
)

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
    "rate_hz",
    "metric",
    "repeats",
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
    rate_hz: float | None = Field(None, gt=0)  # time series without a time column
    metric: Literal["accuracy", "balanced_accuracy", "macro_f1"] = "accuracy"  # what ranks candidates
    # The space after resolving it against the data (tuner.resolve): what the sweep samples from.
    resolved_space: dict[str, Any] | None = None
    space_note: str = ""  # what resolving dropped and why
    repeats: int | None = Field(None, gt=0)  # cross-validation folds for the ranking score (None: 5 on small data)
    validation: str = ""  # how the ranking score is validated (one split or k-fold cross-validation)
    class_weights: str = ""  # class weights in training (balanced when the classes are imbalanced)
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
        return Budgets.from_limits(target, self.latency_ms, self.ram_kb, self.flash_kb, self.max_train_minutes)


def sweep_dir(name: str) -> Path:
    """`results/<name>/`; InputError if `name` breaks NAME_RULE (every verb taking a NAME passes here)."""
    return results_root() / check_name(name)


def storage_url(settings: SweepSettings) -> str:
    """The URL to connect with: the sweep's own SQLite file, the given URL, or, when the settings were
    read back with the password redacted, the real URL from TUNER_STORAGE (InputError if missing)."""
    if settings.storage is None:
        return f"sqlite:///{(sweep_dir(settings.name) / 'study.db').resolve()}"
    return real_url(settings.storage)


def check_own_study(name: str) -> None:
    """InputError if the sweep's own SQLite file is missing or empty: opening it would create an empty
    study there, and the sweep would then look like one that never ran."""
    db = sweep_dir(name) / "study.db"
    wal = db.with_name("study.db-wal")  # writes not yet checkpointed: SQLite reads them from here
    if not db.is_file() or (db.stat().st_size == 0 and not (wal.is_file() and wal.stat().st_size > 0)):
        raise InputError(
            f"{db} is {'empty' if db.is_file() else 'missing'}: the study (every trial) of sweep '{name}' is gone; "
            "restore it from a backup or run the sweep again under a new --name"
        )


def open_study(name: str, storage: str | None = None) -> Any:
    """Open an existing sweep's study (read side: leaderboard, export, report)."""
    import optuna

    folder = sweep_dir(name)
    settings_file = folder / "sweep.yaml"
    url = storage
    if url is None and settings_file.exists():
        settings = load_settings(name)
        if settings.storage is None:
            check_own_study(name)
        url = storage_url(settings)
    url = url or env_storage()  # no local sweep.yaml: the shared storage from TUNER_STORAGE, if set
    if url is None:
        known = sorted(p.name for p in results_root().glob("*") if (p / "sweep.yaml").exists())
        raise InputError(f"no sweep named '{name}' in {results_root()}/; known: {', '.join(known) or 'none'}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return optuna.load_study(study_name=name, storage=url)
    except KeyError:  # Optuna's "Record does not exist."
        raise InputError(
            f"storage {redact_url(url)} has no sweep named '{name}'; check the name and --storage"
        ) from None
    except Exception as exc:  # driver errors: one line, password scrubbed, with what to do
        raise InputError(scrub(f"cannot open the study of sweep '{name}': {storage_problem(url, exc)}", url)) from None


def load_settings(name: str, study: Any = None) -> SweepSettings:
    """Settings of sweep `name` from `results/<name>/sweep.yaml`, or, on a machine without it, the
    copy stored in `study`. A broken sweep.yaml is an InputError naming it and what to do."""
    from tuner.files import read_yaml_mapping

    path = sweep_dir(name) / "sweep.yaml"
    if not path.exists():
        stored = study.user_attrs.get("settings") if study is not None else None
        if stored:
            return SweepSettings.model_validate({**stored, "name": name})
        raise InputError(f"no sweep named '{name}' to resume in {results_root()}/; start it without --resume")
    fix = "fix or restore it (the study keeps a copy of the settings)"
    raw = read_yaml_mapping(path, fix)
    missing = [k for k in _IN_EVERY_FILE if k not in raw]
    if missing:  # a truncated file parses fine; filling in defaults would silently change the sweep
        raise InputError(f"{path} is broken (missing: {', '.join(missing)}); {fix}")
    if raw["name"] != name:  # the name picks the study and its database: a renamed copy is not this sweep
        raise InputError(f"{path} is broken (name: {raw['name']!r} but the folder is '{name}'); {fix}")
    try:
        return SweepSettings.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(x) for x in err["loc"]) or "settings"
        raise InputError(f"{path} is broken ({key}: {err['msg'].lower()}, got {err.get('input')!r}); {fix}") from None


def records(study: Any) -> list[TrialRecord]:
    """Records of every trial of `study`, ranking scores from the final ranking's folds where it ran;
    a storage that cannot be read is an InputError."""
    from sqlalchemy.exc import SQLAlchemyError

    from tuner.sweep.final_ranking import FOLD_SCORES, with_fold_scores

    try:
        trials = study.get_trials(deepcopy=False)
        fold_scores = study.user_attrs.get(FOLD_SCORES)
    except SQLAlchemyError as exc:
        backend = getattr(study._storage, "_backend", study._storage)  # Optuna wraps RDB storages in a cache
        url = str(getattr(backend, "url", "") or "")
        raise InputError(
            scrub(f"cannot read the trials of sweep '{study.study_name}': {storage_problem(url, exc)}", url)
        ) from None
    return with_fold_scores([TrialRecord.from_frozen(t) for t in trials], fold_scores)
