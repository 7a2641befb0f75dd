-- Rollback of 0032_jobs_idempotency_key_per_user_index: drops the index
-- without blocking reads or writes.

DROP INDEX CONCURRENTLY IF EXISTS uq_jobs_idempotency_key_user_id;
