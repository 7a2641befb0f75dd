-- 0037_idx_jobs_model_id_active: the models of the jobs still to be done
-- (pending, queued, running), as a small partial index.
--
-- Why: a worker sees only the models of active jobs (pol_models_worker_select),
-- and row-level security keeps the planner from using the statistics of
-- jobs.status for it (enum_eq is not leakproof): under any policy,
-- "status IN ('pending', 'queued', 'running')" is estimated at 3/7 of jobs,
-- and the set of active jobs' models was read by a sequential scan of jobs.
-- A partial index whose predicate is that condition holds the queue only
-- (thousands of rows, not the millions of history), so its size is the
-- estimate, whatever the statistics: the parametric search
-- (workload/queries/07_models_by_params.sql) starts from it, and each check
-- of the worker's policies probes it.
-- Rollout: CONCURRENTLY, so claims and progress reports go on while it
-- builds; not in a transaction. IF NOT EXISTS makes a re-run after a failure
-- safe (the runner drops an index left INVALID by a failed build). Progress
-- updates stay HOT: neither status nor model_id changes.
-- depends: 0036_models_parent_version_writable_validate
-- transactional: false

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_jobs_model_id_active ON jobs (model_id)
WHERE status IN ('pending', 'queued', 'running');
