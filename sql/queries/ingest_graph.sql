-- Ingest step: staged GO edges, oriented child -> parent. A graph file in which GO root terms occur
-- as `child` but never as `parent` has its two columns the wrong way round (roots have no parents):
-- its edges are swapped, and the ingest reports it.
CREATE OR REPLACE TEMP TABLE ingest_graph AS
WITH orientation AS (
    SELECT file_idx,
           count(*) FILTER (WHERE child IN (SELECT go_id FROM ingest_go_roots)) > 0
           AND count(*) FILTER (WHERE parent IN (SELECT go_id FROM ingest_go_roots)) = 0 AS swapped
    FROM staged_go_graph
    GROUP BY file_idx
)
SELECT
    CASE WHEN o.swapped THEN g.parent ELSE g.child END AS child,
    CASE WHEN o.swapped THEN g.child ELSE g.parent END AS parent,
    g.distance, g.relation, g.source, g.file_idx, g.record, o.swapped
FROM staged_go_graph g
JOIN orientation o USING (file_idx)
