from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from tuner.data import bundled
from tuner.data._dataset import Dataset
from tuner.errors import InputError


def _keywords() -> Dataset:
    from tuner.data.keywords import load_keywords

    return load_keywords()


# Bundled demo data: real recordings shipped in pip packages, or synthesized offline on first use.
BUNDLED: dict[str, Callable[[], Dataset]] = {
    "seglearn-watch": bundled.load_seglearn_watch,
    "mnist-5k": bundled.load_mnist_5k,
    "digits": bundled.load_digits_8x8,
    "keywords": _keywords,
    "iris": bundled.load_iris,
}

# What each search-space domain can take: data kind, and for time series the meta domain.
_DOMAIN_KINDS = {"motion": "timeseries", "audio": "timeseries", "image": "image", "tabular": "tabular"}
_HINT = {"timeseries": "motion or audio", "image": "image", "tabular": "tabular"}


def _check_not_shadowed(source: str) -> None:
    """A bare name that is both a bundled set and a path here (a folder `digits` of the user's images)
    would silently load the bundled set: refuse and name the fix."""
    if source in BUNDLED and Path(source).exists():
        raise InputError(
            f"data '{source}' is both a bundled set and a path here; pass ./{source} (or an absolute path) "
            f"for your data, or run from another folder for the bundled set"
        )


@contextlib.contextmanager
def _warnings_if_loaded() -> Iterator[None]:
    """Hold the loaders' warnings ("assuming 50 Hz", skipped files) until the data is accepted, then
    show them; refused data gets its one error line alone."""
    logger = logging.getLogger("tuner.data")
    held: list[logging.LogRecord] = []

    class _Hold(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            held.append(record)

    hold, propagate = _Hold(), logger.propagate
    logger.addHandler(hold)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(hold)
        logger.propagate = propagate
    for record in held:  # only reached when loading succeeded
        logger.handle(record)


def load_data(source: str, domain: str = "", rate_hz: float | None = None) -> Dataset:
    """Load a bundled demo set by name, or the user's data from a path (loader picked from what it finds).

    With `domain` (the search space's), data the space cannot take is refused before anything runs.
    `rate_hz`: sampling rate of time series that do not carry one (a long CSV without a time column).
    Warnings of the loaders are shown only for data that is accepted.
    """
    with _warnings_if_loaded():
        return _load_data(source, domain, rate_hz)


def _load_data(source: str, domain: str, rate_hz: float | None) -> Dataset:
    _check_not_shadowed(source)
    if source in BUNDLED:
        ds = BUNDLED[source]()
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise InputError(f"data '{source}' is neither a bundled set ({', '.join(BUNDLED)}) nor an existing path")
        from tuner.data.files import load_path

        ds = load_path(path, rate_hz)
    if rate_hz is not None:
        if ds.kind != "timeseries":
            raise InputError(f"{ds.source}: --rate-hz is for time series, but this is {ds.kind} data; drop it")
        if abs((ds.rate_hz or 0.0) - rate_hz) > 0.01 * rate_hz:
            raise InputError(f"{ds.source}: --rate-hz {rate_hz:g} disagrees with the data's own {ds.rate_hz:g} Hz")
    if domain:
        check_domain(ds, domain)
    ds.check()
    return ds


# Bundled set -> the space that fits it; a user's path is judged by what it holds (data_domain).
_BUNDLED_DOMAIN = {
    "seglearn-watch": "motion",
    "mnist-5k": "image",
    "digits": "image",
    "keywords": "audio",
    "iris": "tabular",
}


def data_domain(source: str) -> str:
    """The search-space domain that fits `source`, judged cheaply (file names, a table's header):
    image folder -> image, WAV folder -> audio, long table (a `sample` column) -> motion, wide -> tabular."""
    _check_not_shadowed(source)
    if source in _BUNDLED_DOMAIN:
        return _BUNDLED_DOMAIN[source]
    path = Path(source).expanduser()
    if not path.exists():
        raise InputError(f"data '{source}' is neither a bundled set ({', '.join(BUNDLED)}) nor an existing path")
    from tuner.data import files

    tables = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.suffix.lower() in files.TABLE_EXTS)
    if path.is_file() and path.suffix.lower() == ".npz":
        ds = files.load_npz(path)
        return "motion" if ds.kind == "timeseries" else ds.kind
    if tables and tables[0].suffix.lower() in files.TABLE_EXTS:
        t = tables[0]
        if t.suffix.lower() == ".csv":
            import pandas as pd

            try:
                cols = pd.read_csv(t, nrows=0).columns
            except Exception:
                cols = files.load_table(t).channel_names  # raises the loader's one-line message
        else:
            cols = files._read_table(t).columns
        return "motion" if "sample" in {str(c).strip().lower() for c in cols} else "tabular"
    if path.is_dir():
        exts = {f.suffix.lower() for f in path.rglob("*") if f.is_file()}
        if exts & files.IMAGE_EXTS:
            return "image"
        if exts & files.AUDIO_EXTS:
            return "audio"
    return load_path_kind(path)


def load_path_kind(path: Path) -> str:
    """Fallback: load the data and map its kind (the loader's message names what is wrong)."""
    from tuner.data.files import load_path

    ds = load_path(path)
    return str(ds.meta.get("domain", "motion")) if ds.kind == "timeseries" else ds.kind


def check_domain(ds: Dataset, domain: str) -> None:
    """Refuse data the space's domain cannot preprocess; set the time-series domain (motion/audio)."""
    want = _DOMAIN_KINDS.get(domain)
    if want is None:
        raise InputError(f"unknown domain '{domain}'; known: {', '.join(_DOMAIN_KINDS)}")
    if ds.kind != want:
        raise InputError(
            f"{ds.source}: {ds.kind} data does not fit the {domain} search space; use --space {_HINT[ds.kind]}"
        )
    if ds.kind == "timeseries":
        loaded_as = ds.meta.get("domain")
        if loaded_as and loaded_as != domain:
            raise InputError(
                f"{ds.source}: {loaded_as} recordings do not fit the {domain} search space; use --space {loaded_as}"
            )
        ds.meta["domain"] = domain
