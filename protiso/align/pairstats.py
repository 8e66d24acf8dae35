"""What aligners read and return: encoded sequences and per-pair statistics of one optimal alignment."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PairStats:
    score: np.ndarray
    identities: np.ndarray
    positives: np.ndarray
    length: np.ndarray
    gaps: np.ndarray
    fallbacks: int = 0
    cells: int = 0
    linear: int = 0       # pairs over max_cells aligned in linear memory (long_pairs rule 2)
    skipped: int = 0      # pairs skipped (rule 3): score NaN, no row

    @classmethod
    def empty(cls, n: int) -> "PairStats":
        return cls(np.zeros(n), *(np.zeros(n, dtype=np.int64) for _ in range(4)))


@dataclass
class SequenceSet:
    """Encoded sequences: texts (normalised) and codes end to end with offsets."""

    texts: list[str]
    codes: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.lengths = np.array([len(t) for t in self.texts], dtype=np.int64)

    @classmethod
    def from_codes(cls, texts: list[str], codes: list[np.ndarray]) -> "SequenceSet":
        offsets = np.concatenate([[0], np.cumsum([len(c) for c in codes])[:-1]]).astype(np.int64)
        flat = np.concatenate(codes) if codes else np.zeros(0, np.uint8)
        return cls(texts, flat, offsets)
