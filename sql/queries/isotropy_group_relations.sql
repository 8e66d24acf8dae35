-- Pairs of groups of $group_by that share most members (group_relations, sql/macros/protein_groups.sql):
-- protiso builds one's statistics from the other's.
SELECT group_a, group_b FROM group_relations($group_by)
