"""`schema rehearse`: each unsafe form of a migration, pending over the real
schema and its data, is caught under traffic, naming the migration, the
statement, the lock mode and the table (or the traffic's error); each safe
form passes.

One shadow database is built per session (every landed migration, the
benchmark generator's data at SCALE, ANALYZE) and cloned for each probe. The
budget is small, as the scale is: at this size a blocking build is short,
and the budget must be smaller than it, yet larger than the brief ACCESS
EXCLUSIVE of a safe catalog-only change on a loaded machine.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading

import psycopg
import pytest
from psycopg import sql

from runner import config, rehearse
from runner.errors import EXIT_OK, EXIT_REHEARSE
from runner.migrate import manifest
from runner.settings import Settings
from tests.cli import extra_migration, migrations_copy, run_cli

SCALE = 0.1
BUDGET_MS = 100.0
# A CHECK whose validation reads every job (md5 of its parameters).
ADD_CHECK = ("ALTER TABLE jobs ADD CONSTRAINT ck_jobs_probe CHECK "
             "(md5(input_params::text || coalesce(metrics::text, '')) <> '') NOT VALID;\n")
VALIDATE_CHECK = "ALTER TABLE jobs VALIDATE CONSTRAINT ck_jobs_probe;\n"
OPTIONS = rehearse.Options(scale=SCALE, rate=150, budget_ms=BUDGET_MS, baseline_s=1.0,
                           after_s=1.0)


@pytest.fixture(scope="session")
def shadow_template(pg_server, migrated_proc):
    """The landed schema and its data, as a template database."""
    name = "rehearse_template"
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg_server.url(name)
    pending, variables = rehearse.prepare(url, Settings.from_env(), OPTIONS, out=lambda _: None)
    assert pending == [], "the repository's migrations have not all landed"
    return name, variables


@pytest.fixture
def shadow(pg_server, shadow_template):
    """A clone of the template, dropped afterwards."""
    template, variables = shadow_template
    name = f"rehearse_{id(object())}"
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))
    yield pg_server.url(name), variables
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def probe_migrations(tmp_path, *files: dict[str, str]):
    folder = migrations_copy(tmp_path)
    for extra in files:
        for name, text in extra.items():
            (folder / name).write_text(text)
    return folder


def rehearsed(shadow, tmp_path, *bodies: str, transactional=(True, True), options=OPTIONS):
    """Rehearse one probe migration (or two in a row) on a clone of the shadow."""
    url, variables = shadow
    files, depends = [], None
    for number, body in enumerate(bodies, start=1):
        name = f"900{number}_probe"
        extra = {"depends": depends} if depends else {}
        files.append(extra_migration(body, rollback="SELECT 1;\n", name=name,
                                     transactional=transactional[number - 1], **extra))
        depends = name
    settings = Settings.from_env(migrations_dir=probe_migrations(tmp_path, *files))
    report, _ = rehearse.rehearse_on(url, settings, options, variables, out=lambda _: None)
    return {f.migration: f for f in report.findings}


UNSAFE = [
    pytest.param("CREATE INDEX idx_probe ON jobs ((input_params::text));\n",
                 "statement 1 (CREATE INDEX idx_probe ON jobs ((input_params::text));) held "
                 "SHARE on jobs", id="create-index-not-concurrently"),
    pytest.param("ALTER TABLE jobs ALTER COLUMN progress TYPE integer;\n",
                 "held ACCESS EXCLUSIVE on jobs", id="alter-column-type"),
    pytest.param("ALTER TABLE jobs ADD COLUMN probed_at timestamptz DEFAULT clock_timestamp();\n",
                 "held ACCESS EXCLUSIVE on jobs", id="add-column-volatile-default"),
    pytest.param(ADD_CHECK + VALIDATE_CHECK,
                 "statement 1 (ALTER TABLE jobs ADD CONSTRAINT ck_jobs_probe CHECK",
                 id="validate-in-the-same-transaction"),
    pytest.param("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(0.5);\n",
                 "statement 1 (LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE;) held ACCESS "
                 "EXCLUSIVE on jobs", id="access-exclusive-then-sleep"),
]


@pytest.mark.parametrize("body, named", UNSAFE)
def test_an_unsafe_migration_is_caught_naming_statement_lock_and_table(shadow, tmp_path,
                                                                       body, named):
    finding = rehearsed(shadow, tmp_path, body)["9001_probe"]
    assert not finding.passed
    assert any(line.startswith("9001_probe: ") and named in line for line in finding.offences), \
        finding.offences
    assert any("which blocks" in line and "06_job_progress" in line
               for line in finding.offences), finding.offences


def test_a_rename_that_a_catalog_query_uses_breaks_the_traffic(shadow, tmp_path):
    """The previous release still sends `progress`: its queries fail after it."""
    finding = rehearsed(shadow, tmp_path,
                        "ALTER TABLE jobs RENAME COLUMN progress TO percent_done;\n")["9001_probe"]
    assert not finding.passed
    failures = [line for line in finding.offences if "traffic failed" in line]
    assert any("06_job_progress: UndefinedColumn" in line for line in failures), finding.offences


SAFE = [
    pytest.param(("CREATE INDEX CONCURRENTLY idx_probe ON jobs ((input_params::text));\n",),
                 (False,), id="create-index-concurrently"),
    pytest.param(("ALTER TABLE jobs ADD COLUMN probe_flag boolean NOT NULL DEFAULT false;\n",),
                 (True,), id="add-column-constant-default"),
    pytest.param((ADD_CHECK, VALIDATE_CHECK),
                 (True, True), id="not-valid-then-validate-in-its-own-migration"),
    pytest.param(("ALTER TABLE jobs ADD COLUMN probe_note text;\n",), (True,),
                 id="additive-column"),
]


@pytest.mark.parametrize("bodies, transactional", SAFE)
def test_a_safe_migration_passes(shadow, tmp_path, bodies, transactional):
    """No lock the traffic needs is held past the budget, and no traffic query
    fails. (How long traffic waits on a brief ACCESS EXCLUSIVE is the slowest
    query in flight, which a loaded machine, two suites at once, stretches;
    a block while the migration held its lock is an offence, and on a loaded
    machine even a brief hold can be; the hold itself is the migration's.)"""
    findings = rehearsed(shadow, tmp_path, *bodies, transactional=(*transactional, True))
    assert len(findings) == len(bodies)
    for finding in findings.values():
        held = [line for line in finding.offences if ") held " in line]
        assert held == [], finding.offences
        assert finding.errors_during == () and finding.errors_after == ()
        assert all(lock.held_ms <= BUDGET_MS for lock in finding.locks if lock.conflicts_with)
        assert all("queued behind" in line for line in finding.notes)


def test_traffic_waiting_on_a_held_lock_is_measured_and_named(shadow, tmp_path):
    """The other half of the verdict: a query that waits on the migration's
    lock is seen, timed, and named with the lock it waited for."""
    finding = rehearsed(shadow, tmp_path, "LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE;\n"
                        "SELECT pg_sleep(0.5);\n")["9001_probe"]
    held = [b for b in finding.blocks if not b.queued]
    assert held, finding.blocks
    assert max(b.ms for b in held) >= 300
    assert all(b.table == "jobs" and b.statement in (1, 2) for b in held)
    assert finding.longest_block == finding.blocks[0]


def test_the_validate_step_is_seen_taking_share_update_exclusive_only(shadow, tmp_path):
    """Not a pass by blindness: the separate VALIDATE is seen scanning jobs
    under the lock that lets reads and writes go on."""
    findings = rehearsed(shadow, tmp_path, ADD_CHECK, VALIDATE_CHECK)
    modes = {(lock.table, lock.mode) for lock in findings["9002_probe"].locks}
    assert ("jobs", "ShareUpdateExclusiveLock") in modes
    assert ("jobs", "AccessExclusiveLock") not in modes


def test_rehearsing_the_landed_migrations_passes(tmp_path):
    """Every landed migration after the ones that create the tables (0001 to
    0008: no traffic can run before its tables exist), as the command runs it."""
    out = tmp_path / "out"
    result = run_cli("rehearse", "--since", "0009_roles", "--scale", "0.02", "--out", out,
                     timeout=600, DATABASE_URL="")
    assert result.returncode == EXIT_OK, result.stdout + result.stderr
    report = json.loads((out / "rehearse.json").read_text())
    landed = [name.removesuffix(".sql") for name in manifest.read(config.MIGRATIONS_DIR)
              if not name.endswith(".rollback.sql")]
    assert [f["migration"] for f in report["findings"]] == sorted(landed)[8:]
    assert report["passed"] and "| `0009_roles` |" in (out / "rehearse.md").read_text()


def test_the_command_fails_with_its_exit_code_naming_the_offence(tmp_path, empty_db):
    """Through DATABASE_URL's server: a new database is made and dropped, the
    existing one is untouched; --json prints the report alone on stdout, and
    the offending statement is named on stderr."""
    folder = probe_migrations(tmp_path, extra_migration(
        "LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(0.3);\n",
        rollback="SELECT 1;\n"))
    result = run_cli("rehearse", "--migrations", folder, "--scale", "0.01", "--budget-ms",
                     "100", "--json", "--out", tmp_path / "out", timeout=600,
                     DATABASE_URL=empty_db)
    assert result.returncode == EXIT_REHEARSE, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert not report["passed"] and [f["migration"] for f in report["findings"]] == ["9001_extra"]
    assert ("schema: rehearse: 9001_extra: statement 1 (LOCK TABLE jobs IN ACCESS EXCLUSIVE "
            "MODE;) held ACCESS EXCLUSIVE on jobs") in result.stderr
    assert re.fullmatch(r"schema: rehearse: [12] offence\(s\) against the traffic; see above",
                        result.stderr.strip().splitlines()[-1])
    assert sorted(p.name for p in (tmp_path / "out").iterdir())[:2] == ["rehearse.json",
                                                                       "rehearse.md"]
    with psycopg.connect(empty_db) as conn:
        databases = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        tables = conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = "
                              "'public'::regnamespace").fetchone()[0]
    assert not [name for name in databases if "_rehearse_" in name]
    assert tables == 0  # the database named by DATABASE_URL was never migrated


def test_with_nothing_pending_it_says_so_and_makes_nothing(empty_db):
    """The gate of make test on a clean checkout: every migration has landed."""
    result = run_cli("rehearse", DATABASE_URL=empty_db)
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.startswith("nothing to rehearse: every migration has landed")
    as_json = run_cli("rehearse", "--json", DATABASE_URL=empty_db)
    assert json.loads(as_json.stdout)["findings"] == [] and as_json.returncode == EXIT_OK
    with psycopg.connect(empty_db) as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database")]
    assert not [name for name in names if "_rehearse_" in name]


@pytest.mark.parametrize("queued_budget_ms", [None, 200.0], ids=["note", "offence"])
def test_traffic_queued_behind_a_waiting_migration_is_a_note_or_with_its_budget_an_offence(
        shadow, tmp_path, queued_budget_ms):
    """A long reader holds jobs when a catalog-only ALTER arrives: the ALTER
    waits for it, and the traffic queues behind the ALTER's request. That is
    reported as queued; it fails the rehearsal only with --queued-budget-ms."""
    url, _ = shadow
    reader = psycopg.connect(url)
    reader.execute("LOCK TABLE jobs IN ACCESS SHARE MODE")  # stays open: a long report
    release = threading.Timer(OPTIONS.baseline_s + 1.0, reader.rollback)
    release.start()
    try:
        options = dataclasses.replace(OPTIONS, queued_budget_ms=queued_budget_ms)
        finding = rehearsed(shadow, tmp_path, "ALTER TABLE jobs ADD COLUMN probe_note text;\n",
                            options=options)["9001_probe"]
    finally:
        release.join()
        reader.close()
    queued = [b for b in finding.blocks if b.queued]
    assert queued and max(b.ms for b in queued) > 200, finding.blocks
    lines = finding.offences if queued_budget_ms else finding.notes
    assert any("queued behind the migration's own wait for its lock" in line and "budget" in line
               for line in lines), (finding.offences, finding.notes)
    if queued_budget_ms is None:
        assert not any("queued behind" in line for line in finding.offences)
