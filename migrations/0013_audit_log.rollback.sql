-- Rollback of 0013_audit_log: the triggers stop writing entries, and the
-- audit log goes with every partition and entry in it. Export it first if
-- the entries must be kept (pg_dump --table='audit_log*').

DROP TRIGGER trg_jobs_audit_update ON jobs;
DROP TRIGGER trg_jobs_audit ON jobs;
DROP TRIGGER trg_models_audit ON models;
DROP TRIGGER trg_licenses_audit ON licenses;
DROP TRIGGER trg_sessions_audit_update ON sessions;
DROP TRIGGER trg_sessions_audit ON sessions;
DROP TRIGGER trg_users_audit ON users;
DROP FUNCTION audit_row_change();
DROP FUNCTION create_audit_partitions(integer);
DROP TABLE audit_log;
DROP TYPE audit_action;
