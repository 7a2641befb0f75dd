"""Rules of the models table: column checks, JSON objects, soft delete,
updated_at, foreign keys and the version lineage (root is version 1, each
next version is its parent's + 1, one next version per parent, same owner).

Each case changes one column of an otherwise valid row (tests.rows.model).
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime, timedelta, timezone
from functools import partial

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from tests import differences, rows

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=3)))
US = timedelta(microseconds=1)
GIB = 1024**3

MODEL_TYPES = ["part", "assembly", "sketch", "drawing", "mesh"]
FILE_FORMATS = ["fcstd", "step", "iges", "stl", "obj", "3mf", "dxf", "brep"]
NOT_NULL_COLUMNS = ["user_id", "name", "type", "file_format", "storage_key", "sha256",
                    "file_size", "version", "created_at", "updated_at"]

not_null = partial(rows.not_null, "models")
data_error = rows.data_error
model_row = partial(rows.fetch, "models")


def copy_of_valid_model(db, **over) -> int:
    """Insert a copy of a valid model row (new storage_key) with columns overridden."""
    row = model_row(db, rows.model(db))
    del row["id"], row["parent_version"]
    row["storage_key"] += ".copy"
    return rows.insert(db, "models", **{**row, **over})


# --- required columns and enum types -----------------------------------------

@pytest.mark.parametrize("column", NOT_NULL_COLUMNS)
def test_required_column_rejects_null(db, column):
    with not_null(column):
        copy_of_valid_model(db, **{column: None})


@pytest.mark.parametrize("value", MODEL_TYPES)
def test_every_model_type_is_accepted(db, value):
    assert model_row(db, rows.model(db, type=value))["type"] == value


@pytest.mark.parametrize("value", FILE_FORMATS)
def test_every_file_format_is_accepted(db, value):
    assert model_row(db, rows.model(db, file_format=value))["file_format"] == value


@pytest.mark.parametrize(("column", "value"), [
    ("type", "bogus"), ("type", "Part"), ("type", ""),
    ("file_format", "FCStd"), ("file_format", "step "), ("file_format", "zip"),
])
def test_unknown_enum_value_is_a_type_error(db, column, value):
    with data_error("22P02"):
        rows.model(db, **{column: value})


# --- name ----------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "A", "x" * 255, "ş" * 255, "Flanş Ø120", "  padded  ", " " + "x" * 255 + " ",
    "v", "Kiev", "v" * 255, "\x0b" + "x" * 255 + "\x0b",
], ids=["one-char", "255-ascii", "255-two-byte", "turkish", "padded", "255-after-trim",
        "v", "Kiev", "255-v", "255-after-trimming-vertical-tabs"])
def test_name_accepted(db, name):
    assert model_row(db, rows.model(db, name=name))["name"] == name


@pytest.mark.parametrize("name", ["", " ", "   ", "x" * 256, "ş" * 256, " " * 300, "\x0b",
                                  "\x0b\f\r\n\t ", "v" * 256],
                         ids=["empty", "one-space", "spaces", "256-ascii", "256-two-byte",
                              "300-spaces", "vertical-tab", "every-ascii-space", "256-v"])
def test_name_rejected(db, name):
    with rows.violates("ck_models_name_length"):
        rows.model(db, name=name)


# --- storage_key and thumbnail_key (1..1024 bytes of UTF-8) -----------------

KEY_ACCEPTED = [
    pytest.param("k", id="one-byte"),
    pytest.param("a" * 1024, id="1024-ascii"),
    pytest.param("ş" * 512, id="512-two-byte=1024-bytes"),
    pytest.param("ş" * 511 + "a" * 2, id="1024-bytes-mixed"),
    pytest.param("models/42/Flanş Ø120.FCStd", id="turkish-path"),
]
KEY_REJECTED = [
    pytest.param("", id="empty"),
    pytest.param("a" * 1025, id="1025-ascii"),
    pytest.param("ş" * 513, id="513-two-byte=1026-bytes"),
    pytest.param("ş" * 512 + "a", id="1025-bytes-mixed"),
    pytest.param("€" * 342, id="342-three-byte=1026-bytes"),
]


@pytest.mark.parametrize("key", KEY_ACCEPTED)
def test_storage_key_accepted(db, key):
    assert model_row(db, rows.model(db, storage_key=key))["storage_key"] == key


@pytest.mark.parametrize("key", KEY_REJECTED)
def test_storage_key_rejected(db, key):
    with rows.violates("ck_models_storage_key_length"):
        rows.model(db, storage_key=key)


@pytest.mark.parametrize("key", [pytest.param(None, id="null"), *KEY_ACCEPTED])
def test_thumbnail_key_accepted(db, key):
    assert model_row(db, rows.model(db, thumbnail_key=key))["thumbnail_key"] == key


@pytest.mark.parametrize("key", KEY_REJECTED)
def test_thumbnail_key_rejected(db, key):
    with rows.violates("ck_models_thumbnail_key_length"):
        rows.model(db, thumbnail_key=key)


@pytest.mark.parametrize("same_owner", [True, False], ids=["same-user", "other-user"])
def test_storage_key_is_unique(db, same_owner):
    owner = rows.user(db)
    rows.model(db, owner, storage_key="models/1/flans.FCStd")
    with rows.violates("uq_models_storage_key"):
        rows.model(db, owner if same_owner else None, storage_key="models/1/flans.FCStd")


def test_storage_key_is_case_sensitive_like_s3(db):
    rows.model(db, storage_key="models/1/flans.FCStd")
    rows.model(db, storage_key="models/1/flans.fcstd")


# --- sha256 and file_size ----------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, 16, 31, 33, 64])
def test_sha256_of_wrong_length_rejected(db, size):
    with rows.violates("ck_models_sha256_length"):
        rows.model(db, sha256=os.urandom(size))


@pytest.mark.parametrize("digest", [b"\x00" * 32, b"\xff" * 32, os.urandom(32)],
                         ids=["zeros", "ones", "random"])
def test_sha256_of_32_bytes_accepted(db, digest):
    assert model_row(db, rows.model(db, sha256=digest))["sha256"] == digest


@pytest.mark.parametrize("size", [1, 2**31 - 1, 2**31, 5 * GIB, 2**63 - 1],
                         ids=["one-byte", "int4-max", "2-GiB", "5-GiB", "bigint-max"])
def test_file_size_accepted(db, size):
    assert model_row(db, rows.model(db, file_size=size))["file_size"] == size


@pytest.mark.parametrize("size", [0, -1, -(2**63)], ids=["zero", "minus-one", "bigint-min"])
def test_file_size_not_positive_rejected(db, size):
    with rows.violates("ck_models_file_size_positive"):
        rows.model(db, file_size=size)


def test_file_size_beyond_bigint_is_out_of_range(db):
    with data_error("22003"):
        rows.model(db, file_size=2**63)


# --- params and metrics: NULL or a JSON object --------------------------------

JSON_OBJECTS = [
    pytest.param({}, id="empty-object"),
    pytest.param({"diameter_mm": 120, "material": "S235JR"}, id="flat-object"),
    pytest.param({"bbox": {"x": [0, 1.5]}, "holes": [{"d": 8}]}, id="nested-object"),
]
JSON_NON_OBJECTS = [
    pytest.param([], id="empty-array"),
    pytest.param([{"a": 1}], id="array-of-object"),
    pytest.param("object", id="string"),
    pytest.param("", id="empty-string"),
    pytest.param(0, id="zero"),
    pytest.param(1.5, id="number"),
    pytest.param(True, id="true"),
    pytest.param(None, id="json-null"),
]


@pytest.mark.parametrize("column", ["params", "metrics"])
def test_json_column_may_be_sql_null(db, column):
    assert model_row(db, rows.model(db, **{column: None}))[column] is None


@pytest.mark.parametrize("value", JSON_OBJECTS)
@pytest.mark.parametrize("column", ["params", "metrics"])
def test_json_column_accepts_object(db, column, value):
    assert model_row(db, rows.model(db, **{column: Jsonb(value)}))[column] == value


@pytest.mark.parametrize("value", JSON_NON_OBJECTS)
@pytest.mark.parametrize("column", ["params", "metrics"])
def test_json_column_rejects_non_object(db, column, value):
    with rows.violates(f"ck_models_{column}_object"):
        rows.model(db, **{column: Jsonb(value)})


# --- timestamps: soft delete, updated_at ---------------------------------------

# deleted_at and updated_at are written by later transactions (whose now()
# may lie before the created_at they see committed) or by clients whose
# clocks differ from the server's: no order with created_at is a rule.
@pytest.mark.parametrize("deleted_at", [None, T0, T0 + US, T0 + timedelta(days=400),
                                        T0 - US, T0 - timedelta(days=1)],
                         ids=["null", "equal", "one-microsecond-later", "next-year",
                              "one-microsecond-earlier", "one-day-earlier"])
def test_deleted_at_accepted(db, deleted_at):
    model_id = rows.model(db, created_at=T0, updated_at=T0, deleted_at=deleted_at)
    assert model_row(db, model_id)["deleted_at"] == deleted_at


def test_soft_delete_by_update(db):
    model_id = rows.model(db, created_at=T0, updated_at=T0)
    db.execute("UPDATE models SET deleted_at = %s WHERE id = %s", (T0 - US, model_id))
    assert model_row(db, model_id)["deleted_at"] == T0 - US


@pytest.mark.parametrize("updated_at", [T0, T0 + US, T0 - US, T0 - timedelta(days=1)],
                         ids=["equal", "later", "one-microsecond-earlier", "one-day-earlier"])
def test_updated_at_is_not_ordered_after_created_at(db, updated_at):
    model_id = rows.model(db, created_at=T0, updated_at=updated_at)
    assert model_row(db, model_id)["updated_at"] == updated_at


@pytest.mark.parametrize("sent", [None, T0], ids=["not-sent", "old-value-sent"])
def test_update_moves_updated_at_to_transaction_time(db, sent):
    model_id = rows.model(db, created_at=T0, updated_at=T0)
    assignment = "" if sent is None else ", updated_at = %(sent)s"
    with db.transaction():
        now = db.execute("SELECT now()").fetchone()[0]
        db.execute(f"UPDATE models SET name = 'Flanş v2'{assignment} WHERE id = %(id)s",
                   {"id": model_id, "sent": sent})
    assert now > T0
    assert model_row(db, model_id)["updated_at"] == now


# --- foreign keys --------------------------------------------------------------

def test_unknown_user_rejected(db):
    with rows.violates("fk_models_user_id") as info:
        rows.model(db, user_id=987654321)
    assert info.value.sqlstate == "23503"


def test_deleting_an_owner_with_models_refused(db):
    owner = rows.user(db)
    rows.model(db, owner)
    with rows.violates("fk_models_user_id"):
        db.execute("DELETE FROM users WHERE id = %s", (owner,))


def test_deleting_a_model_referenced_by_a_job_refused(db):
    owner = rows.user(db)
    model_id = rows.model(db, owner)
    rows.job(db, owner, model_id=model_id)
    with rows.violates("fk_jobs_model_id") as info:
        db.execute("DELETE FROM models WHERE id = %s", (model_id,))
    assert info.value.sqlstate == differences.restrict_sqlstate(db)


def test_deleting_a_model_without_jobs_or_next_version_allowed(db):
    model_id = rows.model(db)
    assert db.execute("DELETE FROM models WHERE id = %s", (model_id,)).rowcount == 1


# --- versions ------------------------------------------------------------------

def test_root_defaults_to_version_1(db):
    row = model_row(db, rows.model(db))
    assert (row["version"], row["parent_model_id"], row["parent_version"]) == (1, None, 0)


@pytest.mark.parametrize("version", [2, 3, 100, 2**31 - 1])
def test_root_of_version_above_1_rejected(db, version):
    with rows.violates("ck_models_root_version"):
        rows.model(db, version=version)


@pytest.mark.parametrize("version", [0, -1, -(2**31)])
def test_version_below_1_rejected(db, version):
    parent = rows.model(db)
    owner = model_row(db, parent)["user_id"]
    with rows.violates("ck_models_version_positive"):
        rows.model(db, owner, parent_model_id=parent, version=version)


def test_version_beyond_integer_is_out_of_range(db):
    with data_error("22003"):
        rows.model(db, version=2**31)


@pytest.mark.parametrize("version", [1, 3, 4])
def test_child_not_one_above_parent_rejected(db, version):
    owner = rows.user(db)
    parent = rows.model(db, owner)
    with rows.violates("fk_models_parent_model_id") as info:
        rows.model(db, owner, parent_model_id=parent, version=version)
    assert info.value.sqlstate == "23503"


def test_chain_1_2_3_accepted(db):
    owner = rows.user(db)
    v1 = rows.model(db, owner)
    v2 = rows.model(db, owner, parent_model_id=v1, version=2)
    v3 = rows.model(db, owner, parent_model_id=v2, version=3)
    assert [model_row(db, i)["parent_version"] for i in (v1, v2, v3)] == [0, 1, 2]


@pytest.mark.parametrize("parent_version", [1, 2])
def test_second_next_version_of_a_parent_rejected(db, parent_version):
    owner = rows.user(db)
    parent = rows.model(db, owner)
    if parent_version == 2:
        parent = rows.model(db, owner, parent_model_id=parent, version=2)
    rows.model(db, owner, parent_model_id=parent, version=parent_version + 1)
    with rows.violates("uq_models_parent_model_id_user_id_parent_version") as info:
        rows.model(db, owner, parent_model_id=parent, version=parent_version + 1)
    assert info.value.sqlstate == "23505"


def test_next_version_owned_by_another_user_rejected(db):
    parent = rows.model(db)
    with rows.violates("fk_models_parent_model_id"):
        rows.model(db, rows.user(db), parent_model_id=parent, version=2)


def test_unknown_parent_rejected(db):
    with rows.violates("fk_models_parent_model_id"):
        rows.model(db, parent_model_id=987654321, version=2)


def test_deleting_a_model_with_a_next_version_refused(db):
    owner = rows.user(db)
    parent = rows.model(db, owner)
    child = rows.model(db, owner, parent_model_id=parent, version=2)
    with rows.violates("fk_models_parent_model_id") as info:
        db.execute("DELETE FROM models WHERE id = %s", (parent,))
    assert str(info.value).startswith("update or delete")
    db.execute("DELETE FROM models WHERE id = %s", (child,))
    db.execute("DELETE FROM models WHERE id = %s", (parent,))


@pytest.mark.parametrize("has_child", [False, True], ids=["without-child", "with-child"])
def test_renumbering_a_parent_refused_only_while_it_has_a_child(db, has_child):
    owner = rows.user(db)
    moved = rows.model(db, owner)
    new_parent = rows.model(db, owner)
    if has_child:
        rows.model(db, owner, parent_model_id=moved, version=2)
    renumber = ("UPDATE models SET parent_model_id = %s, version = 2 WHERE id = %s",
                (new_parent, moved))
    if not has_child:
        db.execute(*renumber)
        return
    with rows.violates("fk_models_parent_model_id") as info:
        db.execute(*renumber)
    assert str(info.value).startswith("update or delete")


def test_changing_the_owner_of_a_parent_refused(db):
    owner = rows.user(db)
    parent = rows.model(db, owner)
    rows.model(db, owner, parent_model_id=parent, version=2)
    with rows.violates("fk_models_parent_model_id"):
        db.execute("UPDATE models SET user_id = %s WHERE id = %s", (rows.user(db), parent))


# parent_version: a client may write it (an ORM relationship built from
# fk_models_parent_model_id copies the parent's version into it) or leave it
# out; only version - 1 is accepted.

@pytest.mark.parametrize("version", [2, 3])
def test_parent_version_written_as_the_parent_version_accepted(db, version):
    owner = rows.user(db)
    parent = rows.model(db, owner)
    if version == 3:
        parent = rows.model(db, owner, parent_model_id=parent, version=2)
    child = rows.model(db, owner, parent_model_id=parent, version=version,
                       parent_version=version - 1)
    assert model_row(db, child)["parent_version"] == version - 1


@pytest.mark.parametrize(("version", "parent_version"), [
    (1, 1), (1, -1), (2, 0), (2, 2), (2, 2**31 - 1), (2, -(2**31)),
])
def test_parent_version_other_than_version_minus_1_rejected(db, version, parent_version):
    owner = rows.user(db)
    over = {"parent_model_id": rows.model(db, owner)} if version > 1 else {}
    with rows.violates("ck_models_parent_version_previous") as info:
        rows.model(db, owner, version=version, parent_version=parent_version, **over)
    assert info.value.sqlstate == "23514"


def test_parent_version_updated_to_another_value_rejected(db):
    model_id = rows.model(db)
    with rows.violates("ck_models_parent_version_previous"):
        db.execute("UPDATE models SET parent_version = 1 WHERE id = %s", (model_id,))


def test_parent_version_set_to_null_is_filled_again(db):
    model_id = rows.model(db)
    db.execute("UPDATE models SET parent_version = NULL WHERE id = %s", (model_id,))
    assert model_row(db, model_id)["parent_version"] == 0


def test_parent_version_follows_a_changed_version(db):
    owner = rows.user(db)
    parent = rows.model(db, owner)
    child = rows.model(db, owner, parent_model_id=parent, version=2)
    # The trigger recomputes parent_version (2), and the key then finds no
    # parent of version 2: the change is refused by the key, as before 0035.
    with rows.violates("fk_models_parent_model_id"):
        db.execute("UPDATE models SET version = 3 WHERE id = %s", (child,))


def test_parent_version_rule_holds_without_the_trigger(db):
    """With triggers off (a replica session, a restore), a NULL or wrong
    value is still refused by the rule itself."""
    db.execute("SET session_replication_role = replica")
    try:
        for value in (None, 5):
            with rows.violates("ck_models_parent_version_previous"):
                with db.transaction():
                    rows.model(db, parent_version=value)
    finally:
        db.execute("RESET session_replication_role")


# --- property: a lineage is always a line numbered 1..n ------------------------

LINEAGES = """
WITH RECURSIVE lineage (root, id, user_id, version) AS (
    SELECT id, id, user_id, version FROM models WHERE parent_model_id IS NULL
    UNION ALL
    SELECT l.root, m.id, m.user_id, m.version
    FROM models AS m JOIN lineage AS l ON m.parent_model_id = l.id
)
SELECT root, array_agg(version ORDER BY version), count(DISTINCT user_id)
FROM lineage GROUP BY root
"""

step = st.fixed_dictionaries({
    "update": st.sampled_from([False, False, False, True]),
    "owner": st.sampled_from([0, 0, 0, 1]),
    "parent": st.one_of(st.none(), st.just(-1), st.just(-1), st.integers(0, 40)),
    "target": st.integers(0, 40),
    "delta": st.one_of(st.just(0), st.just(0), st.just(0), st.integers(-2, 2)),
})


def expected_insert_ok(models: dict, owner: int, parent: int | None, version: int) -> bool:
    if parent is None:
        return version == 1
    p_owner, p_version, _ = models[parent]
    has_child = any(pp == parent for _, _, pp in models.values())
    return p_owner == owner and version == p_version + 1 and not has_child


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=30))
def test_a_lineage_never_repeats_a_version(db, steps):
    owners = [rows.user(db), rows.user(db)]
    ids: list[int] = []
    for s in steps:
        models = {i: r for i, *r in db.execute(
            "SELECT id, user_id, version, parent_model_id FROM models").fetchall()}
        parent = None if not ids or s["parent"] is None else ids[s["parent"] % len(ids)]
        version = (models[parent][1] if parent else 0) + 1 + s["delta"]
        if s["update"] and ids:
            with contextlib.suppress(psycopg.errors.IntegrityError):
                db.execute("UPDATE models SET parent_model_id = %s, version = %s WHERE id = %s",
                           (parent, version, ids[s["target"] % len(ids)]))
            continue
        owner = owners[s["owner"]]
        try:
            ids.append(rows.model(db, owner, parent_model_id=parent, version=version))
            accepted = True
        except psycopg.errors.IntegrityError:
            accepted = False
        assert accepted == expected_insert_ok(models, owner, parent, version)

    total = db.execute("SELECT count(*) FROM models").fetchone()[0]
    reached = 0
    for root, versions, owner_count in db.execute(LINEAGES).fetchall():
        assert versions == list(range(1, len(versions) + 1)), (root, versions)
        assert owner_count == 1
        reached += len(versions)
    assert reached == total
