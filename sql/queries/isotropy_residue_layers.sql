-- Models and layers with stored residue vectors. $models: VARCHAR[] or NULL (all).
SELECT model, layer, count(*) AS n
FROM residues
WHERE control = 'none' AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
GROUP BY ALL
ORDER BY model, layer
