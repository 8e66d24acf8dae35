-- Sequences of the relation `embed_source` (accession, seq_hash, sequence, ordinal: the proteins
-- table, see embed_source_proteins.sql; the proteins a user chose, embed_source_selected.sql; or
-- rows a runner read from shards) that still lack a raw
-- embedding of $model for some requested layer, one row per accession (the lowest ordinal wins),
-- with the layers they lack. Accessions whose sequence the model rejected in an earlier run
-- (rejects, source 'embed:<model>') are left out. Longest first, then by seq_hash: identical
-- sequences are neighbours, and each committed chunk holds proteins of similar length, so its
-- batches pack tightly even when the chunk is small.
-- $model VARCHAR, $pooling VARCHAR, $layers INTEGER[], $control VARCHAR (none | shuffled | random-init)
WITH wanted AS (
    SELECT unnest($layers::INTEGER[]) AS layer
),
done AS (
    SELECT DISTINCT accession, layer
    FROM embeddings
    WHERE model = $model AND pooling = $pooling AND embedding_set = 'raw' AND control = $control
),
rejected AS (
    SELECT DISTINCT accession FROM rejects WHERE source = 'embed:' || $model AND accession IS NOT NULL
),
candidates AS (
    SELECT accession, first(seq_hash ORDER BY ordinal) AS seq_hash, first(sequence ORDER BY ordinal) AS sequence
    FROM embed_source
    WHERE sequence IS NOT NULL AND accession NOT IN (SELECT accession FROM rejected)
    GROUP BY accession
)
SELECT c.accession, c.seq_hash, c.sequence, list(w.layer ORDER BY w.layer) AS missing
FROM candidates c
CROSS JOIN wanted w
LEFT JOIN done d ON d.accession = c.accession AND d.layer = w.layer
WHERE d.accession IS NULL
GROUP BY c.accession, c.seq_hash, c.sequence
ORDER BY length(c.sequence) DESC, seq_hash, c.accession
