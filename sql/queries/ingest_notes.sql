-- Ingest notes: facts about the input the user should know (one text per row).
SELECT DISTINCT source || ': columns child/parent are the wrong way round (GO root terms occur as child, '
       || 'never as parent); edges were read as parent -> child' AS note
FROM ingest_graph WHERE swapped
UNION ALL
SELECT count(*) || ' GO terms got a namespace/is_obsolete from the GO graph or the annotations'
FROM ingest_go_terms WHERE filled HAVING count(*) > 0
