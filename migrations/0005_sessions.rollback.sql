-- Rollback of 0005_sessions: drops what it created. Refused (RESTRICT) while a
-- later migration still depends on it.

DROP TABLE sessions;
