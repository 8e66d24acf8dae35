-- isotropy_latest: the current row of every isotropy key — (model, layer, embedding_set, control,
-- scope, group_by, group_value) — from the newest `protiso isotropy` run that measured it. `isotropy` keeps
-- every run's rows (the history, with each run's parameters in `runs`); read this view for "the"
-- IsoScore of a set, so that re-running isotropy never shows a key twice.
CREATE OR REPLACE VIEW isotropy_latest AS
SELECT *
FROM isotropy
QUALIFY row_number() OVER (
    PARTITION BY model, layer, embedding_set, control, scope, group_by, group_value
    ORDER BY computed_at DESC, run_id DESC) = 1;
