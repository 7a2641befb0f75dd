-- Rollback of 0015_retention: the retention functions go; what they already
-- deleted stays deleted.

DROP FUNCTION drop_audit_partitions(integer);
DROP FUNCTION purge_sessions(integer);
