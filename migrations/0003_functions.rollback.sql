-- Rollback of 0003_functions: drops what it created. Refused (RESTRICT) while a
-- later migration still depends on it.

DROP FUNCTION set_updated_at();
DROP FUNCTION is_valid_timezone(text);
DROP FUNCTION is_valid_vkn(text);
DROP FUNCTION is_valid_tckn(text);
