-- =============================================================================
-- Validation and trigger functions
-- =============================================================================
-- Every function pins search_path so that a caller's search_path can never
-- redirect an unqualified name to an object of the caller's choosing.
-- Validation functions are IMMUTABLE (their answer depends on the argument
-- only) and STRICT (NULL in, NULL out: a CHECK treats NULL as passing, so a
-- nullable column stays optional).

-- -----------------------------------------------------------------------------
-- Turkish identity number (TC Kimlik No, TCKN)
-- -----------------------------------------------------------------------------
-- CASE, not AND, guards the integer casts: CASE evaluates its branches in
-- order, AND may evaluate either side first.
CREATE FUNCTION is_valid_tckn(tckn text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE
    WHEN tckn !~ '^[1-9][0-9]{10}$' THEN FALSE
    ELSE (
        SELECT
            (
                (
                    7 * (d[1] + d[3] + d[5] + d[7] + d[9])
                    - (d[2] + d[4] + d[6] + d[8])
                ) % 10 + 10
            ) % 10 = d[10]
            AND (
                d[1] + d[2] + d[3] + d[4] + d[5]
                + d[6] + d[7] + d[8] + d[9] + d[10]
            ) % 10 = d[11]
        FROM (
            SELECT string_to_array(tckn, NULL)::integer[] AS d
        ) AS digits
    )
END;

COMMENT ON FUNCTION is_valid_tckn(text) IS
'True when the text is a valid Turkish identity number (TCKN). Algorithm: exactly 11 ASCII digits d1..d11, d1 not 0; d10 = ((d1+d3+d5+d7+d9)*7 - (d2+d4+d6+d8)) mod 10, taking the non-negative remainder; d11 = (d1+d2+...+d10) mod 10. NULL for NULL.';

-- -----------------------------------------------------------------------------
-- Turkish tax number (Vergi Kimlik No, VKN)
-- -----------------------------------------------------------------------------
CREATE FUNCTION is_valid_vkn(vkn text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE
    WHEN vkn !~ '^[0-9]{10}$' THEN FALSE
    ELSE (
        SELECT (10 - sum(v) % 10) % 10 = substr(vkn, 10, 1)::integer
        FROM (
            SELECT
                CASE
                    WHEN t <> 0 AND t * (1 << (10 - p)) % 9 = 0
                        THEN 9
                    ELSE t * (1 << (10 - p)) % 9
                END AS v
            FROM (
                SELECT
                    p,
                    (substr(vkn, p, 1)::integer + 10 - p) % 10 AS t
                FROM generate_series(1, 9) AS p
            ) AS digits
        ) AS weighted
    )
END;

COMMENT ON FUNCTION is_valid_vkn(text) IS
'True when the text is a valid Turkish tax number (VKN). Algorithm: exactly 10 ASCII digits d1..d10; for each position p = 1..9, t = (dp + 10 - p) mod 10 and v = (t * 2^(10 - p)) mod 9, except that v = 9 when t <> 0 and that remainder is 0; then d10 = (10 - (v1+...+v9) mod 10) mod 10. NULL for NULL.';

-- -----------------------------------------------------------------------------
-- IANA time zone name
-- -----------------------------------------------------------------------------
-- pg_timezone_names reads every zone file on each call (about 20 ms here), so
-- the common case asks the server's zone loader instead: setting TimeZone
-- succeeds only for a zone file or a POSIX-style rule ("UTC+3"), and reads
-- back the file's canonical spelling. POSIX rules always carry a digit, so a
-- name with a digit (Etc/GMT+3, EST5EDT) is confirmed against
-- pg_timezone_names. The SET clause restores TimeZone when the function ends.
-- Declared IMMUTABLE like the other validators: the zone list changes only
-- with a server upgrade, which is when a DBA re-validates data anyway.
CREATE FUNCTION is_valid_timezone(tz text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
AS $$
BEGIN
    -- Shape of an IANA name: '/'-separated parts of letters, digits, _ + -.
    -- localtime and posixrules are host artefacts of the tz database, not zones.
    IF tz !~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9][A-Za-z0-9_+-]*)*$'
        OR tz IN ('localtime', 'posixrules') THEN
        RETURN FALSE;
    END IF;
    PERFORM set_config('timezone', tz, TRUE);
    -- The loader accepts any letter case; the stored name must be canonical.
    IF current_setting('timezone') <> tz THEN
        RETURN FALSE;
    END IF;
    IF tz ~ '[0-9]' THEN
        RETURN EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = tz);
    END IF;
    RETURN TRUE;
EXCEPTION
    WHEN invalid_parameter_value THEN
        RETURN FALSE;
END;
$$;

COMMENT ON FUNCTION is_valid_timezone(text) IS
'True when the text is the canonical, case-exact name of an IANA time zone known to this server (Europe/Istanbul, UTC, Etc/GMT+3); false for abbreviations (PST), POSIX rules (UTC+3), wrong letter case and unknown names. NULL for NULL.';

-- -----------------------------------------------------------------------------
-- updated_at maintenance
-- -----------------------------------------------------------------------------
CREATE FUNCTION set_updated_at()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- now() is the transaction start: every row changed by one transaction
    -- gets the same updated_at, which makes a change set easy to find.
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION set_updated_at() IS
'BEFORE UPDATE trigger function: stamps updated_at with the transaction time, so the column is right whatever the application sends.';

-- -----------------------------------------------------------------------------
-- Acting user of row-level security
-- -----------------------------------------------------------------------------
-- The application names the user it acts for at the start of each
-- transaction, one way only: SELECT set_acting_user(42). Behind a pooler in
-- transaction mode (PgBouncer) consecutive transactions of one server
-- connection belong to different clients, so only a setting made for this
-- very transaction may count: set_acting_user() writes app.user_id as
-- '<id>/<transaction start>', transaction-local, and app_user_id() answers
-- the id only while now() is that start. A plain SET app.user_id = '42',
-- session-level by a one-word slip, or a stamped value left by a session
-- SET, acts as no one: in no later transaction of the connection is now()
-- the same (0024_set_acting_user, 0025_acting_user_per_transaction).
-- The start is written as extract(epoch ...) so that it reads the same
-- whatever the session's DateStyle or TimeZone.
CREATE FUNCTION set_acting_user(user_id bigint)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF user_id IS NULL THEN
        PERFORM set_config('app.user_id', '', TRUE);
        RETURN NULL;
    END IF;
    -- app_user_id() reads 1 to 18 digits back: every id an identity makes.
    IF user_id NOT BETWEEN 1 AND 999999999999999999 THEN
        RAISE EXCEPTION 'set_acting_user: a user id is from 1 to 999999999999999999, not %',
            user_id USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- is_local: the setting ends with the transaction, commit or rollback.
    PERFORM set_config(
        'app.user_id', user_id::text || '/' || extract(EPOCH FROM now())::text, TRUE
    );
    RETURN user_id;
END;
$$;

COMMENT ON FUNCTION set_acting_user(bigint) IS
'Names the user this transaction acts for (row-level security, audit entries) until it ends; call it first in every transaction: SELECT set_acting_user(42). NULL acts as no one. Writes app.user_id transaction-locally, stamped with the transaction''s start, so that no later transaction of a pooled connection can act as that user.';

-- Anything but what set_acting_user() wrote in this transaction, including
-- a missing or reset setting (''), is NULL, and NULL matches no row:
-- without an acting user the application sees nothing and no error tells
-- it why. The id is 1 to 18 digits without a leading zero (one spelling
-- per id; 18 digits always fit a bigint, so the cast cannot fail).
-- Policies call it as (SELECT app_user_id()): an init plan, evaluated once
-- per statement instead of once per row.
-- PL/pgSQL, not SQL: a SQL function with a SET clause is never inlined, and
-- PostgreSQL 17 plans its body again in every statement that calls it
-- (about 25 us, paid by every audit entry and every statement of the
-- application under row-level security); PL/pgSQL keeps its plan for the
-- session (0021_app_user_id_plpgsql, measured with make bench).
CREATE FUNCTION app_user_id()
RETURNS bigint
LANGUAGE plpgsql
STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    setting text := current_setting('app.user_id', TRUE);
    id text := split_part(setting, '/', 1);
BEGIN
    IF id ~ '^[1-9][0-9]{0,17}$'
        AND setting = id || '/' || extract(EPOCH FROM now())::text THEN
        RETURN id::bigint;
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION app_user_id() IS
'The acting user of this transaction, as set_acting_user() named it; NULL when it was not called in this transaction (a value of app.user_id set any other way, or left by an earlier transaction, counts for no one), so that row-level security fails closed.';

-- -----------------------------------------------------------------------------
-- Owner and privileges (see 05_roles.sql)
-- -----------------------------------------------------------------------------
ALTER FUNCTION is_valid_tckn(text) OWNER TO cadcam_owner;
ALTER FUNCTION is_valid_vkn(text) OWNER TO cadcam_owner;
ALTER FUNCTION is_valid_timezone(text) OWNER TO cadcam_owner;
ALTER FUNCTION set_updated_at() OWNER TO cadcam_owner;
ALTER FUNCTION set_acting_user(bigint) OWNER TO cadcam_owner;
ALTER FUNCTION app_user_id() OWNER TO cadcam_owner;
REVOKE EXECUTE ON FUNCTION
is_valid_tckn(text), is_valid_vkn(text), is_valid_timezone(text), set_updated_at(),
set_acting_user(bigint), app_user_id()
FROM PUBLIC;
-- The CHECK constraints of users call the validators with the privileges of
-- whoever writes the row. A trigger function needs no grant: it runs as
-- its trigger, which only the table owner can create.
GRANT EXECUTE ON FUNCTION
is_valid_tckn(text), is_valid_vkn(text), is_valid_timezone(text)
TO cadcam_app, cadcam_admin;
-- The application, and an operator acting on a user's behalf, name the
-- acting user; policies run their expressions with the privileges of the
-- querying role.
GRANT EXECUTE ON FUNCTION set_acting_user(bigint) TO cadcam_app, cadcam_admin;
GRANT EXECUTE ON FUNCTION app_user_id() TO cadcam_app;
