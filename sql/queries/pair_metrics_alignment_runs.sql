-- Finished alignment runs, oldest first; $run_id (or NULL for all) picks one.
SELECT a.run_id
FROM alignment_runs AS a
JOIN runs AS r USING (run_id)
WHERE r.status = 'done' AND ($run_id::VARCHAR IS NULL OR a.run_id = $run_id::VARCHAR)
ORDER BY a.created_at, a.run_id
