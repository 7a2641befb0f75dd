-- 0001_extensions: btree_gist, needed by the EXCLUDE constraint on licenses.
--
-- Part of the baseline: the same DDL as sql/00_extensions.sql at the time it landed.
-- Rollout: runs in one transaction on an empty schema; nothing to backfill.

-- =============================================================================
-- Extensions
-- =============================================================================
-- btree_gist gives GiST operator classes for plain scalar types (bigint =),
-- which the EXCLUDE constraint on licenses needs to combine "same user" with
-- "overlapping period" in one index.
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;
