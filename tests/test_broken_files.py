"""A broken results folder or an `--out` that cannot be written: one line naming the file and what to
do, exit 2, nothing half-written. Works on a copy of the shared tiny sweep (tests/_pick_sweep.py)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import tuner
from tuner.errors import InputError
from tuner.files import read_json, write_atomic, write_error

CLI = [sys.executable, "-c", "from tuner.cli import entry; entry()"]


# --- fast: the helpers -----------------------------------------------------------------------------


def test_write_atomic_leaves_the_old_file_when_the_disk_fills(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    write_atomic(target, '{"old": 1}')
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[:3])  # a few bytes land, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, '{"new": 2}')
    assert target.read_text() == '{"old": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary file left


def test_write_atomic_text_with_a_name_that_is_not_utf8(tmp_path):
    # os.listdir gives a class folder named b"\xe9t\xe9" as "\udce9t\udce9"; `tuner report` crashed (exit 1)
    name = os.fsdecode(b"\xe9t\xe9")
    path = write_atomic(tmp_path / "report.html", f"<td>{name}</td>")
    assert path.read_bytes() == b"<td>\\udce9t\\udce9</td>"


def test_write_error_names_the_path_reason_and_fix():
    e = write_error("/x/out", PermissionError(errno.EACCES, "Permission denied"))
    assert str(e) == "cannot write --out /x/out: Permission denied; pick a folder you can write to"
    e = write_error("/x/out", OSError(errno.ENOSPC, "No space left on device"))
    assert str(e).endswith("No space left on device; free some disk space or pick a folder on another disk")


@pytest.mark.parametrize(
    "text, detail",
    [
        ('{"int8_accuracy": 0.9', "not valid JSON at line 1"),
        ("[1, 2]", "a JSON object was expected, got list"),
        ("\xff\xfe", "not valid JSON"),
    ],
)
def test_read_json_broken(tmp_path, text, detail):
    p = tmp_path / "metrics.json"
    p.write_text(text)
    with pytest.raises(InputError, match=rf"{p} is broken \({detail}.*\); re-run the trial") as exc:
        read_json(p)
    assert "\n" not in str(exc.value)
    assert read_json(tmp_path / "none.json") == {}


# --- on a copy of a real tiny sweep -----------------------------------------------------------------


@pytest.fixture
def copy(pick_results, tmp_path, monkeypatch):
    """results/pick copied into a fresh results root (same name: the study inside is named 'pick')."""
    root = tmp_path / "results"
    shutil.copytree(pick_results / "pick", root / "pick")
    shutil.rmtree(root / "pick" / "export", ignore_errors=True)  # other tests' outputs
    (root / "pick" / "report.html").unlink(missing_ok=True)
    monkeypatch.setenv("TUNER_RESULTS", str(root))
    return root / "pick"


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TUNER_RESULTS": str(folder.parent), "COLUMNS": "200"}
    return subprocess.run(CLI + list(args), env=env, capture_output=True, text=True, timeout=300)


def _feasible() -> int:
    return int(tuner.leaderboard("pick").iloc[0]["trial"])


def _verbs(tmp_path):
    return {
        "leaderboard": lambda: tuner.leaderboard("pick", include_all=True),
        "show": lambda: tuner.show("pick", "best"),
        "export": lambda: tuner.export("pick", "best", tmp_path / "out"),
        "report": lambda: tuner.report("pick"),
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    "break_it, detail",
    [
        (
            lambda t: "\n".join(t.splitlines()[:7]),
            r"missing: epochs, latency_ms, .*, workers, seed",
        ),  # valid YAML, keys gone
        (lambda t: t[: t.index("seed:") + 2], r"not valid YAML at line \d+: could not find expected ':'"),
        (lambda t: t.replace("trials: 3", "trials: [3"), r"not valid YAML at line \d+"),
        (lambda t: t.replace("trials: 3", "trials: three"), r"trials: input should be a valid integer.*'three'"),
        (lambda t: t.replace("name: pick", "name: other"), r"name: 'other' but the folder is 'pick'"),
        (lambda t: "- just\n- a list\n", r"a mapping of settings was expected, got list"),
    ],
    ids=["truncated-lines", "truncated-mid-line", "bad-yaml", "wrong-type", "renamed", "not-a-mapping"],
)
def test_broken_sweep_yaml(copy, tmp_path, break_it, detail):
    path = copy / "sweep.yaml"
    path.write_text(break_it(path.read_text()))
    for verb, call in _verbs(tmp_path).items():
        with pytest.raises(InputError, match=rf"{path} is broken \({detail}.*\); fix or restore it") as exc:
            call()
        assert "\n" not in str(exc.value), verb
    with pytest.raises(InputError, match=rf"{path} is broken"):
        tuner.sweep(name="pick", resume=True, trials=4)
    assert not (tmp_path / "out").exists() and not (copy / "report.html").exists()
    r = _cli(copy, "leaderboard", "pick")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith(f"error: {path} is broken (")


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_study_db(copy, tmp_path, damage):
    db = copy / "study.db"
    if damage == "garbage":
        db.write_bytes(b"not a database " * 100)
    else:
        with open(db, "r+b") as fh:
            fh.truncate(db.stat().st_size // 2)
    message = r"study\.db: DatabaseError: .*; the file is damaged or not a study: restore it from a backup"
    for verb, call in _verbs(tmp_path).items():
        with pytest.raises(InputError, match=rf"sweep 'pick'.*{copy}/{message}") as exc:
            call()
        assert "\n" not in str(exc.value), verb
    with pytest.raises(InputError, match=rf"cannot open storage sqlite:///{copy}/{message}"):
        tuner.sweep(name="pick", resume=True, trials=4)
    r = _cli(copy, "report", "pick")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "study.db: DatabaseError" in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["missing", "empty"])
def test_missing_or_empty_study_db(copy, tmp_path, damage):
    db = copy / "study.db"
    db.unlink() if damage == "missing" else db.write_bytes(b"")
    # was: an empty study created in its place, then "has no sweep named 'pick'" (and, on --resume,
    # "start it without --resume", which refuses: the sweep exists)
    message = rf"{db} is {damage}: the study \(every trial\) of sweep 'pick' is gone; restore it from a backup"
    for verb, call in _verbs(tmp_path).items():
        with pytest.raises(InputError, match=message):
            call()
        assert db.exists() == (damage == "empty") and (not db.exists() or db.stat().st_size == 0), verb
    with pytest.raises(InputError, match=message):
        tuner.sweep(name="pick", resume=True, trials=4)
    assert not db.exists() or db.stat().st_size == 0
    assert not (tmp_path / "out").exists() and not (copy / "report.html").exists()
    r = _cli(copy, "leaderboard", "pick")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and f"{db} is {damage}" in r.stderr


@pytest.mark.slow
def test_broken_metrics_json_and_trial_folder(copy, tmp_path):
    best = _feasible()
    metrics = copy / "trials" / str(best) / "metrics.json"
    metrics.write_text(metrics.read_text()[:40])
    for verb in ("show", "export", "report"):
        with pytest.raises(InputError, match=rf"{metrics} is broken \(not valid JSON at line \d+: .*\); re-run"):
            _verbs(tmp_path)[verb]()
    assert not (tmp_path / "out").exists() and not (copy / "report.html").exists()
    shutil.rmtree(copy / "trials" / str(best))
    (copy / "trials" / str(best)).write_text("a file where the trial folder was")
    with pytest.raises(InputError, match=rf"artifacts of trial {best} are missing in {copy}/trials/{best} "):
        tuner.export("pick", "best", tmp_path / "out")


@pytest.mark.slow
def test_out_that_cannot_be_written(copy, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    out = blocker / "sub" / "out"
    r = _cli(copy, "export", "pick", "--out", str(out))
    assert r.returncode == 2, r.stderr[-1500:]
    assert r.stderr.strip().splitlines() == [
        f"error: cannot write --out {out}: Not a directory; "
        "a part of the path is a file, not a folder; pick another path"
    ]
    with pytest.raises(InputError, match=rf"cannot write --out {out / 'r.html'}: Not a directory"):
        tuner.report("pick", out=out / "r.html")
    # disk full while the export is written: one line, nothing left behind, an earlier export untouched
    good = tmp_path / "exported"
    tuner.export("pick", "best", good)
    before = sorted((p.name, p.stat().st_size) for p in good.iterdir())

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("tuner.exporter.write_header", full)
    with pytest.raises(InputError, match=rf"cannot write --out {good}: No space left on device; free some"):
        tuner.export("pick", "best", good, force=True)
    assert sorted((p.name, p.stat().st_size) for p in good.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "exported", "results"]  # no staging left


@pytest.mark.slow
def test_show_and_report_read_the_settings_stored_in_the_study(copy, tmp_path):
    # another machine: the study is reachable (--storage) but results/pick/sweep.yaml is not there
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    shutil.copy(copy / "study.db", tmp_path / "elsewhere.db")
    saved = yaml.safe_load((copy / "sweep.yaml").read_text())
    shutil.rmtree(copy)
    info = tuner.show("pick", "best", storage=url)
    assert info["state"] == "feasible" and info["params"]["epochs"] == 2 and info["metrics"] == {}
    path = tuner.report("pick", storage=url)
    html = path.read_text()
    assert path == copy / "report.html" and f"<code>{saved['target']}</code>" in html
    r = _cli(copy, "show", "pick", "--storage", url)
    assert r.returncode == 0, r.stderr[-1500:]
    assert "Sweep pick, trial" in r.stdout and "feasible" in r.stdout
