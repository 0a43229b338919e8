"""`tuner report`: a self-contained HTML file, rendered in headless Chromium without console errors;
the study opens in optuna-dashboard as it is."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tuner.errors import InputError

pytestmark = pytest.mark.slow


@pytest.fixture
def report(results):
    import tuner

    path = tuner.report("pick")
    assert path == results / "pick" / "report.html"
    return path


def _plot_ids(doc: str) -> list[str]:
    return re.findall(r'<div id="([a-z0-9-]+)" class="plotly-graph-div"', doc)


def test_report_is_self_contained_with_every_section(report):
    import tuner

    doc = report.read_text()
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?(https?:)?//""", doc, re.I)
    assert doc.count("<script") >= 1 and len(doc) > 1_000_000  # plotly.js inlined once (~4.7 MB)
    ids = _plot_ids(doc)
    best = int(tuner.leaderboard("pick").iloc[0]["trial"])
    assert ids[:3] == ["pareto-latency", "pareto-ram", "best-so-far"]
    assert f"confusion-{best}" in ids and ids[-2:] == ["layers-latency", "layers-memory"]
    assert len([i for i in ids if i.startswith("confusion-")]) == 2  # both feasible candidates
    assert "flash 3" in doc and "kB &gt; budget 200 kB" in doc  # the rejected one, with its reason
    assert f"Best: <b>trial {best}:" in doc
    assert "<td>engine</td><td>grid</td>" in doc and "<td>flash_kb</td><td>200.0</td>" in doc
    assert "optuna-dashboard sqlite:///" in doc


def test_report_of_empty_sweep_is_input_error(results):
    import tuner

    with pytest.raises(InputError, match="sweep 'empty' has no finished trials yet"):
        tuner.report("empty")
    assert not (results / "empty" / "report.html").exists()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (Debian: apt-get install chromium chromium-driver)")
def test_report_renders_in_headless_chromium_without_console_errors(report, tmp_path):
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'p'}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--dump-dom",
        report.as_uri(),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    console = [ln for ln in run.stderr.splitlines() if ":CONSOLE" in ln]
    assert console == [], console  # no errors, warnings or logs from the page's scripts
    ids = _plot_ids(report.read_text())
    for plot in ids:  # plotly drew every figure: the div got its class and SVG layers
        m = re.search(rf'<div id="{plot}" class="([^"]*)"', dom)
        assert m and "js-plotly-plot" in m.group(1), plot
    assert dom.count('class="main-svg"') >= 2 * len(ids)
    assert dom.count('class="point"') + dom.count('class="points"') > 0  # markers drawn


def test_study_opens_in_optuna_dashboard(results):
    from wsgiref.util import setup_testing_defaults

    import optuna_dashboard

    app = optuna_dashboard.wsgi(f"sqlite:///{results / 'pick' / 'study.db'}")

    def get(path: str) -> dict:
        env: dict = {}
        setup_testing_defaults(env)
        env["PATH_INFO"] = path
        status = []
        body = b"".join(app(env, lambda s, h, exc_info=None: status.append(s)))
        assert status[0].startswith("200"), (path, status)
        return json.loads(body)

    studies = get("/api/studies")["study_summaries"]
    assert [s["study_name"] for s in studies] == ["pick"]
    detail = get(f"/api/studies/{studies[0]['study_id']}")
    assert len(detail["trials"]) == 3
    attrs = {a["key"] for a in detail["trials"][0]["user_attrs"]}
    assert {"candidate", "state"} <= attrs
