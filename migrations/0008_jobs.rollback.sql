-- Rollback of 0008_jobs: drops what it created. Refused (RESTRICT) while a
-- later migration still depends on it.

DROP TABLE jobs;
