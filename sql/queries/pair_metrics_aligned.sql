-- Aligned pairs of alignment run $run_id per stratum (stratum 'all' for a random sample): what the counts of
-- pairs left out of correlations (missing embedding) start from.
SELECT coalesce(stratum, 'all') AS stratum, count(*) AS n
FROM alignments
WHERE run_id = $run_id
GROUP BY ALL
ORDER BY 1
