"""Rules of the licenses table: plan and status enums with their defaults, the
seat count, the period order, the features object, cancelled_at tied to the
cancelled status, the exclusion of overlapping active licenses of one user,
updated_at kept by trigger, and the owner's foreign key.

Each case changes one column of an otherwise valid row (tests.rows.license).
The reference period is [S, E); T0 is an explicit created_at in the past.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from functools import partial

import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tests import differences, rows

TR = timezone(timedelta(hours=3))
S = datetime(2026, 1, 1, tzinfo=TR)
E = datetime(2027, 1, 1, tzinfo=TR)
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=TR)
US = timedelta(microseconds=1)
DAY = timedelta(days=1)
YEAR = timedelta(days=365)

PLANS = ["trial", "starter", "professional", "enterprise", "education"]
STATUSES = ["pending", "active", "suspended", "expired", "cancelled"]
NOT_ACTIVE = ["pending", "suspended", "expired", "cancelled"]
NOT_NULL_COLUMNS = ["plan", "status", "starts_at", "ends_at", "seats", "features", "auto_renew",
                    "created_at", "updated_at"]

not_null = partial(rows.not_null, "licenses")
data_error = rows.data_error
outcome = rows.outcome


@contextmanager
def overlap_rejected():
    with rows.violates("ex_licenses_active_overlap") as info:
        yield
    assert info.value.sqlstate == "23P01"


def in_status(status: str, **over) -> dict:
    """Columns of a license in `status` that satisfy every rule, then `over`."""
    values = {"status": status, "starts_at": S, "ends_at": E}
    if status == "cancelled":
        values["cancelled_at"] = S + DAY
    return {**values, **over}


def license_row(db, license_id: int) -> dict:
    cur = db.cursor(row_factory=dict_row)
    return cur.execute("SELECT * FROM licenses WHERE id = %s", (license_id,)).fetchone()


def update(db, license_id: int, **values):
    assignments = ", ".join(f"{column} = %({column})s" for column in values)
    return db.execute(f"UPDATE licenses SET {assignments} WHERE id = %(id)s"
                      " RETURNING updated_at, now()", {**values, "id": license_id}).fetchone()


def offset_id(offset: timedelta) -> str:
    return {-DAY: "day-before", -US: "microsecond-before", timedelta(0): "equal",
            US: "microsecond-after", DAY: "day-after"}[offset]


OFFSETS = [pytest.param(o, id=offset_id(o)) for o in (-DAY, -US, timedelta(0), US, DAY)]


# --- required columns, defaults, enum types -------------------------------------------

@pytest.mark.parametrize("column", NOT_NULL_COLUMNS)
def test_required_column_rejects_null(db, column):
    with not_null(column):
        rows.license(db, **{column: None})


def test_user_id_rejects_null(db):
    with not_null("user_id"):
        rows.insert(db, "licenses", user_id=None, plan="trial", starts_at=S, ends_at=E)


def test_plan_has_no_default(db):
    with not_null("plan"):
        db.execute("INSERT INTO licenses (user_id, starts_at, ends_at) VALUES (%s, %s, %s)",
                   (rows.user(db), S, E))


def test_defaults(db):
    row = license_row(db, rows.license(db))
    assert {k: row[k] for k in ("status", "seats", "features", "auto_renew", "cancelled_at")} == {
        "status": "pending", "seats": 1, "features": {}, "auto_renew": False,
        "cancelled_at": None}


def test_created_and_updated_default_to_the_transaction_time(db):
    with db.transaction():
        license_id = rows.license(db)
        now = db.execute("SELECT now()").fetchone()[0]
    row = license_row(db, license_id)
    assert (row["created_at"], row["updated_at"]) == (now, now)


@pytest.mark.parametrize("plan", PLANS)
def test_every_plan_is_accepted(db, plan):
    assert license_row(db, rows.license(db, plan=plan))["plan"] == plan


def test_plan_values_in_order(db):
    assert db.execute("SELECT enum_range(NULL::license_plan)::text[]").fetchone()[0] == PLANS


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_is_accepted(db, status):
    assert license_row(db, rows.license(db, **in_status(status)))["status"] == status


def test_status_values_in_order(db):
    assert db.execute("SELECT enum_range(NULL::license_status)::text[]").fetchone()[0] == STATUSES


@pytest.mark.parametrize(("column", "value"), [
    ("plan", "free"), ("plan", "Professional"), ("plan", "pro"), ("plan", ""),
    ("status", "revoked"), ("status", "Active"), ("status", "canceled"), ("status", ""),
])
def test_invalid_enum_value_is_a_type_error(db, column, value):
    with data_error("22P02"):
        rows.license(db, **{column: value})


@pytest.mark.parametrize("auto_renew", [True, False])
def test_auto_renew_accepted(db, auto_renew):
    assert license_row(db, rows.license(db, auto_renew=auto_renew))["auto_renew"] is auto_renew


# --- seats -----------------------------------------------------------------------------

@pytest.mark.parametrize("seats", [1, 2, 500, 2**31 - 1])
def test_seats_at_least_one_accepted(db, seats):
    assert license_row(db, rows.license(db, seats=seats))["seats"] == seats


@pytest.mark.parametrize("seats", [0, -1, -500, -(2**31)])
def test_seats_below_one_rejected(db, seats):
    with rows.violates("ck_licenses_seats_positive"):
        rows.license(db, seats=seats)


def test_seats_beyond_integer_is_out_of_range(db):
    with data_error("22003"):
        rows.license(db, seats=2**31)


def test_update_seats_to_zero_rejected(db):
    license_id = rows.license(db, seats=5)
    with rows.violates("ck_licenses_seats_positive"):
        update(db, license_id, seats=0)


# --- period: starts_at < ends_at -------------------------------------------------------

@pytest.mark.parametrize("offset", OFFSETS)
def test_ends_at_after_starts_at(db, offset):
    with outcome(None if offset > timedelta(0) else "ck_licenses_period_order"):
        rows.license(db, starts_at=S, ends_at=S + offset)


def test_reversed_period_rejected(db):
    with rows.violates("ck_licenses_period_order"):
        rows.license(db, starts_at=E, ends_at=S)


def test_update_ends_at_to_starts_at_rejected(db):
    license_id = rows.license(db, starts_at=S, ends_at=E)
    with rows.violates("ck_licenses_period_order"):
        update(db, license_id, ends_at=S)


# --- features: a JSON object -----------------------------------------------------------

@pytest.mark.parametrize("features", [
    pytest.param({}, id="empty-object"),
    pytest.param({"cam": True, "max_jobs": 50}, id="flat-object"),
    pytest.param({"limits": {"max_jobs": 50}, "formats": ["step", "stl"]}, id="nested-object"),
    pytest.param({"note": None}, id="object-with-null-member"),
])
def test_features_object_accepted(db, features):
    assert license_row(db, rows.license(db, features=Jsonb(features)))["features"] == features


@pytest.mark.parametrize("features", [
    pytest.param([], id="empty-array"),
    pytest.param([{"cam": True}], id="array-of-object"),
    pytest.param("cam", id="string"),
    pytest.param("{}", id="string-of-object"),
    pytest.param(0, id="zero"),
    pytest.param(50, id="number"),
    pytest.param(1.5, id="decimal"),
    pytest.param(True, id="true"),
    pytest.param(False, id="false"),
    pytest.param(None, id="json-null"),
])
def test_features_non_object_rejected(db, features):
    with rows.violates("ck_licenses_features_object"):
        rows.license(db, features=Jsonb(features))


def test_features_searched_by_containment(db):
    wanted = rows.license(db, features=Jsonb({"cam": True, "max_jobs": 50}))
    rows.license(db, features=Jsonb({"cam": False}))
    found = db.execute("SELECT id FROM licenses WHERE features @> %s",
                       (Jsonb({"cam": True}),)).fetchall()
    assert found == [(wanted,)]


# --- cancelled_at: set exactly when status is cancelled ---------------------------------

@pytest.mark.parametrize("cancelled_at", [None, S + DAY], ids=["no-cancelled_at", "cancelled_at"])
@pytest.mark.parametrize("status", STATUSES)
def test_cancelled_at_set_exactly_when_cancelled(db, status, cancelled_at):
    consistent = (status == "cancelled") == (cancelled_at is not None)
    with outcome(None if consistent else "ck_licenses_cancelled_at_status"):
        rows.license(db, **in_status(status, cancelled_at=cancelled_at))


@pytest.mark.parametrize("status", ["pending", "active"])
def test_cancel_by_update(db, status):
    license_id = rows.license(db, **in_status(status))
    with rows.violates("ck_licenses_cancelled_at_status"):
        update(db, license_id, status="cancelled")
    with rows.violates("ck_licenses_cancelled_at_status"):
        update(db, license_id, cancelled_at=S + DAY)
    update(db, license_id, status="cancelled", cancelled_at=S + DAY)
    assert license_row(db, license_id)["status"] == "cancelled"


def test_reactivating_keeps_no_cancelled_at(db):
    license_id = rows.license(db, **in_status("cancelled"))
    with rows.violates("ck_licenses_cancelled_at_status"):
        update(db, license_id, status="active")
    update(db, license_id, status="active", cancelled_at=None)


# --- no two active licenses of one user overlap -------------------------------------------

OVERLAPPING = [
    pytest.param(S, E, id="identical"),
    pytest.param(S + 30 * DAY, E - 30 * DAY, id="inside"),
    pytest.param(S - 30 * DAY, E + 30 * DAY, id="containing"),
    pytest.param(S - 30 * DAY, S + 30 * DAY, id="overlaps-start"),
    pytest.param(E - 30 * DAY, E + 30 * DAY, id="overlaps-end"),
    pytest.param(S, S + DAY, id="same-start"),
    pytest.param(E - DAY, E, id="same-end"),
    pytest.param(S - YEAR, S + US, id="one-microsecond-at-start"),
    pytest.param(E - US, E + YEAR, id="one-microsecond-at-end"),
]
DISJOINT = [
    pytest.param(E, E + YEAR, id="starts-when-other-ends"),
    pytest.param(S - YEAR, S, id="ends-when-other-starts"),
    pytest.param(E + US, E + YEAR, id="one-microsecond-after"),
    pytest.param(S - YEAR, S - US, id="one-microsecond-before"),
    pytest.param(E + YEAR, E + 2 * YEAR, id="year-after"),
]


@pytest.mark.parametrize(("starts_at", "ends_at"), OVERLAPPING)
def test_overlapping_active_licenses_of_one_user_rejected(db, starts_at, ends_at):
    owner = rows.user(db)
    rows.license(db, owner, **in_status("active"))
    with overlap_rejected():
        rows.license(db, owner, **in_status("active", starts_at=starts_at, ends_at=ends_at))


@pytest.mark.parametrize(("starts_at", "ends_at"), DISJOINT)
def test_disjoint_active_licenses_of_one_user_accepted(db, starts_at, ends_at):
    owner = rows.user(db)
    rows.license(db, owner, **in_status("active"))
    rows.license(db, owner, **in_status("active", starts_at=starts_at, ends_at=ends_at))


@pytest.mark.parametrize("first_active", [True, False], ids=["active-first", "active-second"])
@pytest.mark.parametrize("status", NOT_ACTIVE)
@pytest.mark.parametrize(("starts_at", "ends_at"), OVERLAPPING)
def test_overlap_with_a_license_not_active_accepted(db, status, first_active, starts_at, ends_at):
    owner = rows.user(db)
    first, second = ("active", status) if first_active else (status, "active")
    rows.license(db, owner, **in_status(first))
    rows.license(db, owner, **in_status(second, starts_at=starts_at, ends_at=ends_at))


@pytest.mark.parametrize("status", NOT_ACTIVE)
def test_overlapping_licenses_not_active_accepted(db, status):
    owner = rows.user(db)
    for _ in range(3):
        rows.license(db, owner, **in_status(status))


@pytest.mark.parametrize(("starts_at", "ends_at"), OVERLAPPING)
def test_overlapping_active_licenses_of_two_users_accepted(db, starts_at, ends_at):
    rows.license(db, **in_status("active"))
    rows.license(db, **in_status("active", starts_at=starts_at, ends_at=ends_at))


def test_three_consecutive_active_renewals_accepted(db):
    owner = rows.user(db)
    for year in range(3):
        rows.license(db, owner, **in_status("active", starts_at=S + year * YEAR,
                                            ends_at=S + (year + 1) * YEAR))


@pytest.mark.parametrize("status", ["pending", "suspended", "expired"])
def test_activating_an_overlapping_license_rejected(db, status):
    owner = rows.user(db)
    rows.license(db, owner, **in_status("active"))
    license_id = rows.license(db, owner, **in_status(status, starts_at=S + DAY))
    with overlap_rejected():
        update(db, license_id, status="active")
    assert license_row(db, license_id)["status"] == status


def test_activating_a_touching_license_accepted(db):
    owner = rows.user(db)
    rows.license(db, owner, **in_status("active"))
    license_id = rows.license(db, owner, **in_status("pending", starts_at=E, ends_at=E + YEAR))
    update(db, license_id, status="active")


def test_extending_an_active_license_into_another_rejected(db):
    owner = rows.user(db)
    rows.license(db, owner, **in_status("active", starts_at=E, ends_at=E + YEAR))
    license_id = rows.license(db, owner, **in_status("active"))
    with overlap_rejected():
        update(db, license_id, ends_at=E + US)


def test_cancelling_frees_the_period(db):
    owner = rows.user(db)
    first = rows.license(db, owner, **in_status("active"))
    update(db, first, status="cancelled", cancelled_at=S + DAY)
    rows.license(db, owner, **in_status("active"))


def test_moving_an_overlapping_license_to_another_user_rejected(db):
    owner, other = rows.user(db), rows.user(db)
    rows.license(db, owner, **in_status("active"))
    license_id = rows.license(db, other, **in_status("active"))
    with overlap_rejected():
        update(db, license_id, user_id=owner)


# --- updated_at ------------------------------------------------------------------------

def test_update_moves_updated_at_to_the_transaction_time(db):
    license_id = rows.license(db, created_at=T0, updated_at=T0)
    updated_at, now = update(db, license_id, seats=2)
    assert updated_at == now
    assert updated_at > T0
    assert license_row(db, license_id)["updated_at"] == now


@pytest.mark.parametrize("sent", [T0, T0 - YEAR, datetime(2999, 1, 1, tzinfo=TR)],
                         ids=["created_at", "before-created_at", "far-future"])
def test_updated_at_sent_by_the_client_is_overridden(db, sent):
    license_id = rows.license(db, created_at=T0, updated_at=T0)
    updated_at, now = update(db, license_id, auto_renew=True, updated_at=sent)
    assert updated_at == now


def test_updated_at_is_the_time_of_the_updating_transaction(db):
    license_id = rows.license(db, created_at=T0, updated_at=T0)
    with db.transaction():
        now = db.execute("SELECT now()").fetchone()[0]
        db.execute("SELECT pg_sleep(0.01)")
        update(db, license_id, seats=3)
    assert license_row(db, license_id)["updated_at"] == now


def test_updated_at_is_kept_by_the_named_trigger(db):
    license_id = rows.license(db, created_at=T0, updated_at=T0)
    db.execute("ALTER TABLE licenses DISABLE TRIGGER trg_licenses_updated_at")
    updated_at, _ = update(db, license_id, seats=2)
    assert updated_at == T0


# updated_at is the updating transaction's start, which may lie before a
# created_at it sees committed: no order between them is a rule.
@pytest.mark.parametrize("offset", OFFSETS)
def test_updated_at_is_not_ordered_after_created_at(db, offset):
    license_id = rows.license(db, created_at=T0, updated_at=T0 + offset)
    assert license_row(db, license_id)["updated_at"] == T0 + offset


# --- user_id ---------------------------------------------------------------------------

def test_unknown_user_rejected(db):
    with rows.violates("fk_licenses_user_id") as info:
        rows.license(db, user_id=987654321)
    assert info.value.sqlstate == "23503"


def test_update_to_unknown_user_rejected(db):
    license_id = rows.license(db)
    with rows.violates("fk_licenses_user_id"):
        update(db, license_id, user_id=987654321)


def test_deleting_a_user_with_a_license_refused(db):
    owner = rows.user(db)
    rows.license(db, owner)
    with rows.violates("fk_licenses_user_id") as info:
        db.execute("DELETE FROM users WHERE id = %s", (owner,))
    assert info.value.sqlstate == differences.restrict_sqlstate(db)
    assert db.execute("SELECT count(*) FROM users WHERE id = %s", (owner,)).fetchone()[0] == 1


def test_deleting_a_user_after_the_licenses_accepted(db):
    owner = rows.user(db)
    rows.license(db, owner)
    db.execute("DELETE FROM licenses WHERE user_id = %s", (owner,))
    db.execute("DELETE FROM users WHERE id = %s", (owner,))
