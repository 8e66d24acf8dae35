-- Proteins an alignment run may sample: one row per accession (the most recent ingest run wins),
-- restricted by the user's --where filter, which replaces the marker below.
CREATE OR REPLACE TEMP VIEW protiso_align_source AS
SELECT accession, sequence, coalesce(length, length(sequence)) AS length
FROM proteins
WHERE sequence IS NOT NULL AND (/*WHERE*/ TRUE)
QUALIFY row_number() OVER (PARTITION BY accession ORDER BY run_id DESC NULLS LAST) = 1
