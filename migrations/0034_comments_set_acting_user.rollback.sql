-- Rollback of 0034_comments_set_acting_user: the comments as they were.

COMMENT ON FUNCTION register_user(text, text, text, public.user_locale, text) IS
'Sign-up: creates a pending account and returns its id; then the application sets app.user_id to it. SECURITY DEFINER because no acting user exists before the account does, so row-level security would refuse the row.';

COMMENT ON FUNCTION user_for_login(text) IS
'Sign-in: the id, password hash and status of the account with this (lower-case) e-mail, or no row. The application verifies the password, then sets app.user_id. SECURITY DEFINER because the account is found before there is an acting user.';

COMMENT ON FUNCTION session_for_refresh(bytea) IS
'Token refresh: the session whose refresh token has this SHA-256 digest, or no row. The application checks expires_at and revoked_at, then sets app.user_id to user_id. SECURITY DEFINER because the session is found before there is an acting user.';

COMMENT ON COLUMN audit_log.acting_user_id IS
'The acting user of the transaction (app_user_id(), from the setting app.user_id); NULL when none was set (sign-up, workers, administrators, maintenance).';
