-- 0014_erasure: erase_user(), KVKK/GDPR erasure of a user's personal data.
--
-- Why: the right to erasure (KVKK Law No. 6698 art. 7, GDPR art. 17), while
-- licenses, models and jobs stay for the records the law requires (issue 5).
-- Rollout: creates a function only; no lock on any table.
-- depends: 0013_audit_log

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

COMMENT ON FUNCTION erase_user(bigint) IS
'KVKK/GDPR erasure on request: anonymizes the user''s account, revokes and scrubs their sessions, removes their personal values from earlier audit entries, and keeps licenses, models and jobs. Returns true when it changed something (and wrote an erase entry), false when the user was already erased. Raises no_data_found for an unknown user. SECURITY DEFINER because it must scrub audit_log, which only the owner may change.';

ALTER FUNCTION erase_user(bigint) OWNER TO cadcam_owner;
REVOKE EXECUTE ON FUNCTION erase_user(bigint) FROM PUBLIC;
-- Erasure is an operator's decision on a verified request, not the app's.
GRANT EXECUTE ON FUNCTION erase_user(bigint) TO cadcam_admin;
