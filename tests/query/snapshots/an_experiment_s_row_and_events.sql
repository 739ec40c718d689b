-- experiment_written, experiment_changes.

-- statement 1 of 2
SELECT 1 FROM _experiments WHERE experiment_id = ?
-- parameters: ['1']

-- statement 2 of 2
SELECT kind, key, value FROM _state WHERE entity_id = ? AND kind IN (?, ?)
-- parameters: ['1', 'experiment_name', 'experiment_lifecycle']
