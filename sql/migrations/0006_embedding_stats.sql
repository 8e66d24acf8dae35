-- Float64 sufficient statistics of the per-protein ("global") vectors of each stored set, so that the
-- pure-SQL macros of sql/macros/isotropy_stats.sql give IsoScore, IsoScore*, effective dims and the
-- mean pairwise cosine of any set from the plain DuckDB shell (`embedding_stats_isotropy()`), as
-- `residue_stats` does for residue vectors. One row per (run, model, layer, pooling, embedding set):
-- rows of one set from different runs merge by addition (`embedding_stats_merged()`).
--
-- Writers, each in the same transaction as the vectors the row describes (Warehouse.commit), so a
-- kill loses nothing and nothing counts twice: the embedding job (its run's cumulative row, replaced
-- at each chunk's commit), `protiso import-vectors` (one row per layer with its all-or-nothing
-- commit), `protiso postprocess` (the derived set's one row, replacing the rows of the set it
-- replaces) and `protiso isotropy`, which replaces a set's rows by one row from its own scan of the
-- set: that is how a warehouse made before this migration gets its statistics (this migration
-- leaves the table empty; `embedding_stats_merged()` marks sets whose rows do not cover every stored
-- vector `complete = false`, and the isotropy macro gives NULL for them).
--
-- rows: embeddings rows covered (NULL vectors included); n: vectors in the sums; sum_x (dim values);
-- sum_xxt (dim*dim, row-major); n_unit: vectors with a direction (non-zero); sum_unit: sum of
-- x / ||x|| (dim values); sum_unit_sq: sum of ||x / ||x|| ||^2 (rounding keeps it a few ulps off n_unit).
CREATE TABLE embedding_stats (
    run_id        VARCHAR NOT NULL,
    model         VARCHAR NOT NULL,
    layer         INTEGER NOT NULL,
    pooling       VARCHAR,
    embedding_set VARCHAR NOT NULL,
    rows          BIGINT NOT NULL,
    n             BIGINT NOT NULL,
    dim           INTEGER NOT NULL,
    sum_x         DOUBLE[] NOT NULL,
    sum_xxt       DOUBLE[] NOT NULL,
    n_unit        BIGINT NOT NULL,
    sum_unit      DOUBLE[] NOT NULL,
    sum_unit_sq   DOUBLE NOT NULL
);
