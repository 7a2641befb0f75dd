-- Rollback of 0029_audit_action_any_locale: the functions as 0022 and 0014
-- left them (lower(TG_OP), and the default collation's order).

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
    key_row jsonb;
    old_changed jsonb := '{}';
    new_changed jsonb := '{}';
    loud boolean := FALSE;
    redacted text [] := '{}';
    col text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW);
    END IF;
    key_row := coalesce(new_row, old_row);  -- before they become the diff
    IF TG_OP = 'UPDATE' THEN
        -- The columns whose text differs (hstore's "-" keeps the pairs of
        -- NEW that OLD does not have); each is a change unless its values
        -- are equal as jsonb (1.0 and 1.00), as the WHEN clauses compare.
        FOREACH col IN ARRAY public.akeys(
            public.hstore(NEW) OPERATOR(public.-) public.hstore(OLD)
        ) LOOP
            CONTINUE WHEN new_row -> col = old_row -> col;
            IF col = ANY(secret) THEN
                redacted := redacted || col;
            ELSE
                old_changed := old_changed || jsonb_build_object(col, old_row -> col);
                new_changed := new_changed || jsonb_build_object(col, new_row -> col);
                loud := loud OR col <> ALL(quiet);
            END IF;
        END LOOP;
        IF NOT loud AND redacted = '{}' THEN
            RETURN NULL;  -- nothing but quiet columns changed
        END IF;
        IF cardinality(redacted) > 1 THEN  -- akeys() order is not by name
            redacted := ARRAY(SELECT s FROM unnest(redacted) AS s ORDER BY s);
        END IF;
        old_row := old_changed;
        new_row := new_changed;
    ELSIF secret <> '{}' THEN
        redacted := ARRAY(
            SELECT s FROM unnest(secret) AS s
            WHERE jsonb_typeof(key_row -> s) <> 'null' ORDER BY s
        );
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

CREATE OR REPLACE FUNCTION erase_user(user_id bigint)
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
            SELECT DISTINCT c
            FROM unnest(a.redacted_columns || ARRAY(
                SELECT k FROM unnest(personal) AS k
                WHERE a.old_values ? k OR a.new_values ? k
            )) AS c
            ORDER BY c
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
