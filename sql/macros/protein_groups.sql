-- Protein groupings used by `protiso isotropy --by ...`, usable ad hoc from any DuckDB shell:
--   SELECT g.group_value, count(*) FROM embeddings e JOIN protein_groups('organism') g USING (accession) GROUP BY 1;

-- Sequence-length bins (labels sort by length when compared as bins, not as text).
CREATE OR REPLACE MACRO length_bin(len) AS
    CASE
        WHEN len IS NULL THEN NULL
        WHEN len < 100 THEN '1-99'
        WHEN len < 200 THEN '100-199'
        WHEN len < 300 THEN '200-299'
        WHEN len < 400 THEN '300-399'
        WHEN len < 500 THEN '400-499'
        WHEN len < 1000 THEN '500-999'
        ELSE '1000+'
    END;

-- (accession, group_value) for group_by = 'organism' | 'length_bin' | 'go_term' (direct GO annotations,
-- not propagated to ancestors). A protein is in one organism and one length bin but may be in many
-- GO terms. Proteins without a value are left out.
CREATE OR REPLACE MACRO protein_groups(group_by) AS TABLE
    SELECT DISTINCT accession, organism AS group_value
    FROM proteins WHERE group_by = 'organism' AND organism IS NOT NULL
    UNION ALL
    SELECT DISTINCT accession, length_bin(length) AS group_value
    FROM proteins WHERE group_by = 'length_bin' AND length IS NOT NULL
    UNION ALL
    SELECT DISTINCT accession, go_id AS group_value
    FROM protein_go WHERE group_by = 'go_term' AND go_id IS NOT NULL;
