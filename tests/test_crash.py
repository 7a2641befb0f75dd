"""A server crash: kill -9 of the postmaster in the middle of a migration and
in the middle of the soak, then a restart (crash recovery), then nothing
half-done and nothing committed lost.

The crashed server is a throw-away cluster of its own with PostgreSQL's
durable defaults (fsync, synchronous_commit and full_page_writes on, unlike
the session's scratch server). The postmaster gets SIGKILL; its children
notice and exit (any left after a few seconds get SIGKILL too, as in a
machine crash), then the server is started again on the same data.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import port_for
import psycopg
import pytest
from psycopg import sql

from runner import config
from runner.servers.server import Server, throwaway_server
from tests import pooler, soak
from tests.cli import extra_migration, migrations_copy, run_cli, start_cli
from tests.soak import fetch

SLEEPS = ("SELECT pg_sleep(coalesce(nullif(current_setting('crash.sleep', true), ''), '0')"
          "::float);\n")


@pytest.fixture(scope="module")
def crashable(scratch_dir):
    """A durable throw-away server that the tests of this module crash."""
    with throwaway_server(scratch_dir, "schema-crash-", port_for.select_random(), {}) as server:
        yield server


@contextmanager
def new_database(server: Server) -> Iterator[str]:
    """URL of a new empty database on the server, dropped afterwards."""
    name = f"crash_{os.getpid()}_{time.monotonic_ns()}"
    server.start()
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield server.url(name)
    server.start()
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def database(crashable):
    """(server, URL) of a new empty database on the crashable server."""
    with new_database(crashable) as url:
        yield crashable, url


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def crash(server: Server) -> None:
    """kill -9 the postmaster; wait for its children to go (SIGKILL any left)."""
    postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    kids = children(postmaster)
    os.kill(postmaster, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(Path(f"/proc/{k}").exists() for k in kids):
        time.sleep(0.02)
    for kid in kids:
        try:
            os.kill(kid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    while any(Path(f"/proc/{k}").exists() for k in kids + [postmaster]):
        time.sleep(0.02)


def wait_for(url: str, query: str, seconds: float = 30) -> None:
    """Poll until query returns a row (from another session)."""
    deadline = time.monotonic() + seconds
    with psycopg.connect(url, autocommit=True) as conn:
        while not conn.execute(query).fetchone():
            assert time.monotonic() < deadline, f"never saw: {query}"
            time.sleep(0.02)


def states(url: str, migrations: Path) -> dict[str, str]:
    done = run_cli("status", "--json", DATABASE_URL=url, SCHEMA_MIGRATIONS_DIR=migrations)
    assert done.returncode == 0, done.stderr
    return {m["id"]: m["state"] for m in json.loads(done.stdout)["migrations"]}


def verify(url: str, migrations: Path):
    return run_cli("verify", DATABASE_URL=url, SCHEMA_MIGRATIONS_DIR=migrations)


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# --------------------------------------------------------------------------- mid-migration

def test_a_crash_mid_migration_leaves_it_neither_applied_nor_recorded(database, tmp_path):
    server, url = database
    migrations = migrations_copy(tmp_path, extra_migration(
        "CREATE TABLE crash_probe (id integer PRIMARY KEY);\n"
        "INSERT INTO crash_probe VALUES (1);\n" + SLEEPS,
        rollback="DROP TABLE crash_probe;\n", name="9001_crash_probe"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET crash.sleep = '60'").format(
            sql.Identifier(conn.info.dbname)))
    runner = start_cli("migrate", DATABASE_URL=url, SCHEMA_MIGRATIONS_DIR=migrations)
    wait_for(url, "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(%'")
    crash(server)
    _, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 3
    assert "lost the connection to the server while applying 9001_crash_probe" in one_line(stderr)
    server.start()

    found = states(url, migrations)
    assert found.pop("9001_crash_probe") == "pending"
    assert set(found.values()) == {"applied"}
    assert verify(url, migrations).returncode == 0
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('crash_probe')").fetchone()[0] is None
        assert conn.execute("SELECT count(*) FROM schema_runner.applied_files"
                            " WHERE migration_id = '9001_crash_probe'").fetchone()[0] == 0
        conn.execute(sql.SQL("ALTER DATABASE {} RESET crash.sleep").format(
            sql.Identifier(conn.info.dbname)))
    again = run_cli("migrate", DATABASE_URL=url, SCHEMA_MIGRATIONS_DIR=migrations)
    assert again.returncode == 0, again.stderr
    assert set(states(url, migrations).values()) == {"applied"}
    assert verify(url, migrations).returncode == 0


def test_a_crash_mid_concurrent_index_build_is_repaired_by_the_next_migrate(database, tmp_path):
    """CREATE INDEX CONCURRENTLY commits an INVALID index before it builds;
    a crash then leaves it behind. pg_dump leaves INVALID indexes out, and
    IF NOT EXISTS would skip the build: verify must name it, and the next
    migrate must drop it and build it again before recording the migration."""
    server, url = database
    assert run_cli("migrate", DATABASE_URL=url).returncode == 0
    migrations = migrations_copy(tmp_path, extra_migration(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_jobs_crash_probe ON jobs (priority);\n",
        rollback="DROP INDEX CONCURRENTLY IF EXISTS idx_jobs_crash_probe;\n",
        transactional=False, name="9001_crash_index"))
    writer = psycopg.connect(url)  # an open write transaction: the build waits for it
    writer.execute("UPDATE jobs SET priority = priority")
    runner = start_cli("migrate", DATABASE_URL=url, SCHEMA_MIGRATIONS_DIR=migrations)
    wait_for(url, "SELECT 1 FROM pg_stat_progress_create_index AS p"
                  " JOIN pg_class AS c ON c.oid = p.index_relid"
                  " WHERE c.relname = 'idx_jobs_crash_probe'")
    crash(server)
    writer.close()
    _, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 3
    assert "while applying 9001_crash_index" in one_line(stderr)
    server.start()

    assert states(url, migrations)["9001_crash_index"] == "pending"
    checked = verify(url, migrations)
    assert checked.returncode == 5
    assert ("INVALID: index public.idx_jobs_crash_probe: left by a failed or interrupted"
            in checked.stdout)
    again = run_cli("migrate", DATABASE_URL=url, SCHEMA_MIGRATIONS_DIR=migrations)
    assert again.returncode == 0, again.stderr
    assert "dropping INVALID index public.idx_jobs_crash_probe" in again.stdout
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT indisvalid FROM pg_index"
                            " WHERE indexrelid = 'idx_jobs_crash_probe'::regclass").fetchone() == (
            True,)
    assert set(states(url, migrations).values()) == {"applied"}
    assert verify(url, migrations).returncode == 0


# --------------------------------------------------------------------------- mid-soak

@pytest.fixture(scope="module")
def crashed_soak(request, crashable):
    """(ledger, superuser connection, URL) of a soak killed in its middle,
    after the restart. Clients connect straight to the server as the LOGIN
    roles of tests/pooler.py; the kill comes once the erasure and 20
    finished jobs are committed."""
    with new_database(crashable) as url:
        assert run_cli("migrate", DATABASE_URL=url).returncode == 0
        pooler.create_logins(crashable.url("postgres"))
        dbname = url.rsplit("/", 1)[1]

        def connect(login: str) -> psycopg.Connection:
            return psycopg.connect(f"postgresql://{pooler.LOGINS[login]}@127.0.0.1:"
                                   f"{crashable.port}/{dbname}", connect_timeout=5)

        stop = threading.Event()
        result = {}
        plan = soak.Plan(seconds=30, erase_at=0.05)
        runner = threading.Thread(target=lambda: result.setdefault("ledger", soak.run(
            soak.Target(connect), plan, drain=lambda: 1, drain_seconds=0, stop=stop)))
        runner.start()
        wait_for(url, "SELECT 1 FROM audit_log WHERE action = 'erase'")
        wait_for(url, "SELECT 1 FROM jobs WHERE status IN ('succeeded', 'failed')"
                      " HAVING count(*) >= 20")
        crash(crashable)
        stop.set()
        runner.join(60)
        assert not runner.is_alive()
        crashable.start()
        ledger = result["ledger"]
        request.config.stash[soak.CRASH_FIGURES] = [
            "straight to the server, postmaster killed midway", *ledger.figures()]
        with psycopg.connect(url, autocommit=True) as conn:
            yield ledger, conn, url


def test_after_a_crash_mid_soak_no_committed_row_or_entry_is_missing(crashed_soak):
    ledger, conn, _ = crashed_soak
    assert dict(ledger.unexpected) == {}, ledger.examples
    assert sum(ledger.in_doubt.values()) > 0  # the crash really cut clients off
    ids = {t: {r["id"] for r in fetch(conn, f"SELECT id FROM {t}")}
           for t in ("users", "sessions", "licenses", "models", "jobs")}
    logged = Counter((r["table_name"], r["row_id"], r["action"]) for r in fetch(
        conn, "SELECT table_name, row_id, action FROM audit_log"))
    for table, committed in [("users", ledger.users), ("licenses", ledger.licenses),
                             ("models", ledger.models), ("jobs", ledger.jobs)]:
        assert set(committed) <= ids[table], table
        assert [r for r in committed if logged[table, r, "insert"] != 1] == [], table
    for session in ledger.sessions:  # there, or purged by a committed, audited delete
        assert logged["sessions", session, "insert"] == 1
        assert (session in ids["sessions"]) == (logged["sessions", session, "delete"] == 0)
    for session in ledger.revoked:
        assert logged["sessions", session, "update"] >= 1
    for lic in ledger.cancelled:
        assert logged["licenses", lic, "update"] == 1


def test_after_a_crash_mid_soak_no_claim_finish_or_count_is_lost(crashed_soak):
    ledger, conn, _ = crashed_soak
    claims = Counter(job for job, *_ in ledger.claims)
    audited = soak.audited_claims(conn)
    in_doubt = ledger.in_doubt["claim"]
    assert all(audited[job] >= n for job, n in claims.items())
    assert sum(audited.values()) - sum(claims.values()) <= in_doubt
    reports = soak.progress_reports(conn)
    for job, n in ledger.reports.items():
        assert n <= (reports[job] or 0) <= n + ledger.in_doubt["progress"]
    clicks = soak.clicks(conn)
    for user, n in ledger.clicks.items():
        assert n <= clicks[user] <= n + ledger.in_doubt["click"]


def test_after_a_crash_mid_soak_the_erasure_holds_and_the_schema_verifies(crashed_soak):
    ledger, conn, url = crashed_soak
    assert ledger.erased is not None
    text = soak.audit_text(conn)
    assert [v for v in ledger.personal[ledger.erased] if v in text] == []
    assert verify(url, config.MIGRATIONS_DIR).returncode == 0
    assert set(states(url, config.MIGRATIONS_DIR).values()) == {"applied"}
    user = conn.execute("SELECT register_user('after-crash@example.com.tr', NULL)").fetchone()[0]
    assert user > max(ledger.users)  # the identity went on past every committed id
