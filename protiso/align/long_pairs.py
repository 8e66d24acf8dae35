"""Pairs too long to trace: the memory rule of an alignment run, and exact statistics in linear memory.

``max_cells`` (``protiso align --max-cells``, recorded in each run): a pair within it is aligned with a
traceback; a longer one gets its exact score and the counts of one optimal alignment from parasail's
linear-memory statistics functions (global: behind a sentinel residue; local: end cell, then start cell
from the reversed prefixes); one that would still exceed ``6 * max_cells`` bytes, or whose scoring only
Biopython computes exactly, is skipped into ``rejects``. Skipped pairs come back with score NaN.
docs/architecture.md (module notes) has the rule step by step.
"""

from __future__ import annotations

import math

import numpy as np

from protiso.align.pairstats import PairStats, SequenceSet
from protiso.align.scoring import Scoring
from protiso.errors import ProtisoError

DEFAULT_MAX_CELLS = 50_000_000
TRACE_BYTES_PER_CELL = 6
LINEAR_BYTES_SHORTER = 256
LINEAR_BYTES_LONGER = 16
_SENTINELS = "#@$%&!~^"


def check_max_cells(max_cells: int) -> int:
    if isinstance(max_cells, bool) or not isinstance(max_cells, (int, np.integer)) or max_cells < 1:
        raise ProtisoError(f"--max-cells must be a positive number of DP cells, not {max_cells!r}")
    return int(max_cells)


def linear_bytes(la: int, lb: int) -> int:
    return LINEAR_BYTES_SHORTER * min(la, lb) + LINEAR_BYTES_LONGER * max(la, lb)


def skip_reason(la: int, lb: int, max_cells: int, exact: bool) -> str:
    """Why rule 3 skips a pair of these lengths (the text of its ``rejects`` row)."""
    what = f"{la:,} x {lb:,} residues = {la * lb:,} DP cells, over --max-cells {max_cells:,}"
    if not exact:
        return f"{what}, and this scoring needs Biopython's traceback (quadratic memory); pair skipped"
    return (f"{what}; even linear memory needs ~{linear_bytes(la, lb) / 1e6:,.0f} MB, over the budget of "
            f"{TRACE_BYTES_PER_CELL * max_cells / 1e6:,.0f} MB; pair skipped")


class LongPairs:
    """Rules 2 and 3 for the pairs of ``seqs`` over ``max_cells``."""

    def __init__(self, scoring: Scoring, seqs: SequenceSet, max_cells: int):
        self.scoring, self.seqs, self.max_cells = scoring, seqs, max_cells
        self.budget = TRACE_BYTES_PER_CELL * max_cells
        self.exact = scoring.parasail_exact
        self.local = scoring.mode == "local"
        values = scoring.values
        diagonal = np.diag(values)
        self._self_safe = (values <= (diagonal[:, None] + diagonal[None, :]) / 2)
        self._diagonal = diagonal
        if self.exact:
            # lazy: parasail's native SIMD library loads only for runs that align
            import parasail

            self.parasail = parasail
            self.open, self.extend = int(-scoring.open_score), int(-scoring.extend_score)
            self.bonus = 1 + 4 * (self.open + self.extend + int(np.abs(values).max()))
            self.sentinel = next(c for c in _SENTINELS if c not in scoring.alphabet)
            self.matrices = {swap: self._matrix(values.T if swap else values) for swap in (False, True)}
        self._bio = None

    def _matrix(self, values: np.ndarray):
        """parasail matrix of ``values`` plus the sentinel (+bonus with itself, -bonus with the rest)."""
        alphabet = self.scoring.alphabet + self.sentinel
        n = len(alphabet)
        ints = np.full((n, n), -self.bonus, dtype=np.int64)
        ints[:-1, :-1] = values.astype(np.int64)
        ints[-1, -1] = self.bonus
        matrix = self.parasail.matrix_create(alphabet, int(ints.max()), int(ints.min()))
        for i in range(n):
            for j in range(n):
                matrix.set_value(i, j, int(ints[i, j]))
        return matrix

    def align_pairs(self, a: np.ndarray, b: np.ndarray) -> PairStats:
        out = PairStats.empty(len(a))
        for k, (i, j) in enumerate(zip(a.tolist(), b.tolist())):
            row = self._self(i) if i == j else self._pair(i, j)
            if row is None:
                out.score[k] = math.nan
                out.skipped += int(i != j)
                continue
            out.score[k], out.identities[k], out.positives[k], out.length[k], out.gaps[k] = row
            out.linear += int(i != j)
        out.cells = int((self.seqs.lengths[a] * self.seqs.lengths[b]).sum())
        return out

    # -- a protein with itself: only the score ---------------------------------------------------

    def _self(self, i: int) -> tuple | None:
        seqs = self.seqs
        codes = seqs.codes[seqs.offsets[i]: seqs.offsets[i] + seqs.lengths[i]]
        present = np.unique(codes)
        if (self._diagonal[present] >= 0).all() and self._self_safe[np.ix_(present, present)].all():
            score = float(self._diagonal[codes].sum())
            return score, 0, 0, 0, 0  # counts are never read for self-pairs
        length = int(seqs.lengths[i])
        if linear_bytes(length, length) > self.budget:
            return None
        text = seqs.texts[i]
        if not self.exact:
            if self._bio is None:
                self._bio = self.scoring.biopython_aligner()
            return float(self._bio.score(text, text)), 0, 0, 0, 0
        kind = "sw" if self.local else "nw"
        result = self._call(f"{kind}_scan", text, text, self.matrices[False])
        return float(result.score), 0, 0, 0, 0

    # -- two different proteins -------------------------------------------------------------------

    def _call(self, name: str, q: str, r: str, matrix):
        result = getattr(self.parasail, f"{name}_32")(q, r, self.open, self.extend, matrix)
        if result.saturated:
            result = getattr(self.parasail, f"{name}_64")(q, r, self.open, self.extend, matrix)
        return result

    def _global_counts(self, q: str, r: str, matrix) -> tuple[float, int, int, int, int]:
        """(score, identities, positives, length, gaps) of an optimal global alignment of q and r."""
        z = self.sentinel
        result = self._call("nw_stats_scan", z + q, z + r, matrix)
        length = int(result.length) - 1
        return (float(result.score - self.bonus), int(result.matches) - 1, int(result.similar) - 1, length,
                2 * length - len(q) - len(r))

    def _pair(self, i: int, j: int) -> tuple | None:
        la, lb = int(self.seqs.lengths[i]), int(self.seqs.lengths[j])
        if not self.exact or linear_bytes(la, lb) > self.budget:
            return None
        swap = lb < la  # the shorter sequence is parasail's query (its profile is the big allocation)
        q, r = (self.seqs.texts[j], self.seqs.texts[i]) if swap else (self.seqs.texts[i], self.seqs.texts[j])
        matrix = self.matrices[swap]
        if not self.local:
            return self._global_counts(q, r, matrix)
        forward = self._call("sw_scan", q, r, matrix)
        if forward.score <= 0:
            return float(forward.score), 0, 0, 0, 0  # no positive local alignment: empty, as when traced
        end_q, end_r = int(forward.end_query), int(forward.end_ref)
        z = self.sentinel
        back = self._call("sw_scan", z + q[end_q::-1], z + r[end_r::-1], matrix)
        begin_q, begin_r = end_q - (int(back.end_query) - 1), end_r - (int(back.end_ref) - 1)
        counts = self._global_counts(q[begin_q:end_q + 1], r[begin_r:end_r + 1], matrix)
        if back.score - self.bonus != forward.score or counts[0] != forward.score:  # pragma: no cover - see above
            raise AssertionError(f"linear local alignment of pair ({i}, {j}) did not reproduce its score")
        return counts
