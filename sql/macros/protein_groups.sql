-- Protein groupings used by `protiso isotropy --by ...`, usable ad hoc from any DuckDB shell:
--   SELECT g.group_value, count(*) FROM embeddings e JOIN protein_groups('go_term') g USING (accession) GROUP BY 1;

-- Sequence-length bins (labels sort by length when compared as bins, not as text).
CREATE OR REPLACE MACRO length_bin(len) AS
    CASE
        WHEN len IS NULL THEN NULL
        WHEN len < 100 THEN '1-99'
        WHEN len < 200 THEN '100-199'
        WHEN len < 300 THEN '200-299'
        WHEN len < 400 THEN '300-399'
        WHEN len < 500 THEN '400-499'
        WHEN len < 1000 THEN '500-999'
        ELSE '1000+'
    END;

-- GO edges (child, parent) along which annotations propagate (the true-path rule): is_a and part_of,
-- within one namespace (an edge whose two terms have different namespaces in go_terms is not followed;
-- a term without a namespace follows its edges).
CREATE OR REPLACE MACRO go_true_path_edges() AS TABLE
    WITH namespaces AS (
        SELECT go_id, any_value(namespace) AS namespace FROM go_terms GROUP BY go_id
    )
    SELECT DISTINCT e.child, e.parent
    FROM go_graph e
    LEFT JOIN namespaces c ON c.go_id = e.child
    LEFT JOIN namespaces p ON p.go_id = e.parent
    WHERE e.relation IN ('is_a', 'part_of') AND coalesce(c.namespace = p.namespace, true)
      AND e.child <> e.parent;

-- (go_id, ancestor) for every GO term used in protein_go: the term itself and every term above it
-- along go_true_path_edges().
CREATE OR REPLACE MACRO go_ancestors() AS TABLE
    WITH RECURSIVE closure(go_id, ancestor) AS (
        SELECT DISTINCT go_id, go_id FROM protein_go WHERE go_id IS NOT NULL
        UNION
        SELECT c.go_id, e.parent
        FROM closure c
        JOIN go_true_path_edges() e ON e.child = c.ancestor
    )
    SELECT go_id, ancestor FROM closure;

-- (accession, group_value) for group_by = 'organism' | 'length_bin' | 'go_term'. A protein is in one
-- organism and one length bin but may be in many GO terms: by the true-path rule, a protein annotated
-- to a term belongs to that term and all its ancestors (go_ancestors(); with no go_graph, its direct
-- annotations only). Proteins without a value are left out.
CREATE OR REPLACE MACRO protein_groups(group_by) AS TABLE
    SELECT DISTINCT accession, organism AS group_value
    FROM proteins WHERE group_by = 'organism' AND organism IS NOT NULL
    UNION ALL
    SELECT DISTINCT accession, length_bin(length) AS group_value
    FROM proteins WHERE group_by = 'length_bin' AND length IS NOT NULL
    UNION ALL
    SELECT DISTINCT p.accession, a.ancestor AS group_value
    FROM protein_go p
    JOIN go_ancestors() a ON a.go_id = p.go_id
    WHERE group_by = 'go_term';

-- Pairs of groups of group_by whose members largely coincide (for true-path GO terms: child and parent,
-- the child's proteins all in the parent). `protiso isotropy` builds one group's statistics from the
-- other's; any pair is correct, these make it fast.
CREATE OR REPLACE MACRO group_relations(group_by) AS TABLE
    SELECT child AS group_a, parent AS group_b
    FROM go_true_path_edges()
    WHERE group_by = 'go_term';
