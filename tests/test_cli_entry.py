"""The `tuner` console script (`tuner.cli:entry`): `main`'s output and exit codes, without the
interpreter's teardown."""

from __future__ import annotations

import subprocess
import sys


def _run(func: str, *args: str, cwd: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", f"from tuner.cli import {func}; {func}()", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=120)


def test_entry_prints_all_of_mains_output_into_a_pipe(tmp_path):
    by_main, by_entry = _run("main", "spaces", cwd=tmp_path), _run("entry", "spaces", cwd=tmp_path)
    assert (by_main.returncode, by_entry.returncode) == (0, 0)
    assert len(by_main.stdout.splitlines()) > 5
    assert by_entry.stdout == by_main.stdout  # buffered pipe output flushed before the fast exit


def test_entry_keeps_the_bad_input_exit_code_and_line(tmp_path):
    run = _run("entry", "sweep", "--name", "x", "--folds", "0", cwd=tmp_path)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1
    assert run.stderr.startswith("error:") and "--folds" in run.stderr
    assert not (tmp_path / "results" / "x").exists()


def test_the_console_script_is_entry():
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "tuner"]
    assert script.value == "tuner.cli:entry"
