-- Rollback of 0033_jobs_idempotency_key_per_user: the key across all users
-- again, and the per-user index as 0032 left it (not a constraint).
-- The global key is built under the ALTER's lock (a rollback is rare and
-- deliberate), and it fails with a duplicate, changing nothing, once two
-- users have used the same key: then there is no way back without deciding
-- whose job keeps it.

ALTER TABLE jobs
ADD CONSTRAINT uq_jobs_idempotency_key UNIQUE (idempotency_key),
DROP CONSTRAINT uq_jobs_idempotency_key_user_id;

CREATE UNIQUE INDEX uq_jobs_idempotency_key_user_id
ON jobs (idempotency_key, user_id);

COMMENT ON COLUMN jobs.idempotency_key IS
'Client-chosen key, unique when present: submitting the same key twice finds the first job instead of making a second.';
