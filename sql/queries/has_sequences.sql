-- Whether any protein of the warehouse has a sequence: without one, import-vectors creates the proteins
-- its records name (vectors only, sequence unknown) and align refuses.
SELECT count(*) > 0 FROM (SELECT 1 FROM proteins WHERE sequence IS NOT NULL LIMIT 1)
