-- Report section 3 (local scope): how many residue_stats rows the selected models have, to tell a
-- warehouse that needs `protiso isotropy` (statistics but no stored spectrum) from one that needs
-- embedding first. $models: VARCHAR[] or NULL.
SELECT count(*) AS rows
FROM residue_stats
WHERE control = 'none' AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
