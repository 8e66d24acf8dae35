-- correlations_matched: the layer curve of the correlations on matched pairs. For every family of
-- embedding sets that differ only by layer (model, pooling, embedding_set, control) and alignment run, the pairs
-- that are complete (all six metrics non-NULL) at EVERY layer of the family; on those pairs, per layer,
-- Pearson and Spearman (average ranks recomputed within the matched pairs) of the study's metric pairs
-- (cosine and sq_euclidean against identity and score). n is the matched pair count (the same at every
-- layer of a family) and n_proteins the proteins among them; n_unmatched is the layer's own complete
-- pairs (the `correlations` view's n), layers the family's layer count. A curve across layers drawn from
-- this view compares the same pairs at every layer; `correlations` compares each layer's own pairs.
CREATE OR REPLACE VIEW correlations_matched AS
WITH complete AS (
    SELECT model, layer, pooling, embedding_set, control, alignment_run, accession_a, accession_b,
           cosine, sq_euclidean, identity, score
    FROM pair_metrics
    WHERE complete
), families AS (
    SELECT model, pooling, embedding_set, control, alignment_run, count(DISTINCT layer) AS layers
    FROM complete
    GROUP BY ALL
), own AS (
    SELECT model, layer, pooling, embedding_set, control, alignment_run, count(*) AS n_unmatched
    FROM complete
    GROUP BY ALL
), everywhere AS (
    SELECT c.model, c.pooling, c.embedding_set, c.control, c.alignment_run, c.accession_a, c.accession_b
    FROM complete c
    JOIN families f ON f.model = c.model AND f.pooling IS NOT DISTINCT FROM c.pooling
                   AND f.embedding_set = c.embedding_set AND f.control = c.control AND f.alignment_run = c.alignment_run
    GROUP BY c.model, c.pooling, c.embedding_set, c.control, c.alignment_run, c.accession_a, c.accession_b, f.layers
    HAVING count(DISTINCT c.layer) = f.layers
), matched AS (
    SELECT c.*
    FROM complete c
    SEMI JOIN everywhere e
      ON e.model = c.model AND e.pooling IS NOT DISTINCT FROM c.pooling AND e.embedding_set = c.embedding_set
     AND e.control = c.control AND e.alignment_run = c.alignment_run AND e.accession_a = c.accession_a AND e.accession_b = c.accession_b
), proteins AS (
    SELECT model, pooling, embedding_set, control, alignment_run, count(DISTINCT accession) AS n_proteins
    FROM (SELECT model, pooling, embedding_set, control, alignment_run, accession_a AS accession FROM everywhere
          UNION ALL
          SELECT model, pooling, embedding_set, control, alignment_run, accession_b FROM everywhere)
    GROUP BY ALL
), ranked AS (
    SELECT *,
           rank() OVER (PARTITION BY model, layer, pooling, embedding_set, control, alignment_run ORDER BY cosine)
               + (count(*) OVER (PARTITION BY model, layer, pooling, embedding_set, control, alignment_run, cosine) - 1) / 2.0
               AS cosine_rank,
           rank() OVER (PARTITION BY model, layer, pooling, embedding_set, control, alignment_run ORDER BY sq_euclidean)
               + (count(*) OVER (PARTITION BY model, layer, pooling, embedding_set, control, alignment_run, sq_euclidean) - 1) / 2.0
               AS sq_euclidean_rank,
           rank() OVER (PARTITION BY model, layer, pooling, embedding_set, control, alignment_run ORDER BY identity)
               + (count(*) OVER (PARTITION BY model, layer, pooling, embedding_set, control, alignment_run, identity) - 1) / 2.0
               AS identity_rank,
           rank() OVER (PARTITION BY model, layer, pooling, embedding_set, control, alignment_run ORDER BY score)
               + (count(*) OVER (PARTITION BY model, layer, pooling, embedding_set, control, alignment_run, score) - 1) / 2.0
               AS score_rank
    FROM matched
), stats AS (
    SELECT model, layer, pooling, embedding_set, control, alignment_run, count(*) AS n,
           corr(cosine, identity) AS p_ci, corr(cosine_rank, identity_rank) AS s_ci,
           corr(cosine, score) AS p_cs, corr(cosine_rank, score_rank) AS s_cs,
           corr(sq_euclidean, identity) AS p_ei, corr(sq_euclidean_rank, identity_rank) AS s_ei,
           corr(sq_euclidean, score) AS p_es, corr(sq_euclidean_rank, score_rank) AS s_es
    FROM ranked
    GROUP BY ALL
)
SELECT s.model, s.layer, s.pooling, s.embedding_set, s.control, s.alignment_run, m.metric_x, m.metric_y,
       CASE m.k WHEN 1 THEN s.p_ci WHEN 2 THEN s.p_cs WHEN 3 THEN s.p_ei ELSE s.p_es END AS pearson,
       CASE m.k WHEN 1 THEN s.s_ci WHEN 2 THEN s.s_cs WHEN 3 THEN s.s_ei ELSE s.s_es END AS spearman,
       s.n, p.n_proteins, o.n_unmatched, f.layers
FROM stats s
CROSS JOIN (VALUES (1, 'cosine', 'identity'), (2, 'cosine', 'score'), (3, 'sq_euclidean', 'identity'),
                   (4, 'sq_euclidean', 'score')) AS m(k, metric_x, metric_y)
JOIN families f ON f.model = s.model AND f.pooling IS NOT DISTINCT FROM s.pooling
               AND f.embedding_set = s.embedding_set AND f.control = s.control AND f.alignment_run = s.alignment_run
JOIN proteins p ON p.model = s.model AND p.pooling IS NOT DISTINCT FROM s.pooling
               AND p.embedding_set = s.embedding_set AND p.control = s.control AND p.alignment_run = s.alignment_run
JOIN own o ON o.model = s.model AND o.layer = s.layer AND o.pooling IS NOT DISTINCT FROM s.pooling
          AND o.embedding_set = s.embedding_set AND o.control = s.control AND o.alignment_run = s.alignment_run;
