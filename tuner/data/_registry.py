from __future__ import annotations

from collections.abc import Callable
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


def load_data(source: str, domain: str = "") -> Dataset:
    """Load a bundled demo set by name, or the user's data from a path (loader picked from what it finds).

    With `domain` (the search space's), data the space cannot take is refused before anything runs.
    """
    if source in BUNDLED:
        ds = BUNDLED[source]()
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise InputError(f"data '{source}' is neither a bundled set ({', '.join(BUNDLED)}) nor an existing path")
        from tuner.data.files import load_path

        ds = load_path(path)
    if domain:
        check_domain(ds, domain)
    ds.check()
    return ds


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
