-- An alignment run's recorded parameters and status.
SELECT a.params, r.status
FROM alignment_runs AS a
JOIN runs AS r USING (run_id)
WHERE a.run_id = $run_id
