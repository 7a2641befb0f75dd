-- 0023_concurrent_time_rules: drops the rules that order instants written
-- by different transactions or clocks.
--
-- Why: each of these CHECKs compared a time one transaction wrote with a
-- time another wrote, and refused what correct concurrent use produces. In
-- READ COMMITTED a statement sees rows committed after its transaction
-- began, and now() is that transaction's start: an ORM session whose
-- transaction began a moment before a user signed up could not update the
-- new account (updated_at = now() lay before created_at); a worker whose
-- transaction began before a job was queued could not claim it; "sign out
-- everywhere" failed when another device signed in meanwhile; a worker whose
-- clock is 50 ms behind the server could not report started_at. No bound
-- fixes that: a transaction may be open for any time, and clients' clocks
-- differ from the server's. What one writer controls stays: a session's
-- expires_at after its created_at (one insert), a license's period, a job
-- attempt's finished_at not before its started_at (one worker).
-- Rollout: DROP CONSTRAINT takes each table's ACCESS EXCLUSIVE lock for a
-- moment and reads no rows; lock_timeout bounds the wait behind a long
-- transaction, and the runner retries.
-- depends: 0022_audit_diff_hstore

-- No client can rely on these rules: they only ever refused correct writes.
-- squawk-ignore-file ban-drop-constraint

ALTER TABLE users
DROP CONSTRAINT ck_users_updated_not_before_created,
DROP CONSTRAINT ck_users_deleted_not_before_created;

ALTER TABLE sessions
DROP CONSTRAINT ck_sessions_last_used_not_before_created,
DROP CONSTRAINT ck_sessions_revoked_not_before_created;

ALTER TABLE licenses
DROP CONSTRAINT ck_licenses_updated_not_before_created;

ALTER TABLE models
DROP CONSTRAINT ck_models_updated_not_before_created,
DROP CONSTRAINT ck_models_deleted_not_before_created;

ALTER TABLE jobs
DROP CONSTRAINT ck_jobs_started_not_before_created,
DROP CONSTRAINT ck_jobs_updated_not_before_created;
