-- Rollback of 0014_erasure: erase_user() goes; erasures already made stay.

DROP FUNCTION erase_user(bigint);
