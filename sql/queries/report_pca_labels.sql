-- Report PCA section: the annotation each embedded protein of one set is coloured by ($model, $layer,
-- $pooling). $color_by:
--   organism | length_bin   the protein's value in protein_groups($color_by);
--   go:NAMESPACE            of the protein's direct GO annotations in that namespace (go_terms.namespace,
--                           e.g. go:biological_process), the one most frequent in the set among the $top
--                           most frequent such terms (ties by GO id); proteins with none of them get NULL;
--   GO:NNNNNNN              'annotated' when the protein carries the term or a descendant (true path,
--                           protein_groups('go_term')), else 'not annotated'.
-- Proteins without a value (no organism, no annotation) come back with label NULL.
WITH members AS (
    SELECT DISTINCT accession FROM embeddings
    WHERE model = $model AND layer = $layer AND pooling IS NOT DISTINCT FROM $pooling AND control = 'none'
      AND embedding_set = 'raw' AND embedding IS NOT NULL
), plain AS (
    SELECT m.accession, any_value(g.group_value) AS label
    FROM members m JOIN protein_groups($color_by) g USING (accession)
    WHERE $color_by IN ('organism', 'length_bin')
    GROUP BY m.accession
), go_direct AS (
    SELECT DISTINCT m.accession, p.go_id, t.name
    FROM members m JOIN protein_go p USING (accession) JOIN go_terms t USING (go_id)
    WHERE $color_by LIKE 'go:%' AND t.namespace = substr($color_by, 4)
), go_top AS (
    SELECT go_id, count(*) AS proteins FROM go_direct GROUP BY go_id ORDER BY proteins DESC, go_id LIMIT $top
), go_label AS (
    SELECT d.accession, first(d.go_id || ' ' || coalesce(d.name, '') ORDER BY t.proteins DESC, d.go_id) AS label
    FROM go_direct d JOIN go_top t USING (go_id)
    GROUP BY d.accession
), term AS (
    SELECT m.accession, CASE WHEN g.accession IS NULL THEN 'not annotated' ELSE 'annotated' END AS label
    FROM members m
    LEFT JOIN (SELECT DISTINCT accession FROM protein_groups('go_term') WHERE group_value = $color_by) g USING (accession)
    WHERE $color_by LIKE 'GO:%'
)
SELECT m.accession, coalesce(p.label, l.label, t.label) AS label
FROM members m
LEFT JOIN plain p USING (accession)
LEFT JOIN go_label l USING (accession)
LEFT JOIN term t USING (accession)
ORDER BY m.accession
