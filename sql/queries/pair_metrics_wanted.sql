-- The proteins of alignment run $run_id (either side of a pair), one row each.
SELECT DISTINCT accession FROM (
    SELECT accession_a AS accession FROM alignments WHERE run_id = $run_id
    UNION ALL
    SELECT accession_b FROM alignments WHERE run_id = $run_id
)
ORDER BY accession
