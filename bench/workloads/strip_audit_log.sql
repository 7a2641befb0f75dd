-- A step of the breakdown (bench/run.py): audit_log without its own rules,
-- its five CHECK constraints and its two secondary indexes (the primary key
-- stays), so that what the entry's insert costs for them shows apart from
-- the trigger's call and diff. PostgreSQL plans every CHECK of the table
-- again in each statement that inserts into it, and the trigger's insert is
-- a statement per entry. Run on the benchmark's database only.
ALTER TABLE audit_log
DROP CONSTRAINT ck_audit_log_table_name,
DROP CONSTRAINT ck_audit_log_old_values_by_action,
DROP CONSTRAINT ck_audit_log_new_values_by_action,
DROP CONSTRAINT ck_audit_log_old_values_object,
DROP CONSTRAINT ck_audit_log_new_values_object;

DROP INDEX idx_audit_log_subject_user_id_logged_at;
DROP INDEX idx_audit_log_table_name_row_id_logged_at;
