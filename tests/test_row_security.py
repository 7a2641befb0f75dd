"""Row-level security: each user's rows are the application's only while that
user acts, workers see the jobs they must process, operators and analysts see
everything, and no role without it can switch the policies off.

Rows are made as the superuser (superusers bypass row-level security); every
check then runs as the real role (SET ROLE) in one transaction, with the
acting user set as the application sets it: SELECT set_acting_user(<id>).
An expected error is caught outside that transaction, so it rolls back.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from tests import differences, roles, rows
from tests.roles import CORE_TABLES, ROLES, as_role, as_session_user, denied, run, scalar

OWNED = rows.OWNED_TABLES
# A column the application may change in each table, and a value no builder writes.
CHANGE = {
    "users": ("company_name", "Anadolu Kalıp A.Ş."),
    "sessions": ("user_agent", "FreeCAD/1.0"),
    "licenses": ("auto_renew", True),
    "models": ("name", "Flanş yeni"),
    "jobs": ("priority", 7),
}
ACTIVE = ["pending", "queued", "running"]
FINISHED = ["succeeded", "failed", "cancelled", "timed_out"]


def rls_violation(name: str, using: bool = False):
    """Assert the error of a row that a policy's WITH CHECK (or USING) refuses."""
    kind = " (USING expression)" if using else ""
    return denied(re.escape(f'new row violates row-level security policy{kind} for table "{name}"'))


def acting(db: psycopg.Connection, user_id, role: str = "cadcam_app"):
    """One transaction as `role` acting for user_id (None: no acting user), as the app runs."""
    return roles.acting(db, role, user_id)


def ids(db: psycopg.Connection, name: str) -> list[int]:
    return [i for (i,) in run(db, "SELECT id FROM {} ORDER BY id", name)]


def value(db: psycopg.Connection, name: str, column: str, row_id: int):
    """A column of a row, as the current role sees it (the superuser: every row)."""
    return rows.fetch(name, db, row_id)[column]


def insert_for(db, name: str, user_id: int) -> int:
    """A new row of `name` (not users) owned by user_id, by the row builders."""
    return rows.BUILDERS[name](db, user_id)


# ----------------------------------------------------------------------------- user A and user B

@pytest.mark.parametrize("name", CORE_TABLES)
def test_app_sees_exactly_the_acting_users_rows(db, a, b, name):
    with acting(db, a["users"]):
        assert ids(db, name) == [a[name]]
    with acting(db, b["users"]):
        assert ids(db, name) == [b[name]]


@pytest.mark.parametrize("name", CORE_TABLES)
def test_app_cannot_select_other_users_row_by_id(db, a, b, name):
    with acting(db, a["users"]):
        assert run(db, "SELECT * FROM {} WHERE id = %s", name, params=(b[name],)).fetchall() == []


@pytest.mark.parametrize("name", CORE_TABLES)
def test_app_cannot_update_other_users_row(db, a, b, name):
    column, new = CHANGE[name]
    with acting(db, a["users"]):
        cur = run(db, f"UPDATE {{}} SET {column} = %s WHERE id = %s RETURNING id", name,
                  params=(new, b[name]))
        assert (cur.rowcount, cur.fetchall()) == (0, [])
    assert value(db, name, column, b[name]) != new


@pytest.mark.parametrize("name", CORE_TABLES)
def test_app_update_of_every_row_changes_only_own(db, a, b, name):
    column, new = CHANGE[name]
    with acting(db, a["users"]):
        assert run(db, f"UPDATE {{}} SET {column} = %s", name, params=(new,)).rowcount == 1
    assert value(db, name, column, a[name]) == new
    assert value(db, name, column, b[name]) != new


def test_app_cannot_delete_other_users_session(db, a, b):
    with acting(db, a["users"]):
        assert db.execute("DELETE FROM sessions WHERE id = %s", (b["sessions"],)).rowcount == 0
        assert db.execute("DELETE FROM sessions").rowcount == 1
    assert rows.fetch("sessions", db, b["sessions"]) is not None
    assert rows.fetch("sessions", db, a["sessions"]) is None


@pytest.mark.parametrize("name", ["users", "licenses", "models", "jobs"])
def test_app_cannot_delete_other_users_row(db, a, b, name):
    with denied(f"table {name}"), acting(db, a["users"]):
        run(db, "DELETE FROM {} WHERE id = %s", name, params=(b[name],))
    assert rows.fetch(name, db, b[name]) is not None


@pytest.mark.parametrize("name", OWNED)
def test_app_inserts_row_of_the_acting_user(db, a, b, name):
    with acting(db, a["users"]):
        row_id = insert_for(db, name, a["users"])
        assert value(db, name, "user_id", row_id) == a["users"]


# Plain INSERTs: with RETURNING (as the row builders use) the new row must also
# pass the SELECT policy, which would hide a WITH CHECK that lets anything in.
INSERT = {
    "users": "INSERT INTO users (email) VALUES ('yeni@example.com.tr')",
    "sessions": "INSERT INTO sessions (user_id, refresh_token_hash, access_token_jti, expires_at)"
                " VALUES (%(user)s, sha256('yeni'), gen_random_uuid(), now() + interval '1 day')",
    "licenses": "INSERT INTO licenses (user_id, plan, starts_at, ends_at)"
                " VALUES (%(user)s, 'starter', '2030-01-01', '2031-01-01')",
    "models": "INSERT INTO models (user_id, name, type, file_format, storage_key, sha256,"
              " file_size) VALUES (%(user)s, 'Flanş', 'part', 'fcstd', 'models/yeni',"
              " sha256('yeni'), 1)",
    "jobs": "INSERT INTO jobs (user_id, type) VALUES (%(user)s, 'cam_toolpath')",
}


@pytest.mark.parametrize("returning", ["", " RETURNING id"], ids=["plain", "returning"])
@pytest.mark.parametrize("name", OWNED)
def test_app_cannot_insert_row_owned_by_other_user(db, a, b, name, returning):
    with rls_violation(name), acting(db, a["users"]):
        db.execute(INSERT[name] + returning, {"user": b["users"]})
    assert scalar(db, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))) == 2


@pytest.mark.parametrize("name", OWNED)
def test_app_plain_insert_of_own_row_is_allowed(db, a, b, name):
    with acting(db, a["users"]):
        assert db.execute(INSERT[name], {"user": a["users"]}).rowcount == 1
    assert scalar(db, sql.SQL("SELECT count(*) FROM {} WHERE user_id = %s").format(
        sql.Identifier(name)), (a["users"],)) == 2


# Without WHERE or RETURNING an UPDATE needs no SELECT right, so the new row
# meets the WITH CHECK of the app's policy alone.
@pytest.mark.parametrize("statement", [
    "UPDATE {} SET user_id = %(b)s",
    "UPDATE {} SET user_id = %(b)s WHERE id = %(row)s RETURNING id",
], ids=["every row", "by id"])
@pytest.mark.parametrize("name", OWNED)
def test_app_cannot_move_own_row_to_other_user(db, a, b, name, statement):
    with rls_violation(name), acting(db, a["users"]):
        run(db, statement, name, params={"b": b["users"], "row": a[name]})
    assert value(db, name, "user_id", a[name]) == a["users"]


@pytest.mark.parametrize("statement", [
    INSERT["users"],
    INSERT["users"] + " RETURNING id",
    # Acting for an id nobody has yet, with the id, role and status it likes.
    "INSERT INTO users (id, email, role, status) OVERRIDING SYSTEM VALUE"
    " VALUES (%(next)s, 'sahte@example.com.tr', 'admin', 'active')",
], ids=["plain", "returning", "chosen id and role"])
def test_app_makes_accounts_only_through_register_user(db, a, statement):
    next_id = a["users"] + 1000
    before = scalar(db, "SELECT count(*) FROM users")
    with denied("table users"), acting(db, next_id):
        db.execute(statement, {"next": next_id})
    assert scalar(db, "SELECT count(*) FROM users") == before


@pytest.mark.parametrize("column", ["id", "role", "created_at", "updated_at"])
def test_app_cannot_change_its_accounts_id_role_or_times(db, a, column):
    with denied("table users"), acting(db, a["users"]):
        run(db, f"UPDATE {{}} SET {column} = DEFAULT WHERE id = %(row)s", "users",
            params={"row": a["users"]})
    assert value(db, "users", "role", a["users"]) == "engineer"


def test_app_changes_its_accounts_status_and_profile(db, a):
    with acting(db, a["users"]):
        cur = db.execute("UPDATE users SET status = 'active', email_verified_at = now(),"
                         " company_name = 'Kalıp A.Ş.' WHERE id = %s", (a["users"],))
        assert cur.rowcount == 1
    assert value(db, "users", "status", a["users"]) == "active"


@pytest.mark.parametrize("statement", [
    "INSERT INTO jobs (user_id, model_id, type) VALUES (%(a)s, %(model)s, 'cam_toolpath')",
    "UPDATE jobs SET model_id = %(model)s WHERE id = %(job)s",
], ids=["insert", "update"])
def test_app_cannot_point_a_job_at_another_users_model(db, a, b, statement):
    """Foreign keys ignore row-level security: the key of jobs includes user_id."""
    with rows.violates("fk_jobs_model_id"), acting(db, a["users"]):
        db.execute(statement, {"a": a["users"], "model": b["models"], "job": a["jobs"]})
    assert scalar(db, "SELECT count(*) FROM jobs WHERE model_id = %s", (b["models"],)) == \
        scalar(db, "SELECT count(*) FROM jobs WHERE model_id = %s AND user_id = %s",
               (b["models"], b["users"]))


def test_app_upsert_cannot_take_over_other_users_session(db, a, b):
    token = value(db, "sessions", "refresh_token_hash", b["sessions"])
    with rls_violation("sessions", using=True), acting(db, a["users"]):
        db.execute(
            "INSERT INTO sessions (user_id, refresh_token_hash, access_token_jti, expires_at)"
            " VALUES (%s, %s, %s, now() + interval '1 day')"
            " ON CONFLICT (refresh_token_hash) DO UPDATE SET user_id = EXCLUDED.user_id",
            (a["users"], token, uuid.uuid4()))
    assert value(db, "sessions", "user_id", b["sessions"]) == b["users"]


@pytest.mark.parametrize("name", CORE_TABLES)
def test_admin_flag_in_a_row_gives_no_extra_rows(db, a, b, name):
    db.execute("UPDATE users SET role = 'admin', status = 'active' WHERE id = %s", (a["users"],))
    with acting(db, a["users"]):
        assert ids(db, name) == [a[name]]
        column = CHANGE[name][0]
        cur = run(db, f"UPDATE {{}} SET {column} = {column} WHERE id = %s", name,
                  params=(b[name],))
        assert cur.rowcount == 0
    with acting(db, b["users"]):
        assert ids(db, name) == [b[name]]


# ----------------------------------------------------------------------------- no acting user

# Settings of app.user_id that name no user. {a} stands for user A's id,
# {now} for this transaction's start as set_acting_user() writes it, and
# {before} for an earlier start: each is a near miss of "{a}/{now}", what
# set_acting_user(A) writes.
NO_ACTING_USER = {
    "missing": None,
    "empty": "",
    "plain id (the old SET LOCAL)": "{a}",
    "another transaction's stamp": "{a}/{before}",
    "no stamp": "{a}/",
    "no id": "/{now}",
    "zero": "0/{now}",
    "letters": "abc/{now}",
    "negative": "-{a}/{now}",
    "plus sign": "+{a}/{now}",
    "leading zero": "0{a}/{now}",
    "statement": "{a}/{now}; DROP TABLE users",
    "leading space": " {a}/{now}",
    "trailing space": "{a}/{now} ",
    "trailing newline": "{a}/{now}\n",
    "two stamps": "{a}/{now}/{now}",
    "decimal": "{a}.0/{now}",
    "19 digits": "{a:019d}/{now}",
    "fullwidth digit": "\uff11/{now}",
}


def stamp(db, ago: str = "0") -> str:
    """This transaction's start (minus `ago`), as set_acting_user() writes it."""
    return scalar(db, "SELECT extract(epoch FROM now() - %s::interval)::text", (ago,))


def apply_setting(db, setting: str | None, a_id: int) -> None:
    if setting is not None:
        value = setting.format(a=a_id, now=stamp(db), before=stamp(db, "1 microsecond"))
        db.execute("SELECT set_config('app.user_id', %s, true)", (value,))


def visible_counts(db) -> dict[str, int]:
    return {name: scalar(db, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name)))
            for name in CORE_TABLES}


@pytest.mark.parametrize("setting", list(NO_ACTING_USER.values()), ids=list(NO_ACTING_USER))
def test_app_without_acting_user_sees_no_row(db, a, b, setting):
    with acting(db, None):
        apply_setting(db, setting, a["users"])
        assert visible_counts(db) == dict.fromkeys(CORE_TABLES, 0)
        assert db.execute("UPDATE sessions SET user_agent = 'x'").rowcount == 0
        assert db.execute("DELETE FROM sessions").rowcount == 0


@pytest.mark.parametrize("setting", list(NO_ACTING_USER.values()), ids=list(NO_ACTING_USER))
def test_app_without_acting_user_cannot_insert(db, a, setting):
    with rls_violation("sessions"), acting(db, None):
        apply_setting(db, setting, a["users"])
        rows.session(db, a["users"])


def test_the_stamped_setting_is_what_set_acting_user_writes(db, a):
    """The near misses above miss exactly this value."""
    with acting(db, None):
        apply_setting(db, "{a}/{now}", a["users"])
        assert visible_counts(db) == dict.fromkeys(CORE_TABLES, 1)
        set_by_function = scalar(db, "SELECT set_acting_user(%s)::text || '/' || %s",
                                 (a["users"], stamp(db)))
        assert scalar(db, "SELECT current_setting('app.user_id')") == set_by_function


def test_acting_user_does_not_outlive_its_transaction(db, a):
    with acting(db, a["users"]):
        assert visible_counts(db) == dict.fromkeys(CORE_TABLES, 1)
    with acting(db, None):
        assert scalar(db, "SELECT current_setting('app.user_id', true)") == ""
        assert visible_counts(db) == dict.fromkeys(CORE_TABLES, 0)


def test_acting_user_of_a_rolled_back_transaction_is_gone(db, a):
    with pytest.raises(RuntimeError), acting(db, a["users"]):
        raise RuntimeError("any error rolls the transaction back")
    with acting(db, None):
        assert visible_counts(db) == dict.fromkeys(CORE_TABLES, 0)


def test_set_acting_user_works_in_every_transaction_of_one_connection(db, a, b):
    for user in [a, b, a, b, b, a]:
        with acting(db, user["users"]):
            assert ids(db, "models") == [user["models"]]


def test_a_session_level_set_acts_as_no_one_in_the_next_transaction(db, a):
    """The one-word slip: SET instead of SET LOCAL, as the old README said."""
    db.execute(sql.SQL("SET app.user_id = {}").format(sql.Literal(str(a["users"]))))
    with acting(db, None):
        assert scalar(db, "SELECT current_setting('app.user_id')") == str(a["users"])
        assert visible_counts(db) == dict.fromkeys(CORE_TABLES, 0)


def test_a_stamped_value_left_at_session_level_acts_as_no_one_later(db, a):
    """Even the exact value set_acting_user() writes counts only in its own
    transaction when someone stores it session-wide (set_config(..., false))."""
    with acting(db, None):
        db.execute("SELECT set_config('app.user_id', %s || '/' || %s, false)",
                   (str(a["users"]), stamp(db)))
        assert visible_counts(db) == dict.fromkeys(CORE_TABLES, 1)
    with acting(db, None):
        assert scalar(db, "SELECT current_setting('app.user_id')").startswith(f"{a['users']}/")
        assert visible_counts(db) == dict.fromkeys(CORE_TABLES, 0)


def test_set_acting_user_outside_a_transaction_block_ends_with_its_statement(db, a):
    """In autocommit each statement is its own transaction: the acting user
    named by one is gone in the next (call it inside BEGIN ... COMMIT)."""
    db.execute("SET ROLE cadcam_app")
    try:
        assert scalar(db, "SELECT set_acting_user(%s)", (a["users"],)) == a["users"]
        assert scalar(db, "SELECT count(*) FROM models") == 0
    finally:
        db.execute("RESET ROLE")


def test_set_acting_user_null_acts_as_no_one(db, a):
    with acting(db, a["users"]):
        assert scalar(db, "SELECT set_acting_user(NULL)") is None
        assert visible_counts(db) == dict.fromkeys(CORE_TABLES, 0)


@pytest.mark.parametrize("user_id", [0, -1, -(2**63), 10**18, 2**63 - 1])
def test_set_acting_user_refuses_an_id_that_cannot_be_a_user(db, user_id):
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="a user id is from 1 to"), \
            acting(db, None):
        db.execute("SELECT set_acting_user(%s)", (user_id,))


def test_set_acting_user_in_a_rolled_back_savepoint_is_undone(db, a, b):
    with acting(db, a["users"]):
        with pytest.raises(RuntimeError), db.transaction():
            roles.set_acting_user(db, b["users"])
            assert ids(db, "models") == [b["models"]]
            raise RuntimeError("roll back to the savepoint")
        assert ids(db, "models") == [a["models"]]


def test_acting_user_holds_whatever_the_session_time_zone_and_date_style(db, a):
    with acting(db, None):
        db.execute("SET LOCAL timezone = 'Asia/Tokyo'")
        db.execute("SET LOCAL datestyle = 'SQL, DMY'")
        roles.set_acting_user(db, a["users"])
        db.execute("SET LOCAL timezone = 'America/Los_Angeles'")
        db.execute("SET LOCAL datestyle = 'German'")
        assert scalar(db, "SELECT app_user_id()") == a["users"]


@pytest.mark.parametrize("user_id", [1, 42, 10, int("9" * 18)])
def test_app_user_id_answers_what_set_acting_user_named(db, user_id):
    with acting(db, None):
        assert scalar(db, "SELECT set_acting_user(%s)", (user_id,)) == user_id
        assert scalar(db, "SELECT app_user_id()") == user_id


def reference_app_user_id(setting: str | None, now: str) -> int | None:
    """The rule of app_user_id(), written independently: "<id>/<now>", the id
    a positive decimal number of 1 to 18 ASCII digits, no sign, no leading
    zero, and <now> this transaction's start exactly, nothing else."""
    if setting is None or "/" not in setting:
        return None
    user, rest = setting.split("/", 1)
    if rest != now or not 1 <= len(user) <= 18:
        return None
    if not all("0" <= ch <= "9" for ch in user) or user[0] == "0":
        return None
    return int(user)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(user=st.one_of(
    st.text(max_size=25),
    st.integers(min_value=-10, max_value=10**19).map(str),
    st.from_regex(r"\A0*[0-9]{1,20}\Z"),
), tail=st.one_of(st.none(), st.text(max_size=25), st.sampled_from(["/", "0", " "])))
def test_app_user_id_follows_its_rule_for_any_setting(db, user, tail):
    """tail None: user + "/" + this transaction's stamp; else text after it
    (so the stamp is sometimes exact, sometimes a near miss)."""
    with acting(db, None):
        now = stamp(db)
        setting = (user + "/" + now + (tail or "")).replace("\x00", "")  # no NUL in a setting
        db.execute("SELECT set_config('app.user_id', %s, true)", (setting,))
        assert scalar(db, "SELECT app_user_id()") == reference_app_user_id(setting, now)


# ----------------------------------------------------------------------------- RLS stays on

@pytest.mark.parametrize("name", CORE_TABLES)
@pytest.mark.parametrize("statement", [
    "ALTER TABLE {} DISABLE ROW LEVEL SECURITY",
    "ALTER TABLE {} NO FORCE ROW LEVEL SECURITY",
])
def test_app_cannot_switch_off_row_security(db, a, statement, name):
    with denied(f"must be owner of table {name}"), acting(db, a["users"]):
        run(db, statement, name)


@pytest.mark.parametrize("name", CORE_TABLES)
@pytest.mark.parametrize("statement", [
    "CREATE POLICY pol_escape ON {0} FOR ALL TO cadcam_app USING (TRUE) WITH CHECK (TRUE)",
    "DROP POLICY pol_{0}_app ON {0}",
    "ALTER POLICY pol_{0}_app ON {0} USING (TRUE) WITH CHECK (TRUE)",
    "ALTER POLICY pol_{0}_admin ON {0} TO cadcam_admin, cadcam_app",
])
def test_app_cannot_change_policies(db, a, statement, name):
    with denied(f"must be owner of (table|relation) {name}"), acting(db, a["users"]):
        db.execute(statement.format(name))


@pytest.mark.parametrize("name", CORE_TABLES)
def test_app_with_row_security_off_gets_an_error_not_rows(db, a, b, name):
    with denied(f'query would be affected by row-level security policy for table "{name}"'):
        with acting(db, a["users"]):
            db.execute("SET LOCAL row_security = off")
            run(db, "SELECT id FROM {}", name)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "cadcam_app"])
def test_app_cannot_set_role_to_another_project_role(db, role):
    with as_session_user(db, "cadcam_app"), denied(f'permission denied to set role "{role}"'):
        db.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))


def test_app_cannot_give_itself_bypassrls(db):
    with as_session_user(db, "cadcam_app"), denied(differences.bypassrls_denied(db)):
        db.execute("ALTER ROLE cadcam_app BYPASSRLS")


# ------------------------------------------------------------------- sign-up, sign-in, refresh

def test_sign_up_without_acting_user_then_act_as_the_new_user(db, a):
    with acting(db, None):
        new_id = scalar(db, "SELECT register_user(%s, %s)",
                        ("yeni@example.com.tr", rows.ARGON2ID_HASH))
        assert visible_counts(db)["users"] == 0
    assert isinstance(new_id, int) and new_id != a["users"]
    with acting(db, new_id):
        assert ids(db, "users") == [new_id]


def test_sign_up_makes_a_pending_engineer(db):
    with acting(db, None):
        new_id = scalar(db, "SELECT register_user(%s, %s, locale => 'en')",
                        ("yeni@example.com.tr", rows.BCRYPT_HASH))
    row = rows.fetch("users", db, new_id)
    assert (row["role"], row["status"], row["email"], row["locale"]) == (
        "engineer", "pending", "yeni@example.com.tr", "en")


@pytest.mark.parametrize("argument", ["role => 'admin'", "status => 'active'", "id => 1"])
def test_sign_up_cannot_choose_role_status_or_id(db, argument):
    with pytest.raises(psycopg.errors.UndefinedFunction), acting(db, None):
        db.execute(f"SELECT register_user('x@example.com.tr', NULL, {argument})")
    names = scalar(db, "SELECT proargnames FROM pg_proc WHERE proname = 'register_user'")
    assert set(names) == {"email", "password_hash", "phone", "locale", "timezone"}


def test_sign_in_finds_the_account_by_email(db, a, b):
    db.execute("UPDATE users SET password_hash = %s WHERE id = %s",
               (rows.ARGON2ID_HASH, b["users"]))
    email = value(db, "users", "email", b["users"])
    with acting(db, None):
        found = db.execute("SELECT * FROM user_for_login(%s)", (email,)).fetchall()
        assert found == [(b["users"], rows.ARGON2ID_HASH, "pending")]
        assert db.execute("SELECT * FROM user_for_login('nobody@example.com.tr')").fetchall() == []


def test_sign_in_returns_only_id_hash_and_status(db, a):
    email = value(db, "users", "email", a["users"])
    with acting(db, None):
        cur = db.execute("SELECT * FROM user_for_login(%s)", (email,))
        assert [c.name for c in cur.description] == ["id", "password_hash", "status"]


def test_refresh_finds_the_session_of_any_user(db, a, b):
    token = value(db, "sessions", "refresh_token_hash", b["sessions"])
    for acting_user in (None, a["users"]):
        with acting(db, acting_user):
            found = db.execute("SELECT id, user_id FROM session_for_refresh(%s)", (token,))
            assert found.fetchall() == [(b["sessions"], b["users"])]
            assert db.execute("SELECT * FROM session_for_refresh(%s)",
                              (bytes(32),)).fetchall() == []


# ----------------------------------------------------------------------- admin, readonly, owner

@pytest.fixture
def b_old(db, b):
    """User B's rows, with B's job cancelled a month ago: rows no worker sees."""
    db.execute("UPDATE jobs SET status = 'cancelled', created_at = now() - interval '31 days',"
               " finished_at = now() - interval '30 days' WHERE id = %s", (b["jobs"],))
    return b


@pytest.mark.parametrize("name", CORE_TABLES)
def test_admin_sees_and_updates_every_users_rows(db, a, b_old, name):
    column, new = CHANGE[name]
    with acting(db, None, role="cadcam_admin"):
        assert ids(db, name) == sorted([a[name], b_old[name]])
        assert run(db, f"UPDATE {{}} SET {column} = %s", name, params=(new,)).rowcount == 2
    assert value(db, name, column, a[name]) == value(db, name, column, b_old[name]) == new


@pytest.mark.parametrize("name", OWNED)
def test_admin_inserts_rows_for_any_user(db, a, b, name):
    with acting(db, a["users"], role="cadcam_admin"):
        row_id = insert_for(db, name, b["users"])
    assert value(db, name, "user_id", row_id) == b["users"]


@pytest.mark.parametrize("name", CORE_TABLES)
def test_readonly_sees_every_users_rows_without_acting_user(db, a, b_old, name):
    with acting(db, None, role="cadcam_readonly"):
        assert ids(db, name) == sorted([a[name], b_old[name]])


@pytest.mark.parametrize("name", CORE_TABLES)
def test_owner_sees_every_row_although_row_security_is_forced(db, a, b_old, name):
    with as_role(db, "cadcam_owner"):
        assert ids(db, name) == sorted([a[name], b_old[name]])


def test_auditor_has_no_policy_to_see_core_rows(db):
    assert scalar(db, "SELECT count(*) FROM pg_policies WHERE 'cadcam_auditor' = ANY(roles)") == 0


# ----------------------------------------------------------------------------- worker

def job_in(db, user_id: int, status: str, finished_days_ago: float | None = None, **over) -> int:
    """A job in `status`, with the times that status needs (finished that many days ago)."""
    now = datetime.now(timezone.utc)
    if status in FINISHED:
        finished = now - timedelta(days=finished_days_ago or 0)
        over = {"created_at": finished - timedelta(hours=2), "finished_at": finished, **over}
        if status != "cancelled":
            over["started_at"] = finished - timedelta(hours=1)
        if status == "succeeded":
            over["progress"] = 100
    elif status == "running":
        over = {"created_at": now - timedelta(minutes=1), "started_at": now, **over}
    return rows.job(db, user_id, status=status, **over)


def test_worker_sees_active_jobs_of_every_user(db, a, b):
    active = [job_in(db, user, status) for user in (a["users"], b["users"]) for status in ACTIVE]
    with acting(db, None, role="cadcam_worker"):
        assert ids(db, "jobs") == sorted([a["jobs"], b["jobs"], *active])


@pytest.mark.parametrize("status", FINISHED)
@pytest.mark.parametrize(("days_ago", "visible"),
                         [(0, True), (6.9, True), (7.1, False), (8, False)])
def test_worker_sees_a_finished_job_for_seven_days(db, a, status, days_ago, visible):
    job_id = job_in(db, a["users"], status, days_ago)
    with acting(db, None, role="cadcam_worker"):
        assert (job_id in ids(db, "jobs")) is visible


def test_worker_claims_and_finishes_a_job_with_returning(db, a):
    with acting(db, None, role="cadcam_worker"):
        claimed = db.execute(
            "UPDATE jobs SET status = 'running', started_at = statement_timestamp()"
            " WHERE id = %s AND status = 'pending' RETURNING id, status", (a["jobs"],))
        assert claimed.fetchall() == [(a["jobs"], "running")]
    with acting(db, None, role="cadcam_worker"):
        finished = db.execute(
            "UPDATE jobs SET status = 'succeeded', progress = 100,"
            " finished_at = statement_timestamp() WHERE id = %s RETURNING id, status",
            (a["jobs"],))
        assert finished.fetchall() == [(a["jobs"], "succeeded")]
    assert value(db, "jobs", "finished_at", a["jobs"]) is not None


@pytest.mark.parametrize("status", FINISHED)
def test_worker_cannot_update_a_finished_job(db, a, status):
    job_id = job_in(db, a["users"], status)
    with acting(db, None, role="cadcam_worker"):
        assert job_id in ids(db, "jobs")
        cur = db.execute("UPDATE jobs SET status = 'running', finished_at = NULL, progress = 0,"
                         " error_message = 'stale' WHERE id = %s", (job_id,))
        assert cur.rowcount == 0
    assert (value(db, "jobs", "status", job_id), value(db, "jobs", "error_message", job_id)) == (
        status, None)


@pytest.mark.parametrize("status", ACTIVE)
def test_worker_sees_and_updates_a_model_while_its_job_is_active(db, a, b, status):
    db.execute("UPDATE jobs SET status = %s, started_at = now() WHERE id = %s",
               (status, a["jobs"]))
    db.execute("UPDATE jobs SET status = 'cancelled', finished_at = now() WHERE id = %s",
               (b["jobs"],))
    with acting(db, None, role="cadcam_worker"):
        assert ids(db, "models") == [a["models"]]
        cur = db.execute("UPDATE models SET thumbnail_key = 'thumbnails/x.png'")
        assert cur.rowcount == 1
    assert value(db, "models", "thumbnail_key", a["models"]) == "thumbnails/x.png"
    assert value(db, "models", "thumbnail_key", b["models"]) is None


def test_worker_does_not_see_a_model_without_an_active_job(db, a, b):
    rows.model(db, a["users"])  # no job at all
    db.execute("UPDATE jobs SET status = 'cancelled', finished_at = now() WHERE id = %s",
               (b["jobs"],))
    with acting(db, None, role="cadcam_worker"):
        assert ids(db, "models") == [a["models"]]
        cur = db.execute("UPDATE models SET thumbnail_key = 'thumbnails/x.png'"
                         " WHERE id <> %s", (a["models"],))
        assert cur.rowcount == 0


@pytest.mark.parametrize("name", ["users", "sessions", "licenses"])
def test_worker_cannot_read_accounts_sessions_or_licenses(db, a, name):
    with denied(f"table {name}"), acting(db, None, role="cadcam_worker"):
        run(db, "SELECT id FROM {}", name)


# ----------------------------------------------------------------------------- catalog

@pytest.mark.parametrize("name", CORE_TABLES)
def test_row_security_is_enabled_and_forced(db, name):
    flags = db.execute("SELECT relrowsecurity, relforcerowsecurity FROM pg_class"
                       " WHERE oid = %s::regclass", (f"public.{name}",)).fetchone()
    assert flags == (True, True)


def test_policies_name_only_project_roles(db):
    found = db.execute("SELECT tablename, policyname, roles::text[] FROM pg_policies"
                       " WHERE schemaname = 'public'").fetchall()
    assert {t for t, _, _ in found} >= set(CORE_TABLES)
    assert [(t, p, r) for t, p, r in found if not set(r) <= set(ROLES)] == []


def policy_grants() -> set[tuple[str, str, str]]:
    """(table, role, command) of every policy the schema should have."""
    grants = {(t, r, "ALL") for t in CORE_TABLES
              for r in ("cadcam_app", "cadcam_admin", "cadcam_owner")}
    grants |= {(t, "cadcam_readonly", "SELECT") for t in CORE_TABLES}
    grants |= {(t, "cadcam_worker", c) for t in ("models", "jobs") for c in ("SELECT", "UPDATE")}
    return grants


def test_core_policies_are_exactly_the_designed_ones(db):
    found = db.execute(
        "SELECT tablename, unnest(roles)::text, cmd FROM pg_policies"
        " WHERE schemaname = 'public' AND tablename = ANY(%s)", (CORE_TABLES,)).fetchall()
    assert sorted(found) == sorted(policy_grants())


@pytest.mark.parametrize("role", ROLES)
def test_no_project_role_bypasses_row_security(db, role):
    assert scalar(db, "SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = %s",
                  (role,)) is False
