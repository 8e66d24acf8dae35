"""The report's figures: matplotlib charts inline in the page and, with --figures DIR, one file each."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import report_warehouse
from typer.testing import CliRunner

from protiso.cli import app
from protiso.metrics.stream import StreamStats
from protiso.report.common import MIN_BIN_COUNT
from protiso.report.document import build_context, charts, render, write_figures
from protiso.report.plots import Series, heatmap, line_chart
from protiso.report.sections.pca import principal_axes
from protiso.warehouse import Warehouse

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-", "svg": b"<?xml"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = report_warehouse.shared(tmp_path_factory)
    with Warehouse.open(path) as wh:
        context = build_context(wh)
        html = render(context)
    return path, context, html


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_figures_dir_writes_each_figure_in_the_asked_format(built, tmp_path, fmt):
    _, context, html = built
    written = write_figures(context, tmp_path / "figs", fmt)
    assert len(written) == len(charts(context)) == html.count('<svg class="chart"') >= 10
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == sorted(p.name for p in written)
    for path in written:
        assert path.suffix == f".{fmt}" and path.read_bytes().startswith(MAGIC[fmt]), path
    assert any("-pca-" in p.name for p in written) and any("-layers-" in p.name for p in written)
    # the page stays one offline file whatever was exported
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert not re.search(r"url\((?!#)", html)


def test_cli_figures_and_bad_format(built, tmp_path):
    path, _, _ = built
    out, figs = tmp_path / "r.html", tmp_path / "figs"
    result = CliRunner().invoke(app, ["report", "-w", str(path), "-o", str(out), "--figures", str(figs),
                                      "--figure-format", "pdf", "--color-by", "length_bin"])
    assert result.exit_code == 0, result.output
    assert f"figure(s) to {figs}" in result.output and all(p.suffix == ".pdf" for p in figs.iterdir())
    assert "coloured by length_bin" in out.read_text()
    for args, said in ((["--figures", str(figs), "--figure-format", "gif"], "--figure-format 'gif'"),
                       (["--color-by", "colour"], "--color-by 'colour'")):
        result = CliRunner().invoke(app, ["report", "-w", str(path), "-o", str(tmp_path / "x.html"), *args])
        assert result.exit_code != 0 and said in result.output and "Traceback" not in result.output


def test_binned_curves_count_each_bin_and_fade_those_below_the_minimum(built):
    _, _, html = built
    marks = re.findall(r'<g id="[^"]+" data-metric="bin_n"[^>]*data-value="(\d+)"><title>[^<]*</title>\s*<path[^>]*'
                       r'style="([^"]*)"', html)
    assert marks and {int(n) < MIN_BIN_COUNT for n, _ in marks} == {True, False}
    for n, style in marks:
        assert ("opacity: 0.25" in style) == (int(n) < MIN_BIN_COUNT), (n, style)
    assert f"fewer than {MIN_BIN_COUNT} pairs are faded" in html


def test_categorical_charts_are_dots_and_heatmaps_have_a_colour_key():
    chart = line_chart([Series("a", [0, 1, 2], [1e-3, 1e-2, 2e-2]), Series("b", [0, 2], [1e-4, 1e-3])],
                       title="t", x_label="set", y_label="IsoScore", log_y=True, x_categories=["raw", "abtt-5", "centered"])
    assert all(len(line.get_xdata()) <= 1 for line in chart.figure.axes[0].lines)  # nothing joins categories
    grid = heatmap(["a", "b"], ["a", "b"], [[None, 0.5], [-0.7, None]], title="h")
    assert len(grid.figure.axes) == 2  # the matrix and its colour key
    root = ET.fromstring(str(grid))
    assert root.tag == "svg" and root.find("title").text == "h"
    assert "xmlns" not in str(grid) and "xlink:" not in str(grid)


def test_pca_axes_and_points_equal_numpy_pca(built):
    path, context, _ = built
    (panel,) = context.sections["pca"].panels
    with Warehouse.open(path, read_only=True) as wh:
        vectors = np.array([r[0] for r in wh.con.execute(
            "SELECT embedding FROM embeddings WHERE model = ? AND layer = ? AND embedding_set = 'raw'",
            [panel["model"], panel["layer"]]).fetchall()], dtype=np.float64)
    values, axes = np.linalg.eigh(np.cov(vectors, rowvar=False))
    top = axes[:, ::-1][:, :2]
    _, found, share = principal_axes(StreamStats(vectors.shape[1]).add(vectors))
    np.testing.assert_allclose(np.abs(found.T @ top), np.eye(2), atol=1e-9)
    np.testing.assert_allclose(share, values[::-1][:2] / values.sum(), rtol=1e-9)
    expected = (vectors - vectors.mean(axis=0)) @ found
    drawn = np.concatenate([c.get_offsets() for c in panel["svg"].figure.axes[0].collections])
    assert drawn.shape == expected.shape
    np.testing.assert_allclose(np.sort(drawn[:, 0]), np.sort(expected[:, 0]), atol=1e-9)


def test_layers_section_plots_correlation_against_layer(built):
    _, context, _ = built
    titles = [c["title"] for c in context.sections["layers"].charts]
    assert any(t.startswith("Pearson r of cosine similarity with identity by layer") for t in titles)
    assert len(context.sections["correlations"].heatmaps) == 1  # the highest layer only


def test_pca_points_say_which_protein_they_are(built):
    path, context, html = built
    panel = context.sections["pca"].panels[0]
    titles = re.findall(r"<g><title>([^<]*) · ([^<]*)</title>", str(panel["svg"]))
    assert len(titles) == panel["shown"] == 36
    with Warehouse.open(path, read_only=True) as wh:
        organism = dict(wh.con.execute("SELECT accession, organism FROM proteins").fetchall())
    legend = {label for label, _ in titles}
    for accession, label in titles:
        assert accession in organism
        assert label == organism[accession] or (label == "other" and organism[accession] not in legend)


def test_layer_axes_tick_at_whole_numbers_and_figures_may_fill_the_column():
    chart = line_chart([Series("m", [4, 8], [0.2, 0.3])], title="t", x_label="layer", y_label="IsoScore")
    ticks = chart.figure.axes[0].get_xticks()
    assert len(ticks) >= 3 and all(float(t).is_integer() for t in ticks)
    drawn = float(re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', _raw_svg(chart)).group(1)) * 96 / 72
    assert re.search(r'<svg class="chart" role="img" style="max-width: (\d+)px"', str(chart.svg)).group(1) == \
        str(round(drawn * 1.8))


def _raw_svg(chart) -> str:
    import io

    buffer = io.StringIO()
    chart.figure.savefig(buffer, format="svg")
    return buffer.getvalue()


@pytest.mark.parametrize("title, name", [
    ("PCA of my-model · layer -1, coloured by organism", "pca-of-my-model-layer-minus1-coloured-by-organism"),
    ("IsoScore by layer (Rostlab/prot_bert)", "isoscore-by-layer-rostlab-prot-bert"),
    ("esm2_t6_8M_UR50D layer 6", "esm2-t6-8m-ur50d-layer-6"),
    ("···", "figure")])
def test_figure_file_names_are_sane_for_any_model_and_layer(title, name):
    from protiso.report.document import figure_slug

    assert figure_slug(title) == name
