"""Sending statements as the platform does: each transaction as one of the
project's roles, naming the user it acts for where it acts for one, the one
way docs/security.md gives the application (set_acting_user, first in the
transaction).

What rehearse's traffic (runner/rehearse/traffic.py), the soak's clients
(tests/soak.py) and the tests' transactions as a role (tests/roles.py) share.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

# How a transaction names its acting user: set_acting_user() since
# 0024_set_acting_user; before it, the setting app.user_id itself. The
# placeholder takes the user's id (or, in a pgbench script, a :variable).
SET_ACTING_USER = "SELECT set_acting_user({})"
SET_APP_USER_ID = "SELECT set_config('app.user_id', '{}', true)"


def opening(role: str | None = None, user_id: int | None = None,
            acting: str = SET_ACTING_USER) -> list[str]:
    """The statements that begin a transaction's work as `role` acting for
    user_id. The acting user is named first, by the session user, so that
    any role can be tried with one (only cadcam_app and cadcam_admin may
    call set_acting_user); then SET LOCAL ROLE. None: no acting user, or the
    role the connection logged in as."""
    statements = [acting.format(int(user_id))] if user_id is not None else []
    return statements + role_opening(role)


def role_opening(role: str | None) -> list[str]:
    """SET LOCAL ROLE to role, or nothing for None."""
    return [] if role is None else ["SET LOCAL ROLE " + sql.Identifier(role).as_string()]


def set_acting_user(conn: psycopg.Connection, user_id: int) -> None:
    """Name the acting user of the current transaction."""
    for statement in opening(user_id=user_id):
        conn.execute(statement)


@contextmanager
def acting(conn: psycopg.Connection, role: str | None = None,
           user_id: int | None = None) -> Iterator[psycopg.Connection]:
    """One transaction as `role`, acting for user_id when given, as the
    application runs its transactions."""
    with conn.transaction():
        for statement in opening(role, user_id):
            conn.execute(statement)
        yield conn


def send(conn: psycopg.Connection, statement: str, role: str | None = None,
         user_id: int | None = None, acting: str = SET_ACTING_USER) -> None:
    """One round trip on an autocommit connection: BEGIN, the opening, the
    statement and ROLLBACK as one simple-protocol string, so that the
    statement's locks are held no longer than it runs and the data stays as
    it was. A failure is raised once its transaction is rolled back."""
    try:
        conn.execute("; ".join(["BEGIN", *opening(role, user_id, acting), statement, "ROLLBACK"]))
    except psycopg.Error:
        if not conn.closed:
            conn.execute("ROLLBACK")
        raise
