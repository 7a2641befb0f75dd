-- Rollback of 0022_audit_diff_hstore: audit_row_change() as 0013_audit_log
-- made it (jsonb_each() diff), then hstore goes.

CREATE OR REPLACE FUNCTION audit_row_change()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    secret text [] := TG_ARGV[0]::text [];
    quiet text [] := TG_ARGV[1]::text [];
    old_row jsonb;
    new_row jsonb;
    old_changed jsonb;
    new_changed jsonb;
    redacted text [] := '{}';
    key_row jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW);
    END IF;
    key_row := coalesce(new_row, old_row);  -- before they become the diff
    IF TG_OP = 'UPDATE' THEN
        SELECT
            coalesce(jsonb_object_agg(n.key, old_row -> n.key), '{}'),
            coalesce(jsonb_object_agg(n.key, n.value), '{}')
        INTO old_changed, new_changed
        FROM jsonb_each(new_row) AS n
        WHERE n.value IS DISTINCT FROM old_row -> n.key AND n.key <> ALL(secret);
        SELECT coalesce(array_agg(s ORDER BY s), '{}') INTO redacted
        FROM unnest(secret) AS s
        WHERE new_row -> s IS DISTINCT FROM old_row -> s;
        IF redacted = '{}' AND NOT EXISTS (
            SELECT FROM jsonb_object_keys(new_changed) AS k WHERE k <> ALL(quiet)
        ) THEN
            RETURN NULL;
        END IF;
        old_row := old_changed;
        new_row := new_changed;
    ELSE
        SELECT coalesce(array_agg(s ORDER BY s), '{}') INTO redacted
        FROM unnest(secret) AS s
        WHERE jsonb_typeof(coalesce(new_row, old_row) -> s) <> 'null';
        old_row := old_row - secret;
        new_row := new_row - secret;
    END IF;
    INSERT INTO public.audit_log (
        table_name, row_id, subject_user_id, action, old_values, new_values,
        redacted_columns
    ) VALUES (
        TG_TABLE_NAME,
        (key_row ->> 'id')::bigint,
        (key_row ->> CASE TG_TABLE_NAME WHEN 'users' THEN 'id' ELSE 'user_id' END)::bigint,
        lower(TG_OP)::public.audit_action,
        old_row,
        new_row,
        redacted
    );
    RETURN NULL;
END;
$$;

DROP EXTENSION hstore;
