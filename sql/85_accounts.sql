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
'Sign-up: creates a pending account and returns its id; then the application calls set_acting_user() with it. SECURITY DEFINER because no acting user exists before the account does, so row-level security would refuse the row.';

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
'Sign-in: the id, password hash and status of the account with this (lower-case) e-mail, or no row. The application verifies the password, then calls set_acting_user() with the id. SECURITY DEFINER because the account is found before there is an acting user.';

-- -----------------------------------------------------------------------------
-- Token refresh
-- -----------------------------------------------------------------------------
-- PL/pgSQL, not a LANGUAGE sql body: a SECURITY DEFINER function is never
-- inlined, and a LANGUAGE sql one plans its statement again in every call;
-- PL/pgSQL keeps the plan for the connection. The token refresh is the
-- busiest query of the platform: about twice the calls a second (0038).
CREATE FUNCTION session_for_refresh(token_hash bytea)
RETURNS TABLE (
    id bigint, user_id bigint, expires_at timestamptz, revoked_at timestamptz
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT
        s.id,
        s.user_id,
        s.expires_at,
        s.revoked_at
    FROM public.sessions AS s
    WHERE s.refresh_token_hash = token_hash;
END;
$$;

COMMENT ON FUNCTION session_for_refresh(bytea) IS
'Token refresh: the session whose refresh token has this SHA-256 digest, or no row. The application checks expires_at and revoked_at, then calls set_acting_user() with user_id. SECURITY DEFINER because the session is found before there is an acting user.';

-- -----------------------------------------------------------------------------
-- Erasure of personal data (KVKK Law No. 6698 art. 7, GDPR art. 17)
-- -----------------------------------------------------------------------------
-- Anonymizes the account in place, so that licenses, models and jobs keep
-- their keys and their owner for the records the law requires (invoices,
-- production history), and nothing personal of the user is left:
--   users     e-mail becomes erased-<id>@erased.invalid (unique, valid,
--             undeliverable: .invalid is reserved by RFC 2606); phone,
--             password hash, tax number, company name, tax office and
--             verification times are cleared, metadata emptied; status
--             deleted with deleted_at.
--   sessions  revoked; device fingerprint, address and user agent cleared;
--             token hash and token id replaced by values derived from the
--             session id, which no client holds.
--   audit_log the personal values of the user's earlier entries (users and
--             sessions) are removed and named in redacted_columns;
--             the entries themselves stay.
-- Idempotent: a second call finds nothing to change, writes nothing and
-- returns false. An erasure that changed something ends with an 'erase'
-- entry saying how much was scrubbed.
CREATE FUNCTION erase_user(user_id bigint)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target bigint := erase_user.user_id;
    erased_email text := format('erased-%s@erased.invalid', erase_user.user_id);
    personal text [] := ARRAY[
        'email', 'phone', 'tax_no', 'company_name', 'tax_office', 'metadata',
        'device_fingerprint', 'ip_address', 'user_agent'
    ];
    users_changed bigint;
    sessions_changed bigint;
    entries_changed bigint;
BEGIN
    PERFORM FROM public.users AS u WHERE u.id = target FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'user % does not exist', target
            USING ERRCODE = 'no_data_found';
    END IF;

    UPDATE public.users AS u SET
        email = erased_email,
        phone = NULL,
        password_hash = NULL,
        tax_no = NULL,
        company_name = NULL,
        tax_office = NULL,
        email_verified_at = NULL,
        phone_verified_at = NULL,
        metadata = '{}',
        status = 'deleted',
        deleted_at = coalesce(u.deleted_at, greatest(now(), u.created_at))
    WHERE u.id = target
        AND (u.email, u.phone, u.password_hash, u.tax_no, u.company_name,
             u.tax_office, u.email_verified_at, u.phone_verified_at,
             u.metadata, u.status)
        IS DISTINCT FROM
            (erased_email, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
             '{}'::jsonb, 'deleted'::public.user_status);
    GET DIAGNOSTICS users_changed = ROW_COUNT;

    UPDATE public.sessions AS s SET
        revoked_at = coalesce(s.revoked_at, greatest(now(), s.created_at)),
        device_fingerprint = NULL,
        ip_address = NULL,
        user_agent = NULL,
        refresh_token_hash = sha256(convert_to('erased-session-' || s.id, 'UTF8')),
        access_token_jti = md5('erased-session-' || s.id)::uuid
    WHERE s.user_id = target
        AND (s.revoked_at IS NULL
            OR s.device_fingerprint IS NOT NULL
            OR s.ip_address IS NOT NULL
            OR s.user_agent IS NOT NULL
            OR s.access_token_jti <> md5('erased-session-' || s.id)::uuid);
    GET DIAGNOSTICS sessions_changed = ROW_COUNT;

    -- Last: the two statements above wrote audit entries of their own, with
    -- the old personal values, which go too.
    UPDATE public.audit_log AS a SET
        old_values = a.old_values - personal,
        new_values = a.new_values - personal,
        redacted_columns = ARRAY(
            SELECT DISTINCT c COLLATE "C"
            FROM unnest(a.redacted_columns || ARRAY(
                SELECT k FROM unnest(personal) AS k
                WHERE a.old_values ? k OR a.new_values ? k
            )) AS c
            ORDER BY 1
        )
    WHERE a.subject_user_id = target
        AND a.table_name IN ('users', 'sessions')
        AND (a.old_values ?| personal OR a.new_values ?| personal);
    GET DIAGNOSTICS entries_changed = ROW_COUNT;

    IF users_changed + sessions_changed + entries_changed = 0 THEN
        RETURN FALSE;
    END IF;
    INSERT INTO public.audit_log (
        table_name, row_id, subject_user_id, action, new_values
    ) VALUES (
        'users',
        target,
        target,
        'erase',
        jsonb_build_object(
            'users', users_changed,
            'sessions', sessions_changed,
            'audit_entries', entries_changed
        )
    );
    RETURN TRUE;
END;
$$;

COMMENT ON FUNCTION erase_user(bigint) IS
'KVKK/GDPR erasure on request: anonymizes the user''s account, revokes and scrubs their sessions, removes their personal values from earlier audit entries, and keeps licenses, models and jobs. Returns true when it changed something (and wrote an erase entry), false when the user was already erased. Raises no_data_found for an unknown user. SECURITY DEFINER because it must scrub audit_log, which only the owner may change.';

-- -----------------------------------------------------------------------------
-- Owner and privileges (see 05_roles.sql)
-- -----------------------------------------------------------------------------
ALTER FUNCTION register_user(text, text, text, public.user_locale, text)
OWNER TO cadcam_owner;
ALTER FUNCTION user_for_login(text) OWNER TO cadcam_owner;
ALTER FUNCTION session_for_refresh(bytea) OWNER TO cadcam_owner;
ALTER FUNCTION erase_user(bigint) OWNER TO cadcam_owner;
REVOKE EXECUTE ON FUNCTION
register_user(text, text, text, public.user_locale, text),
user_for_login(text),
session_for_refresh(bytea),
erase_user(bigint)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
register_user(text, text, text, public.user_locale, text),
user_for_login(text),
session_for_refresh(bytea)
TO cadcam_app, cadcam_admin;
-- Erasure is an operator's decision on a verified request, not the app's.
GRANT EXECUTE ON FUNCTION erase_user(bigint) TO cadcam_admin;
