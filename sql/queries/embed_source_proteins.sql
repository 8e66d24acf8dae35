-- The sequences an embedding run draws from by default: the warehouse's proteins, as the relation
-- embed_pending.sql reads (a runner that reads shards registers its own `embed_source` instead).
-- Columns: accession, seq_hash, sequence, ordinal (the first row of an accession wins).
CREATE OR REPLACE TEMP VIEW embed_source AS
SELECT accession, coalesce(seq_hash, md5(sequence)) AS seq_hash, sequence, 0::BIGINT AS ordinal
FROM proteins
WHERE sequence IS NOT NULL
