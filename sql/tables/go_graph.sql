-- GO graph edges: child -> parent with the relation (is_a, part_of, ...) and distance.
SELECT
    NULL::VARCHAR AS child,
    NULL::VARCHAR AS parent,
    NULL::INTEGER AS distance,
    NULL::VARCHAR AS relation,
    NULL::VARCHAR AS source,
    NULL::VARCHAR AS run_id
LIMIT 0
