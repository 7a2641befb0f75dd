-- 0032_jobs_idempotency_key_per_user_index: the index of the per-user
-- idempotency key, built without blocking the traffic (0033 makes it the key).
--
-- Why: uq_jobs_idempotency_key made a client's key unique across all users.
-- Two users whose clients derive the same key (one FreeCAD document shared
-- between them) could not both submit: the second insert failed with a
-- duplicate whose DETAIL named the other user's key, and row-level security
-- hid the first job, so "insert, else fetch by key" found nothing. A key is
-- the client's own: unique per user, (idempotency_key, user_id). The key
-- leads, so that idx_jobs_user_id stays the one index that leads with user_id.
-- Rollout: CONCURRENTLY, so claims, progress reports and submissions go on
-- while it builds; hence not in a transaction. IF NOT EXISTS makes a re-run
-- after a failure safe (the runner drops an index left INVALID by a failed
-- build). Every existing row already satisfies it: the old key is stricter.
-- depends: 0031_email_rules_any_locale_validate
-- transactional: false

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_jobs_idempotency_key_user_id
ON jobs (idempotency_key, user_id);
