"""Reading the audit log in tests: entries written after a marker, and the
monthly partitions."""

from __future__ import annotations

from datetime import datetime, timezone

import psycopg
from psycopg.rows import dict_row

from tests.roles import scalar


def marker(db: psycopg.Connection) -> int:
    """The highest entry id so far: entries after it are the ones under test."""
    return scalar(db, "SELECT coalesce(max(id), 0) FROM audit_log")


def entries(db: psycopg.Connection, after: int) -> list[dict]:
    """Entries written after the marker, oldest first, with the partition that
    holds each and the whole row as text."""
    return db.cursor(row_factory=dict_row).execute(
        "SELECT a.*, a.tableoid::regclass::text AS partition, a::text AS row_text"
        " FROM audit_log a WHERE a.id > %s ORDER BY a.id", (after,)).fetchall()


def only_entry(db: psycopg.Connection, after: int) -> dict:
    found = entries(db, after)
    assert len(found) == 1, found
    return found[0]


def month_start(db: psycopg.Connection, months: int = 0) -> datetime:
    """Start of the UTC month `months` months from now, as an aware datetime."""
    return scalar(db, "SELECT (date_trunc('month', now() AT TIME ZONE 'UTC')"
                      " + make_interval(months => %s)) AT TIME ZONE 'UTC'", (months,))


def partition_name(start: datetime) -> str:
    start = start.astimezone(timezone.utc)
    return f"audit_log_y{start.year:04d}m{start.month:02d}"


def partitions(db: psycopg.Connection) -> dict[str, tuple]:
    """Partitions of audit_log: name -> (lower bound, upper bound), None for DEFAULT."""
    found = db.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)"
        " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'public.audit_log'::regclass").fetchall()
    bounds = {}
    for name, expr in found:
        if expr == "DEFAULT":
            bounds[name] = None
        else:
            bounds[name] = db.execute(
                "SELECT substring(%(e)s FROM 'FROM \\(''([^'']+)''\\)')::timestamptz,"
                " substring(%(e)s FROM 'TO \\(''([^'']+)''\\)')::timestamptz",
                {"e": expr}).fetchone()
    return bounds


def this_month(db: psycopg.Connection) -> str:
    return partition_name(month_start(db))
