"""Matched rows of ``protiso isotropy`` (group_by = 'matched'): each set measured again on the proteins
that every set it is compared with has.

Families of compared sets: ``layers`` (the layer curves), ``models`` (tables across models) and
``controls`` (real beside shuffled and random-init); ``matched_sets`` says how many sets were
intersected, ``n_points`` is the matched N. Details: docs/architecture.md, "Module notes".
"""

from __future__ import annotations

from collections.abc import Callable

from protiso.jobs.isotropy_groups import scan_set
from protiso.warehouse import Warehouse

FAMILIES = ("layers", "models", "controls")


def families(found: list[dict]) -> list[tuple[str, dict, list[dict]]]:
    """(kind, parameters, member sets) of every family with two or more sets among ``found``
    (``isotropy_sets.sql`` rows)."""
    out = []
    by_layers: dict[tuple, list[dict]] = {}
    by_models: dict[tuple, list[dict]] = {}
    by_controls: dict[tuple, list[dict]] = {}
    for item in found:
        control = item.get("control", "none")
        by_layers.setdefault((item["model"], item["embedding_set"], item["pooling"], control), []).append(item)
        by_models.setdefault((item["embedding_set"], control), []).append(item)
        by_controls.setdefault((item["model"], item["layer"], item["embedding_set"], item["pooling"]), []).append(item)
    for (model, embedding_set, pooling, control), members in by_layers.items():
        if len(members) >= 2:
            out.append(("layers", {"model": model, "layer": None, "embedding_set": embedding_set, "pooling": pooling,
                                   "control": control}, members))
    for (embedding_set, control), members in by_models.items():
        if len({m["model"] for m in members}) >= 2:
            out.append(("models", {"model": None, "layer": None, "embedding_set": embedding_set, "pooling": None,
                                   "control": control}, members))
    for (model, layer, embedding_set, pooling), members in by_controls.items():
        if len(members) >= 2:
            out.append(("controls", {"model": model, "layer": layer, "embedding_set": embedding_set,
                                     "pooling": pooling, "control": None}, members))
    return out


def matched_rows(wh: Warehouse, found: list[dict], whole_rows: dict[tuple, dict], models: list[str] | None,
                 measure: Callable, budget: int, keep: bool) -> list[dict]:
    """Rows of every family: ``whole_rows[(model, layer, embedding_set, pooling, control)]`` is each set's row over
    all points; ``measure(key, scan)`` makes a row from a scan of the matched proteins."""
    rows = []
    for kind, params, members in families(found):
        names = [r[0] for r in wh.con.execute(wh.sql_text("isotropy_matched_accessions"),
                                              {**params, "models": models, "sets": len(members)}).fetchall()]
        if len(names) < 2:
            continue
        for item in members:
            control = item.get("control", "none")
            key = {"model": item["model"], "layer": item["layer"], "embedding_set": item["embedding_set"],
                   "control": control, "scope": "global", "group_by": "matched", "group_value": kind}
            whole = whole_rows.get((item["model"], item["layer"], item["embedding_set"], item["pooling"], control))
            if whole is not None and whole["n_points"] == len(names):
                rows.append({**whole, **key, "matched_sets": len(members)})
                continue
            label = f"{item['model']} layer {item['layer']} {item['embedding_set']} matched {kind}"
            where = {**{k: item[k] for k in ("model", "layer", "embedding_set", "pooling")}, "control": control}
            scan = scan_set(wh, wh.sql_text("isotropy_vectors_matched"), {**where, "accessions": names},
                            f"matched vectors of {label}", len(names), budget, keep, f"isotropy {label}")
            try:
                if scan.stats is not None and scan.stats.n >= 2:
                    rows.append({**measure(key, scan), "matched_sets": len(members)})
            finally:
                scan.close()
    return rows

