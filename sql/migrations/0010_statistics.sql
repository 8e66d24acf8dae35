-- Issue 22's statistics on the isotropy tables (`protiso isotropy`; docs/sql.md, section Statistics, says how each
-- number is made).
--
-- IsoScore* is scale-free from this version on: `isoscore_star` shrinks the unbiased covariance C towards
-- (tr C / dim) I over all points and, for a group, towards the covariance of the whole set it is drawn
-- from (`isoscore_star_target`: 'scaled identity' | 'whole set'). The package-identical variant with
-- C0 = I is `isoscore_star_fixed`. Rows written before this migration held the fixed variant in
-- isoscore_star: it moves to isoscore_star_fixed and isoscore_star becomes NULL there (target NULL).
ALTER TABLE isotropy ADD COLUMN isoscore_star_fixed DOUBLE;
ALTER TABLE isotropy ADD COLUMN isoscore_star_target VARCHAR;
UPDATE isotropy SET isoscore_star_fixed = isoscore_star, isoscore_star = NULL;

-- Group rows: the null behind size_z (null_method 'size': random groups of the same number of proteins;
-- 'length': the same number of proteins drawn from each length stratum as the group has), its draws
-- (null_values, one IsoScore per valid draw: p_value is their recount), the two-sided empirical
-- p-value (1 + #{draws at least as far from null_mean as the group}) / (1 + draws), the Benjamini-Hochberg
-- q-value within the run's model, layer, set, scope, grouping and GO namespace (root terms, is_root,
-- are neither tested nor ranked), and size_z_se, the Monte-Carlo standard error of size_z from the
-- finite draws, sqrt(1 / B + size_z^2 / (2 (B - 1))).
ALTER TABLE isotropy ADD COLUMN null_method VARCHAR;
ALTER TABLE isotropy ADD COLUMN null_values DOUBLE[];
ALTER TABLE isotropy ADD COLUMN p_value DOUBLE;
ALTER TABLE isotropy ADD COLUMN q_value DOUBLE;
ALTER TABLE isotropy ADD COLUMN size_z_se DOUBLE;
ALTER TABLE isotropy ADD COLUMN is_root BOOLEAN;

-- Matched comparisons: rows with group_by = 'matched' are measured on the proteins that every compared
-- set has (group_value 'layers': every layer of the model, embedding set and pooling; 'models': every
-- model and layer of the embedding set), matched_sets says how many sets were intersected; n_points is
-- their N. The rows over all points (group_by = 'all') stay, each over its own proteins.
ALTER TABLE isotropy ADD COLUMN matched_sets INTEGER;

-- Intervals over proteins for the per-protein local summaries: a seeded percentile bootstrap over
-- proteins of the mean IsoScore and of the mean of the proteins' residue mean cosines (ci_method,
-- ci_replicates, ci_seed; the run's params record them too). NULL for the pooled definition.
ALTER TABLE local_isotropy ADD COLUMN isoscore_ci_low DOUBLE;
ALTER TABLE local_isotropy ADD COLUMN isoscore_ci_high DOUBLE;
ALTER TABLE local_isotropy ADD COLUMN mean_cosine_ci_low DOUBLE;
ALTER TABLE local_isotropy ADD COLUMN mean_cosine_ci_high DOUBLE;
ALTER TABLE local_isotropy ADD COLUMN ci_method VARCHAR;
ALTER TABLE local_isotropy ADD COLUMN ci_replicates INTEGER;
ALTER TABLE local_isotropy ADD COLUMN ci_seed BIGINT;
