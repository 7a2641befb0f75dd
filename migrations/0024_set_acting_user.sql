-- 0024_set_acting_user: set_acting_user(), the one way to name the acting
-- user, stamped with the transaction it is for. The expand step of two.
--
-- Why: behind a pooler in transaction mode (PgBouncer), consecutive
-- transactions of one server connection belong to different clients. An
-- application that writes SET app.user_id = '42' (session level, a one-word
-- slip for SET LOCAL) hands user 42's rows to whichever client gets that
-- connection next. set_acting_user(42) writes app.user_id transaction-
-- locally as '42/<transaction start>', and 0025 makes app_user_id() count
-- it only while now() is that start: in no later transaction of the
-- connection is it the same.
-- Rollout: expand, then contract. This migration adds the function and
-- lets app_user_id() accept both the old plain id and the stamped form, so
-- the running application keeps working. Release the application that
-- calls SELECT set_acting_user(id) first in each transaction, then apply
-- 0025, which accepts the stamped form only. No table is locked; CREATE OR
-- REPLACE keeps app_user_id()'s oid, owner, grants and comment, so the
-- policies that call it need no change.
-- depends: 0023_concurrent_time_rules

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

ALTER FUNCTION set_acting_user(bigint) OWNER TO cadcam_owner;
REVOKE EXECUTE ON FUNCTION set_acting_user(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION set_acting_user(bigint) TO cadcam_app, cadcam_admin;

-- Both forms, until 0025: the plain id of the release that still runs, and
-- the stamped form of the next one.
CREATE OR REPLACE FUNCTION app_user_id()
RETURNS bigint
LANGUAGE plpgsql
STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    setting text := current_setting('app.user_id', TRUE);
    id text := split_part(setting, '/', 1);
BEGIN
    IF setting ~ '^[1-9][0-9]{0,17}$' THEN
        RETURN setting::bigint;
    END IF;
    IF id ~ '^[1-9][0-9]{0,17}$'
        AND setting = id || '/' || extract(EPOCH FROM now())::text THEN
        RETURN id::bigint;
    END IF;
    RETURN NULL;
END;
$$;
