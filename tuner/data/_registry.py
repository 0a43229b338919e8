from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tuner.data._dataset import Dataset
from tuner.data.bundled import load_seglearn_watch
from tuner.errors import InputError

# Bundled demo data, loaded offline from files shipped in pip packages.
BUNDLED: dict[str, Callable[[], Dataset]] = {
    "seglearn-watch": load_seglearn_watch,
}


def load_data(source: str) -> Dataset:
    """Load a bundled demo set by name, or the user's data from a path (loader picked from what it finds)."""
    if source in BUNDLED:
        ds = BUNDLED[source]()
    else:
        path = Path(source)
        if not path.exists():
            raise InputError(f"data '{source}' is neither a bundled set ({', '.join(BUNDLED)}) nor an existing path")
        from tuner.data.files import load_path

        ds = load_path(path)
    ds.check()
    return ds
