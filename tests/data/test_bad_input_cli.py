"""Bad input through `tuner sweep`: exit code 2, one line on stderr, nothing under results/."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.data.conftest import write_image


def _run(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    from tuner.cli import main

    monkeypatch.setattr(sys, "argv", ["tuner", *args])
    with pytest.raises(SystemExit) as info:
        main()
    return int(info.value.code), capsys.readouterr().err


def _empty(tmp: Path) -> str:
    (tmp / "empty").mkdir()
    return str(tmp / "empty")


def _no_label(tmp: Path) -> str:
    pd.DataFrame({"sample": [1, 1], "ax": [0.1, 0.2]}).to_csv(tmp / "nolabel.csv", index=False)
    return str(tmp / "nolabel.csv")


def _single_class(tmp: Path) -> str:
    for i in range(3):
        write_image(tmp / "imgs" / "cat" / f"{i}.png", np.zeros((8, 8), dtype=np.uint8))
    return str(tmp / "imgs")


def _one_sample(tmp: Path) -> str:
    for cls, n in (("cat", 3), ("dog", 1)):
        for i in range(n):
            write_image(tmp / "imgs" / cls / f"{i}.png", np.zeros((8, 8), dtype=np.uint8))
    return str(tmp / "imgs")


def _nan(tmp: Path) -> str:
    x = np.ones((6, 8, 8))
    x[1, 3, 0] = np.inf
    np.savez(tmp / "nan.npz", x=x, y=[0, 1] * 3)
    return str(tmp / "nan.npz")


def _corrupt(tmp: Path) -> str:
    for cls in ("cat", "dog"):
        for i in range(3):
            (tmp / "imgs" / cls).mkdir(parents=True, exist_ok=True)
            (tmp / "imgs" / cls / f"{i}.png").write_bytes(b"broken")
    return str(tmp / "imgs")


def _ragged(tmp: Path) -> str:
    (tmp / "w.csv").write_text("label,v1,v2,v3\na,1,2,3\nb,1,,\na,1,2,3\nb,3,2,1\n")
    return str(tmp / "w.csv")


def _space(body: str):
    def make(tmp: Path) -> str:
        (tmp / "space.yaml").write_text(body)
        return str(tmp / "space.yaml")

    return make


BAD_ALPHA = (
    "name: s\ndomain: image\ndata: digits\nparams:\n  family: {type: categorical, choices: [mobilenet_v1]}\n"
    "  alpha: {type: categorical, choices: [0.75], when: {family: [mobilenet_v1]}}\n"
)

CASES = [
    ("--data", _empty, "no images"),
    ("--data", _no_label, "no 'label' column"),
    ("--data", _single_class, "only one class"),
    ("--data", _one_sample, "has a single sample"),
    ("--data", _nan, "NaN or inf"),
    ("--data", _corrupt, "6 of 6 image files are unreadable"),
    ("--data", _ragged, "samples have mixed lengths"),
    ("--space", lambda tmp: "no-such-space", "unknown search space 'no-such-space'"),
    ("--space", _space("name: [x\n"), "malformed YAML"),
    ("--space", _space(BAD_ALPHA), "alpha 0.75 is not allowed for mobilenet_v1"),
]


@pytest.mark.parametrize(
    ("flag", "make", "message"), CASES, ids=[c[2].split()[0] + str(i) for i, c in enumerate(CASES)]
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    flag: str,
    make,
    message: str,
) -> None:
    results = tmp_path / "results"
    monkeypatch.setenv("TUNER_RESULTS", str(results))
    space = ["--space", "image"] if flag == "--data" else []
    code, err = _run(["sweep", *space, flag, make(tmp_path), "--name", "x", "--trials", "1"], monkeypatch, capsys)
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (results / "x").exists()


def test_subprocess_exit_code_and_stderr(tmp_path: Path) -> None:
    import os
    import subprocess

    env = {**os.environ, "TUNER_RESULTS": str(tmp_path / "results")}
    exe = Path(sys.executable).parent / "tuner"
    p = subprocess.run(
        [str(exe), "sweep", "--data", str(tmp_path / "missing"), "--name", "x"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [p.stderr.strip()] and "neither a bundled set" in p.stderr
    assert not (tmp_path / "results" / "x").exists()


def test_refused_data_gets_its_error_line_without_the_loaders_warnings(tmp_path: Path) -> None:
    """A long CSV without a time column warns "assuming 50 Hz" when it is read; when it is then
    refused (one class), stderr holds the error line alone."""
    import os
    import subprocess

    rows = [{"sample": s, "label": "a", "ax": 0.1 * t} for s in range(3) for t in range(20)]
    pd.DataFrame(rows).to_csv(tmp_path / "long.csv", index=False)
    env = {**os.environ, "TUNER_RESULTS": str(tmp_path / "results")}
    exe = Path(sys.executable).parent / "tuner"
    cmd = [str(exe), "sweep", "--space", "motion", "--data", str(tmp_path / "long.csv"), "--name", "x"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 2
    one_line = f"error: {tmp_path / 'long.csv'}: only one class (a); a classifier needs >= 2"
    assert p.stderr.strip().splitlines() == [one_line]
    assert not (tmp_path / "results" / "x").exists()
