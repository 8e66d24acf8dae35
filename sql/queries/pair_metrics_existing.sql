-- Finished pair-metrics runs with what they covered (alignment run, embedding set, source key).
SELECT run_id, params
FROM runs
WHERE kind = 'pair_metrics' AND status = 'done'
ORDER BY started_at
