"""Fixtures: one embedded PostgreSQL per test session (17, or SCHEMA_PG_MAJOR's),
a template database migrated once, and a fresh clone of that template for
every test.

pytest-postgresql's own process fixture refuses to run as root (pg_ctl:
cannot be run as root), so the session server is started by runner.servers.server,
which runs it as an unprivileged user when needed. The plugin's
DatabaseJanitor builds the template and its client factory clones it.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import port_for
import psycopg
import pytest
from pytest_postgresql import factories
from pytest_postgresql.executors.noop import NoopExecutor
from pytest_postgresql.janitor import DatabaseJanitor

from runner.config import SUPERUSER
from runner.errors import RunnerError
from runner.migrate import commands
from runner.servers import majors
from runner.servers.server import TEST_SETTINGS, throwaway_server
from tests import pooler as pgbouncer
from tests import replication, rows, soak


def _scratch_dir() -> str | None:
    """/dev/shm when usable: a clone there takes ~20 ms instead of ~200 ms on disk."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


@pytest.fixture(scope="session")
def scratch_dir() -> str | None:
    """Where throw-away servers keep their data: /dev/shm when usable, else /tmp."""
    return _scratch_dir()


@pytest.fixture(scope="session")
def pg_server(scratch_dir):
    """The session's PostgreSQL, stopped and deleted at the end. A major that
    is not installed ends the run with one line saying how to install it."""
    try:
        majors.server_bin_dir(majors.selected_major())
    except RunnerError as exc:
        pytest.exit(f"schema: {exc}", returncode=exc.exit_code)
    with throwaway_server(scratch_dir, "schema-test-", port_for.select_random(),
                          TEST_SETTINGS) as server:
        yield server


@pytest.fixture(scope="session")
def pg_dump(pg_server) -> str:
    """The pg_dump that reads the session's server (its major or the closest newer)."""
    return pg_server.client("pg_dump", "the tests")


def apply_migrations(host, port, user, dbname, **_):
    """pytest-postgresql loader: apply every migration with the runner."""
    commands.migrate(f"postgresql://{user}@{host}:{port}/{dbname}", out=lambda _: None)


@pytest.fixture(scope="session")
def migrated_proc(pg_server):
    """No-process executor whose template database holds the migrated schema."""
    executor = NoopExecutor(
        host="127.0.0.1", port=pg_server.port, user=SUPERUSER, options="", dbname="cadcam_test"
    )
    janitor = DatabaseJanitor(
        user=SUPERUSER, host="127.0.0.1", port=pg_server.port,
        dbname=executor.template_dbname, as_template=True,
    )
    with janitor:
        janitor.load(apply_migrations)
        yield executor


postgresql = factories.postgresql("migrated_proc")


@pytest.fixture
def db(postgresql) -> psycopg.Connection:
    """A connection to a fresh clone of the migrated schema, in autocommit mode."""
    postgresql.autocommit = True
    return postgresql


@pytest.fixture
def a(db) -> dict[str, int]:
    """User A with one row in every core table (ids by table), made as the superuser."""
    return rows.tenant(db)


@pytest.fixture
def b(db, a) -> dict[str, int]:
    """User B, likewise: the other user whose rows A must never reach."""
    return rows.tenant(db)


_names = itertools.count()


@pytest.fixture
def empty_db(pg_server):
    """URL of a new, empty database (no migrations), dropped afterwards."""
    name = f"scratch_{os.getpid()}_{next(_names)}"
    janitor = DatabaseJanitor(user=SUPERUSER, host="127.0.0.1", port=pg_server.port, dbname=name)
    with janitor:
        yield pg_server.url(name)


@pytest.fixture(scope="session")
def pooler(pg_server, migrated_proc):
    """A real PgBouncer (transaction mode) in front of the session's server,
    with the LOGIN roles of the pooled clients (members of the group roles
    that the migrations make). Without the program a normal
    user gets the test skipped, saying how to install it; as root (CI) it is
    an error, since make test installs it."""
    if pgbouncer.binary() is None:
        if os.geteuid() == 0:
            pytest.fail(pgbouncer.INSTALL_HINT, pytrace=False)
        pytest.skip(pgbouncer.INSTALL_HINT)
    pgbouncer.create_logins(pg_server.url("postgres"))
    with pgbouncer.running_pooler(pg_server.port) as running:
        yield running


def pytest_terminal_summary(terminalreporter, config):
    """The figures of the soaks that ran (tests/test_soak.py, tests/test_crash.py,
    tests/test_replication.py)."""
    for key, title in [(soak.FIGURES, "soak"), (soak.CRASH_FIGURES, "soak with a crash"),
                       (replication.FIGURES, "blue/green over logical replication")]:
        figures = config.stash.get(key, None)
        if figures:
            terminalreporter.section(title)
            for line in figures:
                terminalreporter.write_line(line)
