"""`tuner spaces [NAME] [--json]`: what it prints, and exit 2 for an unknown space."""

from __future__ import annotations

import json
import sys

import pytest


def _run(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    from tuner.cli import main

    monkeypatch.setattr(sys, "argv", ["tuner", *args])
    monkeypatch.setenv("COLUMNS", "200")
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_lists_every_bundled_space_with_conditions(monkeypatch, capsys) -> None:
    code, out, _ = _run(["spaces", "--json"], monkeypatch, capsys)
    assert code == 0
    spaces = {s["name"]: s for s in json.loads(out)}
    assert {"motion", "image", "audio", "image-large", "tabular"} <= set(spaces)
    assert {s["domain"] for s in spaces.values()} >= {"motion", "image", "audio"}
    audio = spaces["audio"]["params"]
    assert audio["n_coeffs"]["when"] == {"dsp": ["mfcc"]}
    assert audio["dsp"]["choices"] == ["spectrogram", "mfe", "mfcc"]
    large = spaces["image-large"]["params"]
    assert large["alpha_v2"]["key"] == "alpha" and large["alpha_v2"]["when"] == {"family": ["mobilenet_v2"]}
    assert spaces["motion"]["data"] == "seglearn-watch" and spaces["image"]["data"] == "mnist-5k"


def test_table_shows_values_conditions_and_defaults(monkeypatch, capsys) -> None:
    code, out, _ = _run(["spaces", "image-large"], monkeypatch, capsys)
    assert code == 0
    assert "image-large (image)" in out and "default data: mnist-5k" in out
    assert "alpha (alpha_v2)" in out and "0.35, 0.5, 0.75, 1.0" in out and "family in {mobilenet_v2}" in out
    assert "motion" not in out  # only the named space


def test_unknown_space_exits_2(monkeypatch, capsys) -> None:
    code, out, err = _run(["spaces", "nope"], monkeypatch, capsys)
    assert code == 2 and err.startswith("error: unknown search space 'nope'; known: audio") and out == ""
