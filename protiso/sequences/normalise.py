"""The one sequence normalisation rule, for single strings and for Arrow arrays.

In order: ASCII letters upper-cased; whitespace and digits removed; one trailing ``*`` removed; what is
left must be non-empty and only the 25 IUPAC protein letters (the 20 standard ones plus X, U, B, Z, O),
else the record is rejected naming the first offending character and its position. ``seq_hash`` is the
md5 hex digest of the normalised sequence, equal to DuckDB's ``md5(sequence)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

ALPHABET = "ACDEFGHIKLMNPQRSTVWYXUBZO"
REMOVED = " \t\r\n\f\v0123456789"
STOP = "*"

_ALLOWED = frozenset(ALPHABET)
_TABLE = {ord(c): ord(c.upper()) for c in "abcdefghijklmnopqrstuvwxyz"} | {ord(c): None for c in REMOVED}
_REMOVED_RE = r"[ \t\r\n\f\v0-9]+"
_VALID_RE = r"\A[" + ALPHABET + r"]+\z"


class SequenceError(ValueError):
    """A sequence that the rule rejects; the message is the reason."""


def _reason(seq: str) -> str | None:
    """Why an upper-cased, cleaned, stop-stripped sequence is rejected (None if it is fine)."""
    if not seq:
        return "empty sequence"
    for position, char in enumerate(seq, 1):
        if char not in _ALLOWED:
            shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
            return (f"invalid residue {shown} at position {position} "
                    f"(allowed: {ALPHABET} after upper-casing)")
    return None


def normalise_sequence(raw: str) -> str:
    """The normalised form of ``raw``; raises SequenceError with the reason if it is rejected."""
    seq = raw.translate(_TABLE)
    if seq.endswith(STOP):
        seq = seq[:-1]
    reason = _reason(seq)
    if reason:
        raise SequenceError(reason)
    return seq


def seq_hash(sequence: str) -> str:
    """md5 hex digest of a normalised sequence (equal to DuckDB's ``md5(sequence)``)."""
    return hashlib.md5(sequence.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NormalisedArray:
    """Normalised sequences and, per element, the reason it is rejected (null when accepted)."""

    sequences: pa.Array
    reasons: pa.Array

    @property
    def accepted(self) -> pa.Array:
        return pc.is_null(self.reasons)


def normalise_array(raw: pa.Array) -> NormalisedArray:
    """Apply the rule to a string array with Arrow kernels; Python runs only for rejected elements."""
    seqs = pc.ascii_upper(raw)
    seqs = pc.replace_substring_regex(seqs, _REMOVED_RE, "")
    seqs = pc.replace_substring_regex(seqs, r"\*\z", "")
    valid = pc.fill_null(pc.match_substring_regex(seqs, _VALID_RE), False)
    if pc.all(valid).as_py() is not False:
        return NormalisedArray(seqs, pa.nulls(len(raw), pa.string()))
    invalid = pc.indices_nonzero(pc.invert(valid)).to_pylist()
    reasons: list[str | None] = [None] * len(raw)
    for index in invalid:
        reasons[index] = _reason(seqs[index].as_py() or "")
    return NormalisedArray(seqs, pa.array(reasons, pa.string()))
