"""Aligners: parasail (SIMD, exact for integer scoring) and Biopython (any scoring), one interface.

Both align index pairs of a fixed list of encoded sequences and return the same per-pair statistics
(score, identities, positives, length, gaps) of one optimal alignment. parasail's tracebacks are
re-scored in float64 from their CIGAR (``protiso.align.paths``); one that fails is re-aligned with
Biopython and counted in ``fallbacks``. Scores never differ between the two; counts can, between
co-optimal alignments (their tie-breaking rules are in docs/architecture.md, module notes). Pairs over
``max_cells`` go to ``protiso.align.long_pairs``.
"""

from __future__ import annotations

import numpy as np

from protiso.align.long_pairs import DEFAULT_MAX_CELLS, LongPairs
from protiso.align.pairstats import PairStats, SequenceSet
from protiso.align.paths import path_stats
from protiso.align.scoring import Scoring
from protiso.errors import ProtisoError


class _Aligner:
    """What both aligners share: pairs over ``max_cells`` go to ``LongPairs``, the rest to ``_traced``."""

    def __init__(self, scoring: Scoring, seqs: SequenceSet, max_cells: int = DEFAULT_MAX_CELLS):
        self.scoring = scoring
        self.seqs = seqs
        self.max_cells = max_cells
        self._long: LongPairs | None = None

    def _traced(self, a: np.ndarray, b: np.ndarray) -> PairStats:
        raise NotImplementedError

    def align_pairs(self, a: np.ndarray, b: np.ndarray) -> PairStats:
        cells = self.seqs.lengths[a] * self.seqs.lengths[b]
        long = cells > self.max_cells
        if not long.any():
            return self._traced(a, b)
        if self._long is None:
            self._long = LongPairs(self.scoring, self.seqs, self.max_cells)
        out = PairStats.empty(len(a))
        for part, rows in ((self._long.align_pairs(a[long], b[long]), long),
                           (self._traced(a[~long], b[~long]) if (~long).any() else None, ~long)):
            if part is None:
                continue
            for name in ("score", "identities", "positives", "length", "gaps"):
                getattr(out, name)[rows] = getattr(part, name)
            out.fallbacks += part.fallbacks
            out.linear += part.linear
            out.skipped += part.skipped
        out.cells = int(cells.sum())
        return out


class BiopythonAligner(_Aligner):
    name = "biopython"

    def __init__(self, scoring: Scoring, seqs: SequenceSet, max_cells: int = DEFAULT_MAX_CELLS):
        super().__init__(scoring, seqs, max_cells)
        self.aligner = scoring.biopython_aligner()

    def _traced(self, a: np.ndarray, b: np.ndarray) -> PairStats:
        out = PairStats.empty(len(a))
        texts, matrix = self.seqs.texts, self.scoring.substitution
        for k, (i, j) in enumerate(zip(a.tolist(), b.tolist())):
            alignments = self.aligner.align(texts[i], texts[j])
            out.score[k] = alignments.score
            try:
                alignment = alignments[0]
            except (IndexError, StopIteration):  # local mode without any positive column
                continue
            counts = alignment.counts(matrix)
            out.identities[k] = counts.identities
            out.positives[k] = counts.positives
            out.gaps[k] = counts.gaps
            out.length[k] = alignment.length
        out.cells = int((self.seqs.lengths[a] * self.seqs.lengths[b]).sum())
        return out


class ParasailAligner(_Aligner):
    name = "parasail"

    def __init__(self, scoring: Scoring, seqs: SequenceSet, max_cells: int = DEFAULT_MAX_CELLS):
        # lazy: parasail's native SIMD library loads only for runs that align
        import parasail

        if not scoring.parasail_exact:
            raise ValueError("parasail cannot score this exactly; use the Biopython aligner")
        super().__init__(scoring, seqs, max_cells)
        # Local mode aligns (b, a): parasail then picks, among equally scoring end cells, the one first in
        # a (then in b), which is the end Biopython's first local alignment has. The parasail matrix and the
        # re-scoring use the transposed matrix so that entry [x, y] still scores a's x against b's y.
        self.swap = scoring.mode == "local"
        self.values = scoring.values.T if self.swap else scoring.values
        self.matrix = scoring.parasail_matrix(transpose=self.swap)
        self.open = int(-scoring.open_score)
        self.extend = int(-scoring.extend_score)
        kind = "nw" if scoring.mode == "global" else "sw"
        self._f16_profile = getattr(parasail, f"{kind}_trace_scan_profile_16")
        self._f16 = getattr(parasail, f"{kind}_trace_scan_16")
        self._f32 = getattr(parasail, f"{kind}_trace_scan_32")
        self._profile = parasail.profile_create_16
        self._fallback: BiopythonAligner | None = None

    def path(self, i: int, j: int, profiles: dict | None = None) -> tuple[float, np.ndarray | None, int, int]:
        """(score, CIGAR, query begin, reference begin) of pair (i, j); the query is ``j`` when ``swap``."""
        texts = self.seqs.texts
        q, r = (j, i) if self.swap else (i, j)
        if self.swap:
            result = self._f16(texts[q], texts[r], self.open, self.extend, self.matrix)
        else:
            profiles = {} if profiles is None else profiles
            profile = profiles.get(q)
            if profile is None:
                profiles.clear()
                profile = profiles[q] = self._profile(texts[q], self.matrix)
            result = self._f16_profile(profile, texts[r], self.open, self.extend)
        if result.saturated:
            result = self._f32(texts[q], texts[r], self.open, self.extend, self.matrix)
        score = float(result.score)
        if self.scoring.mode == "local" and score <= 0:
            return score, np.zeros(0, np.uint32), 0, 0
        cigar = result.cigar
        if not cigar.pointer:
            return score, None, 0, 0
        return score, cigar.seq.copy(), cigar.beg_query, cigar.beg_ref

    def _traced(self, a: np.ndarray, b: np.ndarray) -> PairStats:
        n = len(a)
        scores = np.zeros(n)
        cigars: list[np.ndarray] = []
        beg_q = np.zeros(n, dtype=np.int64)
        beg_r = np.zeros(n, dtype=np.int64)
        broken = np.zeros(n, dtype=bool)
        profiles: dict = {}
        for k, (i, j) in enumerate(zip(a.tolist(), b.tolist())):
            scores[k], cigar, beg_q[k], beg_r[k] = self.path(i, j, profiles)
            if cigar is None:
                broken[k] = True
                cigar = np.zeros(0, np.uint32)
            cigars.append(cigar)
        seqs = self.seqs
        q, r = (b, a) if self.swap else (a, b)
        stats = path_stats(cigars, beg_q, beg_r, seqs.offsets[q], seqs.lengths[q], seqs.offsets[r],
                           seqs.lengths[r], seqs.codes, self.values, self.scoring.open_score,
                           self.scoring.extend_score, local=self.scoring.mode == "local")
        out = PairStats(scores, stats.identities, stats.positives, stats.length, stats.gaps)
        redo = np.flatnonzero(broken | ~stats.valid | (stats.score != scores))
        if redo.size:
            if self._fallback is None:
                self._fallback = BiopythonAligner(self.scoring, self.seqs, self.max_cells)
            again = self._fallback.align_pairs(a[redo], b[redo])
            for name in ("score", "identities", "positives", "length", "gaps"):
                getattr(out, name)[redo] = getattr(again, name)
            out.fallbacks = int(redo.size)
        out.cells = int((seqs.lengths[a] * seqs.lengths[b]).sum())
        return out


def make_aligner(name: str, scoring: Scoring, seqs: SequenceSet,
                 max_cells: int = DEFAULT_MAX_CELLS) -> BiopythonAligner | ParasailAligner:
    kind = ParasailAligner if name == "parasail" else BiopythonAligner
    return kind(scoring, seqs, max_cells)


def choose_aligner(requested: str, scoring: Scoring) -> tuple[str, str | None]:
    """(aligner, warning or None) for ``requested`` in auto | parasail | biopython."""
    if requested not in ("auto", "parasail", "biopython"):
        raise ProtisoError(f"aligner must be auto, parasail or biopython, not {requested!r}")
    if requested == "biopython":
        return "biopython", None
    if scoring.parasail_exact:
        return "parasail", None
    why = ("is not all integers" if not scoring.integral else
           "extends gaps at a higher cost than it opens them (parasail would re-open gaps)")
    message = (f"matrix {scoring.matrix} with gap scores {scoring.open_score}/{scoring.extend_score} {why}, "
               f"which parasail cannot score exactly: using the (much slower) Biopython aligner")
    if requested == "parasail":
        raise ProtisoError(message.split(":")[0])
    return "biopython", message
