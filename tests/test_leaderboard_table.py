"""The leaderboard table keeps `#` and the key columns at any width; piped, one line per row."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO

import pytest
from rich.console import Console

from tuner.cli._display import print_leaderboard
from tuner.rank import leaderboard_frame

sys.path.insert(0, os.path.dirname(__file__))
from test_rank import RECS  # noqa: E402  (hand-made records: 4 feasible, 1 rejected, 1 failed)

ORDER = ["2", "1", "4", "0", "3", "5"]  # the default ranking of RECS (tests/test_rank.py)
ALL = ["#", "state", "float acc", "int8 acc", "Δ pt", "latency ms (band)", "RAM kB", "flash kB", "train s act/est"]


def _render(width: int, terminal: bool) -> list[str]:
    con = Console(file=StringIO(), width=width, force_terminal=terminal, color_system=None)
    print_leaderboard(con, leaderboard_frame(RECS, include_all=True), "Leaderboard")
    return con.file.getvalue().splitlines()


def _header(lines: list[str]) -> list[str]:
    return [c.strip() for c in next(ln for ln in lines if ln.startswith("┃")).strip("┃").split("┃")]


def _first_cells(lines: list[str]) -> list[str]:
    return [c for c in (ln.split("│")[1].strip() for ln in lines if ln.startswith("│")) if c]


@pytest.mark.parametrize("width", [50, 60, 70, 80, 99, 120, 160])
def test_terminal_keeps_the_trial_number_and_key_columns(width):
    lines = _render(width, terminal=True)
    header = _header(lines)
    assert header[:2] == ["#", "state"] and "int8 acc" in header and header[-1].startswith("params")
    assert _first_cells(lines) == ORDER  # every row still starts with its trial number
    assert max(len(ln) for ln in lines) <= width  # nothing wraps onto the next terminal line
    if width >= 160:
        assert header[:-1] == ALL


def test_narrower_terminal_drops_columns_in_order():
    kept = [set(_header(_render(w, terminal=True))) for w in (60, 80, 100, 140)]
    assert kept[0] < kept[1] < kept[2] <= kept[3]
    assert "latency ms (band)" in kept[1] and "train s act/est" not in kept[1]


def test_piped_output_has_every_column_and_one_line_per_row():
    lines = _render(60, terminal=False)  # the width of the pipe does not matter
    assert _header(lines)[:-1] == ALL
    rows = [ln for ln in lines if ln.startswith("│")]
    assert [r.split("│")[1].strip() for r in rows] == ORDER  # no continuation lines
    assert "RAM 878.9 kB > budget 256 kB" in rows[4] and "\x1b[" not in "".join(lines)


@pytest.mark.slow
def test_cli_piped_to_a_file_is_readable(pick_results):
    env = dict(os.environ, TUNER_RESULTS=str(pick_results), COLUMNS="60", TF_CPP_MIN_LOG_LEVEL="3")
    cli = [sys.executable, "-c", "from tuner.cli import entry; entry()"]
    run = subprocess.run(cli + ["leaderboard", "pick", "--all"], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert _header(lines)[:-1] == ALL
    rows = [ln for ln in lines if ln.startswith("│")]
    assert len(rows) == 3 and [r.split("│")[2].strip() for r in rows] == ["feasible", "feasible", "rejected"]


def test_train_column_compares_one_training_with_its_own_estimate():
    from dataclasses import replace

    # est_train_seconds covers every validation draw (the gate's figure); est_fit_seconds one training
    one = replace(RECS[0], metrics={**RECS[0].metrics, "est_train_seconds": 7.5, "est_fit_seconds": 2.4})
    con = Console(file=StringIO(), width=200, force_terminal=False, color_system=None)
    print_leaderboard(con, leaderboard_frame([one, RECS[1]], include_all=True), "Leaderboard")
    rows = {r.split("│")[1].strip(): r for r in con.file.getvalue().splitlines() if r.startswith("│")}
    assert "3.0/2.4" in rows[str(RECS[0].trial)]  # not 3.0/7.5
    assert "3.0/2.5" in rows[str(RECS[1].trial)]  # an older record: the gate's figure
