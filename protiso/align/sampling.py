"""Which proteins and pairs an alignment run covers, and the block plan: deterministic from the seed.

Candidates are the warehouse proteins passing the filters, sorted by accession. Then either

* a protein sample (``fraction`` of the candidates, rounded, or ``proteins`` of them) drawn with
  ``numpy.random.default_rng(seed).choice(n, k, replace=False)``, and all pairs i < j among it, or
* ``pairs`` distinct random pairs of candidates (drawn in rounds of uniform index pairs, first
  occurrences kept).

Proteins are indexed in accession order, so a pair (i, j) with i < j has accession_a < accession_b.
Blocks are consecutive ranges of the pair list, ``block_size`` pairs each. ``where`` must be one
boolean SQL expression (``protiso.warehouse.predicates.check_predicate``), checked before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from protiso.errors import ProtisoError
from protiso.warehouse.predicates import check_predicate


@dataclass(frozen=True)
class SampleSpec:
    fraction: float | None = None
    proteins: int | None = None
    pairs: int | None = None
    seed: int = 0
    min_length: int | None = None
    max_length: int | None = None
    where: str | None = None

    def validate(self) -> None:
        given = [name for name in ("fraction", "proteins", "pairs") if getattr(self, name) is not None]
        if len(given) > 1:
            raise ProtisoError(f"give only one of --fraction, --proteins, --pairs (got {', '.join(given)})")
        if self.fraction is not None and not 0 < self.fraction <= 1:
            raise ProtisoError(f"--fraction must be in (0, 1], not {self.fraction}")
        if self.proteins is not None and self.proteins < 2:
            raise ProtisoError(f"--proteins must be at least 2, not {self.proteins}")
        if self.pairs is not None and self.pairs < 1:
            raise ProtisoError(f"--pairs must be at least 1, not {self.pairs}")
        if self.min_length is not None and self.max_length is not None and self.min_length > self.max_length:
            raise ProtisoError(f"--min-length {self.min_length} is larger than --max-length {self.max_length}")
        check_predicate(self.where)  # exactly one boolean expression, never a second statement

    @property
    def kind(self) -> str:
        return "pairs" if self.pairs is not None else "all_pairs"


def choose_proteins(n_candidates: int, spec: SampleSpec) -> np.ndarray:
    """Sorted candidate indices of the protein sample (all-pairs mode)."""
    if spec.fraction is not None:
        k = int(round(spec.fraction * n_candidates))
    elif spec.proteins is not None:
        k = spec.proteins
    else:
        k = n_candidates
    if k > n_candidates:
        raise ProtisoError(f"asked for {k} proteins but only {n_candidates} match the filters")
    if k < 2:
        raise ProtisoError(f"the sample has {k} protein(s) ({n_candidates} match the filters); "
                           "at least 2 are needed for a pair")
    rng = np.random.default_rng(spec.seed)
    return np.sort(rng.choice(n_candidates, size=k, replace=False))


def choose_pairs(n_candidates: int, n_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n_pairs`` distinct pairs (i < j) of candidate indices, sorted by (i, j)."""
    if n_candidates < 2:
        raise ProtisoError(f"{n_candidates} protein(s) match the filters; at least 2 are needed for a pair")
    possible = n_candidates * (n_candidates - 1) // 2
    if n_pairs > possible:
        raise ProtisoError(f"asked for {n_pairs} pairs but {n_candidates} proteins give only {possible}")
    rng = np.random.default_rng(seed)
    keys = np.zeros(0, dtype=np.int64)
    while keys.size < n_pairs:
        draw = max(1024, int((n_pairs - keys.size) * 1.2))
        i, j = rng.integers(0, n_candidates, size=(2, draw), dtype=np.int64)
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        fresh = (lo * n_candidates + hi)[lo != hi]
        merged = np.concatenate([keys, fresh])
        _, first = np.unique(merged, return_index=True)
        keys = merged[np.sort(first)]
    keys = np.sort(keys[:n_pairs])
    return keys // n_candidates, keys % n_candidates


@dataclass(frozen=True)
class PairPlan:
    """The pair list of a run: all pairs among ``n`` proteins, or explicit arrays."""

    n_proteins: int
    explicit_a: np.ndarray | None = None
    explicit_b: np.ndarray | None = None

    @property
    def n_pairs(self) -> int:
        if self.explicit_a is not None:
            return int(self.explicit_a.size)
        return self.n_proteins * (self.n_proteins - 1) // 2

    def pairs(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Pairs ``start .. stop-1`` of the list (all pairs: lexicographic (i, j), i < j)."""
        if self.explicit_a is not None:
            return self.explicit_a[start:stop], self.explicit_b[start:stop]
        n = self.n_proteins
        rows = np.arange(n, dtype=np.int64)
        row_start = rows * n - rows * (rows + 1) // 2  # index of pair (i, i+1)
        k = np.arange(start, stop, dtype=np.int64)
        i = np.searchsorted(row_start, k, side="right") - 1
        j = k - row_start[i] + i + 1
        return i, j

    def blocks(self, block_size: int) -> list[tuple[int, int]]:
        total = self.n_pairs
        return [(s, min(s + block_size, total)) for s in range(0, total, block_size)]
