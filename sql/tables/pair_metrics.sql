-- control: none (trained model, real sequences) | shuffled | random-init (sql/migrations/0008_controls.sql);
-- parts written before 0.3 lack the column and read as 'none'.
-- One row per aligned pair (alignments, accession_a < accession_b) and embedding set
-- (model, layer, pooling, embedding_set): embedding metrics computed by protiso in float64 with
-- numpy from the stored vectors (`protiso pair-metrics`, run at the end of `protiso align`),
-- beside the pair's alignment metrics; length_normalized_score = score / (length of the shorter protein).
-- stratum / weight: the pair's stratum and sampling weight in a homolog-enriched sample (NULL in a random
-- one). alignment_run = alignments.run_id; run_id = the pair-metrics run.
-- *_rank: average ranks (ties share their mean rank, 1-based) within the group
-- (model, layer, pooling, embedding_set, alignment_run) over the pairs whose seven metrics are all
-- non-NULL (complete = true); NULL otherwise. They make Spearman = corr(rank, rank) a plain
-- aggregate in the correlations view.
SELECT
{{ pair_set_key }}
    NULL::VARCHAR AS accession_a,
    NULL::VARCHAR AS accession_b,
    NULL::DOUBLE  AS cosine,
    NULL::DOUBLE  AS sq_euclidean,
    NULL::DOUBLE  AS score,
    NULL::DOUBLE  AS identity,
    NULL::DOUBLE  AS similarity,
    NULL::DOUBLE  AS normalized_score,
    NULL::DOUBLE  AS length_normalized_score,
    NULL::BOOLEAN AS complete,
    NULL::DOUBLE  AS cosine_rank,
    NULL::DOUBLE  AS sq_euclidean_rank,
    NULL::DOUBLE  AS score_rank,
    NULL::DOUBLE  AS identity_rank,
    NULL::DOUBLE  AS similarity_rank,
    NULL::DOUBLE  AS normalized_score_rank,
    NULL::DOUBLE  AS length_normalized_score_rank,
    NULL::VARCHAR AS stratum,
    NULL::DOUBLE  AS weight,
    NULL::VARCHAR AS run_id
LIMIT 0
