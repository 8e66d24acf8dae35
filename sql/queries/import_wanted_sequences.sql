-- The stored sequences of the accessions in $accessions (VARCHAR[]).
SELECT s.accession, s.sequence
FROM import_sequences s
WHERE s.accession IN (SELECT unnest($accessions::VARCHAR[]))
