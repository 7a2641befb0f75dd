"""A scratch database next to the target one, for verify and docs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from runner import config
from runner.connection import connect, first_line
from runner.errors import EXIT_FAILED, RunnerError
from runner.locales import Locale


@contextmanager
def scratch_database(url: str, purpose: str) -> Iterator[str]:
    """URL of a new empty database on the same server as url and in the same
    locale, dropped afterwards (also on failure); its name says what it is
    for and who made it."""
    with connect(url) as conn:
        dbname = conn.execute("SELECT current_database()").fetchone()[0]
        scratch = f"{dbname[:40]}_{purpose}_{os.getpid()}"
        # In the target's locale: the schema is built as it was built there.
        options = Locale.of_database(conn).create_database_options()
        try:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 {}").format(
                sql.Identifier(scratch), sql.SQL(options)))
        except psycopg.Error as exc:
            raise RunnerError(f"{purpose} needs to create a scratch database: {first_line(exc)}",
                              EXIT_FAILED) from None
        try:
            yield config.with_database(url, scratch)
        finally:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(scratch)))
