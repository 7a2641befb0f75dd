"""Guards that refuse to run: an old server, another environment's database,
a production rollback without confirmation."""

from __future__ import annotations

import sys

import psycopg

from runner.errors import EXIT_REFUSED, RunnerError
from runner.migrate import history
from runner.servers import majors
from runner.settings import Settings

MIN_SERVER_VERSION = 150000

def check_server_version(version_num: int) -> str | None:
    """Refuse a server older than 15; on one newer than the newest tested major,
    print a warning line to stderr (and return it) and go on."""
    if version_num < MIN_SERVER_VERSION:
        major, minor = divmod(version_num, 10000)
        raise RunnerError(
            f"PostgreSQL {major}.{minor} is too old: this schema needs PostgreSQL 15 or newer "
            f"(tested on {', '.join(map(str, majors.TESTED_MAJORS))})",
            EXIT_REFUSED,
        )
    warning = majors.newer_than_tested(version_num)
    if warning:
        print(f"schema: {warning}", file=sys.stderr)
    return warning


def check_environment(conn: psycopg.Connection, settings: Settings, record: bool) -> None:
    """Refuse to work on a database recorded as another environment."""
    recorded = history.recorded_environment(conn)
    if recorded is None:
        if record:
            history.record_environment(conn, settings.environment)
        return
    if recorded != settings.environment:
        raise RunnerError(
            f"this database is recorded as environment {recorded!r} but SCHEMA_ENV is "
            f"{settings.environment!r}: set SCHEMA_ENV={recorded} if you mean this database",
            EXIT_REFUSED,
        )


def check_production_rollback(conn: psycopg.Connection, settings: Settings,
                              allow: bool, confirm: str | None) -> None:
    if settings.environment != "production":
        return
    dbname = conn.execute("SELECT current_database()").fetchone()[0]
    if not allow or confirm != dbname:
        raise RunnerError(
            f"refusing to roll back the production database {dbname!r}: "
            f"pass --allow-production --confirm {dbname} if you mean it",
            EXIT_REFUSED,
        )
