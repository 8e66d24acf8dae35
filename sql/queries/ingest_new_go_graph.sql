-- Ingest output: go_graph edges to add: distinct (child, parent, relation), oriented, not stored yet.
WITH distinct_rows AS (
    SELECT child, parent, min(distance) AS distance, relation,
           arg_min(source, file_idx) AS source, min(file_idx) AS file_idx
    FROM ingest_graph
    GROUP BY child, parent, relation
)
SELECT d.* FROM distinct_rows d ANTI JOIN go_graph s USING (child, parent, relation)
ORDER BY child, parent, relation
