"""The warehouse: one DuckDB file plus zstd Parquet parts in a directory, and everything that opens it.

    from protiso.warehouse import Warehouse
    with Warehouse.open("W") as wh:
        wh.query("SELECT count(*) FROM proteins")

Modules: ``core`` (``Warehouse``: open, migrate, views, query, ``commit``, ``run``), ``commit``
(``Commit`` and ``Run``: what a writer makes visible together), ``migrations`` (numbered
``sql/migrations``), ``udfs`` (every Python SQL function, registered on each connection),
``vectors`` (zero-copy reads of vector columns), ``output`` (query results as table, CSV, JSON or
Parquet) and ``resources`` (the packaged ``sql/`` and ``reports/`` files).
"""

from protiso.warehouse.commit import Commit, Run, new_run_id, utcnow, versions
from protiso.warehouse.core import DB_FILE, PARQUET_DIR, STORAGE_VERSION, Warehouse

__all__ = ["DB_FILE", "PARQUET_DIR", "STORAGE_VERSION", "Commit", "Run", "Warehouse", "new_run_id", "utcnow",
           "versions"]
