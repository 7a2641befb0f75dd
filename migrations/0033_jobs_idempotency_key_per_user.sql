-- 0033_jobs_idempotency_key_per_user: the idempotency key is unique per
-- user; the key across all users is dropped.
--
-- Why: see 0032. With the key per user, one user's key never collides with
-- another's, so no error tells one user that another's job exists (and under
-- row-level security PostgreSQL leaves the key's values out of the DETAIL).
-- Rollout: the index 0032 built becomes the constraint (no scan, no build)
-- and the old constraint and its index are dropped, in one transaction: an
-- ACCESS EXCLUSIVE lock on jobs for an instant, bounded by the runner's
-- lock_timeout, and no moment without a key.
-- depends: 0032_jobs_idempotency_key_per_user_index

-- squawk-ignore-file ban-drop-constraint

ALTER TABLE jobs
ADD CONSTRAINT uq_jobs_idempotency_key_user_id
UNIQUE USING INDEX uq_jobs_idempotency_key_user_id,
DROP CONSTRAINT uq_jobs_idempotency_key;

COMMENT ON COLUMN jobs.idempotency_key IS
'Client-chosen key, unique per user when present: the same user submitting the same key twice finds the first job instead of making a second; another user may use the same key.';
