-- Rollback of 0024_set_acting_user: app_user_id() reads the plain id only,
-- as 0021 made it, and set_acting_user() goes. Roll the application back
-- to SET LOCAL app.user_id first: a stamped value acts as no one after this.

CREATE OR REPLACE FUNCTION app_user_id()
RETURNS bigint
LANGUAGE plpgsql
STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    setting text := current_setting('app.user_id', TRUE);
BEGIN
    IF setting ~ '^[1-9][0-9]{0,17}$' THEN
        RETURN setting::bigint;
    END IF;
    RETURN NULL;
END;
$$;

DROP FUNCTION set_acting_user(bigint);
