"""`tuner.cli.main`: the exit code of what typer's non-standalone mode returns instead of exiting."""

from __future__ import annotations

import sys

import pytest
import typer


def _main_with(command, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    import tuner.cli

    app = typer.Typer(add_completion=False)
    app.command("go")(command)
    app.command("other")(lambda: None)  # two commands: `go` is a sub-command, as in the real app
    monkeypatch.setattr(tuner.cli, "app", app)
    monkeypatch.setattr(sys, "argv", ["tuner", "go"])
    with pytest.raises(SystemExit) as exc:
        tuner.cli.main()
        raise SystemExit(0)  # main() returned: exit code 0
    return int(exc.value.code or 0), capsys.readouterr().err


def test_ctrl_c_exits_130_with_one_line(monkeypatch, capsys) -> None:
    def go() -> None:
        raise KeyboardInterrupt

    code, err = _main_with(go, monkeypatch, capsys)
    assert code == 130  # was 0: a script's `tuner sweep && tuner export` went on after Ctrl-C
    assert err.strip().splitlines() == ["interrupted (tuner sweep --resume continues a sweep where it stopped)"]


def test_typer_exit_code_is_kept(monkeypatch, capsys) -> None:
    def go() -> None:
        raise typer.Exit(3)

    assert _main_with(go, monkeypatch, capsys) == (3, "")


def test_a_command_that_returns_exits_0(monkeypatch, capsys) -> None:
    def go() -> None:
        print("done")

    assert _main_with(go, monkeypatch, capsys) == (0, "")
