"""Valid rows for every core table, and the assertion that a statement breaks a rule.

Each builder inserts a row that satisfies every constraint, with any column
overridden by keyword, and returns its id. Tests change one column at a time
so that exactly one rule can fail.
"""

from __future__ import annotations

import itertools
import os
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from workload.generate import TABLES

_serial = itertools.count(1)

# The five core tables of the spec, in the order they depend on each other.
CORE_TABLES = list(TABLES)
# The core tables that hold a user's rows through a user_id column.
OWNED_TABLES = CORE_TABLES[1:]

# Valid reference values, published as valid by python-stdnum's documentation
# (stdnum.tr.tckimlik, stdnum.tr.vkn): independent of this repository's code.
VALID_TCKN = "17291716060"
VALID_VKN = "4540536920"
ARGON2ID_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$"
    "RdescudvJCsgt3ub+b+dWRWJTmaaJObG0Vw7d8mjxXU"
)
BCRYPT_HASH = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"


def tckn(first9: str) -> str:
    """The TCKN whose first nine digits are first9: check digits d10 and d11 appended,
    computed from the published algorithm, independently of the SQL functions."""
    d = [int(c) for c in first9]
    d10 = (7 * sum(d[0:9:2]) - sum(d[1:8:2])) % 10
    d11 = (sum(d) + d10) % 10
    return f"{first9}{d10}{d11}"


def vkn(first9: str) -> str:
    """The VKN whose first nine digits are first9: check digit d10 appended."""
    total = 0
    for i, ch in enumerate(reversed(first9), start=1):  # i: position from the right
        c1 = (int(ch) + i) % 10
        if c1:
            total += (c1 * 2**i) % 9 or 9
    return f"{first9}{(10 - total % 10) % 10}"


def insert(conn: psycopg.Connection, table: str, **values) -> int:
    """INSERT one row and return its id."""
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
    )
    return conn.execute(query, list(values.values())).fetchone()[0]


def user(conn, **over) -> int:
    n = next(_serial)
    values = {"email": f"user{n}@example.com.tr", **over}
    return insert(conn, "users", **values)


def session(conn, user_id: int | None = None, **over) -> int:
    values = {
        "user_id": user_id if user_id is not None else user(conn),
        "refresh_token_hash": os.urandom(32),
        "access_token_jti": uuid.uuid4(),
        "expires_at": datetime.now(timezone.utc) + timedelta(days=30),
        **over,
    }
    return insert(conn, "sessions", **values)


def license(conn, user_id: int | None = None, **over) -> int:  # noqa: A001 - table name
    values = {
        "user_id": user_id if user_id is not None else user(conn),
        "plan": "professional",
        "starts_at": "2026-01-01T00:00:00+03:00",
        "ends_at": "2027-01-01T00:00:00+03:00",
        **over,
    }
    return insert(conn, "licenses", **values)


def model(conn, user_id: int | None = None, **over) -> int:
    n = next(_serial)
    values = {
        "user_id": user_id if user_id is not None else user(conn),
        "name": f"Flanş {n}",
        "type": "part",
        "file_format": "fcstd",
        "storage_key": f"models/{n}/flans.FCStd",
        "sha256": os.urandom(32),
        "file_size": 3 * 1024**3,
        **over,
    }
    return insert(conn, "models", **values)


def job(conn, user_id: int | None = None, **over) -> int:
    values = {
        "user_id": user_id if user_id is not None else user(conn),
        "type": "cam_toolpath",
        **over,
    }
    return insert(conn, "jobs", **values)


BUILDERS = {"users": user, "sessions": session, "licenses": license, "models": model,
            "jobs": job}


def owner_of(conn, table: str, row_id: int) -> int:
    """The user a row belongs to (the row itself for users)."""
    return row_id if table == "users" else fetch(table, conn, row_id)["user_id"]


def tenant(conn, **over) -> dict[str, int]:
    """A user with one row in every core table; the ids by table."""
    user_id = user(conn, **over)
    model_id = model(conn, user_id)
    return {
        "users": user_id,
        "sessions": session(conn, user_id),
        "licenses": license(conn, user_id),
        "models": model_id,
        "jobs": job(conn, user_id, model_id=model_id),
    }


@contextmanager
def violates(constraint: str):
    """Assert that the block fails with an integrity error (SQLSTATE class 23)
    whose constraint, named in the message, is `constraint`."""
    with pytest.raises(psycopg.errors.IntegrityError) as info:
        yield info
    error = info.value
    assert error.sqlstate.startswith("23"), error.sqlstate
    assert error.diag.constraint_name == constraint, str(error)
    assert f'"{constraint}"' in str(error)


def fetch(table: str, conn: psycopg.Connection, row_id: int) -> dict:
    """The row of `table` with this id, as a dict."""
    query = sql.SQL("SELECT * FROM {} WHERE id = %s").format(sql.Identifier(table))
    return conn.cursor(row_factory=dict_row).execute(query, (row_id,)).fetchone()


@contextmanager
def not_null(table: str, column: str):
    """Assert a NOT NULL violation (23502) of table.column; PostgreSQL 17 names no
    constraint for it, so the column and table are checked instead."""
    with pytest.raises(psycopg.errors.NotNullViolation) as info:
        yield
    assert info.value.sqlstate == "23502"
    assert (info.value.diag.table_name, info.value.diag.column_name) == (table, column)


@contextmanager
def data_error(sqlstate: str):
    """Assert a data exception (class 22) with exactly this SQLSTATE."""
    with pytest.raises(psycopg.errors.DataError) as info:
        yield
    assert info.value.sqlstate == sqlstate, str(info.value)


@contextmanager
def outcome(rejected_by: str | None):
    """Accept the block when rejected_by is None, else expect that constraint's violation."""
    if rejected_by is None:
        yield
    else:
        with violates(rejected_by):
            yield
