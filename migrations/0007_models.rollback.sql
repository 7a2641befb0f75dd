-- Rollback of 0007_models: drops what it created. Refused (RESTRICT) while a
-- later migration still depends on it.

DROP TABLE models;
