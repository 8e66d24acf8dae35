-- Uncatalogue the parts of an outdated pair-metrics run (their files go at the next open).
DELETE FROM parts WHERE table_name IN ('pair_metrics', 'pair_metric_stats', 'partial_correlations') AND run_id = $run_id
