-- 0034_comments_set_acting_user: the sign-up, sign-in and refresh functions'
-- comments, and audit_log.acting_user_id's, name the one way to set the
-- acting user, set_acting_user().
--
-- Why: their comments still told the application to set app.user_id, which
-- app_user_id() has ignored since 0024 unless set_acting_user() wrote it in
-- the same transaction: an application following the comment acts for no one
-- and sees nothing.
-- Rollout: COMMENT ON only: a catalog row each, no lock the traffic meets.
-- depends: 0033_jobs_idempotency_key_per_user

COMMENT ON FUNCTION register_user(text, text, text, public.user_locale, text) IS
'Sign-up: creates a pending account and returns its id; then the application calls set_acting_user() with it. SECURITY DEFINER because no acting user exists before the account does, so row-level security would refuse the row.';

COMMENT ON FUNCTION user_for_login(text) IS
'Sign-in: the id, password hash and status of the account with this (lower-case) e-mail, or no row. The application verifies the password, then calls set_acting_user() with the id. SECURITY DEFINER because the account is found before there is an acting user.';

COMMENT ON FUNCTION session_for_refresh(bytea) IS
'Token refresh: the session whose refresh token has this SHA-256 digest, or no row. The application checks expires_at and revoked_at, then calls set_acting_user() with user_id. SECURITY DEFINER because the session is found before there is an acting user.';

COMMENT ON COLUMN audit_log.acting_user_id IS
'The acting user of the transaction (app_user_id(): the user set_acting_user() named in it); NULL when none was named (sign-up, workers, administrators, maintenance).';
