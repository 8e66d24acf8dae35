-- Ingest step: header fields for stored proteins. A record whose accession is stored with the same
-- sequence (status unchanged) may carry fields the stored row lacks, e.g. a UniProt .dat entry after a
-- bare-header FASTA: those NULL fields are filled (stored values are never overwritten). One row per
-- accession to update, with the values offered by its first record in this input.
CREATE OR REPLACE TEMP TABLE ingest_protein_enrich AS
WITH offered AS (
    SELECT p.accession, p.entry_name, p.protein_name, p.organism, p.taxon_id, p.gene,
           p.protein_existence, p.sequence_version, p.sequence, s.seq_hash, p.file_idx
    FROM staged_proteins p
    JOIN ingest_protein_status s USING (file_idx, record)
    WHERE s.status = 'unchanged'
    QUALIFY row_number() OVER (PARTITION BY p.accession ORDER BY p.file_idx, p.record) = 1
)
SELECT o.*
FROM offered o
JOIN proteins st USING (accession)
WHERE (st.sequence IS NULL AND o.sequence IS NOT NULL)   -- a protein import-vectors made without one
   OR (st.entry_name IS NULL AND o.entry_name IS NOT NULL)
   OR (st.protein_name IS NULL AND o.protein_name IS NOT NULL)
   OR (st.organism IS NULL AND o.organism IS NOT NULL)
   OR (st.taxon_id IS NULL AND o.taxon_id IS NOT NULL)
   OR (st.gene IS NULL AND o.gene IS NOT NULL)
   OR (st.protein_existence IS NULL AND o.protein_existence IS NOT NULL)
   OR (st.sequence_version IS NULL AND o.sequence_version IS NOT NULL)
