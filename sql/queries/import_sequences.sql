-- Sequences for residue letters, made once per import that brings per-residue vectors, as a
-- temporary table on the import's connection.
CREATE OR REPLACE TEMP TABLE import_sequences AS
SELECT accession, any_value(sequence) AS sequence
FROM proteins
WHERE sequence IS NOT NULL
GROUP BY accession
