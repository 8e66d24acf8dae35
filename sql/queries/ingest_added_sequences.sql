-- The proteins an ingest is about to add (temp view ingest_out_proteins), for checks before it commits.
SELECT accession, sequence FROM ingest_out_proteins WHERE sequence IS NOT NULL ORDER BY accession
