"""Alignment statistics from CIGAR paths, vectorised over many pairs at once.

From a batch of parasail CIGARs (runs ``len << 4 | op``: ``=`` / ``X`` aligned, ``I`` a query residue
against a gap, ``D`` a reference residue against a gap) this module recomputes, independently of the
aligner and in float64 / int64, each pair's score (a traceback that does not re-score to the optimum is
rejected), identities, positives, gap columns and alignment length (end gaps included in global mode).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OP_INS, OP_DEL, OP_EQ, OP_DIFF = 1, 2, 7, 8
_KNOWN = (OP_INS, OP_DEL, OP_EQ, OP_DIFF)


@dataclass
class PathStats:
    score: np.ndarray        # float64, substitution + gap score of the path
    identities: np.ndarray   # int64
    positives: np.ndarray    # int64
    length: np.ndarray       # int64, alignment columns
    gaps: np.ndarray         # int64, gap columns
    valid: np.ndarray        # bool, path well formed (known ops, inside both sequences)


def _exclusive_cumsum_within(values: np.ndarray, group_start: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Per element: sum of ``values`` of earlier elements of the same group (groups are contiguous)."""
    total = np.cumsum(values) - values
    return total - total[group_start][owner]


def path_stats(cigars: list[np.ndarray], beg_q: np.ndarray, beg_r: np.ndarray,
               q_offset: np.ndarray, q_len: np.ndarray, r_offset: np.ndarray, r_len: np.ndarray,
               codes: np.ndarray, values: np.ndarray, open_score: float, extend_score: float,
               local: bool) -> PathStats:
    """Statistics of ``len(cigars)`` paths.

    ``codes`` holds every sequence's residue codes end to end; pair p's query starts at
    ``codes[q_offset[p]]`` (length ``q_len[p]``) and its reference at ``codes[r_offset[p]]``.
    ``local``: leading gap runs are dropped first (parasail 1.3.4's local CIGARs can start with a
    spurious gap run when the alignment reaches the first residue of one sequence).
    """
    n_pairs = len(cigars)
    counts = np.array([len(c) for c in cigars], dtype=np.int64)
    runs = np.concatenate(cigars).astype(np.int64) if n_pairs else np.zeros(0, np.int64)
    owner = np.repeat(np.arange(n_pairs), counts)
    ops = runs & 0xF
    lens = runs >> 4
    beg_q = np.asarray(beg_q, dtype=np.int64).copy()
    beg_r = np.asarray(beg_r, dtype=np.int64).copy()
    valid = np.ones(n_pairs, dtype=bool)
    valid[np.unique(owner[~np.isin(ops, _KNOWN)])] = False

    if local and runs.size:
        aligned = (ops == OP_EQ) | (ops == OP_DIFF)
        start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        seen = _exclusive_cumsum_within(aligned.astype(np.int64), start, owner) + aligned
        leading = seen == 0
        np.add.at(beg_q, owner[leading & (ops == OP_INS)], lens[leading & (ops == OP_INS)])
        np.add.at(beg_r, owner[leading & (ops == OP_DEL)], lens[leading & (ops == OP_DEL)])
        keep = ~leading
        ops, lens, owner = ops[keep], lens[keep], owner[keep]
        counts = np.bincount(owner, minlength=n_pairs)

    start = np.concatenate([[0], np.cumsum(counts)[:-1]]) if n_pairs else np.zeros(0, np.int64)
    is_eq = (ops == OP_EQ) | (ops == OP_DIFF)
    is_ins = ops == OP_INS
    is_del = ops == OP_DEL
    q_adv = np.where(is_eq | is_ins, lens, 0)
    r_adv = np.where(is_eq | is_del, lens, 0)
    q_start = beg_q[owner] + _exclusive_cumsum_within(q_adv, start, owner)
    r_start = beg_r[owner] + _exclusive_cumsum_within(r_adv, start, owner)
    q_used = np.bincount(owner, weights=q_adv, minlength=n_pairs).astype(np.int64)
    r_used = np.bincount(owner, weights=r_adv, minlength=n_pairs).astype(np.int64)
    valid &= (beg_q >= 0) & (beg_r >= 0) & (beg_q + q_used <= q_len) & (beg_r + r_used <= r_len)

    # Expand aligned runs into columns.
    a_len = lens[is_eq]
    a_owner = owner[is_eq]
    total = int(a_len.sum())
    col_owner = np.repeat(a_owner, a_len)
    within = np.arange(total) - np.repeat(np.cumsum(a_len) - a_len, a_len)
    q_pos = np.repeat(q_start[is_eq], a_len) + within
    r_pos = np.repeat(r_start[is_eq], a_len) + within
    # Clip only to keep indexing safe on invalid paths (already flagged).
    q_idx = np.clip(q_offset[col_owner] + q_pos, 0, max(codes.size - 1, 0))
    r_idx = np.clip(r_offset[col_owner] + r_pos, 0, max(codes.size - 1, 0))
    q_codes = codes[q_idx]
    r_codes = codes[r_idx]
    sub = values[q_codes, r_codes]

    identities = np.bincount(col_owner, weights=(q_codes == r_codes), minlength=n_pairs)
    positives = np.bincount(col_owner, weights=(sub > 0), minlength=n_pairs)
    substitution = np.bincount(col_owner, weights=sub, minlength=n_pairs)
    is_gap = is_ins | is_del
    gap_cols = np.bincount(owner[is_gap], weights=lens[is_gap], minlength=n_pairs)
    gap_runs = np.bincount(owner[is_gap], minlength=n_pairs)
    gap_score = gap_runs * open_score + (gap_cols - gap_runs) * extend_score
    aligned_cols = np.bincount(a_owner, weights=a_len, minlength=n_pairs)
    return PathStats(
        score=substitution + gap_score,
        identities=identities.astype(np.int64),
        positives=positives.astype(np.int64),
        length=(aligned_cols + gap_cols).astype(np.int64),
        gaps=gap_cols.astype(np.int64),
        valid=valid,
    )
