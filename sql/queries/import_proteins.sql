-- The proteins an import can match, as a temporary table on the import's connection: accession,
-- seq_hash (md5 of the normalised sequence) and length; no sequences, so it stays small. Proteins an
-- import created without a sequence (seq_hash and maybe length NULL) match by accession only.
CREATE OR REPLACE TEMP TABLE import_proteins AS
SELECT accession, any_value(seq_hash) AS seq_hash, any_value(length) AS length
FROM proteins
WHERE accession IS NOT NULL
GROUP BY accession
