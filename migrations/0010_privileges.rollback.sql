-- Rollback of 0010_privileges: hands every object back to the role running
-- the rollback and restores PostgreSQL's default privileges on them.

ALTER TYPE user_role OWNER TO CURRENT_USER;
ALTER TYPE user_status OWNER TO CURRENT_USER;
ALTER TYPE user_locale OWNER TO CURRENT_USER;
ALTER TYPE license_plan OWNER TO CURRENT_USER;
ALTER TYPE license_status OWNER TO CURRENT_USER;
ALTER TYPE model_type OWNER TO CURRENT_USER;
ALTER TYPE model_file_format OWNER TO CURRENT_USER;
ALTER TYPE job_type OWNER TO CURRENT_USER;
ALTER TYPE job_status OWNER TO CURRENT_USER;
REVOKE ALL ON users, sessions, licenses, models, jobs
FROM cadcam_app, cadcam_worker, cadcam_readonly;
REVOKE ALL (
    id, email, phone, role, status, locale, timezone, tax_no, company_name,
    tax_office, email_verified_at, phone_verified_at, last_login_at, metadata,
    created_at, updated_at, deleted_at
) ON users FROM cadcam_readonly;
REVOKE ALL (
    id, user_id, device_fingerprint, ip_address, user_agent, created_at,
    last_used_at, expires_at, revoked_at
) ON sessions FROM cadcam_readonly;
REVOKE ALL (thumbnail_key, metrics) ON models FROM cadcam_worker;
REVOKE ALL (
    status, progress, metrics, result, error_message, retry_count,
    celery_task_id, started_at, finished_at
) ON jobs FROM cadcam_worker;
ALTER TABLE users OWNER TO CURRENT_USER;
ALTER TABLE sessions OWNER TO CURRENT_USER;
ALTER TABLE licenses OWNER TO CURRENT_USER;
ALTER TABLE models OWNER TO CURRENT_USER;
ALTER TABLE jobs OWNER TO CURRENT_USER;
REVOKE EXECUTE ON FUNCTION
is_valid_tckn(text), is_valid_vkn(text), is_valid_timezone(text)
FROM cadcam_app;
GRANT EXECUTE ON FUNCTION
is_valid_tckn(text), is_valid_vkn(text), is_valid_timezone(text), set_updated_at()
TO PUBLIC;
ALTER FUNCTION is_valid_tckn(text) OWNER TO CURRENT_USER;
ALTER FUNCTION is_valid_vkn(text) OWNER TO CURRENT_USER;
ALTER FUNCTION is_valid_timezone(text) OWNER TO CURRENT_USER;
ALTER FUNCTION set_updated_at() OWNER TO CURRENT_USER;
