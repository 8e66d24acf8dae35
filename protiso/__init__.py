"""protiso: a DuckDB warehouse for the geometry of protein language model embeddings."""

from protiso.errors import ProtisoError
from protiso.warehouse import Warehouse

__all__ = ["ProtisoError", "Warehouse"]
__version__ = "0.1.0"
