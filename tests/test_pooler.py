"""The application's flows through a real PgBouncer in transaction mode.

Behind such a pooler, consecutive transactions of one server connection
belong to different clients. Every client here is a psycopg connection
through PgBouncer as a LOGIN role that is a member of cadcam_app (tests/
pooler.py); rows are set up as the superuser on a direct connection. The
login `single` is held to one server connection, so its clients take turns
on the same backend, which each test checks (pg_backend_pid) before it
draws a conclusion from it.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import datetime, timezone

import psycopg
import pytest

from tests import rows
from tests.roles import CORE_TABLES

OWNED = rows.OWNED_TABLES
# A change the application may make in each table.
CHANGE = {"users": "company_name = 'Anadolu Kalıp A.Ş.'", "sessions": "user_agent = 'FreeCAD/1.0'",
          "licenses": "auto_renew = true", "models": "name = 'Flanş yeni'", "jobs": "priority = 7"}


@pytest.fixture
def client(pooler, db):
    """Factory of client connections through the pooler to the test's database."""
    opened = []

    def connect(login: str = "app", **kwargs) -> psycopg.Connection:
        conn = pooler.connect(db.info.dbname, login, **kwargs)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


def visible(conn) -> dict[str, list[int]]:
    """The ids of every core table that the current transaction sees."""
    return {name: [i for (i,) in conn.execute(f"SELECT id FROM {name} ORDER BY id")]
            for name in CORE_TABLES}


def as_user(conn, user_id: int) -> dict[str, list[int]]:
    """One transaction acting for user_id, the documented way; what it sees."""
    with conn.transaction():
        conn.execute("SELECT set_acting_user(%s)", (user_id,))
        return visible(conn)


def own(t: dict[str, int]) -> dict[str, list[int]]:
    return {name: [t[name]] for name in CORE_TABLES}


NOTHING = dict.fromkeys(CORE_TABLES, [])


def backend(conn) -> int:
    with conn.transaction():
        return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


# --------------------------------------------------------------------------- the flows

def test_sign_up_then_act_as_the_new_user(client):
    conn = client()
    with conn.transaction():
        user_id = conn.execute("SELECT register_user('yeni@example.com.tr', %s)",
                               (rows.ARGON2ID_HASH,)).fetchone()[0]
        conn.execute("SELECT set_acting_user(%s)", (user_id,))
        assert conn.execute("SELECT email FROM users").fetchall() == [("yeni@example.com.tr",)]
    assert as_user(client(), user_id)["users"] == [user_id]


def test_sign_in_finds_the_account_then_acts_for_it(client, db):
    user_id = rows.user(db, email="ayse@example.com.tr", password_hash=rows.BCRYPT_HASH,
                        status="active")
    model_id = rows.model(db, user_id)
    conn = client()
    with conn.transaction():
        found = conn.execute("SELECT * FROM user_for_login('ayse@example.com.tr')").fetchall()
    assert found == [(user_id, rows.BCRYPT_HASH, "active")]
    seen = as_user(conn, user_id)  # the password checked, the app acts for the account
    assert (seen["users"], seen["models"]) == ([user_id], [model_id])


def test_refresh_finds_the_session_then_acts_for_its_user(client, db):
    user_id = rows.user(db)
    token = os.urandom(32)
    session_id = rows.session(db, user_id, refresh_token_hash=hashlib.sha256(token).digest())
    conn = client()
    with conn.transaction():
        found = conn.execute("SELECT id, user_id, expires_at, revoked_at"
                             " FROM session_for_refresh(sha256(%s))", (token,)).fetchone()
    assert found[:2] == (session_id, user_id)
    assert found[2] > datetime.now(timezone.utc) and found[3] is None
    with conn.transaction():
        conn.execute("SELECT set_acting_user(%s)", (user_id,))
        assert conn.execute(
            "UPDATE sessions SET last_used_at = now(), access_token_jti = %s WHERE id = %s",
            (uuid.uuid4(), session_id)).rowcount == 1


def test_each_client_sees_exactly_its_users_rows(client, a, b):
    first, second = client(), client()
    for _ in range(3):
        assert as_user(first, a["users"]) == own(a)
        assert as_user(second, b["users"]) == own(b)


@pytest.mark.parametrize("name", CORE_TABLES)
def test_another_users_rows_are_refused(client, a, b, name):
    conn = client()
    with conn.transaction():
        conn.execute("SELECT set_acting_user(%s)", (a["users"],))
        assert conn.execute(f"SELECT * FROM {name} WHERE id = %s", (b[name],)).fetchall() == []
        assert conn.execute(f"UPDATE {name} SET {CHANGE[name]} WHERE id = %s",
                            (b[name],)).rowcount == 0


@pytest.mark.parametrize("name", OWNED)
def test_a_row_for_another_user_is_refused(client, a, b, name):
    conn = client()
    builder = rows.BUILDERS[name]
    with pytest.raises(psycopg.errors.InsufficientPrivilege,
                       match=f'new row violates row-level security policy for table "{name}"'):
        with conn.transaction():
            conn.execute("SELECT set_acting_user(%s)", (a["users"],))
            builder(conn, b["users"])


# --------------------------------------------------------------------------- one server connection

def test_two_clients_of_one_server_connection_each_see_their_own_user(client, a, b):
    first, second = client("single"), client("single")
    assert backend(first) == backend(second)
    for _ in range(5):
        assert as_user(first, a["users"]) == own(a)
        assert as_user(second, b["users"]) == own(b)


def test_a_client_that_names_no_one_sees_nothing_after_another_acted(client, a):
    first, second = client("single"), client("single")
    assert as_user(first, a["users"]) == own(a)
    with second.transaction():
        assert visible(second) == NOTHING


def test_a_session_level_set_by_one_client_acts_as_no_one_for_the_next(client, a):
    """The slip: SET instead of SET LOCAL. PgBouncer hands the server
    connection, setting and all, to the next client; the schema must count
    it for no one."""
    slip, victim = client("single", autocommit=True), client("single")
    slip.execute(f"SET app.user_id = '{a['users']}'")
    with victim.transaction():
        leaked = victim.execute("SELECT current_setting('app.user_id', true)").fetchone()[0]
        seen = visible(victim)
    assert leaked == str(a["users"])  # the setting really reached the other client
    assert seen == NOTHING


def test_a_stamped_value_left_at_session_level_acts_as_no_one_for_the_next(client, a):
    slip, victim = client("single"), client("single")
    with slip.transaction():
        slip.execute("SELECT set_config('app.user_id', %s || '/' || extract(epoch FROM now()),"
                     " false)", (str(a["users"]),))
        assert visible(slip) == own(a)  # in its own transaction it acts
    with victim.transaction():
        leaked = victim.execute("SELECT current_setting('app.user_id', true)").fetchone()[0]
        seen = visible(victim)
    assert leaked.startswith(f"{a['users']}/")
    assert seen == NOTHING


def test_the_acting_user_ends_with_the_transaction_on_a_shared_connection(client, a, b):
    first, second = client("single"), client("single")
    with first.transaction():
        first.execute("SELECT set_acting_user(%s)", (a["users"],))
    with second.transaction():
        assert second.execute("SELECT app_user_id()").fetchone()[0] is None
        assert visible(second) == NOTHING
    assert as_user(second, b["users"]) == own(b)


def test_a_rolled_back_transaction_leaves_no_acting_user_for_the_next_client(client, a):
    first, second = client("single"), client("single")
    with pytest.raises(psycopg.errors.DivisionByZero):
        with first.transaction():
            first.execute("SELECT set_acting_user(%s)", (a["users"],))
            first.execute("SELECT 1 / 0")
    with second.transaction():
        assert visible(second) == NOTHING


def test_sessions_are_not_revoked_for_another_tenant_by_a_late_client(client, db, a, b):
    """Sign out everywhere through the pooler revokes the acting user's
    sessions only, whoever used the server connection before."""
    first, second = client("single"), client("single")
    assert as_user(first, b["users"]) == own(b)
    with second.transaction():
        second.execute("SELECT set_acting_user(%s)", (a["users"],))
        assert second.execute("UPDATE sessions SET revoked_at = now()"
                              " WHERE revoked_at IS NULL").rowcount == 1
    assert rows.fetch("sessions", db, b["sessions"])["revoked_at"] is None
    assert rows.fetch("sessions", db, a["sessions"])["revoked_at"] is not None


def test_pooled_clients_really_share_server_connections(client):
    """The premise of this file: more clients than server connections."""
    clients = [client("single") for _ in range(4)]
    assert len({backend(c) for c in clients}) == 1
