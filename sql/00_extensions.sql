-- =============================================================================
-- Extensions
-- =============================================================================
-- btree_gist gives GiST operator classes for plain scalar types (bigint =),
-- which the EXCLUDE constraint on licenses needs to combine "same user" with
-- "overlapping period" in one index.
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;
