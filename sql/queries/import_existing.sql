-- The layers at which each protein already holds a raw vector of $model under $control (an import skips those),
-- as a temporary table on the import's connection.
CREATE OR REPLACE TEMP TABLE import_existing AS
SELECT accession, list(DISTINCT layer ORDER BY layer) AS layers
FROM embeddings
WHERE model = $model AND embedding_set = 'raw' AND control = $control
GROUP BY accession
