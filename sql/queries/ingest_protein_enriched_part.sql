-- Ingest output: one proteins part ($path) again, with the NULL header fields of updated accessions filled.
SELECT p.* REPLACE (
    coalesce(p.entry_name, e.entry_name) AS entry_name,
    coalesce(p.protein_name, e.protein_name) AS protein_name,
    coalesce(p.organism, e.organism) AS organism,
    coalesce(p.taxon_id, e.taxon_id) AS taxon_id,
    coalesce(p.gene, e.gene) AS gene,
    coalesce(p.protein_existence, e.protein_existence) AS protein_existence,
    coalesce(p.sequence_version, e.sequence_version) AS sequence_version,
    coalesce(p.sequence, e.sequence) AS sequence,
    CASE WHEN p.sequence IS NULL AND e.sequence IS NOT NULL THEN length(e.sequence)::INTEGER ELSE p.length END
        AS length,
    coalesce(p.seq_hash, e.seq_hash) AS seq_hash
), NULL::INTEGER AS file_idx
FROM read_parquet($path) p
LEFT JOIN ingest_protein_enrich e USING (accession)
