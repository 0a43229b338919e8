"""`tuner sweep --folds N` reaches the sweep as its cross-validation folds (`repeats`)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

import tuner.api
from tuner.cli import _register, app

_register()


class Stop(Exception):
    pass


@pytest.mark.parametrize("args,repeats", [([], None), (["--folds", "1"], 1), (["--folds", "3"], 3)])
def test_folds_option_is_passed_as_repeats(monkeypatch: pytest.MonkeyPatch, args: list[str], repeats) -> None:
    seen = {}

    def fake_sweep(**kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(tuner.api, "sweep", fake_sweep)
    result = CliRunner().invoke(app, ["sweep", "--name", "f", *args])
    assert isinstance(result.exception, Stop)
    assert seen["repeats"] == repeats


def test_zero_folds_is_one_line_and_exit_2(tmp_path) -> None:
    cmd = [sys.executable, "-c", "from tuner.cli import entry; entry()", "sweep", "--name", "f", "--folds", "0"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert p.returncode == 2
    (line,) = p.stderr.strip().splitlines()
    assert line.startswith("error: Invalid value for '--folds'") and "1" in line
    assert not (tmp_path / "results").exists()
