-- Rollback of 0021_app_user_id_plpgsql: app_user_id() in SQL again, as
-- 0012_row_security made it (same results, slower).

CREATE OR REPLACE FUNCTION app_user_id()
RETURNS bigint
LANGUAGE sql
STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE
    WHEN current_setting('app.user_id', TRUE) ~ '^[1-9][0-9]{0,17}$'
        THEN current_setting('app.user_id', TRUE)::bigint
END;
