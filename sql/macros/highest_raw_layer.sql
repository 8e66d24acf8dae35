-- highest_raw_layer(table_name, models): each model's highest layer of raw, real (control none) rows in
-- the table named table_name (embeddings, pair_metrics, ...); models: VARCHAR[] or NULL (every model).
-- The report draws one layer per model from it:
--   SELECT * FROM highest_raw_layer('embeddings', NULL);
CREATE OR REPLACE MACRO highest_raw_layer(table_name, models) AS TABLE
SELECT model, max(layer) AS layer
FROM query_table(table_name)
WHERE embedding_set = 'raw' AND control = 'none'
  AND (models::VARCHAR[] IS NULL OR list_contains(models::VARCHAR[], model))
GROUP BY model;
