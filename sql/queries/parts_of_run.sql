-- What run ? had committed: its parts, their rows and the time of its last commit.
SELECT count(*), coalesce(sum(rows), 0), CAST(max(committed_at) AS VARCHAR) FROM parts WHERE run_id = ?
