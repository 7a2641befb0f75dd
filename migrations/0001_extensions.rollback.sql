-- Rollback of 0001_extensions: drops what it created. Refused (RESTRICT) while a
-- later migration still depends on it.

DROP EXTENSION btree_gist;
