"""Rules of the jobs table: column ranges, unique keys, JSON objects, foreign
keys, state consistency over all seven statuses, the life cycle by UPDATEs,
updated_at, and the storage that keeps progress updates heap-only (HOT).

Each case changes one column of an otherwise valid row (tests.rows.job).
Timestamps are explicit: T0 created, T1 started, T2 finished.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from functools import partial

import pytest
from psycopg.types.json import Jsonb

from tests import rows
from tests.roles import as_app

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=3)))
T1 = T0 + timedelta(minutes=5)
T2 = T1 + timedelta(hours=1)
US = timedelta(microseconds=1)

JOB_TYPES = ["model_generate", "model_import", "cam_toolpath", "gcode_post", "simulation",
             "thumbnail", "export"]
FINISHED = ["succeeded", "failed", "cancelled", "timed_out"]
STATUSES = ["pending", "queued", "running", *FINISHED]
STARTED = ["running", *FINISHED]
NOT_NULL_COLUMNS = ["user_id", "type", "status", "priority", "progress", "retry_count",
                    "max_retries", "timeout_seconds", "created_at", "updated_at"]

not_null = partial(rows.not_null, "jobs")
data_error = rows.data_error
outcome = rows.outcome
job_row = partial(rows.fetch, "jobs")


def copy_of_valid_job(db, **over) -> int:
    row = job_row(db, rows.job(db))
    del row["id"]
    return rows.insert(db, "jobs", **{**row, **over})


def consistent(status: str, **over) -> dict:
    """Columns of a job in `status` that satisfy every state rule, then `over`."""
    values = {"status": status, "created_at": T0, "updated_at": T0}
    if status in STARTED:
        values["started_at"] = T1
    if status in FINISHED:
        values["finished_at"] = T2
    if status == "succeeded":
        values["progress"] = 100
    return {**values, **over}


def case(column: str, value, *rest):
    return pytest.param(column, value, *rest, id=f"{column}={value}")


def retries(retry_count: int, max_retries: int, *rest):
    return pytest.param(retry_count, max_retries, *rest,
                        id=f"retry_count={retry_count}-max_retries={max_retries}")


def update(db, job_id: int, **values) -> None:
    assignments = ", ".join(f"{column} = %({column})s" for column in values)
    db.execute(f"UPDATE jobs SET {assignments} WHERE id = %(id)s", {**values, "id": job_id})


# --- required columns, defaults, enum types ---------------------------------------

@pytest.mark.parametrize("column", NOT_NULL_COLUMNS)
def test_required_column_rejects_null(db, column):
    with not_null(column):
        copy_of_valid_job(db, **{column: None})


def test_defaults(db):
    row = job_row(db, rows.job(db))
    assert {k: row[k] for k in ("status", "priority", "progress", "retry_count", "max_retries",
                                "timeout_seconds", "model_id", "started_at", "finished_at")} == {
        "status": "pending", "priority": 5, "progress": 0, "retry_count": 0, "max_retries": 3,
        "timeout_seconds": 3600, "model_id": None, "started_at": None, "finished_at": None}


@pytest.mark.parametrize("value", JOB_TYPES)
def test_every_job_type_is_accepted(db, value):
    assert job_row(db, rows.job(db, type=value))["type"] == value


@pytest.mark.parametrize(("column", "value"), [
    ("type", "bogus"), ("type", "CAM_TOOLPATH"), ("type", ""),
    ("status", "done"), ("status", "Running"), ("status", "timed out"),
    ("celery_task_id", "not-a-uuid"), ("celery_task_id", ""),
])
def test_invalid_type_value_is_a_type_error(db, column, value):
    with data_error("22P02"):
        rows.job(db, **{column: value})


# --- numeric ranges ----------------------------------------------------------------

@pytest.mark.parametrize(("column", "value"), [
    case("priority", 0), case("priority", 1), case("priority", 8), case("priority", 9),
    case("progress", 0), case("progress", 1), case("progress", 99), case("progress", 100),
    case("timeout_seconds", 1), case("timeout_seconds", 3600),
    case("timeout_seconds", 2**31 - 1),
])
def test_value_in_range_accepted(db, column, value):
    assert job_row(db, rows.job(db, **{column: value}))[column] == value


@pytest.mark.parametrize(("column", "value", "constraint"), [
    case("priority", -1, "ck_jobs_priority_range"),
    case("priority", 10, "ck_jobs_priority_range"),
    case("priority", -(2**15), "ck_jobs_priority_range"),
    case("priority", 2**15 - 1, "ck_jobs_priority_range"),
    case("progress", -1, "ck_jobs_progress_range"),
    case("progress", 101, "ck_jobs_progress_range"),
    case("progress", 2**15 - 1, "ck_jobs_progress_range"),
    case("timeout_seconds", 0, "ck_jobs_timeout_seconds_positive"),
    case("timeout_seconds", -1, "ck_jobs_timeout_seconds_positive"),
    case("timeout_seconds", -5, "ck_jobs_timeout_seconds_positive"),
    case("timeout_seconds", -(2**31), "ck_jobs_timeout_seconds_positive"),
])
def test_value_out_of_range_rejected(db, column, value, constraint):
    with rows.violates(constraint):
        rows.job(db, **{column: value})


@pytest.mark.parametrize(("column", "value"), [
    case("priority", 2**15), case("progress", -(2**15) - 1), case("timeout_seconds", 2**31),
    case("retry_count", 2**31), case("max_retries", -(2**31) - 1),
])
def test_value_beyond_column_type_is_out_of_range(db, column, value):
    with data_error("22003"):
        rows.job(db, **{column: value})


@pytest.mark.parametrize(("retry_count", "max_retries"), [
    retries(0, 0), retries(0, 3), retries(2, 3), retries(3, 3), retries(2**31 - 1, 2**31 - 1),
])
def test_retries_within_max_accepted(db, retry_count, max_retries):
    rows.job(db, retry_count=retry_count, max_retries=max_retries)


@pytest.mark.parametrize(("retry_count", "max_retries", "constraint"), [
    retries(4, 3, "ck_jobs_retry_count_within_max"),
    retries(1, 0, "ck_jobs_retry_count_within_max"),
    retries(2**31 - 1, 2**31 - 2, "ck_jobs_retry_count_within_max"),
    retries(-1, 3, "ck_jobs_retry_count_nonnegative"),
    retries(-1, 0, "ck_jobs_retry_count_nonnegative"),
    retries(-(2**31), 3, "ck_jobs_retry_count_nonnegative"),
    # max_retries < 0 with retry_count >= 0 also breaks retry_count_within_max;
    # PostgreSQL checks CHECK constraints in name order, so "max_..." is reported.
    retries(0, -1, "ck_jobs_max_retries_nonnegative"),
    retries(-2, -1, "ck_jobs_max_retries_nonnegative"),
])
def test_retries_rejected(db, retry_count, max_retries, constraint):
    with rows.violates(constraint):
        rows.job(db, retry_count=retry_count, max_retries=max_retries)


# --- idempotency_key, celery_task_id, error_message ------------------------------

@pytest.mark.parametrize("key", ["k", " ", "x" * 255, "ş" * 255, "sipariş-2024-0001"],
                         ids=["one-char", "space", "255-ascii", "255-two-byte", "turkish"])
def test_idempotency_key_accepted(db, key):
    assert job_row(db, rows.job(db, idempotency_key=key))["idempotency_key"] == key


@pytest.mark.parametrize("key", ["", "x" * 256, "ş" * 256],
                         ids=["empty", "256-ascii", "256-two-byte"])
def test_idempotency_key_length_rejected(db, key):
    with rows.violates("ck_jobs_idempotency_key_length"):
        rows.job(db, idempotency_key=key)


@pytest.mark.parametrize("column", ["idempotency_key", "celery_task_id"])
def test_optional_key_may_be_null_many_times(db, column):
    owner = rows.user(db)
    rows.job(db, owner, **{column: None})
    rows.job(db, owner, **{column: None})


@pytest.mark.parametrize("same_owner", [True, False], ids=["same-user", "other-user"])
def test_duplicate_celery_task_id_rejected(db, same_owner):
    task_id = uuid.UUID("9f1c6a52-3b8e-4d2f-a8a1-0c5e7d9b2f10")
    owner = rows.user(db)
    rows.job(db, owner, celery_task_id=task_id)
    with rows.violates("uq_jobs_celery_task_id") as info:
        rows.job(db, owner if same_owner else None, celery_task_id=task_id)
    assert info.value.sqlstate == "23505"


def test_duplicate_idempotency_key_of_one_user_rejected(db):
    owner = rows.user(db)
    rows.job(db, owner, idempotency_key="order-42")
    with rows.violates("uq_jobs_idempotency_key_user_id") as info:
        rows.job(db, owner, idempotency_key="order-42")
    assert info.value.sqlstate == "23505"


def test_two_users_may_use_the_same_idempotency_key(db):
    first, second = rows.user(db), rows.user(db)
    ids = {rows.job(db, owner, idempotency_key="freecad-doc-7f3a") for owner in (first, second)}
    assert len(ids) == 2


def test_a_repeated_key_as_the_app_finds_its_own_job_and_names_only_its_own_row(db):
    """Insert, else fetch by key, as cadcam_app acting for each of two users
    whose clients derived the same key: each gets a job, the repeat is refused
    by the per-user key with no row's values in the error, and the fetch finds
    the caller's own job."""
    first, second = rows.user(db), rows.user(db)
    submit = ("INSERT INTO jobs (user_id, type, idempotency_key)"
              " VALUES (%s, 'cam_toolpath', 'shared-doc') RETURNING id")
    jobs = {}
    for owner in (first, second):
        with as_app(db, owner):
            jobs[owner] = db.execute(submit, (owner,)).fetchone()[0]
    with rows.violates("uq_jobs_idempotency_key_user_id") as info:
        with as_app(db, second):
            db.execute(submit, (second,))
    # Row-level security withholds the key's values from the DETAIL: nothing
    # of any row, the caller's or another's, is in the error.
    assert info.value.diag.message_detail is None
    with as_app(db, second):
        found = db.execute("SELECT id FROM jobs WHERE idempotency_key = 'shared-doc'").fetchall()
    assert found == [(jobs[second],)]


def test_idempotency_key_is_case_sensitive(db):
    rows.job(db, idempotency_key="order-42")
    rows.job(db, idempotency_key="ORDER-42")


def test_distinct_celery_task_ids_accepted(db):
    first, second = uuid.uuid4(), uuid.uuid4()
    assert job_row(db, rows.job(db, celery_task_id=first))["celery_task_id"] == first
    assert job_row(db, rows.job(db, celery_task_id=second))["celery_task_id"] == second


@pytest.mark.parametrize("message", [None, "", "x", "x" * 10000, "ş" * 10000],
                         ids=["null", "empty", "one-char", "10000-ascii", "10000-two-byte"])
def test_error_message_accepted(db, message):
    assert job_row(db, rows.job(db, error_message=message))["error_message"] == message


@pytest.mark.parametrize("message", ["x" * 10001, "ş" * 10001, "x" * 100000],
                         ids=["10001-ascii", "10001-two-byte", "100000"])
def test_error_message_too_long_rejected(db, message):
    with rows.violates("ck_jobs_error_message_length"):
        rows.job(db, error_message=message)


# --- input_params, metrics, result: NULL or a JSON object -------------------------

JSON_COLUMNS = ["input_params", "metrics", "result"]
JSON_OBJECTS = [
    pytest.param({}, id="empty-object"),
    pytest.param({"tool": "T3", "feed_mm_min": 1200}, id="flat-object"),
    pytest.param({"files": [{"key": "out/1.nc"}], "warnings": []}, id="nested-object"),
]
JSON_NON_OBJECTS = [
    pytest.param([], id="empty-array"),
    pytest.param([{"a": 1}], id="array-of-object"),
    pytest.param("object", id="string"),
    pytest.param(0, id="zero"),
    pytest.param(1.5, id="number"),
    pytest.param(False, id="false"),
    pytest.param(None, id="json-null"),
]


@pytest.mark.parametrize("column", JSON_COLUMNS)
def test_json_column_may_be_sql_null(db, column):
    assert job_row(db, rows.job(db, **{column: None}))[column] is None


@pytest.mark.parametrize("value", JSON_OBJECTS)
@pytest.mark.parametrize("column", JSON_COLUMNS)
def test_json_column_accepts_object(db, column, value):
    assert job_row(db, rows.job(db, **{column: Jsonb(value)}))[column] == value


@pytest.mark.parametrize("value", JSON_NON_OBJECTS)
@pytest.mark.parametrize("column", JSON_COLUMNS)
def test_json_column_rejects_non_object(db, column, value):
    with rows.violates(f"ck_jobs_{column}_object"):
        rows.job(db, **{column: Jsonb(value)})


# --- foreign keys -------------------------------------------------------------------

def test_job_of_an_existing_model_accepted(db):
    owner = rows.user(db)
    model_id = rows.model(db, owner)
    assert job_row(db, rows.job(db, owner, model_id=model_id))["model_id"] == model_id


def test_another_users_model_rejected(db):
    """The key includes user_id: a job's model belongs to the job's user."""
    model_id = rows.model(db, rows.user(db))
    with rows.violates("fk_jobs_model_id") as info:
        rows.job(db, rows.user(db), model_id=model_id)
    assert info.value.sqlstate == "23503"


def test_moving_a_job_to_another_user_keeps_its_model_rule(db):
    owner, other = rows.user(db), rows.user(db)
    job_id = rows.job(db, owner, model_id=rows.model(db, owner))
    with rows.violates("fk_jobs_model_id"):
        db.execute("UPDATE jobs SET user_id = %s WHERE id = %s", (other, job_id))


def test_unknown_model_rejected(db):
    with rows.violates("fk_jobs_model_id") as info:
        rows.job(db, model_id=987654321)
    assert info.value.sqlstate == "23503"


def test_unknown_user_rejected(db):
    with rows.violates("fk_jobs_user_id") as info:
        rows.job(db, user_id=987654321)
    assert info.value.sqlstate == "23503"


def test_deleting_a_user_with_jobs_refused(db):
    owner = rows.user(db)
    rows.job(db, owner)
    with rows.violates("fk_jobs_user_id"):
        db.execute("DELETE FROM users WHERE id = %s", (owner,))


# --- state consistency over every status -------------------------------------------

@pytest.mark.parametrize("status", STATUSES)
def test_consistent_row_of_every_status_accepted(db, status):
    assert job_row(db, rows.job(db, **consistent(status)))["status"] == status


@pytest.mark.parametrize("status", STATUSES)
def test_only_running_requires_started_at(db, status):
    with outcome("ck_jobs_running_has_started_at" if status == "running" else None):
        rows.job(db, **consistent(status, started_at=None))


@pytest.mark.parametrize("finished_at", [None, T2], ids=["no-finished_at", "finished_at"])
@pytest.mark.parametrize("status", STATUSES)
def test_finished_at_set_exactly_in_finished_states(db, status, finished_at):
    consistent_ = (status in FINISHED) == (finished_at is not None)
    with outcome(None if consistent_ else "ck_jobs_finished_at_status"):
        rows.job(db, **consistent(status, finished_at=finished_at))


@pytest.mark.parametrize("progress", [0, 1, 99, 100])
@pytest.mark.parametrize("status", STATUSES)
def test_only_succeeded_requires_progress_100(db, status, progress):
    incomplete = status == "succeeded" and progress != 100
    with outcome("ck_jobs_succeeded_progress_complete" if incomplete else None):
        rows.job(db, **consistent(status, progress=progress))


@pytest.mark.parametrize("offset", [-timedelta(days=1), -US, timedelta(0), US],
                         ids=["day-before", "microsecond-before", "equal", "microsecond-after"])
@pytest.mark.parametrize("status", FINISHED)
def test_finished_at_not_before_started_at(db, status, offset):
    with outcome("ck_jobs_finished_not_before_started" if offset < timedelta(0) else None):
        rows.job(db, **consistent(status, finished_at=T1 + offset))


@pytest.mark.parametrize("status", ["failed", "cancelled", "timed_out"])
def test_finished_without_ever_starting_accepted(db, status):
    rows.job(db, **consistent(status, started_at=None))


# started_at and updated_at are written by other transactions and clocks than
# created_at (a worker claims a job its transaction saw committed; a worker's
# clock is behind the server's): no order between them is a rule.
@pytest.mark.parametrize("offset", [-timedelta(days=1), -US, timedelta(0), US],
                         ids=["day-before", "microsecond-before", "equal", "microsecond-after"])
@pytest.mark.parametrize("status", STARTED)
def test_started_at_is_not_ordered_after_created_at(db, status, offset):
    job_id = rows.job(db, **consistent(status, started_at=T0 + offset))
    assert job_row(db, job_id)["started_at"] == T0 + offset


@pytest.mark.parametrize("offset", [-timedelta(days=1), -US, timedelta(0), US],
                         ids=["day-before", "microsecond-before", "equal", "microsecond-after"])
def test_updated_at_is_not_ordered_after_created_at(db, offset):
    job_id = rows.job(db, created_at=T0, updated_at=T0 + offset)
    assert job_row(db, job_id)["updated_at"] == T0 + offset


# --- life cycle by UPDATEs ----------------------------------------------------------

def test_life_cycle_pending_queued_running_succeeded(db):
    job_id = rows.job(db, created_at=T0, updated_at=T0)
    update(db, job_id, status="queued")
    update(db, job_id, status="running", started_at=T1)
    for progress in (10, 55, 99):
        update(db, job_id, progress=progress)
    update(db, job_id, status="succeeded", progress=100, finished_at=T2,
           result=Jsonb({"files": ["out/1.nc"]}))
    row = job_row(db, job_id)
    assert (row["status"], row["progress"], row["started_at"], row["finished_at"]) == (
        "succeeded", 100, T1, T2)


def test_retry_after_failure_accepted(db):
    job_id = rows.job(db, **consistent("failed", retry_count=0, max_retries=1))
    update(db, job_id, status="queued", finished_at=None, retry_count=1)
    update(db, job_id, status="running", started_at=T2)
    with rows.violates("ck_jobs_retry_count_within_max"):
        update(db, job_id, retry_count=2)


TRANSITIONS = [
    pytest.param("pending", {"status": "running"}, "ck_jobs_running_has_started_at",
                 id="pending-to-running-without-started_at"),
    pytest.param("queued", {"status": "running"}, "ck_jobs_running_has_started_at",
                 id="queued-to-running-without-started_at"),
    pytest.param("running", {"started_at": None}, "ck_jobs_running_has_started_at",
                 id="running-loses-started_at"),
    pytest.param("pending", {"status": "cancelled"}, "ck_jobs_finished_at_status",
                 id="pending-to-cancelled-without-finished_at"),
    pytest.param("running", {"status": "succeeded", "progress": 100},
                 "ck_jobs_finished_at_status", id="running-to-succeeded-without-finished_at"),
    pytest.param("running", {"status": "failed"}, "ck_jobs_finished_at_status",
                 id="running-to-failed-without-finished_at"),
    pytest.param("running", {"status": "timed_out"}, "ck_jobs_finished_at_status",
                 id="running-to-timed_out-without-finished_at"),
    pytest.param("running", {"finished_at": T2}, "ck_jobs_finished_at_status",
                 id="running-with-finished_at"),
    pytest.param("succeeded", {"status": "running"}, "ck_jobs_finished_at_status",
                 id="succeeded-back-to-running-keeping-finished_at"),
    pytest.param("failed", {"status": "queued"}, "ck_jobs_finished_at_status",
                 id="failed-to-queued-keeping-finished_at"),
    pytest.param("succeeded", {"finished_at": None}, "ck_jobs_finished_at_status",
                 id="succeeded-loses-finished_at"),
    pytest.param("running", {"status": "succeeded", "finished_at": T2, "progress": 99},
                 "ck_jobs_succeeded_progress_complete", id="running-to-succeeded-at-99"),
    pytest.param("succeeded", {"progress": 50}, "ck_jobs_succeeded_progress_complete",
                 id="succeeded-progress-drops"),
    pytest.param("running", {"status": "failed", "finished_at": T1 - US},
                 "ck_jobs_finished_not_before_started", id="failed-before-it-started"),
]


@pytest.mark.parametrize(("start", "change", "constraint"), TRANSITIONS)
def test_invalid_transition_rejected(db, start, change, constraint):
    job_id = rows.job(db, **consistent(start))
    with rows.violates(constraint):
        update(db, job_id, **change)
    assert job_row(db, job_id)["status"] == start


# --- updated_at trigger ---------------------------------------------------------------

@pytest.mark.parametrize("sent", [None, T0], ids=["not-sent", "old-value-sent"])
def test_update_moves_updated_at_to_transaction_time(db, sent):
    job_id = rows.job(db, created_at=T0, updated_at=T0)
    assignment = "" if sent is None else ", updated_at = %(sent)s"
    with db.transaction():
        now = db.execute("SELECT now()").fetchone()[0]
        db.execute(f"UPDATE jobs SET progress = 7{assignment} WHERE id = %(id)s",
                   {"id": job_id, "sent": sent})
    assert now > T0
    assert job_row(db, job_id)["updated_at"] == now


# --- HOT: progress updates stay heap-only -------------------------------------------

def xact_update_counts(db) -> tuple[int, int]:
    return db.execute(
        "SELECT pg_stat_get_xact_tuples_hot_updated('jobs'::regclass),"
        " pg_stat_get_xact_tuples_updated('jobs'::regclass)").fetchone()


def test_progress_updates_are_heap_only(db):
    with db.transaction():
        job_id = rows.job(db, **consistent("running"))
        for progress in range(1, 51):
            update(db, job_id, progress=progress)
        assert xact_update_counts(db) == (50, 50)


def page_of(db, job_id: int) -> int:
    return db.execute("SELECT (ctid::text::point)[0]::int FROM jobs WHERE id = %s",
                      (job_id,)).fetchone()[0]


def test_progress_updates_on_a_filled_page_are_heap_only(db):
    owner = rows.user(db)
    first = rows.job(db, owner, **consistent("running"))
    while page_of(db, rows.job(db, owner, **consistent("running"))) == 0:
        pass
    assert page_of(db, first) == 0
    with db.transaction():
        for progress in range(1, 11):
            update(db, first, progress=progress)
        assert xact_update_counts(db) == (10, 10)


def test_jobs_table_has_fillfactor_70(db):
    options = db.execute(
        "SELECT reloptions FROM pg_class WHERE oid = 'jobs'::regclass").fetchone()[0]
    assert "fillfactor=70" in (options or [])


@pytest.mark.parametrize("column", ["progress", "updated_at"])
def test_no_index_of_jobs_covers_a_progress_update_column(db, column):
    indexes = db.execute(
        "SELECT i.indexrelid::regclass::text, a.attnum = ANY (i.indkey::int2[]),"
        " pg_get_indexdef(i.indexrelid)"
        " FROM pg_index AS i"
        " JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attname = %s"
        " WHERE i.indrelid = 'jobs'::regclass", (column,)).fetchall()
    assert {name for name, *_ in indexes} >= {"pk_jobs", "idx_jobs_status_created_at"}
    for name, key_or_include, definition in indexes:
        assert not key_or_include, name
        assert not re.search(rf"\b{column}\b", definition), definition
