-- Ingest step: every GO term the warehouse holds after this ingest (stored + new), with namespace
-- and is_obsolete filled where the source left them empty: first from the graph (is_a path to a
-- root or obsolete pseudo-root, stored and new edges), then from the annotations' ontology.
-- is_new: not stored before; filled: a stored or new term whose namespace/is_obsolete got filled.
CREATE OR REPLACE TEMP TABLE ingest_go_terms AS
WITH RECURSIVE
edges AS (
    SELECT child, parent FROM go_graph WHERE relation = 'is_a'
    UNION
    SELECT child, parent FROM ingest_graph WHERE relation = 'is_a'
),
reach(go_id, namespace, obsolete) AS (
    SELECT go_id, namespace, obsolete FROM ingest_go_roots
    UNION
    SELECT e.child, r.namespace, r.obsolete FROM edges e JOIN reach r ON e.parent = r.go_id
),
from_graph AS (
    SELECT go_id,
           CASE WHEN count(DISTINCT namespace) = 1 THEN any_value(namespace) END AS namespace,
           bool_and(obsolete) AS obsolete
    FROM reach
    GROUP BY go_id
),
from_annotations AS (
    SELECT go_id, mode(ontology) AS namespace
    FROM (SELECT go_id, ontology FROM protein_go UNION ALL SELECT go_id, ontology FROM staged_protein_go)
    WHERE ontology IS NOT NULL
    GROUP BY go_id
),
staged AS (
    SELECT go_id, name, namespace, is_obsolete, source, file_idx
    FROM staged_go_terms
    QUALIFY row_number() OVER (PARTITION BY go_id ORDER BY file_idx, record) = 1
),
combined AS (
    SELECT go_id, name, namespace, is_obsolete, source, run_id, NULL::INTEGER AS file_idx, false AS is_new
    FROM go_terms
    UNION ALL
    SELECT s.go_id, s.name, s.namespace, s.is_obsolete, s.source, NULL, s.file_idx, true
    FROM staged s ANTI JOIN go_terms t USING (go_id)
)
SELECT
    c.go_id, c.name,
    coalesce(c.namespace, g.namespace, a.namespace) AS namespace,
    coalesce(c.is_obsolete, g.obsolete) AS is_obsolete,
    c.source, c.run_id, c.file_idx, c.is_new,
    (c.namespace IS NULL AND coalesce(g.namespace, a.namespace) IS NOT NULL)
        OR (c.is_obsolete IS NULL AND g.obsolete IS NOT NULL) AS filled
FROM combined c
LEFT JOIN from_graph g USING (go_id)
LEFT JOIN from_annotations a USING (go_id)
