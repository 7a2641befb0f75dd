-- Rollback of 0009_roles: reopens schema public to PUBLIC as PostgreSQL
-- makes it, and drops the roles unless another database still uses them
-- (roles are cluster-wide; they are then kept, with a notice).

ALTER DEFAULT PRIVILEGES FOR ROLE cadcam_owner GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
REVOKE ALL ON SCHEMA public
FROM cadcam_owner, cadcam_app, cadcam_worker, cadcam_readonly, cadcam_auditor;
GRANT USAGE ON SCHEMA public TO PUBLIC;
DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY[
        'cadcam_auditor', 'cadcam_readonly', 'cadcam_worker', 'cadcam_app', 'cadcam_owner'
    ] LOOP
        BEGIN
            EXECUTE format('DROP ROLE IF EXISTS %I', role_name);
        EXCEPTION
            WHEN dependent_objects_still_exist THEN
                RAISE NOTICE 'role % kept: other databases still use it', role_name;
        END;
    END LOOP;
END;
$$;
