"""Rules of the sessions table: the refresh-token digest and the access-token
jti (length, uniqueness, presence), the owner's foreign key, the bounded text
columns, the inet address, the order of the timestamps, and the partial index
on device_fingerprint.

Each case changes one column of an otherwise valid row (tests.rows.session).
Timestamps are explicit where a rule compares them: T0 is created_at.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone
from functools import partial
from ipaddress import ip_address

import pytest

from tests import differences, rows

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=3)))
US = timedelta(microseconds=1)
TIMES = {"created_at": T0, "last_used_at": T0, "expires_at": T0 + timedelta(days=30)}
NOT_NULL_COLUMNS = ["refresh_token_hash", "access_token_jti", "created_at", "last_used_at",
                    "expires_at"]

not_null = partial(rows.not_null, "sessions")
invalid_text = partial(rows.data_error, "22P02")
outcome = rows.outcome
session_row = partial(rows.fetch, "sessions")


def offset_id(offset: timedelta) -> str:
    return {-timedelta(days=1): "day-before", -US: "microsecond-before", timedelta(0): "equal",
            US: "microsecond-after", timedelta(days=1): "day-after"}[offset]


OFFSETS = [pytest.param(o, id=offset_id(o))
           for o in (-timedelta(days=1), -US, timedelta(0), US, timedelta(days=1))]


# --- required columns ------------------------------------------------------------

@pytest.mark.parametrize("column", NOT_NULL_COLUMNS)
def test_required_column_rejects_null(db, column):
    with not_null(column):
        rows.session(db, **{**TIMES, column: None})


def test_user_id_rejects_null(db):
    with not_null("user_id"):
        rows.insert(db, "sessions", user_id=None, refresh_token_hash=os.urandom(32),
                    access_token_jti=uuid.uuid4(), **TIMES)


def test_optional_columns_default_to_null(db):
    row = session_row(db, rows.session(db))
    assert [row[c] for c in ("device_fingerprint", "ip_address", "user_agent", "revoked_at")] == [
        None, None, None, None]


# --- refresh_token_hash: SHA-256, 32 bytes, unique ---------------------------------

@pytest.mark.parametrize("digest", [bytes(32), b"\xff" * 32, os.urandom(32)],
                         ids=["zeros", "ones", "random"])
def test_refresh_token_hash_of_32_bytes_accepted(db, digest):
    row = session_row(db, rows.session(db, refresh_token_hash=digest))
    assert row["refresh_token_hash"] == digest


@pytest.mark.parametrize("length", [0, 1, 16, 31, 33, 64])
def test_refresh_token_hash_of_other_length_rejected(db, length):
    with rows.violates("ck_sessions_refresh_token_hash_sha256"):
        rows.session(db, refresh_token_hash=os.urandom(length))


@pytest.mark.parametrize("same_owner", [True, False], ids=["same-user", "other-user"])
def test_duplicate_refresh_token_hash_rejected(db, same_owner):
    owner, digest = rows.user(db), os.urandom(32)
    rows.session(db, owner, refresh_token_hash=digest)
    with rows.violates("uq_sessions_refresh_token_hash") as info:
        rows.session(db, owner if same_owner else None, refresh_token_hash=digest)
    assert info.value.sqlstate == "23505"


def test_refresh_token_hashes_differing_in_last_byte_accepted(db):
    digest = bytes(31)
    rows.session(db, refresh_token_hash=digest + b"\x00")
    rows.session(db, refresh_token_hash=digest + b"\x01")


# --- access_token_jti: uuid, unique ------------------------------------------------

@pytest.mark.parametrize("same_owner", [True, False], ids=["same-user", "other-user"])
def test_duplicate_access_token_jti_rejected(db, same_owner):
    owner, jti = rows.user(db), uuid.uuid4()
    rows.session(db, owner, access_token_jti=jti)
    with rows.violates("uq_sessions_access_token_jti") as info:
        rows.session(db, owner if same_owner else None, access_token_jti=jti)
    assert info.value.sqlstate == "23505"


def test_distinct_access_token_jtis_of_one_user_accepted(db):
    owner = rows.user(db)
    for jti in (uuid.uuid4(), uuid.uuid4()):
        session_id = rows.session(db, owner, access_token_jti=jti)
        assert session_row(db, session_id)["access_token_jti"] == jti


@pytest.mark.parametrize("value", ["not-a-uuid", "", "9f1c6a52-3b8e-4d2f-a8a1-0c5e7d9b2f1"],
                         ids=["text", "empty", "one-digit-short"])
def test_access_token_jti_not_a_uuid_is_a_type_error(db, value):
    with invalid_text():
        rows.session(db, access_token_jti=value)


# --- user_id ---------------------------------------------------------------------

def test_several_sessions_of_one_user_accepted(db):
    owner = rows.user(db)
    for _ in range(3):
        rows.session(db, owner)
    assert db.execute("SELECT count(*) FROM sessions WHERE user_id = %s",
                      (owner,)).fetchone()[0] == 3


def test_unknown_user_rejected(db):
    with rows.violates("fk_sessions_user_id") as info:
        rows.session(db, user_id=987654321)
    assert info.value.sqlstate == "23503"


def test_deleting_a_user_with_a_session_refused(db):
    owner = rows.user(db)
    rows.session(db, owner)
    with rows.violates("fk_sessions_user_id") as info:
        db.execute("DELETE FROM users WHERE id = %s", (owner,))
    assert info.value.sqlstate == differences.restrict_sqlstate(db)
    assert db.execute("SELECT count(*) FROM users WHERE id = %s", (owner,)).fetchone()[0] == 1


def test_deleting_a_user_after_the_sessions_accepted(db):
    owner = rows.user(db)
    rows.session(db, owner)
    db.execute("DELETE FROM sessions WHERE user_id = %s", (owner,))
    db.execute("DELETE FROM users WHERE id = %s", (owner,))


# --- device_fingerprint: NULL or 1..512 characters ----------------------------------

@pytest.mark.parametrize("fingerprint", [None, "x", " ", "x" * 511, "x" * 512, "ş" * 512],
                         ids=["null", "one-char", "space", "511-ascii", "512-ascii",
                              "512-two-byte"])
def test_device_fingerprint_accepted(db, fingerprint):
    row = session_row(db, rows.session(db, device_fingerprint=fingerprint))
    assert row["device_fingerprint"] == fingerprint


@pytest.mark.parametrize("fingerprint", ["", "x" * 513, "ş" * 513, "x" * 10000],
                         ids=["empty", "513-ascii", "513-two-byte", "10000-ascii"])
def test_device_fingerprint_length_rejected(db, fingerprint):
    with rows.violates("ck_sessions_device_fingerprint_length"):
        rows.session(db, device_fingerprint=fingerprint)


def test_device_fingerprint_shared_by_sessions_accepted(db):
    rows.session(db, device_fingerprint="fp-1")
    rows.session(db, device_fingerprint="fp-1")


def test_device_fingerprint_lookup_uses_partial_index(db):
    rows.session(db, device_fingerprint="x")
    db.execute("SET enable_seqscan = off")
    plan = "\n".join(r[0] for r in db.execute(
        "EXPLAIN SELECT id FROM sessions WHERE device_fingerprint = 'x'").fetchall())
    assert "idx_sessions_device_fingerprint" in plan, plan


def test_device_fingerprint_index_is_partial_on_present_values(db):
    predicate = db.execute(
        "SELECT pg_get_expr(indpred, indrelid) FROM pg_index"
        " WHERE indexrelid = 'idx_sessions_device_fingerprint'::regclass").fetchone()[0]
    assert predicate == "(device_fingerprint IS NOT NULL)"


# --- ip_address: inet ----------------------------------------------------------------

@pytest.mark.parametrize("address", [
    "192.0.2.1", "0.0.0.0", "255.255.255.255", "127.0.0.1", "10.1.2.3",
    "2001:db8::1", "::1", "::", "fe80::1", "::ffff:192.0.2.1",
    "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
])
def test_ip_address_accepted(db, address):
    row = session_row(db, rows.session(db, ip_address=address))
    assert row["ip_address"] == ip_address(address)


def test_ip_address_may_be_null(db):
    assert session_row(db, rows.session(db, ip_address=None))["ip_address"] is None


@pytest.mark.parametrize("address", [
    "not-an-ip", "", "256.0.0.1", "192.0.2", "192.0.2.1.5", "2001:db8::g", "2001:db8:::1",
    "localhost",
])
def test_ip_address_not_an_address_is_a_type_error(db, address):
    with invalid_text():
        rows.session(db, ip_address=address)


@pytest.mark.parametrize("network", ["192.0.2.0/24", "10.0.0.0/8", "192.0.2.1/31",
                                     "2001:db8::/32", "2001:db8::1/127"])
def test_ip_address_with_a_netmask_is_rejected(db, network):
    with rows.violates("ck_sessions_ip_address_host"):
        rows.session(db, ip_address=network)


@pytest.mark.parametrize("host", ["192.0.2.1/32", "2001:db8::1/128"])
def test_ip_address_with_a_full_host_mask_is_accepted(db, host):
    assert session_row(db, rows.session(db, ip_address=host))["ip_address"] == ip_address(
        host.split("/")[0])


# --- user_agent: at most 1024 characters --------------------------------------------

@pytest.mark.parametrize("agent", [
    None, "", "x", "Mozilla/5.0 (X11; Linux x86_64) FreeCAD/1.0", "x" * 1023, "x" * 1024,
    "ğ" * 1024,
], ids=["null", "empty", "one-char", "browser", "1023-ascii", "1024-ascii", "1024-two-byte"])
def test_user_agent_accepted(db, agent):
    assert session_row(db, rows.session(db, user_agent=agent))["user_agent"] == agent


@pytest.mark.parametrize("agent", ["x" * 1025, "ğ" * 1025, "x" * 65536],
                         ids=["1025-ascii", "1025-two-byte", "65536-ascii"])
def test_user_agent_too_long_rejected(db, agent):
    with rows.violates("ck_sessions_user_agent_length"):
        rows.session(db, user_agent=agent)


# --- timestamps relative to created_at ----------------------------------------------

@pytest.mark.parametrize("offset", OFFSETS)
def test_expires_at_after_created_at(db, offset):
    with outcome(None if offset > timedelta(0) else "ck_sessions_expires_after_created"):
        rows.session(db, **{**TIMES, "expires_at": T0 + offset})


# A refresh (last_used_at) and a sign-out (revoked_at) are later transactions,
# whose now() may lie before the created_at they see committed, or clients
# whose clocks are behind the server's: no order with created_at is a rule.
@pytest.mark.parametrize("column", ["last_used_at", "revoked_at"])
@pytest.mark.parametrize("offset", OFFSETS)
def test_refresh_and_revoke_times_are_not_ordered_after_created_at(db, column, offset):
    session_id = rows.session(db, **{**TIMES, column: T0 + offset})
    assert session_row(db, session_id)[column] == T0 + offset


def test_revoked_at_after_expiry_accepted(db):
    rows.session(db, **{**TIMES, "revoked_at": TIMES["expires_at"] + timedelta(days=1)})


def test_update_of_expires_at_to_before_created_at_rejected(db):
    session_id = rows.session(db, **TIMES)
    with rows.violates("ck_sessions_expires_after_created"):
        db.execute("UPDATE sessions SET expires_at = %s WHERE id = %s", (T0 - US, session_id))


def test_revoke_and_refresh_by_update_accepted(db):
    session_id = rows.session(db, **TIMES)
    db.execute("UPDATE sessions SET last_used_at = %s, access_token_jti = %s WHERE id = %s",
               (T0 + timedelta(hours=1), uuid.uuid4(), session_id))
    db.execute("UPDATE sessions SET revoked_at = %s WHERE id = %s",
               (T0 + timedelta(hours=2), session_id))
    row = session_row(db, session_id)
    assert (row["last_used_at"], row["revoked_at"]) == (T0 + timedelta(hours=1),
                                                        T0 + timedelta(hours=2))


def test_created_and_last_used_default_to_the_transaction_time(db):
    with db.transaction():
        session_id = rows.session(db)
        now = db.execute("SELECT now()").fetchone()[0]
    row = session_row(db, session_id)
    assert (row["created_at"], row["last_used_at"]) == (now, now)
