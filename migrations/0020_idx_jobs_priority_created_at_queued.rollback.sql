-- Rollback of 0020_idx_jobs_priority_created_at_queued: drops the index
-- without blocking reads or writes.

DROP INDEX CONCURRENTLY IF EXISTS idx_jobs_priority_created_at_queued;
