"""Sweep names (one rule for the CLI and the Python API) and `tuner --version`."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import tuner
from tuner.errors import InputError
from tuner.sweep import SweepSettings
from tuner.sweep.settings import NAME_RULE, check_name, sweep_dir

CLI = [sys.executable, "-c", "from tuner.cli import entry; entry()"]


def _cli(tmp_path, *args):
    env = {**os.environ, "TUNER_RESULTS": str(tmp_path / "results")}
    return subprocess.run(CLI + list(args), env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("name", ["demo", "a", "run-1.b_2", "x" * 64, "..a", ".hidden-ok"])
def test_good_names(name):
    assert check_name(name) == name
    assert sweep_dir(name).name == name


@pytest.mark.parametrize(
    "name", ["../../x", "/abs/dir", "a/b", ".", "..", "", "x" * 65, "a b", "é", "a\\b", "a\nb", "-x", "--help"]
)
def test_bad_names_are_refused_with_the_rule(name):
    with pytest.raises(InputError, match="use letters, digits, '.', '_' and '-' only, at most 64 characters"):
        check_name(name)
    with pytest.raises(InputError, match=re.escape(f"sweep name {name!r} is not allowed")):
        SweepSettings.checked(name=name)


@pytest.mark.parametrize("verb", [tuner.leaderboard, tuner.show, tuner.export, tuner.report])
def test_every_api_verb_taking_a_name_checks_it(verb, tmp_path, monkeypatch):
    monkeypatch.setenv("TUNER_RESULTS", str(tmp_path))
    with pytest.raises(InputError, match="sweep name '../x' is not allowed"):
        verb("../x")


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_cli_sweep_refuses_a_name_that_leaves_results(tmp_path, where):
    name = "../../x" if where == "relative" else str(tmp_path / "abs")
    r = _cli(tmp_path, "sweep", "--name", name, "--trials", "1")
    assert r.returncode == 2, r.stderr[-1500:]
    assert r.stderr.strip().splitlines() == [f"error: sweep name {name!r} is not allowed: use {NAME_RULE}"]
    assert r.stdout == ""  # refused before the live view starts
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no results/, no abs/, nothing


def test_cli_read_verbs_refuse_a_bad_name(tmp_path):
    for args in (["leaderboard", "../x"], ["show", "/etc"], ["export", ".."], ["report", "a/b"]):
        r = _cli(tmp_path, *args)
        assert r.returncode == 2, (args, r.stderr[-1500:])
        assert r.stderr.strip().splitlines() == [f"error: sweep name {args[1]!r} is not allowed: use {NAME_RULE}"]


def test_version():
    r = subprocess.run(CLI + ["--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == f"tinyml-tuner {tuner.__version__}\n"
    assert tuner.__version__.count(".") == 2
