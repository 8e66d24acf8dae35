-- Report, "how this compares with the paper": what this warehouse's runs recorded about each choice the
-- paper makes or leaves unstated, one row per choice (what, ours, run). Alignments: the newest finished
-- alignment run; embeddings: the newest finished embedding or import run per model.
WITH alignment AS (
    SELECT a.*, r.params AS run_params
    FROM alignment_runs a JOIN runs r USING (run_id)
    WHERE r.status = 'done'
    ORDER BY a.created_at DESC, a.run_id DESC
    LIMIT 1
), embedding AS (
    SELECT model, layer, pooling, params, run_id
    FROM runs
    WHERE kind IN ('embed', 'import') AND status = 'done' AND model IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY model ORDER BY started_at DESC, run_id DESC) = 1
), ingested AS (
    SELECT string_agg(DISTINCT regexp_extract(f, '[^/]+$'), ', ' ORDER BY regexp_extract(f, '[^/]+$')) AS files
    FROM (SELECT unnest(CAST(params -> '$.files' AS VARCHAR[])) AS f FROM runs WHERE kind = 'ingest'
          AND status = 'done' AND json_type(params -> '$.files') = 'ARRAY')
)
SELECT 1 AS k, 'dataset' AS what,
       (SELECT count(*) FROM proteins)::VARCHAR || ' proteins'
       || coalesce(' from ' || (SELECT files FROM ingested), '') AS ours, NULL AS run_id
UNION ALL
SELECT 2, 'pair sample', n_proteins::VARCHAR || ' proteins, all ' || n_pairs::VARCHAR || ' pairs, seed '
       || coalesce(seed::VARCHAR, '–'), run_id FROM alignment
UNION ALL
SELECT 3, 'alignment', matrix || ' ' || mode || ', gap open ' || open_score::VARCHAR || ' / extend '
       || extend_score::VARCHAR || CASE WHEN mode = 'global' THEN ', end gaps scored' ELSE '' END
       || ' (' || engine || ')', run_id FROM alignment
UNION ALL
SELECT 4, 'identity', coalesce(run_params ->> '$.definitions.identity', 'identical columns / alignment length'),
       run_id FROM alignment
UNION ALL
SELECT 5, 'embedding: ' || model, 'layer ' || layer || '; ' || coalesce(pooling, 'pooling not recorded') || '; '
       || coalesce('device ' || (params ->> '$.resolved_device')
                   || CASE WHEN (params ->> '$.resolved_device') LIKE 'cuda%' THEN ' (bf16 autocast, fp32 pooling)'
                           ELSE ' (fp32)' END, 'imported vectors')
       || coalesce('; long proteins: ' || (params ->> '$.length_policy'), ''), run_id FROM embedding
ORDER BY k, what
