"""erase_user(): KVKK/GDPR erasure of one user's personal data, run as the
real cadcam_admin role.

The strongest check reads every row of every table of schema public,
audit_log's partitions included, as text, and looks for any personal value
the user ever had: after erasure none may be left, while the other user's
values and the erased user's licenses, models and jobs stay.
"""

from __future__ import annotations

import ipaddress
import uuid

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from tests import rows
from tests.roles import as_app, as_role

PERSONAL = {
    "email": "ayse.yilmaz@example.com.tr",
    "phone": "+905321234567",
    "password_hash": rows.BCRYPT_HASH,
    "tax_no": rows.VALID_TCKN,
    "company_name": "Yılmaz Kalıp Sanayi",
    "tax_office": "Kadıköy Vergi Dairesi",
    "metadata": Jsonb({"onboarding": "Ayşe'nin atölyesi"}),
}
SESSION = {
    "device_fingerprint": "fp-ayse-laptop-7f3a",
    "ip_address": ipaddress.ip_address("203.0.113.77"),
    "user_agent": "FreeCAD/1.0 (Ayşe MacBook)",
}


def erase(db: psycopg.Connection, user_id: int) -> bool:
    with as_role(db, "cadcam_admin"):
        return db.execute("SELECT erase_user(%s)", (user_id,)).fetchone()[0]


def all_rows_as_text(db: psycopg.Connection) -> str:
    """Every row of every table in schema public (partitions included), as text."""
    tables = db.execute(
        "SELECT c.oid::regclass FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
        " AND c.relkind = 'r'").fetchall()
    return "\n".join(
        str(row[0]) for (table,) in tables
        for row in db.execute(sql.SQL("SELECT t::text FROM {} AS t").format(
            sql.Identifier(str(table)))))


def traces(user: dict, session: dict) -> list[str]:
    """Personal values as they would appear in a row's text."""
    values = [user["email"], user["phone"], user["tax_no"], user["company_name"],
              user["tax_office"], "atölyesi", user["password_hash"][7:]]
    values += [session["device_fingerprint"], str(session["ip_address"]),
               session["user_agent"], session["refresh_token_hash"].hex(),
               str(session["access_token_jti"])]
    return values


@pytest.fixture
def person(db):
    """A user with every personal field, a session, a history of changes made
    as the app, and a license, a model and a job; plus a second user."""
    user_id = rows.user(db, **PERSONAL, email_verified_at="2026-01-02T10:00:00+03:00",
                        phone_verified_at="2026-01-02T10:05:00+03:00")
    session = {**SESSION, "refresh_token_hash": bytes(range(32)),
               "access_token_jti": uuid.uuid4()}
    with as_app(db, user_id):
        session_id = rows.session(db, user_id, **session)
        db.execute("UPDATE users SET company_name = %s WHERE id = %s",
                   (PERSONAL["company_name"] + " A.Ş.", user_id))
        db.execute("UPDATE users SET company_name = %s WHERE id = %s",
                   (PERSONAL["company_name"], user_id))
        kept = {"licenses": rows.license(db, user_id), "models": rows.model(db, user_id)}
        kept["jobs"] = rows.job(db, user_id, model_id=kept["models"])
    other_id = rows.user(db, email="mehmet@example.com.tr", phone="+905551112233")
    other_session = rows.session(db, other_id, user_agent="Mehmet's browser")
    return {"id": user_id, "session": session, "session_id": session_id, "kept": kept,
            "other_id": other_id, "other_session": other_session}


def test_before_erasure_the_personal_values_are_there(db, person):
    """The scan below finds what it looks for: each value is present before."""
    text = all_rows_as_text(db)
    assert [v for v in traces(PERSONAL, person["session"]) if v not in text] == []


def test_nothing_personal_of_the_user_remains_in_any_table(db, person):
    assert erase(db, person["id"]) is True
    text = all_rows_as_text(db)
    assert [v for v in traces(PERSONAL, person["session"]) if v in text] == []


def test_account_is_anonymized_and_soft_deleted(db, person):
    erase(db, person["id"])
    row = rows.fetch("users", db, person["id"])
    assert row["email"] == f"erased-{person['id']}@erased.invalid"
    cleared = ["phone", "password_hash", "tax_no", "company_name", "tax_office",
               "email_verified_at", "phone_verified_at"]
    assert {c: row[c] for c in cleared} == dict.fromkeys(cleared)
    assert (row["metadata"], row["status"]) == ({}, "deleted")
    assert row["deleted_at"] is not None


def test_an_earlier_soft_delete_keeps_its_time(db, person):
    db.execute("UPDATE users SET status = 'deleted', deleted_at = created_at WHERE id = %s",
               (person["id"],))
    before = rows.fetch("users", db, person["id"])["deleted_at"]
    assert erase(db, person["id"]) is True
    assert rows.fetch("users", db, person["id"])["deleted_at"] == before


def test_sessions_are_revoked_and_scrubbed(db, person):
    erase(db, person["id"])
    row = rows.fetch("sessions", db, person["session_id"])
    assert row["revoked_at"] is not None
    assert (row["device_fingerprint"], row["ip_address"], row["user_agent"]) == (None,) * 3
    assert bytes(row["refresh_token_hash"]) != person["session"]["refresh_token_hash"]
    assert row["access_token_jti"] != person["session"]["access_token_jti"]
    with as_role(db, "cadcam_app"):
        found = db.execute("SELECT * FROM session_for_refresh(%s)",
                           (person["session"]["refresh_token_hash"],)).fetchall()
    assert found == []


def test_licenses_models_and_jobs_are_kept_with_their_keys(db, person):
    before = {t: rows.fetch(t, db, i) for t, i in person["kept"].items()}
    erase(db, person["id"])
    after = {t: rows.fetch(t, db, i) for t, i in person["kept"].items()}
    assert after == before


def test_the_other_user_is_untouched(db, person):
    user_before = rows.fetch("users", db, person["other_id"])
    session_before = rows.fetch("sessions", db, person["other_session"])
    entries_before = db.execute("SELECT * FROM audit_log WHERE subject_user_id = %s ORDER BY id",
                                (person["other_id"],)).fetchall()
    erase(db, person["id"])
    assert rows.fetch("users", db, person["other_id"]) == user_before
    assert rows.fetch("sessions", db, person["other_session"]) == session_before
    assert db.execute("SELECT * FROM audit_log WHERE subject_user_id = %s ORDER BY id",
                      (person["other_id"],)).fetchall() == entries_before


def test_earlier_audit_entries_stay_with_personal_values_named_not_kept(db, person):
    count = "SELECT count(*) FROM audit_log WHERE subject_user_id = %s AND action <> 'erase'"
    before = db.execute(count, (person["id"],)).fetchone()[0]
    erase(db, person["id"])
    # The erasure's own changes (the account, the session) add two entries.
    assert db.execute(count, (person["id"],)).fetchone()[0] == before + 2
    insert = db.execute(
        "SELECT new_values, redacted_columns FROM audit_log WHERE subject_user_id = %s"
        " AND table_name = 'users' AND action = 'insert'", (person["id"],)).fetchone()
    assert "email" not in insert[0] and "company_name" not in insert[0]
    assert {"email", "phone", "tax_no", "company_name", "tax_office", "metadata",
            "password_hash"} <= set(insert[1])
    assert insert[0]["id"] == person["id"]  # the rest of the entry stays


def test_the_erasure_is_audited_by_whom_and_how_much(db, person):
    erase(db, person["id"])
    entry = db.execute(
        "SELECT db_role, table_name, row_id, new_values, old_values FROM audit_log"
        " WHERE subject_user_id = %s AND action = 'erase'", (person["id"],)).fetchall()
    assert len(entry) == 1
    db_role, table, row_id, summary, old = entry[0]
    assert (db_role, table, row_id, old) == ("cadcam_admin", "users", person["id"], None)
    assert summary["users"] == 1 and summary["sessions"] == 1
    assert summary["audit_entries"] >= 4


def test_a_second_erasure_changes_nothing_and_writes_nothing(db, person):
    assert erase(db, person["id"]) is True
    snapshot = all_rows_as_text(db)
    assert erase(db, person["id"]) is False
    assert all_rows_as_text(db) == snapshot


def test_a_session_made_after_the_erasure_is_scrubbed_by_the_next(db, person):
    erase(db, person["id"])
    late = {**SESSION, "refresh_token_hash": bytes(range(1, 33)),
            "access_token_jti": uuid.uuid4()}
    session_id = rows.session(db, person["id"], **late)
    assert erase(db, person["id"]) is True
    row = rows.fetch("sessions", db, session_id)
    assert row["revoked_at"] is not None and row["user_agent"] is None
    assert [v for v in traces(PERSONAL, {**late}) if v in all_rows_as_text(db)] == []


def test_a_user_without_sessions_or_history_is_erased(db):
    user_id = rows.user(db, phone="+905001112233")
    assert erase(db, user_id) is True
    assert rows.fetch("users", db, user_id)["phone"] is None


@pytest.mark.parametrize("user_id", [0, -1, 2**63 - 1])
def test_an_unknown_user_is_an_error_not_a_silent_success(db, user_id):
    with pytest.raises(psycopg.errors.NoDataFound, match=f"user {user_id} does not exist"):
        erase(db, user_id)


def test_null_is_an_error_too(db):
    with pytest.raises(psycopg.errors.NoDataFound, match="user <NULL> does not exist"):
        erase(db, None)


def test_the_erased_user_cannot_sign_in(db, person):
    erase(db, person["id"])
    with as_role(db, "cadcam_app"):
        found = db.execute("SELECT * FROM user_for_login(%s)", (PERSONAL["email"],)).fetchall()
    assert found == []
