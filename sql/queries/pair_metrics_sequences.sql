-- Sequences of the proteins registered as protiso_pair_proteins(accession), in its order (the latest ingest
-- of a protein wins): lengths and amino-acid composition for length_normalized_score and the confounders.
SELECT s.accession, p.sequence
FROM protiso_pair_proteins AS s
LEFT JOIN (
    SELECT accession, sequence FROM proteins
    WHERE sequence IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY accession ORDER BY run_id DESC NULLS LAST) = 1
) AS p USING (accession)
ORDER BY s.accession
