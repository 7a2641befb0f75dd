"""sql/ and migrations/ describe the same schema.

One database is built by running sql/*.sql in file-name order with psql, as a
DBA would; the other is the template built by the migrations. Their
normalized `pg_dump --schema-only` outputs must be identical; on any
difference the test fails and prints the diff.
"""

from __future__ import annotations

import subprocess

import pytest

from runner import config
from runner.migrate import dump


def build_from_sql_dir(url: str, psql: str) -> None:
    files = sorted(config.SQL_DIR.glob("*.sql"))
    assert files, "sql/ is empty"
    args = [arg for f in files for arg in ("-f", str(f))]
    subprocess.run(
        [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
         "-d", url, *args],
        check=True, capture_output=True, text=True,
    )


@pytest.fixture
def declared_url(empty_db, pg_server):
    build_from_sql_dir(empty_db, pg_server.client("psql", "the drift test"))
    return empty_db


@pytest.fixture
def migrated_url(migrated_proc, pg_server):
    return pg_server.url(migrated_proc.template_dbname)


def test_sql_dir_and_migrations_build_the_same_schema(declared_url, migrated_url, pg_dump):
    diff = dump.schema_diff(declared_url, migrated_url, pg_dump)
    assert not diff, "sql/ and migrations/ differ:\n" + "\n".join(diff)


def test_the_comparison_sees_a_difference(declared_url, migrated_url, pg_dump):
    """The drift check is not blind: one extra index on one side is reported."""
    import psycopg

    with psycopg.connect(declared_url, autocommit=True) as conn:
        conn.execute("CREATE INDEX idx_users_locale ON users (locale)")
    diff = dump.schema_diff(declared_url, migrated_url, pg_dump)
    assert any("idx_users_locale" in line for line in diff)


def test_the_comparison_sees_a_changed_comment(declared_url, migrated_url, pg_dump):
    import psycopg

    with psycopg.connect(declared_url, autocommit=True) as conn:
        conn.execute("COMMENT ON COLUMN jobs.progress IS 'changed'")
    assert any("changed" in line for line in dump.schema_diff(declared_url, migrated_url, pg_dump))


def test_the_dump_leaves_out_yoyo_bookkeeping(migrated_url, pg_dump):
    dumped = "\n".join(dump.normalized_dump(migrated_url, pg_dump))
    assert "CREATE TABLE public.users" in dumped
    assert "_yoyo" not in dumped and "yoyo_lock" not in dumped
