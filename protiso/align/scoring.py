"""Scoring for pairwise protein alignment: a Biopython substitution matrix, a mode and gap scores.

Conventions (Biopython's, recorded with every run so nothing depends on library defaults):

* ``open_score`` is the score of the *first* position of a gap and ``extend_score`` the score of
  every further position, so a gap of length k scores ``open + (k - 1) * extend``. Both are <= 0.
  parasail takes positive penalties with the same meaning (``open`` = penalty of the first gap
  position), so parasail's (open, extend) = (-open_score, -extend_score).
* Global mode scores end gaps exactly like internal gaps (Biopython's default when
  ``open_gap_score`` / ``extend_gap_score`` are set; parasail's ``nw``).
* Residues are upper-cased; a letter outside the matrix alphabet becomes ``X`` when the matrix has
  ``X`` (Swiss-Prot's rare ``U`` selenocysteine and ``O`` pyrrolysine), otherwise it is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from protiso.errors import ProtisoError

MODES = ("global", "local")
UNKNOWN_RESIDUE = "X"


@dataclass(frozen=True)
class Scoring:
    """A fully specified alignment scoring scheme."""

    matrix: str
    mode: str
    open_score: float
    extend_score: float

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ProtisoError(f"alignment mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        for name, value in (("open", self.open_score), ("extend", self.extend_score)):
            if not np.isfinite(value):
                raise ProtisoError(f"gap {name} score must be a finite number, not {value}")
            if value > 0:
                raise ProtisoError(
                    f"gap {name} score must be <= 0 (a score, Biopython convention), not {value}; "
                    f"did you mean {-value}?"
                )
        self.substitution  # validates the matrix name

    # -- the matrix ---------------------------------------------------------------------------

    @cached_property
    def substitution(self) -> Any:
        """The Biopython ``substitution_matrices.Array``."""
        # lazy: Biopython (0.15 s to load) only where a scoring is used
        from Bio.Align import substitution_matrices

        names = substitution_matrices.load()
        name = next((n for n in names if n.upper() == self.matrix.upper()), None)
        if name is None:
            raise ProtisoError(f"unknown substitution matrix {self.matrix!r}; Biopython has: {', '.join(names)}")
        array = substitution_matrices.load(name)
        if len(array.shape) != 2:
            raise ProtisoError(f"substitution matrix {name} is not a 2-D matrix")
        return array

    @property
    def alphabet(self) -> str:
        return "".join(self.substitution.alphabet)

    @cached_property
    def values(self) -> np.ndarray:
        """The matrix as a float64 array indexed by residue codes (positions in ``alphabet``)."""
        return np.asarray(self.substitution, dtype=np.float64)

    @property
    def integral(self) -> bool:
        """True when every matrix entry and gap score is an integer that fits parasail's int scores."""
        numbers = np.concatenate([self.values.ravel(), [self.open_score, self.extend_score]])
        return bool(np.all(numbers == np.round(numbers)) and np.all(np.abs(numbers) < 2**15))

    @property
    def parasail_exact(self) -> bool:
        """parasail scores exactly like Biopython: integer scores, and extending a gap costs no more than
        opening one (parasail's Gotoh recursion may re-open a gap, which Biopython's never does)."""
        return self.integral and self.extend_score >= self.open_score

    # -- sequences ----------------------------------------------------------------------------

    @cached_property
    def _lookup(self) -> np.ndarray:
        """Byte -> residue code; -1 for bytes outside the alphabet."""
        table = np.full(256, -1, dtype=np.int16)
        for code, letter in enumerate(self.alphabet):
            table[ord(letter)] = code
        return table

    def encode(self, sequence: str, accession: str = "?") -> tuple[str, np.ndarray, int]:
        """(normalised sequence, residue codes, number of residues mapped to X)."""
        text = sequence.upper()
        try:
            raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        except UnicodeEncodeError:
            raise ProtisoError(f"protein {accession}: sequence has non-ASCII characters") from None
        if raw.size == 0:
            raise ProtisoError(f"protein {accession}: empty sequence")
        codes = self._lookup[raw]
        unknown = codes < 0
        n_unknown = int(unknown.sum())
        if n_unknown:
            if UNKNOWN_RESIDUE not in self.alphabet:
                bad = sorted({chr(b) for b in raw[unknown]})
                raise ProtisoError(
                    f"protein {accession}: residues {''.join(bad)} are not in matrix {self.matrix}'s alphabet "
                    f"{self.alphabet} (which has no {UNKNOWN_RESIDUE} to map them to)"
                )
            codes = codes.copy()
            codes[unknown] = self.alphabet.index(UNKNOWN_RESIDUE)
            text = "".join(self.alphabet[c] for c in codes)
        return text, codes.astype(np.uint8), n_unknown

    # -- engines ------------------------------------------------------------------------------

    def biopython_aligner(self) -> Any:
        """A ``PairwiseAligner`` with every gap score set explicitly."""
        # lazy: Biopython (0.15 s to load) only where a scoring is used
        from Bio.Align import PairwiseAligner

        return PairwiseAligner(
            mode=self.mode,
            substitution_matrix=self.substitution,
            open_gap_score=self.open_score,
            extend_gap_score=self.extend_score,
        )

    def parasail_matrix(self, transpose: bool = False) -> Any:
        """A parasail matrix with exactly the Biopython matrix's integer entries (transposed if asked)."""
        # lazy: parasail's native SIMD library loads only for runs that align
        import parasail

        if not self.integral:
            raise ProtisoError(f"matrix {self.matrix} with gaps {self.open_score}/{self.extend_score} is not integral")
        values = (self.values.T if transpose else self.values).astype(np.int64)
        matrix = parasail.matrix_create(self.alphabet, int(values.max()), int(values.min()))
        for i in range(len(self.alphabet)):
            for j in range(len(self.alphabet)):
                matrix.set_value(i, j, int(values[i, j]))
        return matrix

    def params(self) -> dict[str, Any]:
        return {
            "matrix": self.substitution_name,
            "mode": self.mode,
            "open_score": float(self.open_score),
            "extend_score": float(self.extend_score),
            "end_gaps": "scored like internal gaps" if self.mode == "global" else "not applicable (local)",
            "gap_model": "gap of length k scores open + (k-1)*extend",
            "alphabet": self.alphabet,
            "unknown_residue_rule": f"upper-case; letters outside the alphabet -> {UNKNOWN_RESIDUE}",
        }

    @property
    def substitution_name(self) -> str:
        # lazy: Biopython (0.15 s to load) only where a scoring is used
        from Bio.Align import substitution_matrices

        return next(n for n in substitution_matrices.load() if n.upper() == self.matrix.upper())
