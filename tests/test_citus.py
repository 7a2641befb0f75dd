"""Citus readiness (runner.checks.citus): today's migrated schema has exactly the
blockers docs/citus.md resolves; a probe schema that follows every rule has
none; adding one offending object to it gives exactly that object's blocker;
and `conventions --citus` reports them, exiting 7 only with --strict.
"""

from __future__ import annotations

import psycopg
import pytest

from runner import catalog, config
from runner.checks import citus
from tests.cli import run_cli

# Every blocker of the migrated schema: keys that are unique without the
# distribution column. Each constraint once, not again as the index behind it.
TODAY = {
    ("constraint pk_audit_log", "citus-unique-key"),
    ("constraint pk_jobs", "citus-unique-key"),
    ("constraint pk_licenses", "citus-unique-key"),
    ("constraint pk_models", "citus-unique-key"),
    ("constraint pk_sessions", "citus-unique-key"),
    ("constraint uq_jobs_celery_task_id", "citus-unique-key"),
    ("constraint uq_models_storage_key", "citus-unique-key"),
    ("constraint uq_sessions_access_token_jti", "citus-unique-key"),
    ("constraint uq_sessions_refresh_token_hash", "citus-unique-key"),
    ("constraint uq_users_email", "citus-unique-key"),
    ("constraint uq_users_phone", "citus-unique-key"),
}

# A schema that follows every rule: users keyed by id; tenant tables keyed by
# (user_id, id), referencing users through user_id and each other through a
# composite key that pairs user_id with user_id; reference tables (currencies,
# countries) referenced by a tenant table and by each other; an exclusion that
# compares user_id WITH =; unique keys that hold user_id anywhere, partial too;
# an audit_log distributed by subject_user_id.
PROBE = """
CREATE EXTENSION btree_gist;
CREATE TABLE currencies (code text PRIMARY KEY);
CREATE TABLE countries (
    code text PRIMARY KEY,
    currency_code text NOT NULL,
    CONSTRAINT fk_countries_currency_code FOREIGN KEY (currency_code) REFERENCES currencies (code)
);
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY,
    email text NOT NULL,
    CONSTRAINT pk_users PRIMARY KEY (id)
);
CREATE TABLE projects (
    user_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    name text NOT NULL,
    archived boolean NOT NULL DEFAULT false,
    country_code text NOT NULL,
    CONSTRAINT pk_projects PRIMARY KEY (user_id, id),
    CONSTRAINT uq_projects_name_user_id UNIQUE (name, user_id),
    CONSTRAINT fk_projects_user_id FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT fk_projects_country_code FOREIGN KEY (country_code) REFERENCES countries (code)
);
CREATE UNIQUE INDEX uq_projects_user_id_lower_name ON projects (user_id, lower(name))
WHERE NOT archived;
CREATE TABLE bookings (
    user_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    project_id bigint NOT NULL,
    created_by bigint NOT NULL,
    during tstzrange NOT NULL,
    CONSTRAINT pk_bookings PRIMARY KEY (user_id, id),
    CONSTRAINT fk_bookings_user_id FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT fk_bookings_project_id FOREIGN KEY (project_id, user_id)
        REFERENCES projects (id, user_id),
    CONSTRAINT ex_bookings_project_during
        EXCLUDE USING gist (user_id WITH =, project_id WITH =, during WITH &&)
        WHERE (project_id > 0)
);
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY,
    subject_user_id bigint NOT NULL,
    actor_user_id bigint,
    CONSTRAINT pk_audit_log PRIMARY KEY (subject_user_id, id)
);
"""


def case(name: str, ddl: str, obj: str, rule: str):
    return pytest.param(ddl, obj, rule, id=name)


# One offending object each, added to PROBE, and the one blocker it must give.
OFFENDERS = [
    case("primary key without user_id",
         "CREATE TABLE notes (id bigint, user_id bigint NOT NULL, "
         "CONSTRAINT pk_notes PRIMARY KEY (id));",
         "constraint pk_notes", "citus-unique-key"),
    case("unique constraint without user_id",
         "ALTER TABLE projects ADD CONSTRAINT uq_projects_name UNIQUE (name);",
         "constraint uq_projects_name", "citus-unique-key"),
    case("unique index backing no constraint",
         "CREATE UNIQUE INDEX uq_projects_name ON projects (name);",
         "index uq_projects_name", "citus-unique-key"),
    case("partial unique index without user_id",
         "CREATE UNIQUE INDEX uq_projects_name_live ON projects (name) WHERE NOT archived;",
         "index uq_projects_name_live", "citus-unique-key"),
    case("expression unique index: user_id inside an expression is not the column",
         "CREATE UNIQUE INDEX uq_projects_lower_name ON projects (lower(name), abs(user_id));",
         "index uq_projects_lower_name", "citus-unique-key"),
    case("unique index with user_id only INCLUDEd",
         "CREATE UNIQUE INDEX uq_projects_name_incl ON projects (name) INCLUDE (user_id);",
         "index uq_projects_name_incl", "citus-unique-key"),
    case("users: unique without id",
         "ALTER TABLE users ADD CONSTRAINT uq_users_email UNIQUE (email);",
         "constraint uq_users_email", "citus-unique-key"),
    case("audit_log: unique without subject_user_id",
         "CREATE UNIQUE INDEX uq_audit_log_id ON audit_log (id);",
         "index uq_audit_log_id", "citus-unique-key"),
    case("exclusion without user_id",
         "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_during "
         "EXCLUDE USING gist (project_id WITH =, during WITH &&);",
         "constraint ex_bookings_during", "citus-exclusion"),
    case("exclusion with user_id but not WITH =",
         "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_other_user "
         "EXCLUDE USING gist (user_id WITH <>, during WITH &&);",
         "constraint ex_bookings_other_user", "citus-exclusion"),
    case("foreign key to users not through user_id",
         "ALTER TABLE bookings ADD CONSTRAINT fk_bookings_created_by "
         "FOREIGN KEY (created_by) REFERENCES users (id);",
         "foreign key fk_bookings_created_by", "citus-fk-colocated"),
    case("composite foreign key with user_id at another position",
         "ALTER TABLE bookings ADD CONSTRAINT fk_bookings_swapped "
         "FOREIGN KEY (user_id, project_id) REFERENCES projects (id, user_id);",
         "foreign key fk_bookings_swapped", "citus-fk-colocated"),
    case("foreign key from a reference table to a distributed one",
         "ALTER TABLE countries ADD COLUMN owner_id bigint, ADD CONSTRAINT "
         "fk_countries_owner_id FOREIGN KEY (owner_id) REFERENCES users (id);",
         "foreign key fk_countries_owner_id", "citus-fk-reference-to-distributed"),
    case("nullable user_id",
         "CREATE TABLE tags (user_id bigint, label text NOT NULL, "
         "CONSTRAINT uq_tags_user_id_label UNIQUE (user_id, label), "
         "CONSTRAINT fk_tags_user_id FOREIGN KEY (user_id) REFERENCES users (id));",
         "column tags.user_id", "citus-distribution-not-null"),
]


def blockers_after(url: str, ddl: str) -> list[citus.Blocker]:
    """The blockers in a scratch database after PROBE and ddl."""
    with psycopg.connect(config.libpq_url(url), autocommit=True) as conn:
        conn.execute(PROBE)
        conn.execute(ddl)
        return citus.check(catalog.read_schema(conn))


def pairs(blockers: list[citus.Blocker]) -> set[tuple[str, str]]:
    return {(b.object, b.rule) for b in blockers}


@pytest.fixture
def db_url(db, pg_server) -> str:
    """The URL of the db fixture's database, for a CLI subprocess."""
    return pg_server.url(db.info.dbname)


# -- Today's schema ------------------------------------------------------------------

def test_the_migrated_schema_has_exactly_the_known_blockers(db):
    blockers = citus.check(catalog.read_schema(db))
    assert pairs(blockers) == TODAY, citus.report(blockers)
    assert len(blockers) == len(TODAY)  # no constraint reported twice


def test_the_migrated_schema_distributes_the_tenant_tables_and_has_no_reference_table(db):
    assert citus.distribution(catalog.read_schema(db)) == {
        "users": "id", "audit_log": "subject_user_id", "sessions": "user_id",
        "licenses": "user_id", "models": "user_id", "jobs": "user_id"}


def test_a_message_says_what_to_change(db):
    messages = {b.object: b.message for b in citus.check(catalog.read_schema(db))}
    assert messages["constraint pk_jobs"].endswith("make it PRIMARY KEY (user_id, id)")
    assert messages["constraint pk_audit_log"].endswith(
        "make it PRIMARY KEY (subject_user_id, id, logged_at)")
    assert "UNIQUE (user_id, storage_key)" in messages["constraint uq_models_storage_key"]
    # users is keyed by id alone: UNIQUE (id, email) would enforce nothing.
    assert "UNIQUE" not in messages["constraint uq_users_email"].split(": ", 1)[1]
    assert "lookup table" in messages["constraint uq_users_email"]


# -- The probe -----------------------------------------------------------------------

def test_the_probe_has_no_blocker(empty_db):
    blockers = blockers_after(empty_db, "SELECT 1")
    assert blockers == [], citus.report(blockers)


def test_the_probe_distributes_by_user_id_and_keeps_lookups_as_reference_tables(empty_db):
    with psycopg.connect(config.libpq_url(empty_db), autocommit=True) as conn:
        conn.execute(PROBE)
        dist = citus.distribution(catalog.read_schema(conn))
    assert dist == {"currencies": None, "countries": None, "users": "id",
                    "projects": "user_id", "bookings": "user_id",
                    "audit_log": "subject_user_id"}


@pytest.mark.parametrize(("ddl", "obj", "rule"), OFFENDERS)
def test_one_offending_object_gives_exactly_its_blocker(empty_db, ddl, obj, rule):
    blockers = blockers_after(empty_db, ddl)
    assert pairs(blockers) == {(obj, rule)}, citus.report(blockers)
    assert len(blockers) == 1


# A lookup table keyed by e-mail that holds a user_id (docs/citus.md, uq_users_email).
LOGINS = """
CREATE TABLE user_logins (
    email text NOT NULL,
    user_id bigint NOT NULL,
    CONSTRAINT pk_user_logins PRIMARY KEY (email)
);
"""


@pytest.mark.parametrize(("entry", "expected"), [
    pytest.param(citus.TENANT_COLUMN, {("constraint pk_user_logins", "citus-unique-key")},
                 id="by user_id (the default): its key blocks"),
    pytest.param("email", set(), id="distributed by its own key"),
    pytest.param(None, set(), id="a reference table"),
])
def test_a_distribution_entry_decides_for_a_table_with_user_id(empty_db, monkeypatch, entry,
                                                              expected):
    monkeypatch.setitem(citus.DISTRIBUTION, "user_logins", entry)
    assert pairs(blockers_after(empty_db, LOGINS)) == expected


def test_an_entry_whose_column_is_missing_falls_back_to_user_id(empty_db, monkeypatch):
    monkeypatch.setitem(citus.DISTRIBUTION, "projects", "tenant_id")
    with psycopg.connect(config.libpq_url(empty_db), autocommit=True) as conn:
        conn.execute(PROBE)
        assert citus.distribution(catalog.read_schema(conn))["projects"] == "user_id"


# -- The report ----------------------------------------------------------------------

def test_the_report_has_one_line_per_blocker_and_a_summary():
    blockers = [citus.Blocker("index idx_a", "citus-unique-key", "make it so"),
                citus.Blocker("foreign key fk_b", "citus-fk-colocated", "pair them")]
    assert citus.report(blockers).splitlines() == [
        "index idx_a: citus-unique-key: make it so",
        "foreign key fk_b: citus-fk-colocated: pair them",
        "citus: 2 blocker(s) to distributing by user_id (docs/citus.md says how to "
        "resolve each)",
    ]


def test_the_report_without_blockers_says_the_schema_can_be_distributed():
    assert citus.report([]) == ("citus: no blocker: the schema can be distributed by "
                                "user_id as it is")


# -- The command line ----------------------------------------------------------------

def test_cli_reports_todays_blockers_and_exits_0(db, db_url):
    result = run_cli("conventions", "--citus", DATABASE_URL=db_url)
    assert result.returncode == 0, result.stderr
    expected = citus.report(citus.check(catalog.read_schema(db)))
    assert result.stdout.splitlines() == expected.splitlines()
    assert len(result.stdout.splitlines()) == len(TODAY) + 1  # and the summary


def test_cli_strict_exits_7_on_todays_blockers(db_url):
    result = run_cli("conventions", "--citus", "--strict", DATABASE_URL=db_url)
    assert result.returncode == 7, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"schema: {len(TODAY)} key(s) block distributing by user_id; see above")


def test_cli_strict_passes_the_probe(empty_db):
    with psycopg.connect(config.libpq_url(empty_db), autocommit=True) as conn:
        conn.execute(PROBE)
    result = run_cli("conventions", "--citus", "--strict", DATABASE_URL=empty_db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [citus.report([])]
