"""Which proteins and pairs an alignment run covers, and the block plan: deterministic from the seed.

A protein sample and all its pairs, ``pairs`` random pairs, or a homolog-enriched stratified pair sample
whose weights (inverse inclusion probabilities) make weighted sums estimate sums over all pairs.
Proteins are indexed in accession order; blocks are consecutive ranges of the pair list.
docs/architecture.md (module notes) has the designs step by step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from protiso.errors import ProtisoError
from protiso.warehouse.predicates import check_predicate

DESIGNS = ("random", "homolog-enriched")
DEFAULT_PAIR_COUNT = 20_000
HOMOLOG, NON_HOMOLOG = "homolog", "non-homolog"


@dataclass(frozen=True)
class SampleSpec:
    """A sample of proteins and pairs (``AlignOptions.sample_spec()`` builds it; defaults are the options')."""

    fraction: float | None
    proteins: int | None
    pairs: int | None
    seed: int
    min_length: int | None
    max_length: int | None
    where: str | None
    design: str
    homolog_share: float
    pair_count: int | None
    homolog_source: str
    homolog_evalue: float
    model: str | None
    all_proteins: bool

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
        if self.design not in DESIGNS:
            raise ProtisoError(f"--pairs must be a number of random pairs or one of {', '.join(DESIGNS)}, "
                               f"not {self.design!r}")
        if self.design == "homolog-enriched":
            if self.pairs is not None:
                raise ProtisoError("--pairs homolog-enriched takes its number of pairs from --pair-count")
            if not 0 <= self.homolog_share <= 1:
                raise ProtisoError(f"--homolog-share must be in [0, 1], not {self.homolog_share}")
            if self.pair_count is not None and self.pair_count < 1:
                raise ProtisoError(f"--pair-count must be at least 1, not {self.pair_count}")
            if not self.homolog_evalue > 0:
                raise ProtisoError(f"--homolog-evalue must be positive, not {self.homolog_evalue}")
        elif self.pair_count is not None:
            raise ProtisoError("--pair-count applies to --pairs homolog-enriched only")
        if self.model is not None and self.all_proteins:
            raise ProtisoError("give --model (sample proteins it embedded) or --all-proteins, not both")

    @property
    def kind(self) -> str:
        if self.design == "homolog-enriched":
            return "homolog_enriched"
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
    keys = np.sort(_draw_excluding(n_candidates, n_pairs, np.zeros(0, dtype=np.int64), rng, overdraw=1.2))
    return keys // n_candidates, keys % n_candidates


def _draw_excluding(n: int, count: int, excluded: np.ndarray, rng: np.random.Generator,
                    overdraw: float = 1.3) -> np.ndarray:
    """``count`` distinct keys ``i * n + j`` (i < j < n) drawn uniformly among those not in sorted ``excluded``,
    in draw order (rounds of ``overdraw`` times the keys still missing, first occurrences kept)."""
    keys = np.zeros(0, dtype=np.int64)
    while keys.size < count:
        draw = max(1024, int((count - keys.size) * overdraw))
        i, j = rng.integers(0, n, size=(2, draw), dtype=np.int64)
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        fresh = (lo * n + hi)[lo != hi]
        if excluded.size:
            fresh = fresh[~np.isin(fresh, excluded)]
        merged = np.concatenate([keys, fresh])
        _, first = np.unique(merged, return_index=True)
        keys = merged[np.sort(first)]
    return keys[:count]


@dataclass(frozen=True)
class Stratified:
    """A homolog-enriched pair sample: keys ``i * n + j`` sorted, each pair's stratum and weight."""

    keys: np.ndarray
    stratum: np.ndarray          # object: HOMOLOG | NON_HOMOLOG
    weight: np.ndarray           # float64, inverse inclusion probability N_h / n_h
    population: dict[str, int]   # N_h per stratum
    sampled: dict[str, int]      # n_h per stratum


def stratified_pairs(n: int, homolog_keys: np.ndarray, pair_count: int, share: float, seed: int) -> Stratified:
    """``pair_count`` pairs of ``n`` proteins (at most all of them): ``round(share * pair_count)`` drawn from
    the sorted ``homolog_keys`` (all of them when fewer), the rest from the other pairs, uniformly and
    without replacement within each stratum (``numpy.random.default_rng(seed)``)."""
    total = n * (n - 1) // 2
    if total < 1:
        raise ProtisoError(f"{n} protein(s) are selected; at least 2 are needed for a pair")
    pair_count = min(pair_count, total)
    rng = np.random.default_rng(seed)
    big_h = int(homolog_keys.size)
    big_n = total - big_h
    n_h = min(big_h, int(round(share * pair_count)))
    n_n = min(big_n, pair_count - n_h)
    if n_n < pair_count - n_h:  # not enough non-homolog pairs: take more homologs
        n_h = min(big_h, pair_count - n_n)
    homologs = np.sort(rng.choice(homolog_keys, size=n_h, replace=False)) if n_h else np.zeros(0, np.int64)
    others = _draw_excluding(n, n_n, homolog_keys, rng)
    keys = np.concatenate([homologs, others]).astype(np.int64)
    stratum = np.array([HOMOLOG] * n_h + [NON_HOMOLOG] * n_n, dtype=object)
    weight = np.concatenate([np.full(n_h, big_h / n_h if n_h else 0.0), np.full(n_n, big_n / n_n if n_n else 0.0)])
    order = np.argsort(keys, kind="stable")
    return Stratified(keys[order], stratum[order], weight[order], {HOMOLOG: big_h, NON_HOMOLOG: big_n},
                      {HOMOLOG: n_h, NON_HOMOLOG: n_n})


@dataclass(frozen=True)
class PairPlan:
    """The pair list of a run: all pairs among ``n`` proteins, or explicit arrays (with strata and weights
    in a homolog-enriched sample)."""

    n_proteins: int
    explicit_a: np.ndarray | None = None
    explicit_b: np.ndarray | None = None
    stratum: np.ndarray | None = None
    weight: np.ndarray | None = None
    evidence: np.ndarray | None = None

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
