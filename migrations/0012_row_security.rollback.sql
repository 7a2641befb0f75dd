-- Rollback of 0012_row_security: the sign-up, sign-in and refresh
-- functions go, row-level security is switched off and its policies
-- dropped, cadcam_admin loses its grants, and app_user_id() goes.

DROP FUNCTION session_for_refresh(bytea);
DROP FUNCTION user_for_login(text);
DROP FUNCTION register_user(text, text, text, public.user_locale, text);
DROP POLICY pol_models_worker_select ON models;
DROP POLICY pol_models_worker_update ON models;
DROP POLICY pol_jobs_worker_select ON jobs;
DROP POLICY pol_jobs_worker_update ON jobs;
DROP POLICY pol_users_app ON users;
DROP POLICY pol_users_readonly ON users;
DROP POLICY pol_users_admin ON users;
DROP POLICY pol_users_owner ON users;
ALTER TABLE users NO FORCE ROW LEVEL SECURITY;
ALTER TABLE users DISABLE ROW LEVEL SECURITY;
DROP POLICY pol_sessions_app ON sessions;
DROP POLICY pol_sessions_readonly ON sessions;
DROP POLICY pol_sessions_admin ON sessions;
DROP POLICY pol_sessions_owner ON sessions;
ALTER TABLE sessions NO FORCE ROW LEVEL SECURITY;
ALTER TABLE sessions DISABLE ROW LEVEL SECURITY;
DROP POLICY pol_licenses_app ON licenses;
DROP POLICY pol_licenses_readonly ON licenses;
DROP POLICY pol_licenses_admin ON licenses;
DROP POLICY pol_licenses_owner ON licenses;
ALTER TABLE licenses NO FORCE ROW LEVEL SECURITY;
ALTER TABLE licenses DISABLE ROW LEVEL SECURITY;
DROP POLICY pol_models_app ON models;
DROP POLICY pol_models_readonly ON models;
DROP POLICY pol_models_admin ON models;
DROP POLICY pol_models_owner ON models;
ALTER TABLE models NO FORCE ROW LEVEL SECURITY;
ALTER TABLE models DISABLE ROW LEVEL SECURITY;
DROP POLICY pol_jobs_app ON jobs;
DROP POLICY pol_jobs_readonly ON jobs;
DROP POLICY pol_jobs_admin ON jobs;
DROP POLICY pol_jobs_owner ON jobs;
ALTER TABLE jobs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE jobs DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON users, sessions, licenses, models, jobs FROM cadcam_admin;
REVOKE UPDATE (
    email, phone, password_hash, status, locale, timezone, tax_no,
    company_name, tax_office, email_verified_at, phone_verified_at,
    last_login_at, metadata, deleted_at
) ON users FROM cadcam_app;
GRANT INSERT, UPDATE ON users TO cadcam_app;
REVOKE EXECUTE ON FUNCTION
is_valid_tckn(text), is_valid_vkn(text), is_valid_timezone(text)
FROM cadcam_admin;
DROP FUNCTION app_user_id();
