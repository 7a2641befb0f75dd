-- Rollback of 0011_admin_role: drops cadcam_admin unless another database
-- still uses it (roles are cluster-wide; it is then kept, with a notice).

REVOKE ALL ON SCHEMA public FROM cadcam_admin;
DO $$
BEGIN
    DROP ROLE IF EXISTS cadcam_admin;
EXCEPTION
    WHEN dependent_objects_still_exist THEN
        RAISE NOTICE 'role cadcam_admin kept: other databases still use it';
END;
$$;
