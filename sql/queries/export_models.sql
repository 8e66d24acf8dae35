-- Models and embedding sets an export can name.
SELECT DISTINCT model, embedding_set FROM embeddings ORDER BY model, embedding_set
