"""The headline's controls box: each model's real figures beside its shuffled-sequence and random-weights
controls (``protiso embed --control``), and sentences generated from those numbers.

Per model, at the layer of its headline row: whole-set global IsoScore, effective dims and mean cosine
(``report_controls_isotropy.sql``, N = proteins) and r(cosine, identity), r(cosine, score) over the newest
alignment run's pairs (``report_controls_correlations.sql``, N = pairs) for control none | shuffled |
random-init; the model's training data (``published.training_domain``); and, where a control is missing,
the commands that make it. Reads, never computes, except the ratios the sentences quote (control / real),
which carry their own ``data-metric`` keys.
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


@dataclass
class ControlRow:
    control: str
    label: str
    isotropy: dict[str, Any] | None
    correlations: dict[str, dict[str, Any]]   # metric_y -> correlations row
    commands: list[str] = field(default_factory=list)  # what makes what is missing


@dataclass
class ControlModel:
    model: str
    layer: int
    domain: str | None
    rows: list[ControlRow]
    sentences: list[list[tuple]]  # each a list of ("text", str) and ("num", value, metric, keys, style, suffix)


def _commands(model: str, layer: int, control: str, stored: bool, has_iso: bool, has_corr: bool,
              real_corr: bool) -> list[str]:
    out = []
    if not stored:
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
    keys = {"model": model, "layer": layer, "control": control, "y": y, "run": ctrl["alignment_run"]}
    what = "shuffled sequences" if control == "shuffled" else "random weights (same architecture)"
    if control == "shuffled":
        meaning = ("the correlation is carried by length and composition, not by residue order" if share >= 80 else
                   "length and composition carry part of it, residue order the rest" if share >= 30 else
                   "it depends on residue order")
    else:
        meaning = ("an untrained network gives it: it is not learned" if share >= 80 else
                   "the architecture alone gives part of it, training the rest" if share >= 30 else
                   "it is learned")
    return [("text", f"{what.capitalize()} reproduce "),
            ("num", share, "control_share", keys, "fixed0", " %"),
            ("text", f" of r(cosine, {y}): "),
            ("num", r1, "control_pearson", {**keys, "x": "cosine"}, "fixed3", ""),
            ("text", " against "),
            ("num", r0, "control_pearson", {"model": model, "layer": layer, "control": "none", "y": y,
                                            "x": "cosine", "run": real["alignment_run"]}, "fixed3", ""),
            ("text", " (N = "),
            ("num", ctrl["n"], "control_n", {**keys, "x": "cosine"}, "count", ""),
            ("text", f" pairs): {meaning}.")]


def _dims_sentence(model: str, layer: int, control: str, real: dict, ctrl: dict) -> list[tuple] | None:
    d0, d1 = real["effective_dims"], ctrl["effective_dims"]
    if d0 is None or d1 is None or d0 <= 0:
        return None
    ratio = d1 / d0
    if control == "random-init":
        meaning = ("training concentrates the embeddings into far fewer directions" if ratio >= 1.5 else
                   "so the low effective dimension is mostly the architecture's, not learned" if ratio <= 1.25 else
                   "training narrows the space only somewhat")
        what = "Random weights use "
    else:
        meaning = ("residue order hardly changes how many directions are used" if 0.8 <= ratio <= 1.25 else
                   "residue order changes how many directions are used")
        what = "Shuffled sequences use "
    keys = {"model": model, "layer": layer, "set": "raw", "scope": "global"}
    return [("text", what),
            ("num", d1, "control_effective_dims", {**keys, "control": control}, "fixed1", ""),
            ("text", " effective dimensions against the real "),
            ("num", d0, "control_effective_dims", {**keys, "control": "none"}, "fixed1", ""),
            ("text", " (of "),
            ("num", real["dim"], "control_dim", {**keys, "control": "none"}, "count", ""),
            ("text", f"): {meaning}.")]


def control_models(source: Source, headline_layers: dict[str, int]) -> list[ControlModel]:
    """One ControlModel per model of ``headline_layers`` (model -> the layer its headline row shows)."""
    if not headline_layers:
        return []
    iso = rows(source.wh, "report_controls_isotropy", models=source.models)
    stored = {(r["model"], r["layer"], r["control"]) for r in rows(source.wh, "report_controls_stored",
                                                                     models=source.models)}
    corr = rows(source.wh, "report_controls_correlations", models=source.models) \
        if has_relation(source.wh, "correlations") else []
    out = []
    for model, layer in sorted(headline_layers.items()):
        by_control = {r["control"]: r for r in iso if r["model"] == model and r["layer"] == layer}
        corr_by = {}
        for r in corr:
            if r["model"] == model and r["layer"] == layer:
                corr_by.setdefault(r["control"], {})[r["metric_y"]] = r
        real_corr = "none" in corr_by
        control_rows = []
        for control in CONTROLS:
            has_iso, has_corr = control in by_control, control in corr_by
            commands = [] if control == "none" else _commands(model, layer, control, (model, layer, control) in stored,
                                                              has_iso, has_corr, real_corr)
            control_rows.append(ControlRow(control, LABELS[control], by_control.get(control), corr_by.get(control, {}),
                                           commands))
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
        out.append(ControlModel(model, layer, published.training_domain(model), control_rows, sentences))
    return out
