"""Matched local layer curves: rows of ``isotropy`` with scope 'local', group_by 'matched' and group_value
'layers', as the global ones (``protiso.jobs.isotropy_matched``).

Each layer of a model with stored residue vectors at two or more layers is measured again on the stored
residues of the proteins that have stored residues at every one of those layers
(``isotropy_residue_matched_accessions.sql``), so that the curve compares the same proteins; n_points
counts their residues, n_proteins the proteins, matched_sets the layers. The rows over every residue
(group_by 'all', from the merged residue statistics) stay, and the report draws them as the labelled
unmatched extra.
"""

from __future__ import annotations

from collections.abc import Callable

from protiso.jobs.isotropy_groups import Scan, scan_set
from protiso.warehouse import Warehouse


def local_matched_rows(wh: Warehouse, models: list[str] | None, measure: Callable[[dict, Scan], dict], budget: int,
                       keep: bool) -> list[dict]:
    """Matched local rows of every model with stored residues at two or more layers; ``measure(key, scan)``
    makes a row from a scan of the matched residues."""
    by_model: dict[str, list[dict]] = {}
    for item in wh.query(wh.sql_text("isotropy_residue_layers"), {"models": models}).to_pylist():
        by_model.setdefault(item["model"], []).append(item)
    rows = []
    for model, layers in by_model.items():
        if len(layers) < 2:
            continue
        names = [r[0] for r in wh.con.execute(wh.sql_text("isotropy_residue_matched_accessions"),
                                              {"model": model, "layers": len(layers)}).fetchall()]
        if len(names) < 2:
            continue
        for item in layers:
            key = {"model": model, "layer": item["layer"], "embedding_set": "raw", "control": "none",
                   "scope": "local", "group_by": "matched", "group_value": "layers"}
            label = f"{model} layer {item['layer']} residues matched layers"
            scan = scan_set(wh, wh.sql_text("isotropy_residues_matched"),
                            {"model": model, "layer": item["layer"], "accessions": names},
                            f"matched residues of {label}", item["n"], budget, keep, f"isotropy {label}")
            try:
                if scan.stats is not None and scan.stats.n >= 2:
                    rows.append({**measure(key, scan), "matched_sets": len(layers), "n_proteins": len(names)})
            finally:
                scan.close()
    return rows
