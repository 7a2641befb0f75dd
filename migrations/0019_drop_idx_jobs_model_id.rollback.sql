-- Rollback of 0019_drop_idx_jobs_model_id: builds the index again without
-- blocking writes.

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_jobs_model_id ON jobs (model_id);
