-- Report section 1: whole-warehouse counts (not filtered by --models).
SELECT
    (SELECT count(*) FROM proteins)                                  AS proteins,
    (SELECT count(DISTINCT accession) FROM embeddings)               AS embedded_proteins,
    (SELECT count(*) FROM embeddings)                                AS vectors,
    (SELECT count(DISTINCT model) FROM embeddings)                   AS models,
    (SELECT count(*) FROM residue_stats)                             AS residue_stats,
    (SELECT count(*) FROM protein_go)                                AS go_annotations,
    (SELECT count(*) FROM alignments)                                AS pairs,
    (SELECT count(*) FROM isotropy)                                  AS isotropy_rows,
    (SELECT count(*) FROM runs WHERE kind <> 'report')               AS runs
