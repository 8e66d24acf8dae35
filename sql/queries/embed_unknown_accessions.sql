-- Accessions of an --accessions list (the relation embed_accessions) that no protein with a
-- sequence has, sorted.
SELECT accession
FROM embed_accessions
WHERE accession NOT IN (SELECT accession FROM proteins WHERE sequence IS NOT NULL)
ORDER BY accession
