-- Models, embedding sets and controls an export can name.
SELECT DISTINCT model, embedding_set, control FROM embeddings ORDER BY model, embedding_set, control
