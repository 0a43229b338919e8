"""A storage URL's password never reaches a file, a log line or the report (fast part, no database)."""

from __future__ import annotations

import pytest
import yaml

from tuner.errors import InputError
from tuner.sweep import SweepSettings, redact_url, storage_url
from tuner.sweep.storage import env_storage, is_redacted, real_url, scrub


@pytest.mark.parametrize(
    "url,redacted",
    [
        (
            "postgresql+psycopg://user:hunter2@db.example:5432/tuner",
            "postgresql+psycopg://user:***@db.example:5432/tuner",
        ),
        ("postgresql://u:p%40ss@h/db", "postgresql://u:***@h/db"),  # percent-encoded '@'
        ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),  # unencoded '@': the last one ends the password
        ("postgresql://u@h/db?sslmode=require&password=zz9", "postgresql://u@h/db?sslmode=require&password=***"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),  # no password: unchanged
        ("sqlite:////tmp/r/study.db", "sqlite:////tmp/r/study.db"),
        ("mysql+pymysql://root:@h/db", "mysql+pymysql://root:***@h/db"),  # empty password: still masked
    ],
)
def test_redact_url(url, redacted):
    assert redact_url(url) == redacted
    assert redact_url(redacted) == redacted  # idempotent
    assert is_redacted(redacted) is (redacted != url)


def test_scrub_removes_raw_and_decoded_password():
    url = "postgresql://u:s3cr%40t-pw@h/db"
    text = f"OperationalError: could not connect to {url} (password s3cr@t-pw rejected)"
    assert scrub(text, url) == "OperationalError: could not connect to postgresql://u:***@h/db (password *** rejected)"


def test_scrub_removes_the_pieces_of_a_password_with_an_unencoded_at():
    url = "postgresql://user:s3@cret@localhost:1/db"
    # psycopg's text for this URL (it ends the password at the first '@'); was: 'cret@localhost' kept
    text = "connection failed: failed to resolve host 'cret@localhost': [Errno -2] Name or service not known"
    assert scrub(text, url) == text.replace("'cret@", "'***@")
    assert scrub("host 'p1@h'", "postgresql://u:ab@p1@h/db") == "host 'p1@h'"  # pieces under 3 characters stay


def test_settings_dump_redacted_but_keep_the_real_url_in_memory():
    url = "postgresql+psycopg://u:hunter2@h/db"
    s = SweepSettings(name="x", storage=url)
    assert s.storage == url and storage_url(s) == url
    dumped = s.model_dump()
    assert dumped["storage"] == "postgresql+psycopg://u:***@h/db"
    assert "hunter2" not in yaml.safe_dump(dumped) + s.model_dump_json() + repr(s) + str(s)


def test_a_redacted_url_is_completed_from_the_environment_only_if_it_matches(monkeypatch):
    real = "postgresql+psycopg://u:hunter2@h/db"
    stored = SweepSettings.model_validate(SweepSettings(name="x", storage=real).model_dump())
    monkeypatch.delenv("TUNER_STORAGE", raising=False)
    monkeypatch.delenv("OPTUNA_STORAGE", raising=False)
    with pytest.raises(
        InputError, match=r"storage postgresql\+psycopg://u:\*\*\*@h/db needs its password.*TUNER_STORAGE"
    ):
        storage_url(stored)
    monkeypatch.setenv("OPTUNA_STORAGE", real)  # Optuna's own variable works too
    assert env_storage() == real and storage_url(stored) == real
    monkeypatch.setenv("TUNER_STORAGE", "postgresql+psycopg://u:other@elsewhere/db")  # TUNER_STORAGE wins...
    with pytest.raises(InputError, match="needs its password"):  # ...but is another database: refused
        real_url(stored.storage)
    assert real_url("postgresql://u@h/db") == "postgresql://u@h/db"  # nothing redacted: used as stored
