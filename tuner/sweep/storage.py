"""Storage URLs: where the real one comes from and how it is shown.

A URL's password never reaches a file, a log line or the report: files and messages get
`redact_url(url)` (`postgresql+psycopg://user:***@host/db`). The real URL comes from `--storage`,
the `TUNER_STORAGE` environment variable or Optuna's own `OPTUNA_STORAGE`; a sweep whose stored URL
was redacted is reopened (resume, leaderboard, report, worker processes) with the real URL from one
of those. PostgreSQL's own ways of keeping the password out of the URL (`PGPASSWORD`, `~/.pgpass`)
work too, since the driver reads them.
"""

from __future__ import annotations

import os
from urllib.parse import unquote

from tuner.errors import InputError

ENV_VARS = ("TUNER_STORAGE", "OPTUNA_STORAGE")  # first set wins
MASK = "***"
_SECRET_QUERY_KEYS = ("password", "sslpassword")  # libpq accepts the password as a query parameter too


def redact_url(url: str) -> str:
    """`url` with its password (user-info or query parameter) replaced by `***`."""
    head, sep, tail = url.partition("://")
    if not sep:
        return url
    rest, qsep, query = tail.partition("?")
    if "@" in rest:
        cred, _, host = rest.rpartition("@")  # the last '@': a password may hold an unencoded '@'
        user, colon, _ = cred.partition(":")
        rest = f"{user}{':' + MASK if colon else ''}@{host}"
    if qsep:
        parts = []
        for item in query.split("&"):
            key, eq, _ = item.partition("=")
            parts.append(f"{key}={MASK}" if eq and key.lower() in _SECRET_QUERY_KEYS else item)
        query = "&".join(parts)
    return f"{head}://{rest}{qsep}{query}"


def is_redacted(url: str | None) -> bool:
    """Whether `url` is the redacted form of a URL that had a password."""
    return bool(url) and MASK in url and redact_url(url) == url


def secrets_of(url: str) -> list[str]:
    """The password strings of `url` (raw and percent-decoded), to scrub them from any text."""
    out: list[str] = []
    tail = url.partition("://")[2]
    rest, _, query = tail.partition("?")
    if "@" in rest:
        cred = rest.rpartition("@")[0]
        if ":" in cred:
            out.append(cred.partition(":")[2])
    for item in query.split("&") if query else []:
        key, eq, value = item.partition("=")
        if eq and key.lower() in _SECRET_QUERY_KEYS:
            out.append(value)
    out += [unquote(s) for s in out if unquote(s) != s]
    # a driver splits "u:p@ss@h" at the first '@' and quotes host 'ss@h': scrub each piece too
    # (pieces of 3+ characters; masking every 'a' or 'p1' in a message would hide the message)
    out += [piece for s in out if "@" in s for piece in s.split("@") if len(piece) >= 3]
    return [s for s in out if s and s != MASK]


def scrub(text: str, url: str | None) -> str:
    """`text` with every password of `url` replaced by `***` (driver errors may quote the URL)."""
    if not url:
        return text
    for secret in sorted(secrets_of(url), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def env_storage() -> str | None:
    """The storage URL from the environment (`TUNER_STORAGE`, else `OPTUNA_STORAGE`), or None."""
    for var in ENV_VARS:
        value = os.environ.get(var, "").strip()
        if value:
            return value
    return None


def real_url(stored: str) -> str:
    """The URL to connect with for a stored one: itself, or (password redacted) the URL from the
    environment whose redacted form matches. InputError saying how to give it otherwise."""
    if not is_redacted(stored):
        return stored
    env = env_storage()
    if env is not None and redact_url(env) == stored:
        return env
    raise InputError(
        f"the sweep's storage {stored} needs its password, which is never saved: pass the full URL "
        f"with --storage or in the TUNER_STORAGE environment variable"
    )


def storage_problem(url: str, exc: Exception) -> str:
    """'<redacted url>: <error, first line>; <what to do>' for a storage that cannot be opened or read;
    the caller scrubs the password from the driver's text with `scrub`."""
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    if url.startswith("sqlite:"):
        fix = "the file is damaged or not a study: restore it from a backup or run the sweep again under a new --name"
    else:
        fix = "check the URL and that the database server is reachable"
    return f"{redact_url(url)}: {type(exc).__name__}: {first}; {fix}"
