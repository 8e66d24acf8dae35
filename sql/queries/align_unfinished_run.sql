-- The newest unfinished alignment run with exactly these parameters (same plan key).
SELECT a.run_id
FROM alignment_runs AS a
JOIN runs AS r USING (run_id)
WHERE r.status <> 'done' AND json_extract_string(a.params, '$.plan_key') = $plan_key
ORDER BY r.started_at DESC
LIMIT 1
