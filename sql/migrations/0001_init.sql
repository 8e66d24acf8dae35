-- Native (DuckDB-stored) tables: small, transactional bookkeeping and materialised results.
-- Large data (proteins, annotations, embeddings, residues, alignments) live in Parquet parts
-- described by sql/tables/*.sql and listed in `parts`.

CREATE TABLE runs (
    run_id      VARCHAR PRIMARY KEY,
    kind        VARCHAR NOT NULL,          -- ingest | embed | isotropy | align | postprocess | report
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status      VARCHAR NOT NULL,          -- running | done | failed
    model       VARCHAR,
    revision    VARCHAR,
    layer       VARCHAR,
    pooling     VARCHAR,
    params      JSON,                      -- every option, as given and as defaulted
    versions    JSON                       -- protiso, python, duckdb, torch, ... versions
);

CREATE TABLE parts (
    part_id      VARCHAR PRIMARY KEY,
    table_name   VARCHAR NOT NULL,
    path         VARCHAR NOT NULL,         -- relative to the warehouse directory
    rows         BIGINT NOT NULL,
    run_id       VARCHAR,
    committed_at TIMESTAMP NOT NULL
);

CREATE TABLE rejects (
    run_id    VARCHAR NOT NULL,
    source    VARCHAR NOT NULL,            -- file name
    record    VARCHAR,                     -- line number or record number in the source
    accession VARCHAR,
    reason    VARCHAR NOT NULL
);

-- Float64 sufficient statistics of every residue vector an embedding run saw, per model and layer:
-- n, sum x (dim), sum x x^T (dim*dim, row-major). Rows merge by addition.
CREATE TABLE residue_stats (
    run_id  VARCHAR NOT NULL,
    model   VARCHAR NOT NULL,
    layer   INTEGER NOT NULL,
    n       BIGINT NOT NULL,
    dim     INTEGER NOT NULL,
    sum_x   DOUBLE[] NOT NULL,
    sum_xxt DOUBLE[] NOT NULL,
    PRIMARY KEY (run_id, model, layer)
);

CREATE TABLE alignment_runs (
    run_id      VARCHAR PRIMARY KEY,
    matrix      VARCHAR NOT NULL,
    mode        VARCHAR NOT NULL,          -- global | local
    open_score  DOUBLE NOT NULL,           -- score of opening a gap (negative)
    extend_score DOUBLE NOT NULL,          -- score of extending a gap (negative)
    engine      VARCHAR NOT NULL,          -- parasail | biopython
    n_proteins  BIGINT,
    n_pairs     BIGINT,
    seed        BIGINT,
    params      JSON,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE isotropy (
    run_id          VARCHAR NOT NULL,
    model           VARCHAR NOT NULL,
    layer           INTEGER NOT NULL,
    embedding_set   VARCHAR NOT NULL,      -- raw | centered | whitened | abtt-k ...
    scope           VARCHAR NOT NULL,      -- global | local
    group_by        VARCHAR NOT NULL,      -- all | organism | go_term | length_bin ...
    group_value     VARCHAR NOT NULL,
    n_points        BIGINT NOT NULL,
    dim             INTEGER NOT NULL,
    isoscore        DOUBLE,
    isoscore_star   DOUBLE,
    zeta            DOUBLE,
    effective_dims  DOUBLE,
    effective_dims_rounded INTEGER,
    mean_cosine     DOUBLE,
    isoscore_ci_low DOUBLE,
    isoscore_ci_high DOUBLE,
    bootstrap       INTEGER,
    computed_at     TIMESTAMP NOT NULL
);
