-- Rollback of 0025_acting_user_per_transaction: app_user_id() accepts the
-- plain id again beside the stamped form, as 0024 left it.

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

COMMENT ON FUNCTION app_user_id() IS
'The acting user of this transaction, from the setting app.user_id (SET LOCAL app.user_id = ''42''); NULL when the setting is missing, empty or not a positive number of 1 to 18 digits without a leading zero, so that row-level security fails closed.';
