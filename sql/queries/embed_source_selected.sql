-- The sequences a chosen embedding run draws from: the proteins of the temp table embed_selected
-- (embed_select.sql), as the relation embed_pending.sql reads (same columns as
-- embed_source_proteins.sql: accession, seq_hash, sequence, ordinal).
CREATE OR REPLACE TEMP VIEW embed_source AS
SELECT accession, coalesce(seq_hash, md5(sequence)) AS seq_hash, sequence, 0::BIGINT AS ordinal
FROM proteins
WHERE sequence IS NOT NULL AND accession IN (SELECT accession FROM embed_selected)
