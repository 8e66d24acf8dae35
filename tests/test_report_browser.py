"""The report in a real browser: headless Chromium renders every section, draws something, logs nothing.

Chromium prints each console message (errors, and refusals by the report's Content-Security-Policy
of anything it would fetch) to stderr as an ``INFO:CONSOLE`` line with ``--enable-logging=stderr``.
The report has no scripts, so any console line is a failure.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import report_warehouse
from pngread import read_png

from protiso.report import SECTIONS, render_report
from protiso.warehouse import Warehouse

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)
pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")]
TITLE = "Browser <check> & \"quotes\""


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--no-first-run", "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={tmp / 'profile'}",
               "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def console(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "report.html"
    with Warehouse.open(report_warehouse.shared(tmp_path_factory)) as wh:
        render_report(wh, out, title=TITLE)
    return out


def test_rendered_dom_has_every_section_and_no_console_messages(page, tmp_path):
    result = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    for key in SECTIONS:
        assert f'<section id="{key}">' in dom
    assert dom.count("<svg") >= 6 and dom.count("<table") >= 5
    assert "<h1>Browser &lt;check&gt; &amp; \"quotes\"</h1>" in dom  # parsed as text, not markup
    assert "<check>" not in dom
    assert console(result) == []


def test_screenshot_is_not_blank(page, tmp_path):
    shot = tmp_path / "shot.png"
    result = chromium(tmp_path, "--window-size=1200,1400", f"--screenshot={shot}", page.as_uri())
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = read_png(shot)[..., :3].astype(np.float64)
    assert pixels.shape[:2] == (1400, 1200)
    grey = pixels.mean(axis=2)
    assert grey.std() > 10  # text, rules and tables, not a flat page
    assert (grey < 200).mean() > 0.01
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    assert console(result) == []


def test_console_check_catches_errors_and_blocked_fetches(tmp_path):
    """The check above can fail: a script error and an external image are both reported."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!doctype html><meta http-equiv="Content-Security-Policy" content="img-src data:">'
                   '<p>x</p><img src="http://127.0.0.1:9/x.png"><script>undefinedFunction()</script>')
    messages = console(chromium(tmp_path, "--dump-dom", bad.as_uri()))
    assert any("undefinedFunction" in m for m in messages)
    assert any("Content Security Policy" in m for m in messages)
