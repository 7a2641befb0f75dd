-- 0019_drop_idx_jobs_model_id: drops the index on jobs (model_id) alone.
--
-- Why: idx_jobs_model_id_user_id (0016) leads with model_id and serves
-- every lookup it served, including the check of fk_jobs_model_id when a
-- model is deleted; two indexes would cost every write to jobs twice.
-- Rollout: CONCURRENTLY, so reads and writes go on; not in a transaction.
-- depends: 0018_jobs_model_owner_validate
-- transactional: false

DROP INDEX CONCURRENTLY IF EXISTS idx_jobs_model_id;
