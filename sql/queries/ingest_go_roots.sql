-- Ingest step: the GO root terms (and the pseudo-roots some GO dumps hang obsolete terms under).
-- Used to check the orientation of graph files and to derive namespaces along is_a edges.
CREATE OR REPLACE TEMP TABLE ingest_go_roots AS
SELECT * FROM (VALUES
    ('GO:0003674', 'molecular_function', false),
    ('GO:0008150', 'biological_process', false),
    ('GO:0005575', 'cellular_component', false),
    ('obsolete_molecular_function', 'molecular_function', true),
    ('obsolete_biological_process', 'biological_process', true),
    ('obsolete_cellular_component', 'cellular_component', true)
) AS t(go_id, namespace, obsolete)
