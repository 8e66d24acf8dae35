"""The report in a real browser: headless Chromium renders every section, draws something, logs nothing.

Chromium prints each console message (errors, and refusals by the report's Content-Security-Policy
of anything it would fetch) to stderr as an ``INFO:CONSOLE`` line with ``--enable-logging=stderr``.
The report has no scripts, so any console line is a failure.
"""

from __future__ import annotations

import os
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
def warehouse_path(tmp_path_factory) -> Path:
    return report_warehouse.shared(tmp_path_factory)


@pytest.fixture(scope="module")
def page(warehouse_path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "report.html"
    with Warehouse.open(warehouse_path) as wh:
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


HEADLINE_SQL = {  # the headline's answers, asked of the warehouse directly: raw set, each model's highest layer
    "global": "SELECT {col} FROM isotropy WHERE model = ? AND embedding_set = 'raw' AND scope = 'global' "
              "AND group_by = 'all' AND layer = (SELECT max(layer) FROM isotropy WHERE model = ? AND scope = 'global' "
              "AND embedding_set = 'raw') ORDER BY computed_at DESC, run_id DESC LIMIT 1",
    "local": "SELECT {col} FROM isotropy WHERE model = ? AND embedding_set = 'raw' AND scope = 'local' "
             "AND group_by = 'all' AND layer = (SELECT max(layer) FROM isotropy WHERE model = ? AND scope = 'local' "
             "AND embedding_set = 'raw') ORDER BY computed_at DESC, run_id DESC LIMIT 1",
    "per_protein": "SELECT {col} FROM local_isotropy WHERE model = ? AND definition = 'per_protein' AND layer = "
                   "(SELECT max(layer) FROM local_isotropy WHERE model = ? AND definition = 'per_protein') "
                   "ORDER BY computed_at DESC, run_id DESC LIMIT 1",
}


def headline_answer(con, number: dict) -> float | None:
    from protiso.report import published

    metric, model = number["data-metric"], number.get("data-beside") or number["data-model"]
    if metric.startswith("control_"):  # the controls box: tests/test_report.py recomputes each from SQL
        from test_report import expected_control

        return expected_control(con, number)
    if metric.startswith("published_"):
        (figure,) = [f for f in published.FIGURES if f.label == number["data-model"] and f.scope == number["data-scope"]]
        return getattr(figure, metric.removeprefix("published_"))
    if metric.startswith("local_"):
        sql, col = HEADLINE_SQL["per_protein"], metric.removeprefix("local_")
    else:
        sql, col = HEADLINE_SQL[number["data-scope"]], metric
    return con.execute(sql.format(col=col), [model, model]).fetchall()[0][0]


def test_screenshot_shows_the_headline_box_and_its_numbers_equal_sql(tmp_path, warehouse_path):
    """The headline box is at the top of the rendered page, and every number the browser shows in it is the
    warehouse's SQL answer (PROTISO_SCREENSHOT_TO=FILE keeps the screenshot)."""
    import math
    import re

    from test_report import assert_text_shows, parse

    page = tmp_path / "report.html"
    with Warehouse.open(warehouse_path) as wh:
        render_report(wh, page, title="protiso report: 36 Swiss-Prot proteins, AntiBERTy")
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    box = dom[dom.index('<div class="headline" id="headline-box">'):]
    box = box[:box.index('<nav class="toc"')]
    numbers = parse(box).numbers
    metrics = {n["data-metric"] for n in numbers}
    assert {"isoscore", "effective_dims", "dim", "mean_cosine"} <= metrics   # (the paper did not measure AntiBERTy)
    assert {n["data-scope"] for n in numbers if n["data-metric"] == "isoscore"} == {"global", "local"}
    with Warehouse.open(warehouse_path, read_only=True) as wh:
        for number in numbers:
            want = headline_answer(wh.con, number)
            assert math.isclose(float(number["data-value"]), want, rel_tol=1e-12), (number, want)
            assert_text_shows(number["text"], number["data-value"])
    assert re.search(r'data-headline-model="antiberty"', box)

    shot = tmp_path / "headline.png"
    result = chromium(tmp_path, "--window-size=1200,900", f"--screenshot={shot}", page.as_uri())
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = read_png(shot)[..., :3].astype(np.int64)
    box_fill = np.all(pixels == (0xee, 0xf3, 0xfa), axis=2)   # the headline box's background
    rows = np.flatnonzero(box_fill.mean(axis=1) > 0.3)
    assert rows.size > 40 and rows.min() < 300, rows[:5]      # a tall band of it near the top of the page
    assert (pixels[rows.min():rows.max()].mean(axis=2) < 120).mean() > 0.005   # with text in it
    if os.environ.get("PROTISO_SCREENSHOT_TO"):   # the README's picture comes from scripts/report_screenshot.py
        shutil.copyfile(shot, os.environ["PROTISO_SCREENSHOT_TO"])


def _longest_runs(mask: np.ndarray) -> np.ndarray:
    """Per row, the longest run of True."""
    padded = np.pad(mask.astype(np.int8), ((0, 0), (1, 1)))
    out = np.zeros(mask.shape[0], dtype=np.int64)
    for row in np.flatnonzero(mask.any(axis=1)):
        edges = np.flatnonzero(np.diff(padded[row]))
        out[row] = (edges[1::2] - edges[::2]).max()
    return out


@pytest.mark.parametrize("width", [1400, 800])
def test_figures_fill_the_column_at_1400_and_800_pixels(page, tmp_path, width):
    """Chart gridlines (plots.GRID, #e3e3e3) span most of the text column: figures are drawn at the column's
    width, not as thumbnails (PROTISO_SCREENSHOT_DIR=DIR keeps the screenshots)."""
    shot = tmp_path / f"report-{width}.png"
    result = chromium(tmp_path, f"--window-size={width},9000", f"--screenshot={shot}", page.as_uri())
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = read_png(shot)[..., :3].astype(np.int64)
    grey = (np.ptp(pixels, axis=2) <= 2) & (np.abs(pixels[..., 0] - 0xe3) <= 10)
    runs = _longest_runs(grey)
    column = min(width, 1120) - 2 * (28 if width > 900 else 14)   # base.html: max-width and padding
    assert runs.max() >= 0.7 * column, (runs.max(), column)
    wide = np.flatnonzero(runs >= 0.6 * column)
    charts = np.count_nonzero(np.diff(wide) > 60) + 1 if wide.size else 0   # separate bands of wide gridlines
    assert charts >= 6, charts
    if os.environ.get("PROTISO_SCREENSHOT_DIR"):
        shutil.copyfile(shot, Path(os.environ["PROTISO_SCREENSHOT_DIR"]) / shot.name)
