-- What the warehouse holds, for the report's "missing" notes: proteins with a sequence, embeddings.
SELECT EXISTS (SELECT 1 FROM proteins WHERE sequence IS NOT NULL) AS proteins,
       EXISTS (SELECT 1 FROM embeddings) AS embeddings
