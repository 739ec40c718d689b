-- search_runs: a filter with OR and parentheses, two sort keys, a page of 10.

-- statement 1 of 1
SELECT b.run_id, NULL::BIGINT FROM _wide_v b WHERE lifecycle_stage = 'active' AND list_contains(?, b.experiment_id) AND ((nullif(b.{metrics.acc}, 'NaN'::DOUBLE) > ? AND (b.{params.opt} = ? OR b.{tags.team} LIKE ?))) ORDER BY isnan(b.{metrics.loss}) NULLS LAST, b.{metrics.loss} DESC NULLS LAST, TRY_CAST(b.{params.lr} AS DOUBLE) ASC NULLS LAST, b.{params.lr} ASC NULLS LAST, b.start_time DESC, b.run_id LIMIT ? OFFSET ?
-- parameters: [['1'], 0.5, 'adam', 'n%', 10, 0]
