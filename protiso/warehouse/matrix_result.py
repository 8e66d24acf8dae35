"""``Vectors``: what ``Warehouse.vectors`` and ``Warehouse.residues`` return, ids plus one float32 matrix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa


@dataclass
class Vectors:
    """Ids and a float32 matrix, one row per id; ``numpy()``, ``pandas()``, ``polars()``, ``torch()``.

    ``ids`` are accessions (``Warehouse.vectors``) or 1-based positions (``Warehouse.residues``,
    whose ``residues`` holds the amino acid of each row); ``key`` says what was selected.
    """

    ids: pa.Array
    matrix: np.ndarray
    key: dict[str, Any] = field(default_factory=dict)
    residues: pa.Array | None = None

    @property
    def id_name(self) -> str:
        return "position" if self.residues is not None else "accession"

    def __len__(self) -> int:
        return self.matrix.shape[0]

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def __array__(self, dtype=None, copy=None):
        return self.matrix if dtype is None else self.matrix.astype(dtype, copy=False)

    def numpy(self) -> np.ndarray:
        """The (N, dim) float32 matrix itself (no copy)."""
        return self.matrix

    def pandas(self):
        """A DataFrame indexed by the ids, one float32 column per dimension (one block, no copy of the values)."""
        import pandas as pd  # lazy: optional for users who never ask for a DataFrame

        return pd.DataFrame(self.matrix, index=pd.Index(self.ids.to_numpy(zero_copy_only=False), name=self.id_name),
                            copy=False)

    def polars(self):
        """A polars DataFrame: the ids and ``embedding`` as a fixed-size ``Array(Float32, dim)`` column."""
        import polars as pl  # lazy: optional, loaded only when asked for

        columns = {self.id_name: pl.from_arrow(self.ids)}
        if self.residues is not None:
            columns["residue"] = pl.from_arrow(self.residues)
        columns["embedding"] = pl.Series("embedding", self.matrix)
        return pl.DataFrame(columns)

    def torch(self):
        """A torch tensor sharing the matrix's memory."""
        import torch  # lazy: torch takes seconds to import; only .torch() needs it

        return torch.from_numpy(self.matrix)
