-- Rollback of 0037_idx_jobs_model_id_active: drops the index without
-- blocking reads or writes.

DROP INDEX CONCURRENTLY IF EXISTS idx_jobs_model_id_active;
