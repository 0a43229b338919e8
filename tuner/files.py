"""Results files: written whole or not at all, read back with one-line errors.

Writes go to a temporary name in the same folder and are renamed over the target (a rename within
a filesystem is atomic), so a crash or a full disk leaves the old file or no file, never half of one.
A file that cannot be read back (truncated, hand-edited, wrong types) and a path that cannot be
written (`--out`) become an `InputError` naming the file and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tuner.errors import InputError

_HINTS = {
    errno.ENOSPC: "free some disk space or pick a folder on another disk",
    errno.EDQUOT: "free some disk space or pick a folder on another disk",
    errno.EACCES: "pick a folder you can write to",
    errno.EPERM: "pick a folder you can write to",
    errno.EROFS: "pick a folder on a writable disk",
    errno.ENOTDIR: "a part of the path is a file, not a folder; pick another path",
    errno.EEXIST: "a file is in the way; pick another path",
}


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write `data` to `path` through a temporary file in the same folder and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            # backslashreplace: a file name that is not UTF-8 (a class folder, a --data path) reaches
            # text as a lone surrogate, '\udcff', which plain UTF-8 cannot encode
            fh.write(data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared like any other file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def write_error(path: str | Path, exc: OSError, what: str = "--out") -> InputError:
    """One-line InputError for a failed write: the path, the system's reason and what to do."""
    hint = _HINTS.get(exc.errno or 0, "pick another path")
    return InputError(f"cannot write {what} {path}: {exc.strerror or type(exc).__name__}; {hint}")


@contextlib.contextmanager
def writing(path: str | Path, what: str = "--out") -> Iterator[None]:
    """Turn an OSError raised inside the block (missing parent, permission, disk full) into `write_error`."""
    try:
        yield
    except OSError as exc:
        raise write_error(path, exc, what) from None


def _broken(path: Path, detail: str, fix: str) -> InputError:
    return InputError(f"{path} is broken ({detail}); {fix}")


def read_json(path: str | Path, fix: str = "re-run the trial or delete the file") -> dict[str, Any]:
    """A JSON object from `path` ({} if there is no such file); InputError if it is unreadable."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise _broken(path, f"not valid JSON at line {exc.lineno}: {exc.msg}", fix) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _broken(path, getattr(exc, "strerror", None) or type(exc).__name__, fix) from None
    if not isinstance(value, dict):
        raise _broken(path, f"a JSON object was expected, got {type(value).__name__}", fix)
    return value


def read_yaml_mapping(path: str | Path, fix: str) -> dict[str, Any]:
    """A YAML mapping from `path`; InputError naming the file, the problem and `fix` otherwise."""
    import yaml

    path = Path(path)
    try:
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise _broken(path, f"not valid YAML{where}: {problem}", fix) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _broken(path, getattr(exc, "strerror", None) or type(exc).__name__, fix) from None
    if not isinstance(value, dict):
        raise _broken(path, f"a mapping of settings was expected, got {type(value).__name__}", fix)
    return value
