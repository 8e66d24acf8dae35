-- The proteins a chosen embedding run draws from (protiso embed --accessions / --where / --sample),
-- into the temp table embed_selected (accession, candidates = how many matched before sampling).
-- `p` is the relation --where reads: one row per accession with a sequence (the most recent ingest
-- run wins), every column of `proteins`, plus two helper columns:
--   go_ids   VARCHAR[]  the protein's direct GO annotations (protein_go), sorted; [] when none
--   keywords VARCHAR[]  its UniProt keywords (protein_keywords), sorted; [] when none
-- (a helper line is kept only when the predicate names its column: building both for all of
-- Swiss-Prot costs seconds). The predicate may also use subqueries over any table, e.g.
-- EXISTS (SELECT 1 FROM protein_go g WHERE g.accession = p.accession AND g.go_id = 'GO:0005524').
-- Candidates: `p`, restricted to embed_accessions (registered by the job) when $listed, and by the
-- user's --where, which replaces the marker below. --sample: the $sample candidates with the
-- smallest md5($seed || ':' || accession), ties by accession (NULL: every candidate).
-- $listed BOOLEAN, $sample BIGINT, $seed BIGINT
CREATE OR REPLACE TEMP TABLE embed_selected AS
WITH p AS (
    SELECT proteins.*
        , coalesce((SELECT list(DISTINCT g.go_id ORDER BY g.go_id) FROM protein_go g WHERE g.accession = proteins.accession AND g.go_id IS NOT NULL), []::VARCHAR[]) AS go_ids  -- helper
        , coalesce((SELECT list(DISTINCT k.keyword ORDER BY k.keyword) FROM protein_keywords k WHERE k.accession = proteins.accession AND k.keyword IS NOT NULL), []::VARCHAR[]) AS keywords  -- helper
    FROM proteins
    WHERE proteins.sequence IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY proteins.accession ORDER BY proteins.run_id DESC NULLS LAST) = 1
),
candidates AS (
    SELECT accession
    FROM p
    WHERE (NOT $listed::BOOLEAN OR accession IN (SELECT accession FROM embed_accessions))
      AND (/*WHERE*/ TRUE)
)
SELECT accession, count(*) OVER () AS candidates
FROM candidates
ORDER BY CASE WHEN $sample::BIGINT IS NULL THEN NULL ELSE md5($seed::BIGINT::VARCHAR || ':' || accession) END,
         accession
LIMIT coalesce($sample::BIGINT, 9223372036854775807)
