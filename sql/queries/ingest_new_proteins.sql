-- Ingest output: proteins rows to add (one per new accession), in accession order.
SELECT
    p.accession, p.entry_name, p.protein_name, p.organism, p.taxon_id, p.gene, p.protein_existence,
    p.sequence_version, p.sequence, length(p.sequence)::INTEGER AS length, s.seq_hash, p.source, p.file_idx
FROM staged_proteins p
JOIN ingest_protein_status s USING (file_idx, record)
WHERE s.status = 'new'
ORDER BY p.accession
