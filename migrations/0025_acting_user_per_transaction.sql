-- 0025_acting_user_per_transaction: app_user_id() counts only what
-- set_acting_user() wrote in this transaction. The contract step of two.
--
-- Why: see 0024. From here a plain SET app.user_id = '42', session-level or
-- local, acts as no one, and so does a stamped value in any transaction but
-- the one it was written in: a pooled connection can no longer carry one
-- client's acting user into another client's transaction. Without an acting
-- user the application sees no row (row-level security fails closed).
-- Rollout: apply once every application instance calls set_acting_user();
-- one that still writes SET LOCAL app.user_id sees no rows after this. No
-- table is locked; CREATE OR REPLACE keeps the function's oid, owner,
-- grants, and the policies that call it; the comment is rewritten.
-- depends: 0024_set_acting_user

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
    IF id ~ '^[1-9][0-9]{0,17}$'
        AND setting = id || '/' || extract(EPOCH FROM now())::text THEN
        RETURN id::bigint;
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION app_user_id() IS
'The acting user of this transaction, as set_acting_user() named it; NULL when it was not called in this transaction (a value of app.user_id set any other way, or left by an earlier transaction, counts for no one), so that row-level security fails closed.';
