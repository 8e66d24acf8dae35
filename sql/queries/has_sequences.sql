-- Whether the warehouse has proteins, and whether any has a sequence: without one, import-vectors creates
-- the proteins its records name (vectors only, sequence unknown) and align refuses.
SELECT EXISTS (SELECT 1 FROM proteins), EXISTS (SELECT 1 FROM proteins WHERE sequence IS NOT NULL)
