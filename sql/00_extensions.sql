-- =============================================================================
-- Extensions
-- =============================================================================
-- btree_gist gives GiST operator classes for plain scalar types (bigint =),
-- which the EXCLUDE constraint on licenses needs to combine "same user" with
-- "overlapping period" in one index.
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;

-- hstore gives whole-row "which columns differ" operators (hstore(NEW) -
-- hstore(OLD)): audit_row_change() finds the changed columns of an update
-- with them without running a query (80_audit_log.sql).
CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA public;
