-- Parts written by earlier post-processing runs (each holds one model, layer, pooling and set).
SELECT p.part_id, p.path
FROM parts p
JOIN runs r ON r.run_id = p.run_id
WHERE p.table_name = 'embeddings' AND r.kind = 'postprocess'
