-- RunSet.available: every key column, counted and typed in one scan.

-- statement 1 of 1
SELECT count(b.{metrics.acc}), true, count(b.{metrics.loss}), true, count(b.{params.lr}), count(TRY_CAST(b.{params.lr} AS DOUBLE)) = count(b.{params.lr}), count(b.{params.opt}), count(TRY_CAST(b.{params.opt} AS DOUBLE)) = count(b.{params.opt}), count(b.{tags.mlflow.runName}), false, count(b.{tags.team}), false FROM _wide_v b WHERE list_contains(?, b.experiment_id)
-- parameters: [['1']]
