"""Retention: purge_sessions() deletes sessions expired or revoked more than N
days ago; drop_audit_partitions() detaches and drops the monthly audit_log
partitions that end N months or more before the current UTC month and
deletes older entries from the default partition. Both are run as
cadcam_admin, the only role that may execute them, and reject a NULL or
out-of-range period with SQLSTATE 22023 (invalid_parameter_value).

Sessions are placed around the cutoff (now() - N days) in the transaction
that calls purge_sessions, so that now() is the same for both and the
boundary is exact to the microsecond. Audit partitions are placed in months
counted back from the current UTC month, so the tests mean the same on any
date.
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from tests import rows
from tests.audit import entries, marker, month_start, partition_name, partitions, this_month
from tests.roles import acting, denied, scalar

US = timedelta(microseconds=1)
DAY = timedelta(days=1)
FORBIDDEN = ["cadcam_app", "cadcam_worker", "cadcam_readonly", "cadcam_auditor"]

# ----------------------------------------------------------------------------- purge_sessions

# name: (expires_at - cutoff, revoked_at - cutoff or None, purged?). "valid"
# expires 30 days after now() whatever N is (its offset is added to N days).
SESSIONS = {
    "expired-long-ago": (-30 * DAY, None, True),
    "expired-just-before-cutoff": (-US, None, True),
    "expired-at-cutoff": (timedelta(0), None, False),
    "expired-just-after-cutoff": (US, None, False),
    "revoked-long-ago": ("valid", -30 * DAY, True),
    "revoked-just-before-cutoff": ("valid", -US, True),
    "revoked-at-cutoff": ("valid", timedelta(0), False),
    "revoked-just-after-cutoff": ("valid", US, False),
    "expired-after-but-revoked-before": (US, -DAY, True),
    "revoked-after-but-expired-before": (-DAY, US, True),
    "valid": ("valid", None, False),
}
PERIODS = [pytest.param(None, id="default-30"), pytest.param(0, id="0"),
           pytest.param(1, id="1"), pytest.param(7, id="7"), pytest.param(30, id="30"),
           pytest.param(365, id="365")]


def place_sessions(db: psycopg.Connection, days: int, users: list[int]) -> dict[str, int]:
    """One session per case of SESSIONS, spread over `users`, placed around
    now() - days in the current transaction; name -> session id."""
    placed = {}
    for n, (name, (expires, revoked, _)) in enumerate(SESSIONS.items()):
        if expires == "valid":
            expires = timedelta(days=days + 30)
        placed[name] = scalar(
            db,
            "INSERT INTO sessions (user_id, refresh_token_hash, access_token_jti, created_at,"
            " last_used_at, expires_at, revoked_at)"
            " SELECT %(user)s, %(token)s, %(jti)s, c - interval '400 days',"
            " c - interval '400 days', c + %(expires)s, c + %(revoked)s"
            " FROM (SELECT now() - make_interval(days => %(days)s) AS c) AS cutoff"
            " RETURNING id",
            {"user": users[n % len(users)], "token": os.urandom(32), "jti": uuid.uuid4(),
             "days": days, "expires": expires, "revoked": revoked})
    return placed


def session_ids(db: psycopg.Connection) -> set[int]:
    return {i for (i,) in db.execute("SELECT id FROM sessions")}


@pytest.mark.parametrize("days", PERIODS)
def test_purge_sessions_deletes_exactly_the_dead_sessions_past_the_period(db, days):
    users = [rows.user(db) for _ in range(3)]
    with db.transaction():
        placed = place_sessions(db, 30 if days is None else days, users)
        db.execute("SET LOCAL ROLE cadcam_admin")
        call = "SELECT purge_sessions()" if days is None else "SELECT purge_sessions(%s)"
        purged = scalar(db, call, None if days is None else (days,))
    expected = {name for name, (_, _, gone) in SESSIONS.items() if gone}
    assert session_ids(db) == {placed[n] for n in SESSIONS if n not in expected}
    assert purged == len(expected)
    # The purged sessions belonged to every one of the users.
    assert {users[n % 3] for n, name in enumerate(SESSIONS) if name in expected} == set(users)


def test_purge_sessions_returns_zero_when_nothing_is_dead(db):
    user = rows.user(db)
    kept = {rows.session(db, user_id=user) for _ in range(3)}
    with acting(db, "cadcam_admin"):
        assert scalar(db, "SELECT purge_sessions(0)") == 0
    assert session_ids(db) == kept


def test_purge_sessions_is_repeatable(db):
    users = [rows.user(db)]
    with db.transaction():
        place_sessions(db, 30, users)
    with acting(db, "cadcam_admin"):
        first = scalar(db, "SELECT purge_sessions(30)")
    with acting(db, "cadcam_admin"):
        second = scalar(db, "SELECT purge_sessions(30)")
    assert first > 0
    assert second == 0


@pytest.mark.parametrize("days", [pytest.param(None, id="null"), -1, -30])
def test_purge_sessions_rejects_a_bad_period(db, days):
    with db.transaction():
        place_sessions(db, 30, [rows.user(db)])
    before = session_ids(db)
    with pytest.raises(psycopg.errors.InvalidParameterValue) as info, acting(db, "cadcam_admin"):
        db.execute("SELECT purge_sessions(%s::integer)", (days,))
    assert info.value.sqlstate == "22023"
    assert session_ids(db) == before


@pytest.mark.parametrize("role", FORBIDDEN)
def test_only_admin_may_purge_sessions(db, role):
    user = rows.user(db)
    with db.transaction():
        place_sessions(db, 30, [user])
    before = session_ids(db)
    with denied("function purge_sessions"), acting(db, role, user):
        db.execute("SELECT purge_sessions(0)")
    assert session_ids(db) == before
    assert scalar(db, "SELECT has_function_privilege(%s, 'purge_sessions(integer)', 'EXECUTE')",
                  (role,)) is False


def test_purge_sessions_deletions_are_audited_without_secrets(db):
    users = [rows.user(db) for _ in range(2)]
    mark = marker(db)
    with db.transaction():
        placed = place_sessions(db, 30, users)
        secrets = [s for row in db.execute(
            "SELECT encode(refresh_token_hash, 'hex'), access_token_jti::text FROM sessions")
            for s in row]
        old_rows = {i: row for i, row in db.execute(
            "SELECT id, to_jsonb(s) - '{refresh_token_hash,access_token_jti}'::text[]"
            " FROM sessions s")}
        db.execute("SET LOCAL ROLE cadcam_admin")
        xid = scalar(db, "SELECT pg_current_xact_id()")
        db.execute("SELECT purge_sessions(30)")
    doomed = {placed[n] for n, (_, _, gone) in SESSIONS.items() if gone}
    found = [e for e in entries(db, mark) if e["action"] == "delete"]
    assert sorted(e["row_id"] for e in found) == sorted(doomed)
    for entry in found:
        assert entry["table_name"] == "sessions"
        assert (entry["db_role"], entry["login_role"]) == ("cadcam_admin", "postgres")
        assert entry["acting_user_id"] is None
        assert entry["transaction_id"] == xid
        assert entry["old_values"] == old_rows[entry["row_id"]]
        assert entry["subject_user_id"] == entry["old_values"]["user_id"]
        assert entry["redacted_columns"] == ["access_token_jti", "refresh_token_hash"]
    for entry in entries(db, 0):
        for secret in secrets:
            assert secret not in entry["row_text"]


def test_purge_sessions_leaves_other_tables_alone(db):
    user = rows.user(db)
    rows.license(db, user_id=user)
    rows.job(db, user_id=user, model_id=rows.model(db, user_id=user))
    with db.transaction():
        place_sessions(db, 30, [user])
    counts = "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM licenses)," \
             " (SELECT count(*) FROM models), (SELECT count(*) FROM jobs)"
    before = db.execute(counts).fetchone()
    with acting(db, "cadcam_admin"):
        db.execute("SELECT purge_sessions(0)")
    assert db.execute(counts).fetchone() == before == (1, 1, 1, 1)


# ---------------------------------------------------------------------------- drop_audit_partitions

# Months back from the current UTC month that get a partition (with one entry
# each), and months back whose entries sit in the default partition.
PARTITIONED_BACK = [1, 2, 6, 11, 12, 13, 23, 24, 25, 36]
DEFAULT_BACK = [1, 3, 12, 14, 24, 26, 40]
KEEPS = [pytest.param(None, id="default-24"), pytest.param(1, id="1"),
         pytest.param(2, id="2"), pytest.param(12, id="12"), pytest.param(24, id="24"),
         pytest.param(36, id="36"), pytest.param(100, id="100")]


def add_entry(db: psycopg.Connection, logged_at) -> int:
    return rows.insert(db, "audit_log", logged_at=logged_at, db_role="cadcam_app",
                       login_role="app_login", table_name="users", row_id=0,
                       subject_user_id=0, action="delete",
                       old_values=Jsonb({"email": "eski@example.com.tr"}))


@pytest.fixture
def old_months(db):
    """Partitions for the months of PARTITIONED_BACK, made by the owner as
    create_audit_partitions would, with an entry each, and entries in the
    default partition for the months of DEFAULT_BACK that have no partition.
    Returns {entry id: months back}."""
    placed = {}
    with acting(db, "cadcam_owner"):
        for k in PARTITIONED_BACK:
            start, end = month_start(db, -k), month_start(db, -k + 1)
            db.execute(sql.SQL("CREATE TABLE public.{} PARTITION OF public.audit_log"
                               " FOR VALUES FROM ({}) TO ({})").format(
                sql.Identifier(partition_name(start)), sql.Literal(start), sql.Literal(end)))
    for k in PARTITIONED_BACK:
        placed[add_entry(db, month_start(db, -k) + timedelta(days=10))] = k
    for k in DEFAULT_BACK:
        if k in PARTITIONED_BACK:
            continue
        placed[add_entry(db, month_start(db, -k) + timedelta(days=15))] = k
    for k in (0, 2):
        placed[add_entry(db, month_start(db, k) + timedelta(hours=1))] = -k
    in_default = {i for (i,) in db.execute("SELECT id FROM audit_log_default")}
    assert in_default == {i for i, k in placed.items() if k not in PARTITIONED_BACK and k > 0}
    return placed


@pytest.mark.parametrize("keep", KEEPS)
def test_drop_audit_partitions_drops_exactly_the_months_past_the_period(db, old_months, keep):
    months = 24 if keep is None else keep
    before = partitions(db)
    with acting(db, "cadcam_admin"):
        call = "SELECT drop_audit_partitions()" if keep is None else \
            "SELECT drop_audit_partitions(%s)"
        dropped = [n for (n,) in db.execute(call, None if keep is None else (keep,))]
    expected = sorted(partition_name(month_start(db, -k)) for k in PARTITIONED_BACK
                      if k >= months + 1)
    assert dropped == expected
    assert partitions(db) == {n: b for n, b in before.items() if n not in expected}
    assert db.execute("SELECT relname FROM pg_class WHERE relname = ANY(%s)",
                      (expected,)).fetchall() == []
    assert "audit_log_default" in partitions(db)
    assert this_month(db) in partitions(db)
    # Entries: everything before the cutoff is gone, from dropped partitions
    # and from the default partition alike; everything after it is kept.
    left = {i for (i,) in db.execute("SELECT id FROM audit_log WHERE id = ANY(%s)",
                                     (list(old_months),))}
    assert left == {i for i, k in old_months.items() if k <= months}


def test_drop_audit_partitions_detaches_before_dropping(db, old_months):
    """An event trigger records, at the start of every ALTER TABLE and DROP
    TABLE, which partitions audit_log has: each partition must be detached
    (ALTER TABLE audit_log DETACH PARTITION) before it is dropped."""
    db.execute("CREATE TABLE public.ddl_trace (seq serial, tag text, attached text[])")
    db.execute("""
        CREATE FUNCTION public.trace_ddl() RETURNS event_trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = pg_catalog AS $$
        BEGIN
            INSERT INTO public.ddl_trace (tag, attached)
            SELECT tg_tag, array_agg(c.relname::text ORDER BY c.relname)
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'public.audit_log'::regclass;
        END $$""")
    db.execute("CREATE EVENT TRIGGER trace_ddl ON ddl_command_start"
               " WHEN TAG IN ('ALTER TABLE', 'DROP TABLE') EXECUTE FUNCTION public.trace_ddl()")
    attached = sorted(partitions(db))
    with acting(db, "cadcam_admin"):
        dropped = [n for (n,) in db.execute("SELECT drop_audit_partitions(12)")]
    db.execute("DROP EVENT TRIGGER trace_ddl")
    assert len(dropped) == 5
    expected = []
    for name in dropped:
        expected.append(("ALTER TABLE", list(attached)))
        attached.remove(name)
        expected.append(("DROP TABLE", list(attached)))
    assert db.execute("SELECT tag, attached FROM public.ddl_trace ORDER BY seq").fetchall() \
        == expected


def test_drop_audit_partitions_never_drops_the_current_month(db, old_months):
    current = this_month(db)
    with acting(db, "cadcam_admin"):
        dropped = [n for (n,) in db.execute("SELECT drop_audit_partitions(1)")]
    assert current not in dropped
    assert partition_name(month_start(db, -1)) not in dropped
    assert {current, partition_name(month_start(db, -1))} <= set(partitions(db))
    # New writes still land in this month's partition.
    user = rows.user(db)
    assert scalar(db, "SELECT tableoid::regclass::text FROM audit_log WHERE table_name = 'users'"
                      " AND row_id = %s", (user,)) == current


def test_drop_audit_partitions_is_repeatable(db, old_months):
    with acting(db, "cadcam_admin"):
        first = db.execute("SELECT drop_audit_partitions(12)").fetchall()
    with acting(db, "cadcam_admin"):
        second = db.execute("SELECT drop_audit_partitions(12)").fetchall()
    assert len(first) == 5
    assert second == []


def test_drop_audit_partitions_keeps_the_months_made_by_create(db):
    """With only the migration's partitions (this month and three ahead), even
    the shortest period drops nothing."""
    before = partitions(db)
    rows.user(db)
    count = scalar(db, "SELECT count(*) FROM audit_log")
    with acting(db, "cadcam_admin"):
        assert db.execute("SELECT drop_audit_partitions(1)").fetchall() == []
    assert partitions(db) == before
    assert scalar(db, "SELECT count(*) FROM audit_log") == count


@pytest.mark.parametrize("keep", [pytest.param(None, id="null"), 0, -1])
def test_drop_audit_partitions_rejects_a_bad_period(db, old_months, keep):
    before = partitions(db)
    with pytest.raises(psycopg.errors.InvalidParameterValue) as info, acting(db, "cadcam_admin"):
        db.execute("SELECT drop_audit_partitions(%s::integer)", (keep,))
    assert info.value.sqlstate == "22023"
    assert partitions(db) == before
    assert scalar(db, "SELECT count(*) FROM audit_log WHERE id = ANY(%s)",
                  (list(old_months),)) == len(old_months)


@pytest.mark.parametrize("role", FORBIDDEN)
def test_only_admin_may_drop_audit_partitions(db, old_months, role):
    before = partitions(db)
    with denied("function drop_audit_partitions"), acting(db, role, 1):
        db.execute("SELECT drop_audit_partitions(1)")
    assert partitions(db) == before
    assert scalar(db, "SELECT has_function_privilege(%s, 'drop_audit_partitions(integer)',"
                      " 'EXECUTE')", (role,)) is False


@pytest.mark.parametrize("function", ["purge_sessions(integer)", "drop_audit_partitions(integer)"])
def test_retention_function_is_security_definer_owned_by_owner(db, function):
    definer, config, owner, comment = db.execute(
        "SELECT prosecdef, proconfig, proowner::regrole::text, obj_description(oid, 'pg_proc')"
        " FROM pg_proc WHERE oid = %s::regprocedure", (function,)).fetchone()
    assert definer is True
    assert "search_path=pg_catalog, pg_temp" in config
    assert owner == "cadcam_owner"
    assert comment
    executors = {r for (r,) in db.execute(
        "SELECT rolname FROM pg_roles WHERE rolname LIKE 'cadcam\\_%%'"
        " AND has_function_privilege(oid, %s, 'EXECUTE')", (function,))}
    assert executors == {"cadcam_owner", "cadcam_admin"}
