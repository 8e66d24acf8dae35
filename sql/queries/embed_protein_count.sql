-- How many proteins with a sequence the warehouse holds.
SELECT count(*) FROM proteins WHERE sequence IS NOT NULL
