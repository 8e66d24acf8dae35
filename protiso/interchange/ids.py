"""Which protein an id in someone else's file names: by accession, or by the sequence's MD5.

``names_for(label)`` lists the ids one label may stand for, most specific first (the label's first word;
the accession of a UniProt ``sp|P12345|NAME`` header; ``P12345`` of ``UniRef50_P12345`` or ``P12345.2``).
``IdResolver`` matches a chunk's names in one query: a name equal to an accession names that protein, one
equal to a ``seq_hash`` every protein with that sequence; a record takes the matches of its first name
that matches. The proteins sit in a DuckDB temporary table without sequences, so memory stays small.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from protiso.warehouse import Warehouse

_VERSION = re.compile(r"^(.+?)[._]\d+$")
_UNIREF = re.compile(r"^UniRef\d+_(.+)$")
_TEMPS = ("import_proteins", "import_existing", "import_sequences")


def names_for(label: str) -> list[str]:
    """The ids ``label`` may stand for, most specific first (see the module docstring)."""
    words = label.strip().split()
    if not words:
        return []
    token = words[0]
    out = [token]
    fields = [f for f in token.split("|") if f]
    if len(fields) >= 2:
        if fields[0].lower() in ("sp", "tr"):
            out.append(fields[1])
        out.extend(fields)
    for name in list(out):
        uniref = _UNIREF.match(name)
        if uniref:
            out.append(uniref.group(1))
    for name in list(out):
        versioned = _VERSION.match(name)
        if versioned:
            out.append(versioned.group(1))
    return list(dict.fromkeys(out))


class Match(NamedTuple):
    """A protein a record names, and how: ``by`` is ``accession`` or ``md5``."""

    accession: str
    seq_hash: str
    length: int
    by: str
    stored_layers: list[int] | tuple  # layers of the model that already hold a raw vector for it


class IdResolver:
    """Matches records' names to the warehouse's proteins (see the module docstring)."""

    def __init__(self, wh: Warehouse, model: str, control: str = "none") -> None:
        self.wh = wh
        con = wh.con
        con.execute(wh.sql_text("import_proteins"))
        con.execute(wh.sql_text("import_existing"), {"model": model, "control": control})
        self.proteins = con.execute(wh.sql_text("import_protein_count")).fetchall()[0][0]
        self._sequences = False

    def close(self) -> None:
        for name in _TEMPS:
            self.wh.con.execute(f"DROP TABLE IF EXISTS temp.{name}")

    def resolve(self, names: list[list[str]]) -> list[list[Match]]:
        """For each record's names, the proteins it names (empty: none)."""
        rec = [index for index, record_names in enumerate(names) for _ in record_names]
        prio = [order for record_names in names for order in range(len(record_names))]
        flat = [name for record_names in names for name in record_names]
        out: list[list[Match]] = [[] for _ in names]
        if not flat:
            return out
        rows = self.wh.con.execute(self.wh.sql_text("import_match"),
                                   {"rec": rec, "prio": prio, "name": flat}).fetchall()
        for index, accession, seq_hash, length, by, layers in rows:
            out[index].append(Match(accession, seq_hash, length, by, layers or ()))
        return out

    def sequences(self, accessions: list[str]) -> dict[str, str]:
        """The stored sequence of each accession (for residue letters)."""
        con = self.wh.con
        if not self._sequences:
            con.execute(self.wh.sql_text("import_sequences"))
            self._sequences = True
        rows = con.execute(self.wh.sql_text("import_wanted_sequences"), {"accessions": accessions}).fetchall()
        return dict(rows)
