-- existing_run_ids, experiment_ids, runs_with_tag.

-- statement 1 of 3
SELECT run_id FROM runs WHERE list_contains(?, run_id)
-- parameters: [['run-a', 'nope']]

-- statement 2 of 3
SELECT experiment_id FROM experiments
-- parameters: None

-- statement 3 of 3
SELECT r.run_id, r.experiment_id, r.lifecycle_stage, t.value FROM runs r LEFT JOIN tags t ON t.run_id = r.run_id AND t.key = ? WHERE list_contains(?, r.run_id)
-- parameters: ['team', ['run-a', 'run-b']]
