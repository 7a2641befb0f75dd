"""What PostgreSQL itself does differently across the supported majors (15 to
18), in one place, so that a test states the difference instead of skipping.
The schema behaves the same on each; these are the server's own words and
privileges. Each takes the connection (or its major) the test runs on.
"""

from __future__ import annotations

import psycopg

from runner.servers.majors import server_major_of


def major(conn: psycopg.Connection) -> int:
    return server_major_of(conn.info.server_version)


def restrict_sqlstate(conn: psycopg.Connection) -> str:
    """The SQLSTATE of a DELETE that an ON DELETE RESTRICT key refuses: from 18
    on 23001 restrict_violation, before 23503 foreign_key_violation. Both are
    class 23 and name the constraint, which is what an application should
    match on."""
    return "23001" if major(conn) >= 18 else "23503"


def table_privileges(conn: psycopg.Connection) -> list[str]:
    """Every privilege a table can have: MAINTAIN (VACUUM, ANALYZE, REINDEX,
    CLUSTER, REFRESH, LOCK) exists from 17 on."""
    known = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]
    return known + (["MAINTAIN"] if major(conn) >= 17 else [])


def bypassrls_denied(conn: psycopg.Connection) -> str:
    """The message that refuses a non-superuser's ALTER ROLE ... BYPASSRLS."""
    if major(conn) >= 16:
        return "permission denied to alter role"
    return "must be superuser to change bypassrls attribute"


def partitions_share_identity(conn: psycopg.Connection) -> bool:
    """From 17 on a partition shares its parent's identity column, so a row
    inserted into the partition itself gets an id; before, only rows
    inserted through the parent do (the audit trigger always inserts there)."""
    return major(conn) >= 17
