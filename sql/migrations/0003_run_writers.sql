-- Who writes each run: the writer's process id and host, so that a later open can tell a run whose
-- process was killed (kill -9, a crash) from one still running, and mark it `interrupted`.
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN host VARCHAR;
-- Runs an earlier protiso left `running` cannot be running now: that protiso held the warehouse open
-- while a run lasted, and this migration runs with the warehouse open for writing.
UPDATE runs SET status = 'interrupted' WHERE status = 'running';

-- Small facts about the warehouse itself (key -> value). `views`: a fingerprint of the view and macro
-- definitions and of the warehouse's directory, written with the views, so that a read-only open can
-- tell whether the stored views are the ones this protiso would make here.
CREATE TABLE protiso_state (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);
