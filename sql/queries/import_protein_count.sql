-- How many proteins an import can match (import_proteins.sql).
SELECT count(*) FROM import_proteins
