"""Guards that refuse to run: an old server, another environment's database,
a production rollback without confirmation."""

from __future__ import annotations

import psycopg

from runner import history
from runner.errors import EXIT_REFUSED, RunnerError
from runner.settings import Settings

MIN_SERVER_VERSION = 150000

def check_server_version(version_num: int) -> None:
    if version_num < MIN_SERVER_VERSION:
        major, minor = divmod(version_num, 10000)
        raise RunnerError(
            f"PostgreSQL {major}.{minor} is too old: this schema needs PostgreSQL 15 or newer "
            "(built and tested on 17)",
            EXIT_REFUSED,
        )


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
