-- Local isotropy under both of its definitions (protiso.metrics.local_cosine), written by
-- `protiso isotropy` for each model and layer with residue data. One row per (run, model, layer,
-- definition); readers take the newest per model, layer and definition (report_local_isotropy.sql).
--
-- definition = 'pooled': every residue of every protein in one cloud. isoscore / effective_dims come
--   from the merged residue statistics (residue_stats: every residue embedded), as the isotropy
--   table's local row; the *_sd and quartile columns are NULL (one cloud, one value).
-- definition = 'per_protein': each protein's own residue cloud (embeddings.local_isoscore, every
--   protein of the raw set), summarised over proteins: mean, sample sd and quartiles (quantile_cont)
--   of IsoScore and of effective dims = IsoScore * (dim - 1) + 1. The study's "about 14 effective
--   dimensions per amino acid" is this definition.
-- mean_cosine: exact mean pairwise cosine over ordered pairs i != j (pooled: over all stored residues;
--   per_protein: the mean over proteins of each protein's own residue mean cosine, mean_cosine_sd its sd),
--   from the stored residue vectors (all, or the sample `--residues` kept): cosine_proteins and
--   cosine_points say how many proteins and residue vectors it covers.
CREATE TABLE local_isotropy (
    run_id             VARCHAR NOT NULL,
    model              VARCHAR NOT NULL,
    layer              INTEGER NOT NULL,
    definition         VARCHAR NOT NULL,      -- pooled | per_protein
    n_proteins         BIGINT,                -- proteins behind isoscore (pooled: NULL, residue_stats keep no count)
    n_points           BIGINT,                -- residue vectors behind isoscore
    dim                INTEGER NOT NULL,
    isoscore           DOUBLE,
    isoscore_sd        DOUBLE,
    isoscore_q1        DOUBLE,
    isoscore_median    DOUBLE,
    isoscore_q3        DOUBLE,
    effective_dims     DOUBLE,
    effective_dims_sd  DOUBLE,
    effective_dims_q1  DOUBLE,
    effective_dims_median DOUBLE,
    effective_dims_q3  DOUBLE,
    mean_cosine        DOUBLE,
    mean_cosine_sd     DOUBLE,
    cosine_proteins    BIGINT,
    cosine_points      BIGINT,
    computed_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, model, layer, definition)
);

-- Group rows controlled for size (`protiso isotropy --by`, protiso.metrics.size_null): n_proteins is
-- the group's count of proteins (local rows: n_points counts residues); null_* describe the IsoScore
-- of null_draws random groups of the same number of proteins drawn (seeded) from the same set:
-- mean, sample sd and the central 95 % interval; size_z = (isoscore - null_mean) / null_sd, the
-- size-corrected statistic groups are ranked by.
ALTER TABLE isotropy ADD COLUMN n_proteins BIGINT;
ALTER TABLE isotropy ADD COLUMN null_mean DOUBLE;
ALTER TABLE isotropy ADD COLUMN null_sd DOUBLE;
ALTER TABLE isotropy ADD COLUMN null_low DOUBLE;
ALTER TABLE isotropy ADD COLUMN null_high DOUBLE;
ALTER TABLE isotropy ADD COLUMN null_draws INTEGER;
ALTER TABLE isotropy ADD COLUMN size_z DOUBLE;
