-- Ingest: do stored GO terms get a namespace/is_obsolete filled (so go_terms is rewritten)?
SELECT count(*) > 0 FROM ingest_go_terms WHERE filled AND NOT is_new
