-- Rollback of 0004_users: drops what it created. Refused (RESTRICT) while a
-- later migration still depends on it.

DROP TABLE users;
