-- Rollback of 0006_licenses: drops what it created. Refused (RESTRICT) while a
-- later migration still depends on it.

DROP TABLE licenses;
