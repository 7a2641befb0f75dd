-- 0010_privileges: cadcam_owner owns every object; each role gets what it
-- uses and no more.
--
-- Why: least privilege for the application, the workers and the analysts
-- (issue 5); the secret columns are closed to analysts by column grants.
-- Rollout: ALTER ... OWNER TO takes a brief ACCESS EXCLUSIVE lock per table;
-- run outside peak hours. The same statements stand at the end of each
-- sql/ file.
-- depends: 0009_roles

ALTER TYPE user_role OWNER TO cadcam_owner;
ALTER TYPE user_status OWNER TO cadcam_owner;
ALTER TYPE user_locale OWNER TO cadcam_owner;
ALTER TYPE license_plan OWNER TO cadcam_owner;
ALTER TYPE license_status OWNER TO cadcam_owner;
ALTER TYPE model_type OWNER TO cadcam_owner;
ALTER TYPE model_file_format OWNER TO cadcam_owner;
ALTER TYPE job_type OWNER TO cadcam_owner;
ALTER TYPE job_status OWNER TO cadcam_owner;
ALTER FUNCTION is_valid_tckn(text) OWNER TO cadcam_owner;
ALTER FUNCTION is_valid_vkn(text) OWNER TO cadcam_owner;
ALTER FUNCTION is_valid_timezone(text) OWNER TO cadcam_owner;
ALTER FUNCTION set_updated_at() OWNER TO cadcam_owner;
REVOKE EXECUTE ON FUNCTION
is_valid_tckn(text), is_valid_vkn(text), is_valid_timezone(text), set_updated_at()
FROM PUBLIC;
-- The CHECK constraints of users call the validators with the privileges of
-- whoever writes the row. A trigger function needs no grant: it runs as
-- its trigger, which only the table owner can create.
GRANT EXECUTE ON FUNCTION
is_valid_tckn(text), is_valid_vkn(text), is_valid_timezone(text)
TO cadcam_app;
ALTER TABLE users OWNER TO cadcam_owner;
-- No DELETE: accounts are soft-deleted (status deleted, deleted_at).
GRANT SELECT, INSERT, UPDATE ON users TO cadcam_app;
-- Analysts read every column but the password hash. A column added later is
-- not readable until it is granted here too: secrets stay closed by default.
GRANT SELECT (
    id, email, phone, role, status, locale, timezone, tax_no, company_name,
    tax_office, email_verified_at, phone_verified_at, last_login_at, metadata,
    created_at, updated_at, deleted_at
) ON users TO cadcam_readonly;
ALTER TABLE sessions OWNER TO cadcam_owner;
-- DELETE: a sign-out may remove its session outright.
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions TO cadcam_app;
-- Analysts never see the token hash or the access token id.
GRANT SELECT (
    id, user_id, device_fingerprint, ip_address, user_agent, created_at,
    last_used_at, expires_at, revoked_at
) ON sessions TO cadcam_readonly;
ALTER TABLE licenses OWNER TO cadcam_owner;
GRANT SELECT, INSERT, UPDATE ON licenses TO cadcam_app;
GRANT SELECT ON licenses TO cadcam_readonly;
ALTER TABLE models OWNER TO cadcam_owner;
GRANT SELECT, INSERT, UPDATE ON models TO cadcam_app;
-- Workers read the model they process and write back what they measured.
GRANT SELECT, UPDATE (thumbnail_key, metrics) ON models TO cadcam_worker;
GRANT SELECT ON models TO cadcam_readonly;
ALTER TABLE jobs OWNER TO cadcam_owner;
GRANT SELECT, INSERT, UPDATE ON jobs TO cadcam_app;
-- Workers claim jobs and report progress, metrics, results and errors; what
-- a job is, whose it is and its keys are the application's to set.
GRANT SELECT, UPDATE (
    status, progress, metrics, result, error_message, retry_count,
    celery_task_id, started_at, finished_at
) ON jobs TO cadcam_worker;
GRANT SELECT ON jobs TO cadcam_readonly;
