-- Rollback of 0016_jobs_model_owner_indexes: drops the two indexes without
-- blocking reads or writes.

DROP INDEX CONCURRENTLY IF EXISTS idx_jobs_model_id_user_id;
DROP INDEX CONCURRENTLY IF EXISTS uq_models_id_user_id;
