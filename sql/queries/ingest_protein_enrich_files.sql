-- Ingest: the proteins part files ($paths, absolute) that hold accessions to update.
SELECT DISTINCT filename
FROM read_parquet($paths, filename = true, union_by_name = true)
WHERE accession IN (SELECT accession FROM ingest_protein_enrich)
ORDER BY filename
