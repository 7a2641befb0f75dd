-- 0011_admin_role: cadcam_admin, the platform operators' group role.
--
-- Why: row-level security (0012) confines the application to the acting
-- user's rows; operators need every user's rows, erasure and retention, as
-- a database role that no value in a row can forge (issue 5).
-- Rollout: needs CREATEROLE (or a superuser) once; takes no table lock.
-- depends: 0010_privileges

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'cadcam_admin') THEN
        CREATE ROLE cadcam_admin NOLOGIN;
    END IF;
END;
$$;

-- An administrator is a database role, never a value in a row: users.role =
-- 'admin' is the product's tenant admin and gives no database privilege.
COMMENT ON ROLE cadcam_admin IS
'Platform operators: the application''s privileges on every user''s rows, plus erasure and retention.';

GRANT USAGE ON SCHEMA public TO cadcam_admin;
