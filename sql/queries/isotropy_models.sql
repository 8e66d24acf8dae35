-- Models with stored vectors (per-protein embeddings or residue statistics): what --models may name.
SELECT model FROM embeddings
UNION
SELECT model FROM residue_stats
ORDER BY model
