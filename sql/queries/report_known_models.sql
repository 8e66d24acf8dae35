-- Every model with stored vectors or isotropy rows (report --model must name one of them).
SELECT DISTINCT model FROM embeddings UNION SELECT DISTINCT model FROM isotropy
