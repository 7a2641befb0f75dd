"""Acting as the project's real roles in tests, as the application does.

Rows are usually made as the superuser (who bypasses row-level security);
a check then runs as a group role in one transaction, acting(db, role,
user_id): set_acting_user(id) where the role acts for a user, then SET LOCAL
ROLE, as the platform's clients send theirs (workload/clients.py).
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql

from tests.rows import CORE_TABLES  # noqa: F401 - the tables the roles act on
from workload.clients import acting, set_acting_user  # noqa: F401 - the platform's own way

ROLES = ["cadcam_owner", "cadcam_app", "cadcam_worker", "cadcam_readonly", "cadcam_auditor",
         "cadcam_admin"]


@contextmanager
def as_role(db: psycopg.Connection, role: str):
    """Run the block with current_user = role; the session user stays the superuser."""
    db.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
    try:
        yield db
    finally:
        db.execute("RESET ROLE")


def as_app(db: psycopg.Connection, user_id: int):
    """One transaction as cadcam_app acting for user_id."""
    return acting(db, "cadcam_app", user_id)


@contextmanager
def as_session_user(db: psycopg.Connection, role: str):
    """Run the block with session_user = role, so SET ROLE checks role's memberships."""
    db.execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(role)))
    try:
        yield db
    finally:
        db.execute("RESET SESSION AUTHORIZATION")


@contextmanager
def denied(match: str | None = None):
    """Assert that the block fails with insufficient_privilege (42501)."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match=match) as info:
        yield info
    assert info.value.sqlstate == "42501"


def table(name: str | tuple[str, str]) -> sql.Identifier:
    return sql.Identifier(*name) if isinstance(name, tuple) else sql.Identifier(name)


def run(db: psycopg.Connection, query: str, *names, params=None) -> psycopg.Cursor:
    """Execute query with {} placeholders filled by table identifiers."""
    return db.execute(sql.SQL(query).format(*map(table, names)), params)


def scalar(db: psycopg.Connection, query: str, params=None):
    return db.execute(query, params).fetchone()[0]


@contextmanager
def temporary_role(db: psycopg.Connection, prefix: str, options: str):
    """A role made for one test with a unique name (roles belong to the whole
    cluster), dropped afterwards with anything granted to it."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    db.execute(sql.SQL("CREATE ROLE {} " + options).format(sql.Identifier(name)))
    try:
        yield name
    finally:
        db.execute("RESET SESSION AUTHORIZATION")
        db.execute("RESET ROLE")
        db.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
