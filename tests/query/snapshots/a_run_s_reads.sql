-- run_info, run_data, metric_history, latest_metric_rows, metric_rows_in_files.

-- statement 1 of 8
SELECT run_name, status, start_time, end_time, user_id, experiment_id, run_id, parent_run_id, lifecycle_stage, artifact_uri FROM runs WHERE run_id = ?
-- parameters: ['run-a']

-- statement 2 of 8
SELECT value FROM tags WHERE run_id = ? AND key = 'mlflow.runName'
-- parameters: ['run-a']

-- statement 3 of 8
SELECT key, value FROM latest_metrics WHERE run_id = ?
-- parameters: ['run-a']

-- statement 4 of 8
SELECT key, value FROM params WHERE run_id = ?
-- parameters: ['run-a']

-- statement 5 of 8
SELECT key, value FROM tags WHERE run_id = ?
-- parameters: ['run-a']

-- statement 6 of 8
SELECT step, timestamp, value FROM read_parquet([<files>], hive_partitioning = true, hive_types = {'exp': VARCHAR}) WHERE run_id = ? AND key = ? ORDER BY step, timestamp
-- parameters: ['run-a', 'acc']

-- statement 7 of 8
SELECT key, step, timestamp, value FROM latest_metrics WHERE run_id = ? ORDER BY key
-- parameters: ['run-a']

-- statement 8 of 8
SELECT key, step, timestamp, value FROM read_parquet(?) WHERE run_id = ? AND list_contains(?, key)
-- parameters: [[<files>], 'run-a', ['loss']]
