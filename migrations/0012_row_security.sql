-- 0012_row_security: row-level security on the five core tables, the acting
-- user app_user_id(), cadcam_admin's grants, and the sign-up, sign-in and
-- refresh functions that run before there is an acting user.
--
-- Why: the application must see and change only the acting user's rows,
-- whatever SQL it sends, and see nothing when it names no user (issue 5).
-- Rollout: ENABLE/FORCE ROW LEVEL SECURITY and CREATE POLICY take a brief
-- ACCESS EXCLUSIVE lock per table (the runner's lock_timeout bounds the
-- wait). Ship it with the application release that sets app.user_id in
-- every transaction and signs up, signs in and refreshes through the three
-- functions: from this migration on, a transaction without app.user_id
-- sees no row. Setting app.user_id is harmless before it, so that release
-- can go first.
-- depends: 0011_admin_role

-- -----------------------------------------------------------------------------
-- Acting user of row-level security
-- -----------------------------------------------------------------------------
-- The application names the user it acts for at the start of each
-- transaction: SET LOCAL app.user_id = '42' (or set_config('app.user_id',
-- '42', true)). Policies compare rows with this value. Anything but a
-- positive number of 1 to 18 digits without a leading zero, including a
-- missing or reset setting (''), is NULL, and NULL matches no row: without
-- an acting user the application sees nothing and no error tells it why.
-- One spelling per id ('007' is not 7). 18 digits always fit a bigint, so
-- the cast cannot fail. Policies call it as (SELECT app_user_id()): an init plan, evaluated
-- once per statement instead of once per row.
CREATE FUNCTION app_user_id()
RETURNS bigint
LANGUAGE sql
STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE
    WHEN current_setting('app.user_id', TRUE) ~ '^[1-9][0-9]{0,17}$'
        THEN current_setting('app.user_id', TRUE)::bigint
END;

COMMENT ON FUNCTION app_user_id() IS
'The acting user of this transaction, from the setting app.user_id (SET LOCAL app.user_id = ''42''); NULL when the setting is missing, empty or not a positive number of 1 to 18 digits without a leading zero, so that row-level security fails closed.';

ALTER FUNCTION app_user_id() OWNER TO cadcam_owner;
REVOKE EXECUTE ON FUNCTION app_user_id() FROM PUBLIC;
-- Policies run their expressions with the privileges of the querying role.
GRANT EXECUTE ON FUNCTION app_user_id() TO cadcam_app;
GRANT EXECUTE ON FUNCTION
is_valid_tckn(text), is_valid_vkn(text), is_valid_timezone(text)
TO cadcam_admin;
GRANT SELECT, INSERT, UPDATE ON users TO cadcam_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions TO cadcam_admin;
GRANT SELECT, INSERT, UPDATE ON licenses TO cadcam_admin;
GRANT SELECT, INSERT, UPDATE ON models TO cadcam_admin;
GRANT SELECT, INSERT, UPDATE ON jobs TO cadcam_admin;
-- The application makes accounts through register_user() only, so that it
-- cannot pick an id, a role or a status; it may change what a user changes
-- about themselves, never their role (an operator's decision) or the keys
-- and times the database keeps.
REVOKE INSERT, UPDATE ON users FROM cadcam_app;
GRANT UPDATE (
    email, phone, password_hash, status, locale, timezone, tax_no,
    company_name, tax_office, email_verified_at, phone_verified_at,
    last_login_at, metadata, deleted_at
) ON users TO cadcam_app;

-- -----------------------------------------------------------------------------
-- Row-level security (acting user: app_user_id() in 20_functions.sql)
-- -----------------------------------------------------------------------------
-- FORCE makes the owner obey the policies too: functions that run as the
-- owner (SECURITY DEFINER) reach rows only through pol_users_owner.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
-- The application sees and changes the acting user's own account only. An
-- account is made by register_user() (85_accounts.sql): before sign-up
-- there is no acting user whose id the new row could match.
CREATE POLICY pol_users_app ON users FOR ALL TO cadcam_app
USING (id = (SELECT app_user_id()))
WITH CHECK (id = (SELECT app_user_id()));
CREATE POLICY pol_users_readonly ON users FOR SELECT TO cadcam_readonly
USING (TRUE);
CREATE POLICY pol_users_admin ON users FOR ALL TO cadcam_admin
USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY pol_users_owner ON users FOR ALL TO cadcam_owner
USING (TRUE) WITH CHECK (TRUE);

-- -----------------------------------------------------------------------------
-- Row-level security (acting user: app_user_id() in 20_functions.sql)
-- -----------------------------------------------------------------------------
-- FORCE makes the owner obey the policies too: functions that run as the
-- owner (SECURITY DEFINER) reach rows only through pol_sessions_owner.
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
-- The application sees and changes the acting user's sessions only, and can
-- neither write a row for another user nor move a row to one.
CREATE POLICY pol_sessions_app ON sessions FOR ALL TO cadcam_app
USING (user_id = (SELECT app_user_id()))
WITH CHECK (user_id = (SELECT app_user_id()));
CREATE POLICY pol_sessions_readonly ON sessions FOR SELECT TO cadcam_readonly
USING (TRUE);
CREATE POLICY pol_sessions_admin ON sessions FOR ALL TO cadcam_admin
USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY pol_sessions_owner ON sessions FOR ALL TO cadcam_owner
USING (TRUE) WITH CHECK (TRUE);

-- -----------------------------------------------------------------------------
-- Row-level security (acting user: app_user_id() in 20_functions.sql)
-- -----------------------------------------------------------------------------
-- FORCE makes the owner obey the policies too: functions that run as the
-- owner (SECURITY DEFINER) reach rows only through pol_licenses_owner.
ALTER TABLE licenses ENABLE ROW LEVEL SECURITY;
ALTER TABLE licenses FORCE ROW LEVEL SECURITY;
-- The application sees and changes the acting user's licenses only, and can
-- neither write a row for another user nor move a row to one.
CREATE POLICY pol_licenses_app ON licenses FOR ALL TO cadcam_app
USING (user_id = (SELECT app_user_id()))
WITH CHECK (user_id = (SELECT app_user_id()));
CREATE POLICY pol_licenses_readonly ON licenses FOR SELECT TO cadcam_readonly
USING (TRUE);
CREATE POLICY pol_licenses_admin ON licenses FOR ALL TO cadcam_admin
USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY pol_licenses_owner ON licenses FOR ALL TO cadcam_owner
USING (TRUE) WITH CHECK (TRUE);

-- -----------------------------------------------------------------------------
-- Row-level security (acting user: app_user_id() in 20_functions.sql)
-- -----------------------------------------------------------------------------
-- FORCE makes the owner obey the policies too: functions that run as the
-- owner (SECURITY DEFINER) reach rows only through pol_models_owner.
ALTER TABLE models ENABLE ROW LEVEL SECURITY;
ALTER TABLE models FORCE ROW LEVEL SECURITY;
-- The application sees and changes the acting user's models only, and can
-- neither write a row for another user nor move a row to one.
CREATE POLICY pol_models_app ON models FOR ALL TO cadcam_app
USING (user_id = (SELECT app_user_id()))
WITH CHECK (user_id = (SELECT app_user_id()));
CREATE POLICY pol_models_readonly ON models FOR SELECT TO cadcam_readonly
USING (TRUE);
CREATE POLICY pol_models_admin ON models FOR ALL TO cadcam_admin
USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY pol_models_owner ON models FOR ALL TO cadcam_owner
USING (TRUE) WITH CHECK (TRUE);

-- -----------------------------------------------------------------------------
-- Row-level security (acting user: app_user_id() in 20_functions.sql)
-- -----------------------------------------------------------------------------
-- FORCE makes the owner obey the policies too: functions that run as the
-- owner (SECURITY DEFINER) reach rows only through pol_jobs_owner.
ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
-- The application sees and changes the acting user's jobs only, and can
-- neither write a row for another user nor move a row to one.
CREATE POLICY pol_jobs_app ON jobs FOR ALL TO cadcam_app
USING (user_id = (SELECT app_user_id()))
WITH CHECK (user_id = (SELECT app_user_id()));
CREATE POLICY pol_jobs_readonly ON jobs FOR SELECT TO cadcam_readonly
USING (TRUE);
CREATE POLICY pol_jobs_admin ON jobs FOR ALL TO cadcam_admin
USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY pol_jobs_owner ON jobs FOR ALL TO cadcam_owner
USING (TRUE) WITH CHECK (TRUE);
-- Workers see the jobs still to run or running, whoever owns them, and move
-- them on to a finished state. A finished job stays visible for 7 days (a
-- redelivered Celery task must find its job done, and UPDATE ... RETURNING
-- must see the row it finished) but can no longer be changed: a late,
-- stale worker cannot overwrite a result.
CREATE POLICY pol_jobs_worker_select ON jobs FOR SELECT TO cadcam_worker
USING (
    status IN ('pending', 'queued', 'running')
    OR finished_at > now() - interval '7 days'
);
CREATE POLICY pol_jobs_worker_update ON jobs FOR UPDATE TO cadcam_worker
USING (status IN ('pending', 'queued', 'running'))
WITH CHECK (TRUE);
-- ... and the models of those jobs only (policies of models that read jobs
-- stand here, where jobs exists).
CREATE POLICY pol_models_worker_select ON models FOR SELECT TO cadcam_worker
USING (
    EXISTS (
        SELECT FROM jobs
        WHERE
            jobs.model_id = models.id
            AND jobs.status IN ('pending', 'queued', 'running')
    )
);
CREATE POLICY pol_models_worker_update ON models FOR UPDATE TO cadcam_worker
USING (
    EXISTS (
        SELECT FROM jobs
        WHERE
            jobs.model_id = models.id
            AND jobs.status IN ('pending', 'queued', 'running')
    )
)
WITH CHECK (TRUE);

-- =============================================================================
-- Account functions: sign-up, sign-in and refresh before there is an acting
-- user, and erasure of a user's personal data (KVKK / GDPR)
-- =============================================================================
-- Row-level security lets the application see only the acting user's rows,
-- but three steps come before the application knows who acts: sign-up (the
-- new id does not exist yet), sign-in (the account is found by e-mail) and
-- token refresh (the session is found by its token hash). Each is a
-- SECURITY DEFINER function that does exactly that one step as the owner
-- and returns only what the step needs. search_path is pinned and every
-- name qualified, so a caller's search_path cannot redirect them.

-- -----------------------------------------------------------------------------
-- Sign-up
-- -----------------------------------------------------------------------------
-- The account starts pending with the default role; the rules of users
-- apply as to any insert, and name themselves when broken (uq_users_email
-- for an address already registered).
CREATE FUNCTION register_user(
    email text,
    password_hash text,
    phone text DEFAULT NULL,
    locale public.user_locale DEFAULT 'tr',
    timezone text DEFAULT 'Europe/Istanbul'
)
RETURNS bigint
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO public.users (email, password_hash, phone, locale, timezone)
    VALUES (
        register_user.email,
        register_user.password_hash,
        register_user.phone,
        register_user.locale,
        register_user.timezone
    )
    RETURNING id;
END;

COMMENT ON FUNCTION register_user(text, text, text, public.user_locale, text) IS
'Sign-up: creates a pending account and returns its id; then the application sets app.user_id to it. SECURITY DEFINER because no acting user exists before the account does, so row-level security would refuse the row.';

-- -----------------------------------------------------------------------------
-- Sign-in
-- -----------------------------------------------------------------------------
CREATE FUNCTION user_for_login(login_email text)
RETURNS TABLE (id bigint, password_hash text, status public.user_status)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    -- Unqualified names are columns: in an SQL function a column hides a
    -- parameter (or an output column) of the same name.
    SELECT
        id,
        password_hash,
        status
    FROM public.users
    WHERE email = login_email;
END;

COMMENT ON FUNCTION user_for_login(text) IS
'Sign-in: the id, password hash and status of the account with this (lower-case) e-mail, or no row. The application verifies the password, then sets app.user_id. SECURITY DEFINER because the account is found before there is an acting user.';

-- -----------------------------------------------------------------------------
-- Token refresh
-- -----------------------------------------------------------------------------
CREATE FUNCTION session_for_refresh(token_hash bytea)
RETURNS TABLE (
    id bigint, user_id bigint, expires_at timestamptz, revoked_at timestamptz
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT
        id,
        user_id,
        expires_at,
        revoked_at
    FROM public.sessions
    WHERE refresh_token_hash = token_hash;
END;

COMMENT ON FUNCTION session_for_refresh(bytea) IS
'Token refresh: the session whose refresh token has this SHA-256 digest, or no row. The application checks expires_at and revoked_at, then sets app.user_id to user_id. SECURITY DEFINER because the session is found before there is an acting user.';

ALTER FUNCTION register_user(text, text, text, public.user_locale, text)
OWNER TO cadcam_owner;
ALTER FUNCTION user_for_login(text) OWNER TO cadcam_owner;
ALTER FUNCTION session_for_refresh(bytea) OWNER TO cadcam_owner;
REVOKE EXECUTE ON FUNCTION
register_user(text, text, text, public.user_locale, text),
user_for_login(text),
session_for_refresh(bytea)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
register_user(text, text, text, public.user_locale, text),
user_for_login(text),
session_for_refresh(bytea)
TO cadcam_app, cadcam_admin;
