"""The headline's controls box: each model's real figures beside its shuffled-sequence and random-weights
controls (``protiso embed --control``), and sentences generated from those numbers.

Reads, never computes, except the ratios the sentences quote (control / real), which carry their own
``data-metric`` keys. docs/architecture.md (module notes) lists the figures and their queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protiso.embedding.controls import CONTROLS
from protiso.report import published
from protiso.report.common import Source, has_relation, rows

LABELS = {"none": "real (trained, real sequences)", "shuffled": "shuffled sequences",
          "random-init": "random weights"}
METRICS_Y = ("identity", "score")
MIN_R = 0.05  # below this |r| of the real set there is no effect to explain, so no share is quoted


STRATA = {("homolog", "unweighted"): "likely homologs", ("non-homolog", "unweighted"): "others",
          ("all", "weighted"): "all, weighted", ("all", "unweighted"): "all pairs"}
ADJUSTMENTS = ("length + composition (linear)", "flexible length + composition")


@dataclass
class StratumRow:
    stratum: str
    weighting: str
    label: str
    correlations: dict[str, dict[str, Any]]   # metric_y -> correlations row
    partials: dict[str, dict[str, Any]]       # adjustment -> partial_correlations row (cosine ~ identity)


@dataclass
class ControlRow:
    control: str
    label: str
    isotropy: dict[str, Any] | None
    correlations: dict[str, dict[str, Any]]   # metric_y -> the headline estimate's correlations row
    commands: list[str] = field(default_factory=list)  # what makes what is missing
    strata: list[StratumRow] = field(default_factory=list)


@dataclass
class ControlModel:
    model: str
    layer: int
    domain: str | None
    rows: list[ControlRow]
    sentences: list[list[tuple]]  # each a list of ("text", str) and ("num", value, metric, keys, style, suffix)
    enriched: bool = False        # the alignment run is homolog-enriched (rows per stratum)
    matched: bool = False         # the isotropy figures are the matched 'controls' rows
    mode: str | None = None       # the alignment run's mode (global | local)


def corr_keys(model: str, layer: int, control: str, row: dict[str, Any]) -> dict[str, Any]:
    """The data-* keys of a correlations row's numbers (tests/test_report.py's ``expected_control``)."""
    return {"model": model, "layer": layer, "control": control, "y": row["metric_y"], "x": "cosine",
            "run": row["alignment_run"], "stratum": row["stratum"], "weighting": row["weighting"]}


def partial_keys(model: str, layer: int, control: str, row: dict[str, Any]) -> dict[str, Any]:
    return {**corr_keys(model, layer, control, row), "adjustment": row["adjustment"]}


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool | None:
    if None in (a.get("pearson_low"), a.get("pearson_high"), b.get("pearson_low"), b.get("pearson_high")):
        return None
    return a["pearson_low"] <= b["pearson_high"] and b["pearson_low"] <= a["pearson_high"]


def _interval(value: dict[str, Any], metric: str, keys: dict[str, Any]) -> list[tuple]:
    if value.get("pearson_low") is None or value.get("pearson_high") is None:
        return []
    return [("text", " [95 % "), ("num", value["pearson_low"], f"{metric}_low", keys, "fixed3", ""),
            ("text", ", "), ("num", value["pearson_high"], f"{metric}_high", keys, "fixed3", ""), ("text", "]")]


def _commands(model: str, layer: int, control: str, stored: bool, has_iso: bool, has_corr: bool,
              real_corr: bool, imported: bool = False) -> list[str]:
    """What makes a missing control's figures; for a model whose real vectors were imported (protiso may not
    have it), the shuffled sequences to embed elsewhere and the import of what that makes."""
    out = []
    if not stored and imported:
        if control == "shuffled":
            out.append(f"protiso shuffle -w W --model {model} --seed 0 -o shuffled.fasta")
        made = "VECTORS_OF_SHUFFLED_FASTA" if control == "shuffled" else "VECTORS_FROM_RANDOM_WEIGHTS"
        out.append(f"protiso import-vectors {made} -w W --model {model} --layer {layer} --control {control}"
                   + (" --seed 0" if control == "shuffled" else ""))
    elif not stored:
        out.append(f"protiso embed -w W --model {model} --layers {layer} --control {control} --seed 0")
    if not has_iso:
        out.append(f"protiso isotropy -w W --control {control} --scope global")
    if real_corr and not has_corr:
        out.append("protiso pair-metrics -w W")
    return out


def _share_sentence(model: str, layer: int, control: str, y: str, real: dict, ctrl: dict) -> list[tuple] | None:
    r0, r1 = real["pearson"], ctrl["pearson"]
    if r0 is None or r1 is None or abs(r0) < MIN_R:
        return None
    share = 100.0 * r1 / r0
    keys = corr_keys(model, layer, control, ctrl)
    real_keys = corr_keys(model, layer, "none", real)
    what = "shuffled sequences" if control == "shuffled" else "random weights (same architecture)"
    overlap = _overlap(real, ctrl)
    low, high = real.get("pearson_low"), real.get("pearson_high")
    adds = "residue order" if control == "shuffled" else "training"
    if low is not None and high is not None and low <= 0 <= high:
        meaning = "the real correlation's 95 % interval includes 0, so there is no effect here for a control to explain"
    elif share >= 80:
        meaning = ("length and composition alone give it, so it is no evidence that the model reads residue order"
                   if control == "shuffled" else
                   "an untrained network of the same architecture gives it, so it is no evidence of learning")
    elif overlap:
        meaning = f"the two 95 % intervals overlap, so what {adds} adds cannot be told apart from nothing"
    elif control == "shuffled":
        meaning = ("length and composition give part of it; the rest needs residue order" if share >= 30 else
                   "most of it needs residue order")
    else:
        meaning = ("the architecture alone gives part of it; the rest comes with training" if share >= 30 else
                   "most of it comes with training")
    weighted = "the population-weighted " if ctrl["weighting"] == "weighted" else ""
    return [("text", f"{what.capitalize()} reproduce "),
            ("num", share, "control_share", keys, "fixed0", " %"),
            ("text", f" of {weighted}r(cosine, {y}): "),
            ("num", r1, "control_pearson", keys, "fixed3", ""),
            *_interval(ctrl, "control_pearson", keys),
            ("text", " against "),
            ("num", r0, "control_pearson", real_keys, "fixed3", ""),
            *_interval(real, "control_pearson", real_keys),
            ("text", " (N = "),
            ("num", ctrl["n"], "control_n", keys, "count", ""),
            ("text", f" pairs): {meaning}.")]


def _stratum_sentence(model: str, layer: int, y: str, by_control: dict[str, dict[str, Any]]) -> list[tuple] | None:
    """Within likely homologs: the real r(cosine, y) beside each control's, and what the intervals allow."""
    real = by_control.get("none")
    if real is None or real["pearson"] is None:
        return None
    real_keys = corr_keys(model, layer, "none", real)
    parts: list[tuple] = [
        ("text", "Within likely homologs (N = "), ("num", real["n"], "control_n", real_keys, "count", ""),
        ("text", f" pairs) r(cosine, {y}) is "), ("num", real["pearson"], "control_pearson", real_keys, "fixed3", ""),
        *_interval(real, "control_pearson", real_keys), ("text", " for the real set")]
    above = []
    for control in ("shuffled", "random-init"):
        ctrl = by_control.get(control)
        if ctrl is None or ctrl["pearson"] is None:
            continue
        keys = corr_keys(model, layer, control, ctrl)
        parts += [("text", f", {LABELS[control]} "), ("num", ctrl["pearson"], "control_pearson", keys, "fixed3", ""),
                  *_interval(ctrl, "control_pearson", keys)]
        overlap = _overlap(real, ctrl)
        verdict = None if overlap is None else "within" if overlap else \
            "above" if real["pearson"] > ctrl["pearson"] else "below"
        above.append((control, verdict))
    if not above:
        return None
    what = {"shuffled": "length and composition", "random-init": "an untrained network"}
    verdicts = {v for _, v in above}
    if verdicts == {"above"}:
        end = (": among homologs the real embedding tracks sequence similarity beyond what "
               + " or ".join(what[c] for c, _ in above) + " give (95 % intervals apart).")
    elif None in verdicts:
        end = "."
    else:
        said = {"above": "the real set exceeds the {} control beyond the 95 % intervals",
                "within": "the {} control reaches the real figure within the 95 % intervals",
                "below": "the {} control exceeds the real figure beyond the 95 % intervals"}
        end = ": " + "; ".join(said[v].format(LABELS[c]) for c, v in above)
        end += ", so this is no evidence of learned sequence similarity." if "above" not in verdicts else "."
    return parts + [("text", end)]


def _partial_sentence(model: str, layer: int, real: dict[str, Any]) -> list[tuple] | None:
    """The real set's flexible partial r(cosine, identity) with its interval, and whether it excludes 0."""
    if real.get("pearson") is None:
        return None
    keys = partial_keys(model, layer, "none", real)
    weighted = "population-weighted " if real["weighting"] == "weighted" else ""
    parts = [("text", f"Controlling for a flexible function of both lengths and for composition, the real set's "
                      f"{weighted}partial r(cosine, identity) is "),
             ("num", real["pearson"], "control_partial", keys, "fixed3", ""),
             *_interval(real, "control_partial", keys)]
    low, high = real.get("pearson_low"), real.get("pearson_high")
    if low is None or high is None:
        return parts + [("text", ".")]
    if low <= 0 <= high:
        end = ": its interval includes 0, so this sample shows nothing beyond what length and composition give."
    elif abs(real["pearson"]) < 0.1:
        end = ": what length and composition leave is small."
    else:
        end = ": part of the correlation is not length or composition."
    return parts + [("text", end)]


def _dims_sentence(model: str, layer: int, control: str, real: dict, ctrl: dict) -> list[tuple] | None:
    d0, d1 = real["effective_dims"], ctrl["effective_dims"]
    if d0 is None or d1 is None or d0 <= 0:
        return None
    ratio = d1 / d0
    if control == "random-init":
        meaning = ("training concentrates the embeddings into far fewer directions" if ratio >= 1.5 else
                   "training spreads the embeddings over more directions" if ratio < 0.8 else
                   "so the low effective dimension is mostly the architecture's, not learned" if ratio <= 1.25 else
                   "training narrows the space only somewhat")
        what = "Random weights use "
    else:
        meaning = ("residue order hardly changes how many directions are used" if 0.8 <= ratio <= 1.25 else
                   "residue order changes how many directions are used")
        what = "Shuffled sequences use "
    keys = {"model": model, "layer": layer, "set": "raw", "scope": "global"}
    return [("text", what),
            ("num", d1, "control_effective_dims", {**keys, "control": control, "basis": ctrl["basis"]}, "fixed1", ""),
            ("text", " effective dimensions against the real "),
            ("num", d0, "control_effective_dims", {**keys, "control": "none", "basis": real["basis"]}, "fixed1", ""),
            ("text", " (of "),
            ("num", real["dim"], "control_dim", {**keys, "control": "none", "basis": real["basis"]}, "count", ""),
            ("text", f"): {meaning}.")]


def control_models(source: Source, headline_layers: dict[str, int]) -> list[ControlModel]:
    """One ControlModel per model of ``headline_layers`` (model -> the layer its headline row shows)."""
    if not headline_layers:
        return []
    iso = rows(source.wh, "report_controls_isotropy", models=source.models)
    stored_rows = rows(source.wh, "report_controls_stored", models=source.models)
    stored = {(r["model"], r["layer"], r["control"]) for r in stored_rows}
    imported = {(r["model"], r["layer"]) for r in stored_rows if r["control"] == "none" and r["imported"]}
    corr = rows(source.wh, "report_controls_correlations", models=source.models) \
        if has_relation(source.wh, "correlations") else []
    partials = rows(source.wh, "report_controls_partials", models=source.models) \
        if has_relation(source.wh, "partial_correlations") else []
    out = []
    for model, layer in sorted(headline_layers.items()):
        by_control = {r["control"]: r for r in iso if r["model"] == model and r["layer"] == layer}
        mine = [r for r in corr if r["model"] == model and r["layer"] == layer]
        enriched = any(r["weighting"] == "weighted" or r["stratum"] != "all" for r in mine)
        headline = ("all", "weighted") if enriched else ("all", "unweighted")
        strata: dict[str, dict[tuple[str, str], dict[str, dict]]] = {}
        for r in mine:
            r["keys"] = corr_keys(model, layer, r["control"], r)
            strata.setdefault(r["control"], {}).setdefault((r["stratum"], r["weighting"]), {})[r["metric_y"]] = r
        runs = {r["alignment_run"] for r in mine}
        part_by: dict[tuple, dict[str, dict]] = {}
        for r in partials:
            if r["model"] == model and r["layer"] == layer and r["alignment_run"] in runs:
                r["keys"] = partial_keys(model, layer, r["control"], r)
                part_by.setdefault((r["control"], r["stratum"], r["weighting"]), {})[r["adjustment"]] = r
        corr_by = {control: cells[headline] for control, cells in strata.items() if headline in cells}
        real_corr = "none" in corr_by
        control_rows = []
        order = [("homolog", "unweighted"), ("non-homolog", "unweighted"), headline] if enriched else [headline]
        for control in CONTROLS:
            has_iso, has_corr = control in by_control, control in corr_by
            commands = [] if control == "none" else _commands(model, layer, control, (model, layer, control) in stored,
                                                              has_iso, has_corr, real_corr, (model, layer) in imported)
            cells = strata.get(control, {})
            stratum_rows = [StratumRow(st, w, STRATA[(st, w)], cells[(st, w)], part_by.get((control, st, w), {}))
                            for st, w in order if (st, w) in cells]
            control_rows.append(ControlRow(control, LABELS[control], by_control.get(control), corr_by.get(control, {}),
                                           commands, stratum_rows))
        sentences = []
        for control in CONTROLS[1:]:
            for y in METRICS_Y:
                if y in corr_by.get("none", {}) and y in corr_by.get(control, {}):
                    sentence = _share_sentence(model, layer, control, y, corr_by["none"][y], corr_by[control][y])
                    if sentence:
                        sentences.append(sentence)
            if "none" in by_control and control in by_control:
                sentence = _dims_sentence(model, layer, control, by_control["none"], by_control[control])
                if sentence:
                    sentences.append(sentence)
        if enriched:
            for y in METRICS_Y:
                homolog = {c: cells[("homolog", "unweighted")][y] for c, cells in strata.items()
                           if y in cells.get(("homolog", "unweighted"), {})}
                sentence = _stratum_sentence(model, layer, y, homolog)
                if sentence:
                    sentences.append(sentence)
        flexible = part_by.get(("none", *headline), {}).get(ADJUSTMENTS[1])
        if flexible:
            sentence = _partial_sentence(model, layer, flexible)
            if sentence:
                sentences.append(sentence)
        mode = next((r["mode"] for r in mine), None)
        matched = any(r.get("basis") == "matched" for r in by_control.values())
        out.append(ControlModel(model, layer, published.training_domain(model), control_rows, sentences, enriched,
                                matched, mode))
    return out
