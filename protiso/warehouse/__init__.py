"""The warehouse: one DuckDB file plus Parquet parts in a directory, and everything that opens it.

``with Warehouse.open("W") as wh: wh.query("SELECT count(*) FROM proteins")``. Modules: ``core``
(``Warehouse``), ``commit`` (``Commit``, ``Run``), ``migrations``, ``udfs`` (every Python SQL function),
``vectors`` (zero-copy vector reads), ``matrix`` (``Warehouse.vectors`` / ``residues``: Parquet parts read
straight into one float32 matrix), ``output`` (query results out), ``resources`` (packaged ``sql/`` and
``reports/``), ``connection``, ``recovery`` (what a killed writer leaves), ``catalog`` (checks on open,
``repair``), ``statements`` (what a user's SQL changes), ``layout`` (part folders), ``contracts`` (Arrow schemas from
``sql/tables``; vectors as fixed-size lists), ``vector_parts`` (older parts rewritten that way).
"""

from protiso.warehouse.commit import Commit, Run, new_run_id, utcnow, versions
from protiso.warehouse.connection import STORAGE_VERSION
from protiso.warehouse.core import DB_FILE, PARQUET_DIR, Warehouse

__all__ = ["DB_FILE", "PARQUET_DIR", "STORAGE_VERSION", "Commit", "Run", "Warehouse", "new_run_id", "utcnow",
           "versions"]
