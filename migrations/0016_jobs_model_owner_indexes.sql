-- 0016_jobs_model_owner_indexes: the indexes behind "a job's model belongs
-- to the job's user" (0017, 0018).
--
-- Why: fk_jobs_model_id checked only that the model exists, and foreign
-- keys ignore row-level security: the application acting for user A could
-- queue a job on user B's model, and learn whether a model id exists
-- (issue 5). The key will include user_id, as the lineage key of models
-- does; it needs a unique index on models (id, user_id) to point at, and an
-- index on jobs (model_id, user_id) to check deletes of models.
-- Rollout: CONCURRENTLY, so reads and writes go on while they build; hence
-- not in a transaction. IF NOT EXISTS makes a re-run after a failure safe
-- (the runner drops an index left INVALID by a failed build).
-- depends: 0015_retention
-- transactional: false

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_models_id_user_id
ON models (id, user_id);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_jobs_model_id_user_id
ON jobs (model_id, user_id);
