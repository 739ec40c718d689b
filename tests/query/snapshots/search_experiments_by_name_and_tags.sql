-- search_experiments: attributes and two tag keys (two joins), ordered, limited.

-- statement 1 of 2
SELECT x.experiment_id, x.name, x.artifact_location, x.lifecycle_stage, x.creation_time, x.last_update_time FROM experiments x LEFT JOIN (SELECT * FROM experiment_tags WHERE key = ?) t0 ON t0.experiment_id = x.experiment_id LEFT JOIN (SELECT * FROM experiment_tags WHERE key = ?) t1 ON t1.experiment_id = x.experiment_id WHERE true AND (((x.name LIKE ? AND t0.value = ?) OR t1.value IS NULL)) ORDER BY t0.value DESC NULLS LAST, x.last_update_time ASC NULLS LAST, x.creation_time, TRY_CAST(x.experiment_id AS BIGINT) LIMIT 5
-- parameters: ['owner', 'team', 'q%', 'ana']

-- statement 2 of 2
SELECT experiment_id, key, value FROM experiment_tags
-- parameters: None
