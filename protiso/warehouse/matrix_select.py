"""What ``Warehouse.vectors`` and ``Warehouse.residues`` select: their arguments turned into a read
``plan`` of ``protiso.warehouse.matrix`` (with one-line errors for unclear or absent choices), read into
a ``Vectors`` result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from protiso.errors import ProtisoError
from protiso.warehouse.matrix import Plan, plan, read
from protiso.warehouse.matrix_result import Vectors
from protiso.warehouse.predicates import check_predicate, read_accessions

if TYPE_CHECKING:
    from protiso.warehouse import Warehouse


def _one(found: Plan, name: str, what: str) -> None:
    """A one-line error when the selection holds several values of ``name`` (model, layer, pooling)."""
    values = {*pc.unique(found.extra[name]).to_pylist()} if found.rows else set()
    if len(values) > 1:
        shown = ", ".join(sorted(map(str, values)))
        raise ProtisoError(f"{what} holds several {name}s ({shown}); pass {name}=")


def _available(wh: Warehouse, table: str) -> str:
    rows = wh.con.execute(f"SELECT DISTINCT model, layer FROM {table} ORDER BY ALL").fetchall()
    return "; the warehouse has " + (", ".join(f"{m} layer {lay}" for m, lay in rows) if rows else
                                     f"no {table} yet")


def _describe(table: str, model: str | None, layer: int | None, rest: str) -> str:
    words = [table] + ([f"of model {model}"] if model is not None else []) + \
        ([f"layer {layer}"] if layer is not None else [])
    return " ".join(words) + (f" ({rest})" if rest else "")


def vectors(wh: Warehouse, model: str | None = None, layer: int | None = None, set: str = "raw",
            control: str = "none", accessions: Sequence[str] | str | None = None, where: str | None = None,
            pooling: str | None = None) -> Vectors:
    """The stored per-protein vectors of one model, layer, embedding set and control (``Warehouse.vectors``)."""
    filters: dict[str, Any] = {"embedding_set": set, "control": control}
    if model is not None:
        filters["model"] = model
    if layer is not None:
        filters["layer"] = int(layer)
    if pooling is not None:
        filters["pooling"] = pooling
    chosen = None
    listed = read_accessions(accessions) if accessions is not None else None
    if listed is not None:
        chosen = pa.array(listed, pa.string())
    predicate = check_predicate(where, "where=")
    if predicate is not None:
        sql = wh.sql_text("vectors_where").replace("/*WHERE*/ TRUE", predicate)
        try:
            matched = wh.con.sql(sql).to_arrow_table().column("accession").combine_chunks()
        except duckdb.Error as error:  # a wrong column or type in the user's predicate
            raise ProtisoError(f"where={predicate!r}: {str(error).splitlines()[0]}") from None
        chosen = matched if chosen is None else pc.filter(matched, pc.is_in(matched, value_set=chosen))
    what = _describe("embeddings", model, layer, f"set {set}, control {control}"
                     + (f", pooling {pooling}" if pooling is not None else ""))
    found = plan(wh, "embeddings", "embedding", filters, what, chosen, extra=("model", "layer", "pooling"))
    for name in ("model", "layer", "pooling"):
        _one(found, name, what)
    if found.rows == 0 and chosen is None:
        raise ProtisoError(f"no {what}{_available(wh, 'embeddings')}")
    matrix = read(found) if found.rows else np.empty((0, 0), dtype=np.float32)
    key = {"model": model, "layer": layer, "embedding_set": set, "control": control, "pooling": pooling}
    for name in ("model", "layer", "pooling"):
        if found.rows:
            key[name] = found.extra[name][0].as_py()
    return Vectors(found.ids, matrix, key)


def residues(wh: Warehouse, accession: str, model: str | None = None, layer: int | None = None) -> Vectors:
    """The stored residue vectors of one protein, by position (``Warehouse.residues``)."""
    filters: dict[str, Any] = {"accession": accession}
    if model is not None:
        filters["model"] = model
    if layer is not None:
        filters["layer"] = int(layer)
    what = _describe(f"residues of {accession}", model, layer, "")
    found = plan(wh, "residues", "vector", filters, what, extra=("model", "layer", "position", "residue"))
    for name in ("model", "layer"):
        _one(found, name, what)
    if found.rows == 0:
        raise ProtisoError(f"no stored {what} (ingest with --residues){_available(wh, 'residues')}")
    matrix = read(found)
    positions = found.extra["position"]
    order = np.argsort(positions.to_numpy(zero_copy_only=False), kind="stable")
    if (np.diff(order) != 1).any():
        matrix = matrix[order]
        positions, letters = positions.take(pa.array(order)), found.extra["residue"].take(pa.array(order))
    else:
        letters = found.extra["residue"]
    return Vectors(positions, matrix, {"accession": accession, "model": found.extra["model"][0].as_py(),
                                       "layer": found.extra["layer"][0].as_py()}, letters)
