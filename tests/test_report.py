"""The HTML report: every number equals the warehouse's SQL answer, nothing is fetched, user text is escaped."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import report_warehouse
from typer.testing import CliRunner

from protiso.cli import app
from protiso.errors import ProtisoError
from protiso.report import SECTIONS, published, render_report
from protiso.warehouse import Warehouse, resources


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text inside elements that carry data-metric."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.numbers: list[dict[str, str]] = []
        self.cells: list[dict] = []
        self._open: list[tuple[str, dict, list[str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "data-metric" in attrs:
            for name, cell_attrs, _ in self._open:
                if name == "td":
                    cell_attrs["_marked"] = True
        if tag in ("meta", "br", "img", "link", "input", "hr", "circle", "rect", "line", "polyline", "polygon",
                   "path"):
            if "data-metric" in attrs:
                self.numbers.append({**attrs, "text": None})
            return
        self._open.append((tag, attrs, []))

    def handle_endtag(self, tag):
        while self._open:
            name, attrs, text = self._open.pop()
            if name == "td":
                self.cells.append({**attrs, "text": "".join(text).strip()})
            if "data-metric" in attrs:  # a chart mark (inside <svg>) shows its value only in a tooltip
                in_chart = any(open_name == "svg" for open_name, _, _ in self._open)
                self.numbers.append({**attrs, "text": None if in_chart else "".join(text).strip()})
            if self._open:
                self._open[-1][2].extend(text)
            if name == tag:
                break

    def handle_startendtag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "data-metric" in attrs:
            self.numbers.append({**attrs, "text": None})

    def handle_data(self, data):
        self.text.append(data)
        if self._open:
            self._open[-1][2].append(data)


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    return report_warehouse.shared(tmp_path_factory)


@pytest.fixture(scope="module")
def report(warehouse, tmp_path_factory) -> tuple[str, object]:
    out = tmp_path_factory.mktemp("out") / "report.html"
    with Warehouse.open(warehouse) as wh:
        summary = render_report(wh, out)
    return out.read_text(encoding="utf-8"), summary


# -- independent answers ---------------------------------------------------------------------

COUNT_SQL = {
    "proteins": "SELECT count(*) FROM proteins",
    "embedded_proteins": "SELECT count(DISTINCT accession) FROM embeddings",
    "vectors": "SELECT count(*) FROM embeddings",
    "models": "SELECT count(DISTINCT model) FROM embeddings",
    "pairs": "SELECT count(*) FROM alignments",
    "go_annotations": "SELECT count(*) FROM protein_go",
    "isotropy_rows": "SELECT count(*) FROM isotropy",
    "runs": "SELECT count(*) FROM runs WHERE kind <> 'report'",
}
ISOTROPY_COLUMNS = {"n_points", "dim", "isoscore", "isoscore_star", "zeta", "effective_dims", "effective_dims_rounded",
                    "mean_cosine", "isoscore_ci_low", "isoscore_ci_high"}
ISOTROPY_INSERT = ("INSERT INTO isotropy (run_id, model, layer, embedding_set, scope, group_by, group_value, n_points, "
                   "dim, isoscore, isoscore_star, zeta, effective_dims, effective_dims_rounded, mean_cosine, "
                   "isoscore_ci_low, isoscore_ci_high, bootstrap, computed_at) ")
EMBEDDING_SQL = {
    "embedding_vectors": "count(*)",
    "embedding_proteins": "count(DISTINCT accession)",
}


def _spectrum_counts(values: np.ndarray) -> dict[str, int]:
    share = np.sort(np.clip(values, 0, None))[::-1]
    cumulative = np.cumsum(share / share.sum())
    out = {f"dims_{p}": int(np.argmax(cumulative >= p / 100 - 1e-12)) + 1 for p in (50, 90, 99)}
    return out | {"spectrum_dim": len(values)}


# A group row of the report's block for data-namespace (GO terms are ranked within their namespace; the
# parameter is NULL for groupings other than go_term).
IN_NAMESPACE = ("(group_by <> 'go_term' OR (SELECT any_value(namespace) FROM go_terms t WHERE t.go_id = group_value) "
                "IS NOT DISTINCT FROM ?)")

PAPER_PEARSON = {("cosine", "sq_euclidean"): 0.791, ("cosine", "score"): 0.014, ("cosine", "identity"): -0.011,
                 ("sq_euclidean", "score"): -0.103, ("sq_euclidean", "identity"): -0.146,
                 ("score", "identity"): 0.847}


def expected(con, number: dict[str, str]):
    """The warehouse's answer for one number of the report, computed here independently."""
    metric = number["data-metric"]
    if metric == "count":
        return con.execute(COUNT_SQL[number["data-count"]]).fetchall()[0][0]
    if metric in ISOTROPY_COLUMNS:
        found = con.execute(
            f"SELECT {metric} FROM isotropy WHERE model = ? AND layer = ? AND embedding_set = ? AND scope = ? "
            "AND group_by = ? AND group_value = ? ORDER BY computed_at DESC, run_id DESC LIMIT 1",
            [number["data-model"], int(number["data-layer"]), number["data-set"], number["data-scope"],
             number["data-group-by"], number["data-group"]]).fetchall()
        return found[0][0]
    if metric in EMBEDDING_SQL:
        return con.execute(
            f"SELECT {EMBEDDING_SQL[metric]} FROM embeddings WHERE model = ? AND layer = ? AND embedding_set = ?",
            [number["data-model"], int(number["data-layer"]), number["data-set"]]).fetchall()[0][0]
    if metric in ("dims_50", "dims_90", "dims_99", "spectrum_dim"):
        model, layer = number["data-model"], int(number["data-layer"])
        if number["data-scope"] == "global":
            vectors = con.execute("SELECT embedding FROM embeddings WHERE model = ? AND layer = ? "
                                  "AND embedding_set = 'raw'", [model, layer]).fetchall()
            points = np.array([v[0] for v in vectors], dtype=np.float64)
            return _spectrum_counts(np.linalg.eigvalsh(np.cov(points, rowvar=False)))[metric]
        n, sum_x, sum_xxt = con.execute(
            "SELECT sum(n), list_reduce(list(sum_x), lambda a, b: list_transform(list_zip(a, b), "
            "lambda p: p[1] + p[2])), list_reduce(list(sum_xxt), lambda a, b: list_transform(list_zip(a, b), "
            "lambda p: p[1] + p[2])) FROM residue_stats WHERE model = ? AND layer = ?", [model, layer]).fetchall()[0]
        sum_x = np.array(sum_x)
        scatter = np.array(sum_xxt).reshape(len(sum_x), -1) - np.outer(sum_x, sum_x) / float(n)
        return _spectrum_counts(np.linalg.eigvalsh(scatter))[metric]
    if metric in ("pearson", "spearman", "n"):
        return con.execute(
            f"SELECT {metric} FROM correlations WHERE model = ? AND layer = ? AND pooling IS NOT DISTINCT FROM ? "
            "AND embedding_set = ? AND alignment_run = ? AND metric_x = ? AND metric_y = ?",
            [number["data-model"], int(number["data-layer"]), number["data-pooling"] or None, number["data-set"],
             number["data-run"], number["data-x"], number["data-y"]]).fetchall()[0][0]
    if metric == "bin_n":
        return con.execute(
            "SELECT n FROM similarity_bins WHERE bin_by = 'identity' AND embedding_set = 'raw' AND model = ? "
            "AND layer = ? AND pooling IS NOT DISTINCT FROM ? AND alignment_run = ? AND bin = ?",
            [number["data-model"], int(number["data-layer"]), number["data-pooling"] or None, number["data-run"],
             int(number["data-bin"])]).fetchall()[0][0]
    if metric.startswith("pca_"):  # numpy's covariance eigenvalues of every raw vector of the set
        vectors = con.execute("SELECT embedding FROM embeddings WHERE model = ? AND layer = ? AND embedding_set = 'raw' "
                              "AND pooling IS NOT DISTINCT FROM ? AND embedding IS NOT NULL",
                              [number["data-model"], int(number["data-layer"]), number["data-pooling"] or None]).fetchall()
        if metric in ("pca_vectors", "pca_shown"):
            return min(len(vectors), 5000) if metric == "pca_shown" else len(vectors)
        values = np.sort(np.linalg.eigvalsh(np.cov(np.array([v[0] for v in vectors], dtype=np.float64), rowvar=False)))
        values = np.clip(values[::-1], 0, None)
        return 100 * float(values[int(metric[-1]) - 1] / values.sum())
    if metric == "runs_shown":
        return min(con.execute(COUNT_SQL["runs"]).fetchall()[0][0], 100)
    if metric == "hist_pairs":  # every complete pair of the embedding set lands in one cell
        return con.execute(
            "SELECT count(*) FROM pair_metrics WHERE model = ? AND layer = ? AND pooling IS NOT DISTINCT FROM ? "
            "AND embedding_set = 'raw' AND alignment_run = ? AND complete",
            [number["data-model"], int(number["data-layer"]), number["data-pooling"] or None,
             number["data-run"]]).fetchall()[0][0]
    if metric in ("bin_cosine_mean", "bin_sq_euclidean_mean"):
        column = metric.removeprefix("bin_")
        return con.execute(
            f"SELECT {column} FROM similarity_bins WHERE bin_by = 'identity' AND embedding_set = 'raw' AND model = ? "
            "AND layer = ? AND pooling IS NOT DISTINCT FROM ? AND alignment_run = ? AND bin = ?",
            [number["data-model"], int(number["data-layer"]), number["data-pooling"] or None, number["data-run"],
             int(number["data-bin"])]).fetchall()[0][0]
    if metric == "groups":  # groups ranked in section 6: those with an IsoScore, newest row each
        return con.execute(
            "SELECT count(DISTINCT group_value) FROM isotropy WHERE model = ? AND layer = ? AND embedding_set = ? "
            f"AND scope = ? AND group_by = ? AND isoscore IS NOT NULL AND {IN_NAMESPACE} AND NOT coalesce(is_root, false)",
            [number["data-model"], int(number["data-layer"]), number["data-set"], number["data-scope"],
             number["data-group-by"], number.get("data-namespace")]).fetchall()[0][0]
    if metric in ("significant", "roots"):  # latest row per group of the block: q < 0.05 (not roots); roots
        where = "NOT coalesce(is_root, false) AND q_value < 0.05" if metric == "significant" else "is_root"
        return con.execute(
            "SELECT count(*) FILTER (WHERE " + where + ") FROM (SELECT * FROM isotropy WHERE model = ? AND layer = ? "
            f"AND embedding_set = ? AND scope = ? AND group_by = ? AND isoscore IS NOT NULL AND {IN_NAMESPACE} "
            "QUALIFY row_number() OVER (PARTITION BY group_value ORDER BY computed_at DESC, run_id DESC) = 1)",
            [number["data-model"], int(number["data-layer"]), number["data-set"], number["data-scope"],
             number["data-group-by"], number.get("data-namespace")]).fetchall()[0][0]
    if metric in ("size_z_low", "size_z_high"):  # z +- 1.96 Monte-Carlo se, from the stored draws
        z, draws = con.execute(
            "SELECT size_z, null_values FROM isotropy WHERE model = ? AND layer = ? AND embedding_set = ? AND scope = ? "
            "AND group_by = ? AND group_value = ? ORDER BY computed_at DESC, run_id DESC LIMIT 1",
            [number["data-model"], int(number["data-layer"]), number["data-set"], number["data-scope"],
             number["data-group-by"], number["data-group"]]).fetchall()[0]
        se = math.sqrt(1 / len(draws) + z * z / (2 * (len(draws) - 1)))
        return z - 1.96 * se if metric == "size_z_low" else z + 1.96 * se
    if metric.startswith("control_"):  # the headline's controls box (protiso/report/sections/controls.py)
        return expected_control(con, number)
    if metric == "published_pearson":  # the study's ProtBERT matrix, as printed in the paper
        return PAPER_PEARSON[(number["data-x"], number["data-y"])]
    if metric.startswith("published_"):
        (figure,) = [f for f in published.FIGURES
                     if f.label == number["data-model"] and f.scope == number["data-scope"]]
        return getattr(figure, metric.removeprefix("published_"))
    if metric.startswith("local_"):  # local isotropy, both definitions (tests/test_study_metrics.py: brute force)
        return con.execute(
            f"SELECT {metric.removeprefix('local_')} FROM local_isotropy WHERE model = ? AND layer = ? "
            "AND definition = ? ORDER BY computed_at DESC, run_id DESC LIMIT 1",
            [number["data-model"], int(number["data-layer"]), number["data-definition"]]).fetchall()[0][0]
    if metric in ("n_proteins", "null_mean", "null_low", "null_high", "size_z", "p_value", "q_value"):
        return con.execute(
            f"SELECT {metric} FROM isotropy WHERE model = ? AND layer = ? AND embedding_set = ? AND scope = ? "
            "AND group_by = ? AND group_value = ? ORDER BY computed_at DESC, run_id DESC LIMIT 1",
            [number["data-model"], int(number["data-layer"]), number["data-set"], number["data-scope"],
             number["data-group-by"], number["data-group"]]).fetchall()[0][0]
    if metric in ("rho_plain", "rho_corrected", "min_proteins"):
        from scipy.stats import spearmanr

        found = con.execute(
            "SELECT n_proteins, isoscore, size_z, CAST(r.params ->> 'min_points' AS INTEGER) FROM isotropy i "
            "JOIN runs r USING (run_id) WHERE i.model = ? AND i.layer = ? AND embedding_set = ? AND scope = ? "
            f"AND group_by = ? AND isoscore IS NOT NULL AND {IN_NAMESPACE} AND NOT coalesce(is_root, false) "
            "QUALIFY row_number() OVER "
            "(PARTITION BY group_value ORDER BY computed_at DESC, run_id DESC) = 1",
            [number["data-model"], int(number["data-layer"]), number["data-set"], number["data-scope"],
             number["data-group-by"], number.get("data-namespace")]).fetchall()
        if metric == "min_proteins":
            return max(f[3] for f in found)
        pairs = [(f[0], f[1] if metric == "rho_plain" else f[2]) for f in found]
        pairs = [p for p in pairs if p[1] is not None]
        rho = spearmanr(*zip(*pairs)).statistic if len(pairs) >= 10 else None  # fewer groups: no rho
        return None if rho is None or math.isnan(rho) else float(rho)
    if metric.startswith("matched_"):  # layer curves on the pairs complete at every layer, recomputed here
        return _matched_correlation(con, number, metric.removeprefix("matched_"))
    if metric in ("pearson_low", "pearson_high", "spearman_low", "spearman_high", "pair_n_proteins",
                  "n_missing_embedding", "n_null_metric"):  # tests/test_pair_statistics.py checks them by brute force
        return con.execute(
            f"SELECT {metric.removeprefix('pair_')} FROM correlations WHERE model = ? AND layer = ? AND pooling IS NOT DISTINCT FROM ? "
            "AND embedding_set = ? AND alignment_run = ? AND metric_x = ? AND metric_y = ? AND stratum = ? "
            "AND weighting = ?",
            [number["data-model"], int(number["data-layer"]), number["data-pooling"] or None, number["data-set"],
             number["data-run"], number["data-x"], number["data-y"], number.get("data-stratum", "all"),
             number.get("data-weighting", "unweighted")]).fetchall()[0][0]
    if metric.startswith("adjusted_"):  # partial_correlations; tests/test_pair_statistics.py checks it by lstsq
        column = {"adjusted_pearson": "pearson", "adjusted_low": "pearson_low", "adjusted_high": "pearson_high",
                  "adjusted_n": "n"}[metric]
        return con.execute(
            f"SELECT {column} FROM partial_correlations WHERE model = ? AND layer = ? AND pooling IS NOT DISTINCT "
            "FROM ? AND embedding_set = ? AND alignment_run = ? AND metric_x = ? AND metric_y = ? AND stratum = ? "
            "AND weighting = ? AND length_ratio = ? AND adjustment = ?",
            [number["data-model"], int(number["data-layer"]), number["data-pooling"] or None, number["data-set"],
             number["data-run"], number["data-x"], number["data-y"], number["data-stratum"],
             number["data-weighting"], number["data-ratio"], number["data-adjustment"]]).fetchall()[0][0]
    if metric.startswith("partial_"):  # tests/test_study_metrics.py checks the query by residual regression
        method, _, control = metric.removeprefix("partial_").partition("_")
        column = method if control in ("", "none") else f"{method}_{control}"
        cursor = con.execute(resources.sql_text("queries", "report_partial_correlations.sql").replace(
            "$models::VARCHAR[]", "NULL::VARCHAR[]"))
        names = [d[0] for d in cursor.description]
        (found,) = [r for r in (dict(zip(names, t)) for t in cursor.fetchall())
            if r["model"] == number["data-model"] and r["layer"] == int(number["data-layer"])
            and r["embedding_set"] == number["data-set"] and r["alignment_run"] == number["data-run"]
            and r["metric_x"] == number["data-x"] and r["metric_y"] == number["data-y"]]
        return found[column]
    raise AssertionError(f"the test has no independent answer for data-metric={metric!r}")


def _matched_correlation(con, number: dict[str, str], what: str):
    family = con.execute(
        "SELECT layer, accession_a, accession_b, " + number["data-x"] + ", " + number["data-y"] + " FROM pair_metrics "
        "WHERE complete AND model = ? AND pooling IS NOT DISTINCT FROM ? AND embedding_set = ? AND alignment_run = ?",
        [number["data-model"], number["data-pooling"] or None, number["data-set"], number["data-run"]]).fetchall()
    layers = {r[0] for r in family}
    seen: dict[tuple, set] = {}
    for layer, a, b, _, _ in family:
        seen.setdefault((a, b), set()).add(layer)
    everywhere = {k for k, v in seen.items() if v == layers}
    mine = [r for r in family if r[0] == int(number["data-layer"])]
    if what == "n_unmatched":
        return len(mine)
    if what == "n":
        return len(everywhere)
    if what == "n_proteins":
        return len({a for a, _ in everywhere} | {b for _, b in everywhere})
    kept = [r for r in mine if (r[1], r[2]) in everywhere]
    return float(np.corrcoef([r[3] for r in kept], [r[4] for r in kept])[0, 1])


def expected_control(con, number: dict[str, str]):
    """A number of the headline's controls box: correlations, partial_correlations and isotropy rows of one
    control, looked up by its own keys (stratum and weighting included; isotropy from the matched 'controls'
    rows where the number says basis = matched)."""
    metric, control = number["data-metric"], number["data-control"]
    model, layer = number["data-model"], int(number["data-layer"])
    if metric.startswith("control_partial"):
        column = {"control_partial": "pearson", "control_partial_low": "pearson_low",
                  "control_partial_high": "pearson_high"}[metric]
        return con.execute(
            f"SELECT {column} FROM partial_correlations WHERE model = ? AND layer = ? AND embedding_set = 'raw' "
            "AND control = ? AND alignment_run = ? AND metric_x = 'cosine' AND metric_y = ? AND stratum = ? "
            "AND weighting = ? AND length_ratio = 'all' AND adjustment = ?",
            [model, layer, control, number["data-run"], number["data-y"], number["data-stratum"],
             number["data-weighting"], number["data-adjustment"]]).fetchall()[0][0]
    if metric in ("control_pearson", "control_pearson_low", "control_pearson_high", "control_n",
                  "control_n_proteins", "control_share"):
        sql = ("SELECT {} FROM correlations WHERE model = ? AND layer = ? AND embedding_set = 'raw' AND control = ? "
               "AND alignment_run = ? AND metric_x = 'cosine' AND metric_y = ? AND stratum = ? AND weighting = ?")
        column = {"control_n": "n", "control_n_proteins": "n_proteins", "control_pearson_low": "pearson_low",
                  "control_pearson_high": "pearson_high"}.get(metric, "pearson")
        where = [number["data-run"], number["data-y"], number["data-stratum"], number["data-weighting"]]
        (value,) = con.execute(sql.format(column), [model, layer, control, *where]).fetchall()
        if metric != "control_share":
            return value[0]
        (real,) = con.execute(sql.format("pearson"), [model, layer, "none", *where]).fetchall()
        return 100.0 * value[0] / real[0]
    column = {"control_n_points": "n_points", "control_dim": "dim"}.get(metric, metric.removeprefix("control_"))
    if number["data-basis"] == "matched":  # the real set and its controls on the proteins all of them have
        return con.execute(
            f"SELECT {column} FROM isotropy WHERE model = ? AND layer = ? AND embedding_set = ? AND scope = ? "
            "AND group_by = 'matched' AND group_value = 'controls' AND control = ? "
            "ORDER BY computed_at DESC, run_id DESC LIMIT 1",
            [model, layer, number["data-set"], number["data-scope"], control]).fetchall()[0][0]
    return con.execute(
        f"SELECT {column} FROM isotropy_latest WHERE model = ? AND layer = ? AND embedding_set = ? AND scope = ? "
        "AND group_by = 'all' AND control = ?",
        [model, layer, number["data-set"], number["data-scope"], control]).fetchall()[0][0]


def assert_same(shown: str, expect) -> None:
    if expect is None:
        assert shown == "null"
    elif isinstance(expect, float):
        assert math.isclose(float(shown), expect, rel_tol=1e-12, abs_tol=1e-300), (shown, expect)
    else:
        assert float(shown) == expect, (shown, expect)


def assert_text_shows(text: str | None, value: str) -> None:
    """The visible text is the data-value rounded to the digits it shows."""
    if text is None:  # a chart mark: its value is in a <title> tooltip, checked by the attribute
        return
    if value == "null":
        assert text == "–"
        return
    shown = text.replace(",", "")
    number = float(shown)
    mantissa = shown.split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(shown.split("e")[1]) if "e" in shown else 0
    assert abs(number - float(value)) <= 0.5 * 10.0 ** (exponent - decimals) * (1 + 1e-9), (text, value)


# -- tests ------------------------------------------------------------------------------------


def test_every_number_shown_equals_the_warehouse_sql_answer(warehouse, report):
    html, _ = report
    numbers = parse(html).numbers
    metrics = {n["data-metric"] for n in numbers}
    assert {"count", "isoscore", "isoscore_star", "effective_dims", "effective_dims_rounded", "mean_cosine",
            "n_points", "dims_90", "embedding_vectors", "published_isoscore", "pearson", "spearman", "n",
            "hist_pairs", "bin_cosine_mean", "isoscore_ci_low"} <= metrics
    with Warehouse.open(warehouse) as wh:
        for number in numbers:
            assert_same(number["data-value"], expected(wh.con, number))
            assert_text_shows(number["text"], number["data-value"])
    assert len(numbers) > 150


def test_every_number_in_a_table_is_marked(report):
    cells = parse(report[0]).cells
    numeric = [c for c in cells if re.search(r"\d", c["text"])]
    assert len(numeric) > 100
    for cell in numeric:
        classes = (cell.get("class") or "").split()
        if "key" in classes or not ({"num"} & set(classes)):
            continue  # identifiers (layers, run ids, GO ids, dates), not measurements
        assert cell.get("_marked") or "data-metric" in cell, cell


def test_numbers_in_charts_are_marked_too(report):
    marks = [n for n in parse(report[0]).numbers if n["text"] is None]
    layers = {(m["data-layer"], m["data-scope"]) for m in marks if m["data-metric"] == "isoscore"}
    assert {("4", "global"), ("8", "global")} <= layers


def test_report_is_self_contained(report):
    html, _ = report
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    assert not re.search(r"url\((?!#)", html) and "@import" not in html  # url(#id): a clip path in the page
    for tag, attrs in parse(html).tags:
        assert tag not in ("script", "link", "iframe", "object", "embed", "img"), tag
        for name in ("src", "srcset", "data", "xlink:href", "action", "poster"):
            assert name not in attrs, (tag, name)
        if "href" in attrs:  # a link or <use> within the page, or an image embedded in a chart
            assert attrs["href"].startswith(("#", "data:image/png;base64,")), attrs["href"][:40]


def test_sections_all_present_with_a_table_of_contents(report):
    html, summary = report
    for key in SECTIONS:
        assert f'<section id="{key}">' in html
        assert f'href="#{key}"' in html
    assert html.count("<svg") >= 6
    assert all(summary.sections.values()), summary.missing


def test_published_figures_are_labelled_and_match_protbert(tmp_path):
    with Warehouse.create(tmp_path / "wh") as wh:
        with wh.run("isotropy", {}) as run, run.commit() as tx:
            for model, value in (("Rostlab/prot_bert", 0.0021), ("Rostlab/prot_bert_bfd", 0.004)):
                tx.execute(ISOTROPY_INSERT + "VALUES (?, ?, 30, 'raw', 'global', 'all', 'all', 100, 1024, ?, "
                           "NULL, NULL, ?, ?, 0.9, NULL, NULL, NULL, now())",
                           [run.id, model, value, value * 1023 + 1, math.ceil(value * 1023 + 1)])
        out = tmp_path / "r.html"
        render_report(wh, out)
    numbers = parse(out.read_text()).numbers
    beside = {(n["data-beside"], n["data-model"], n["data-metric"]): float(n["data-value"]) for n in numbers
              if "data-beside" in n}
    assert beside == {
        ("Rostlab/prot_bert", "ProtBERT", "published_isoscore"): 0.0016583,
        ("Rostlab/prot_bert", "ProtBERT", "published_effective_dims"): 3,
        ("Rostlab/prot_bert_bfd", "ProtBERT-BFD", "published_isoscore"): 0.0039686,
        ("Rostlab/prot_bert_bfd", "ProtBERT-BFD", "published_effective_dims"): 6,
        ("Rostlab/prot_bert", "ProtBERT", "published_dim"): 1024,         # the headline's "of d"
        ("Rostlab/prot_bert_bfd", "ProtBERT-BFD", "published_dim"): 1024,
    }
    assert "published" in out.read_text()


def test_empty_warehouse_says_what_is_missing_and_which_command_makes_it(tmp_path):
    with Warehouse.create(tmp_path / "empty") as wh:
        summary = render_report(wh, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert not any(summary.sections[key] for key in SECTIONS)
    for command in ("protiso ingest", "protiso isotropy", "protiso align", "--by organism"):
        assert command in html
        assert any(command in line for line in summary.missing)
    assert html.count('class="note"') >= 7
    assert str(tmp_path / "empty") in html  # the commands name this warehouse


def test_user_strings_are_escaped(tmp_path):
    evil = "<script>alert(1)</script>"
    with Warehouse.create(tmp_path / "wh") as wh:
        with wh.run("isotropy", {"note": "</pre>" + evil, "url": "https://example.org/x"},
                    model="m<b>x</b>") as run, run.commit() as tx:
            tx.write_part("go_terms", pa.table({"go_id": ["GO:0000001"],
                                                                   "name": ["<img src=x onerror=alert(2)>"]}))
            for group_by, value in (("organism", "<i>Homo</i> & sapiens"), ("go_term", "GO:0000001"),
                                    ("all", "all")):
                tx.execute(ISOTROPY_INSERT + "VALUES (?, 'm<b>x</b>', 1, 'raw', 'global', ?, ?, 10, 8, 0.5, "
                           "NULL, NULL, 4.5, 5, 0.1, NULL, NULL, NULL, now())", [run.id, group_by, value])
        out = tmp_path / "r.html"
        render_report(wh, out, title=evil)
    html = out.read_text()
    assert evil not in html and "<img" not in html and "<b>x" not in html and "<i>Homo" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;i&gt;Homo&lt;/i&gt; &amp; sapiens" in html
    tags = {tag for tag, _ in parse(html).tags}
    assert not tags & {"script", "img", "b", "i"}
    assert "https://" not in html  # the address in the run's parameters is shown, never linked
    assert "example.org/x" in html


def test_models_filter_and_unknown_model(warehouse, tmp_path):
    with Warehouse.open(warehouse) as wh:
        render_report(wh, tmp_path / "r.html", models=["antiberty"])
        with pytest.raises(ProtisoError, match="nope"):
            render_report(wh, tmp_path / "x.html", models=["nope"])
    assert "models: antiberty" in (tmp_path / "r.html").read_text()
    assert not (tmp_path / "x.html").exists()


def test_cli_report(warehouse, tmp_path):
    out = tmp_path / "cli.html"
    result = CliRunner().invoke(app, ["report", "-w", str(warehouse), "-o", str(out), "--title", "T & <T>"])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    assert "<title>T &amp; &lt;T&gt;</title>" in out.read_text()
    result = CliRunner().invoke(app, ["report", "-w", str(warehouse), "-o", str(out), "--models", "a,b"])
    assert result.exit_code == 2
    assert "error: model(s) a, b not in the warehouse" in result.output


def test_layer_chart_points_carry_both_layers(report):
    numbers = [n for n in parse(report[0]).numbers if n["text"] is None and n["data-metric"] == "effective_dims"]
    assert sorted({int(n["data-layer"]) for n in numbers}) == [4, 8]


def test_stored_local_spectrum_equals_the_brute_force_covariance_spectrum(warehouse):
    """`protiso isotropy` stores the local spectrum the report shows: the covariance eigenvalues of every
    residue vector (here the fixture's layer-8 residues), as shares of the variance, largest first."""
    _, _, residues = report_warehouse.load_vectors()
    with Warehouse.open(warehouse) as wh:
        found = wh.con.execute("SELECT n, dim, eigenvalues FROM local_spectra WHERE model = 'antiberty' "
                               "AND layer = 8 ORDER BY computed_at DESC, run_id DESC LIMIT 1").fetchall()
    assert found, "protiso isotropy stored no local spectrum"
    n, dim, stored = found[0]
    values = np.clip(np.linalg.eigvalsh(np.cov(residues.astype(np.float64), rowvar=False)), 0, None)[::-1]
    assert (n, dim) == residues.shape
    np.testing.assert_allclose(stored, values / values.sum(), rtol=1e-6, atol=1e-12)


def test_text_format_helpers_round_as_shown():
    from protiso.report import format_number

    assert format_number(0.001654321) == "0.001654"
    assert format_number(1234567, "count") == "1,234,567"
    assert format_number(2.345, "fixed2") in ("2.35", "2.34")
    assert format_number(None) == "–"
    assert format_number(1.2345678e-5) == "1.235e-5"


def test_pair_histogram_sql_matches_numpy():
    """report_pair_hist.sql bins pairs like numpy.histogram2d and averages each column exactly."""
    import duckdb

    from protiso.warehouse import resources

    rng = np.random.default_rng(7)
    n = 5000
    identity = rng.beta(2, 6, n)
    cosine = 0.8 + 0.15 * identity + rng.normal(0, 0.02, n)
    score = 900 * identity + rng.normal(0, 40, n)
    sq = 40 * (1 - cosine) + rng.normal(0, 0.1, n) ** 2
    con = duckdb.connect()
    con.execute(resources.sql_text("macros", "highest_raw_layer.sql"))  # the query picks the layer through it
    con.execute("CREATE TABLE pair_metrics AS SELECT 'm' AS model, 3 AS layer, 'mean' AS pooling, "
                "'raw' AS embedding_set, 'run-1' AS alignment_run, true AS complete, 'none' AS control, * "
                "FROM (SELECT unnest($c) AS cosine, unnest($e) AS sq_euclidean, unnest($i) AS identity, "
                "unnest($s) AS score)", {"c": cosine.tolist(), "e": sq.tolist(), "i": identity.tolist(),
                                         "s": score.tolist()})
    # left out: incomplete pairs, other embedding sets, lower layers, controls
    con.execute("INSERT INTO pair_metrics SELECT 'm', 3, 'mean', 'raw', 'run-1', false, 'none', 5.0, NULL, 0.5, 1.0")
    con.execute("INSERT INTO pair_metrics SELECT 'm', 3, 'mean', 'whitened', 'run-1', true, 'none', 5.0, 1.0, 0.5, 1.0")
    con.execute("INSERT INTO pair_metrics SELECT 'm', 2, 'mean', 'raw', 'run-1', true, 'none', 5.0, 1.0, 0.5, 1.0")
    con.execute("INSERT INTO pair_metrics SELECT 'm', 3, 'mean', 'raw', 'run-1', true, 'shuffled', 5.0, 1.0, 0.5, 1.0")
    nx, ny = 40, 30

    def run(name, params):
        out = con.execute(resources.sql_text("queries", name), params).fetchall()
        return [dict(zip([d[0] for d in con.description], r)) for r in out]

    (group,) = run("report_pair_groups.sql", {"models": None})
    values = {"identity": identity, "score": score, "cosine": cosine, "sq_euclidean": sq}
    assert (group["layer"], group["pairs"]) == (3, n)
    for name, v in values.items():
        assert (group[f"{name}_min"], group[f"{name}_max"]) == (v.min(), v.max())
    rows = run("report_pair_hist.sql", {
        "model": "m", "layer": 3, "pooling": "mean", "run": "run-1", "nx": nx, "ny": ny,
        **{k: v for k, v in group.items() if k.endswith(("_min", "_max"))}})
    for x in ("identity", "score"):
        for y in ("cosine", "sq_euclidean"):
            xs, ys = values[x], values[y]
            counts, _, _ = np.histogram2d(xs, ys, bins=[nx, ny], range=[[xs.min(), xs.max()], [ys.min(), ys.max()]])
            got = np.zeros((nx, ny))
            for r in rows:
                if r["x"] == x and r["y"] == y and not r["is_line"]:
                    got[r["bx"], r["by_"]] = r["pairs"]
            assert got.sum() == n
            assert np.abs(got - counts).sum() <= 4  # only values on a bin edge may round differently
            column = np.minimum(((xs - xs.min()) / (xs.max() - xs.min()) * nx).astype(int), nx - 1)
            for r in rows:
                if r["x"] == x and r["y"] == y and r["is_line"]:
                    members = ys[column == r["bx"]]
                    assert r["pairs"] == members.size
                    assert math.isclose(r["mean_y"], members.mean(), rel_tol=1e-9)


def test_svg_charts_are_well_formed_and_escape_labels():
    import xml.etree.ElementTree as ET

    from protiso.report.plots import Series, heatmap, histogram2d, line_chart

    label = 'm<1> & "q"'
    charts = [
        line_chart([Series(label, [1, 2, 3], [1e-4, 1e-2, None]), Series("b", [1, 2, 3], [0.5, 0.2, 0.1])],
                   title=label, x_label="x", y_label="y", log_y=True, log_x=True),
        line_chart([Series(label, [0, 1], [1.0, 2.0], lo=[0.5, 1.5], hi=[1.5, 2.5])], title="t", x_label=label,
                   y_label="y", x_categories=["raw", label]),
        line_chart([Series("empty", [], [])], title="t", x_label="x", y_label="y"),
        heatmap([label, "b"], [label, "b"], [[None, 0.5], [-0.7, None]], title=label),
        histogram2d([(0, 0, 5), (3, 2, 100)], 4, 3, (0.0, 1.0), (-1.0, 1.0), title=label, x_label=label,
                    y_label="y", overlay=Series("mean", [0.1, 0.9], [0.0, 2.0], lo=[-0.5, 1.5], hi=[0.5, 2.5])),
    ]
    for svg in charts:
        root = ET.fromstring(str(svg))  # well-formed XML
        assert root.tag == "svg" and root.find("title") is not None
        assert "<1>" not in str(svg) and "http" not in str(svg)
    assert "m&lt;1&gt; &amp; &#34;q&#34;" in str(charts[0])
    assert "no data to plot" in str(charts[2])
    assert "no data to plot" not in str(charts[0])


def test_paper_section_shows_the_printed_matrix_the_sign_question_and_our_recorded_choices(warehouse, report):
    html, summary = report
    assert summary.sections["paper"], summary.missing
    paper = html[html.index('<section id="paper">'):]
    paper = paper[:paper.index("</section>")]
    numbers = parse(paper).numbers
    printed = {(n["data-x"], n["data-y"]): float(n["data-value"]) for n in numbers
               if n["data-metric"] == "published_pearson"}
    assert printed == PAPER_PEARSON
    ours = [n for n in numbers if n["data-metric"] == "pearson"]
    assert {(n["data-x"], n["data-y"]) for n in ours} >= {("cosine", "sq_euclidean"), ("score", "identity")}
    assert "cosine <em>distance</em>" in paper and "sign" in paper.lower()
    with Warehouse.open(warehouse) as wh:
        matrix, mode, n_proteins, n_pairs = wh.con.execute(
            "SELECT matrix, mode, n_proteins, n_pairs FROM alignment_runs ORDER BY created_at DESC LIMIT 1").fetchone()
        proteins = wh.con.execute("SELECT count(*) FROM proteins").fetchone()[0]
    assert f"{matrix} {mode}" in paper and f"{n_proteins} proteins, all {n_pairs} pairs" in paper
    assert f"{proteins} proteins" in paper and "mean" in paper


def test_published_isoscores_are_shown_at_the_papers_precision(report):
    html, _ = report
    shown = {n["data-model"]: n["text"] for n in parse(html).numbers
             if n["data-metric"] == "published_isoscore" and n.get("data-scope") == "global" and n["text"]}
    assert shown["ProtBERT"] == "0.0016583" and shown["ProtBERT-BFD"] == "0.0039686"
    assert shown["ProtXLNet"] == "0.0015023" and shown["ProteinBERT"] == "0.231228"
