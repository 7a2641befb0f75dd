-- =============================================================================
-- Group roles and schema privileges
-- =============================================================================
-- Roles belong to the whole cluster, not to one database, so they are made
-- only when missing: the same cluster may hold several databases of this
-- schema (staging beside production, test clones). All are NOLOGIN group
-- roles; people and services log in as LOGIN roles that are members of one
-- of them (docs/security.md: "Roles and privileges").
DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY[
        'cadcam_owner', 'cadcam_app', 'cadcam_worker', 'cadcam_readonly', 'cadcam_auditor',
        'cadcam_admin'
    ] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
        END IF;
    END LOOP;
END;
$$;

COMMENT ON ROLE cadcam_owner IS
'Owns every object of the platform schema; migrations run as a member of it.';
COMMENT ON ROLE cadcam_app IS
'The application: reads and writes the core tables, deletes nothing but sessions, no DDL.';
COMMENT ON ROLE cadcam_worker IS
'Job workers: read and update jobs, read models, write back thumbnails and metrics.';
COMMENT ON ROLE cadcam_readonly IS
'Analysts: read every table except the secret columns (password and token hashes).';
COMMENT ON ROLE cadcam_auditor IS
'Auditors: read the audit log only.';
-- An administrator is a database role, never a value in a row: users.role =
-- 'admin' is the product's tenant admin and gives no database privilege.
COMMENT ON ROLE cadcam_admin IS
'Platform operators: the application''s privileges on every user''s rows, plus erasure and retention.';

-- PUBLIC gets nothing: a role must be granted what it uses.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO cadcam_owner;
GRANT USAGE ON SCHEMA public
TO cadcam_app, cadcam_worker, cadcam_readonly, cadcam_auditor, cadcam_admin;

-- PostgreSQL lets PUBLIC execute every new function; not those made by the
-- owner. (Tables and sequences have no PUBLIC grant by default.) Objects made
-- by another role and handed to the owner carry an explicit REVOKE instead.
ALTER DEFAULT PRIVILEGES FOR ROLE cadcam_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
