-- The runs still marked running by a writer of this host ($1), with its process id (recovery.dead_runs).
SELECT run_id, pid FROM runs WHERE status = 'running' AND host = ? AND pid IS NOT NULL
