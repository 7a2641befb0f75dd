"""Past one machine, step one: a blue/green upgrade over logical replication.

The old server (SCHEMA_PG_MAJOR's, wal_level logical) and a new one (the next
newer installed major, tests/replication.py) are throw-away servers of this
module; both get the schema from the runner. The old one publishes every
table of the project, takes the soak's traffic (tests/soak.py: app clients,
workers, an erasure, as the real roles), and the new one subscribes in the
middle of it. Then the cut-over of docs/replication.md: the traffic stops,
the subscriber catches up, the subscription is dropped, the sequences are
set, and the new server takes writes.

Also schema replication-check (runner/checks/replication.py), on probe tables.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import port_for
import psycopg
import pytest

from runner.checks import replication
from runner.errors import EXIT_CONVENTIONS, EXIT_OK
from runner.migrate import commands
from runner.servers import majors
from runner.servers.server import TEST_SETTINGS, throwaway_server
from tests import pooler, rows, soak
from tests import replication as blue_green_steps
from tests.cli import run_cli

PLAN = soak.Plan(seconds=8, users=4, workers=4)
SUBSCRIBE_AFTER = 2.0  # seconds into the traffic: the copy runs while rows change
CATCH_UP_TIMEOUT = 60.0
DBNAME = "cadcam"


@dataclass
class Cutover:
    old_url: str
    new_url: str
    old_major: int
    new_major: int
    ledger: soak.Ledger
    keys: dict  # table -> primary key columns
    old_sums: dict
    new_sums: dict
    blue_max_ids: dict  # the largest id of each table when the traffic stopped
    collision: str | None  # the constraint a write hit before the sequences were set
    synced: list  # the sequences set on the new server


def _server(scratch_dir, prefix: str, settings: dict, major: int):
    return throwaway_server(scratch_dir, prefix, port_for.select_random(),
                            {**TEST_SETTINGS, **settings}, major=major)


def _database(server) -> str:
    server.ensure_database(DBNAME)
    url = server.url(DBNAME)
    commands.migrate(url, out=lambda _: None)
    return url


def _traffic(server, url: str, result: dict) -> threading.Thread:
    """The soak's clients on the old server, straight to it as the LOGIN roles."""
    pooler.create_logins(server.url("postgres"))

    def connect(login: str) -> psycopg.Connection:
        return psycopg.connect(f"postgresql://{pooler.LOGINS[login]}@127.0.0.1:"
                               f"{server.port}/{DBNAME}", connect_timeout=5)

    def queued() -> int:
        with psycopg.connect(url) as conn:
            return conn.execute(
                "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')").fetchone()[0]

    thread = threading.Thread(target=lambda: result.setdefault("ledger", soak.run(
        soak.Target(connect), PLAN, drain=queued, drain_seconds=10)))
    thread.start()
    return thread


def _write_before_sync(new: psycopg.Connection) -> str | None:
    """A new account on the new server before its sequences are set: the
    constraint it collides with (None: no collision)."""
    try:
        rows.user(new)
    except psycopg.errors.UniqueViolation as exc:
        return exc.diag.constraint_name
    return None


@pytest.fixture(scope="module")
def cutover(request, scratch_dir):
    old_major = majors.selected_major()
    new_major = blue_green_steps.subscriber_major(old_major)
    with (_server(scratch_dir, "schema-blue-", blue_green_steps.PUBLISHER_SETTINGS,
                  old_major) as blue,
          _server(scratch_dir, "schema-green-", blue_green_steps.SUBSCRIBER_SETTINGS,
                  new_major) as green):
        old_url, new_url = _database(blue), _database(green)
        with (psycopg.connect(old_url, autocommit=True) as old,
              psycopg.connect(new_url, autocommit=True) as new):
            keys = blue_green_steps.tables(old)
            blue_green_steps.publish(old, list(keys))
            result: dict = {}
            started = time.monotonic()
            traffic = _traffic(blue, old_url, result)
            time.sleep(SUBSCRIBE_AFTER)
            blue_green_steps.subscribe(new, f"host=127.0.0.1 port={blue.port} "
                                            f"dbname={DBNAME} user=postgres")
            traffic.join(PLAN.seconds + 120)
            assert not traffic.is_alive(), "the traffic did not stop"
            stopped = time.monotonic()
            lag = blue_green_steps.wait_caught_up(old, new, CATCH_UP_TIMEOUT, green.log_file)
            # The cut-over: no more changes from the old server, then the sequences.
            new.execute(f"ALTER SUBSCRIPTION {blue_green_steps.NAME} DISABLE")
            new.execute(f"DROP SUBSCRIPTION {blue_green_steps.NAME}")
            old_sums = blue_green_steps.checksums(old, keys)
            new_sums = blue_green_steps.checksums(new, keys)
            blue_max = blue_green_steps.max_ids(old, list(keys))
            collision = _write_before_sync(new)
            synced = replication.sync_sequences(old, new)
            ledger = result["ledger"]
            request.config.stash[blue_green_steps.FIGURES] = [
                f"PostgreSQL {old_major} -> {new_major}: {ledger.figures()[0]} on the old "
                f"server, subscribed {SUBSCRIBE_AFTER:.0f} s in; caught up {lag:.1f} s after "
                f"the traffic stopped ({stopped - started:.1f} s of traffic and drain)",
                "rows copied: " + ", ".join(f"{t} {n}" for t, (n, _) in new_sums.items()),
            ]
            yield Cutover(old_url, new_url, old_major, new_major, ledger, keys, old_sums,
                          new_sums, blue_max, collision, synced)


def test_the_new_server_is_another_major_where_the_project_has_one(cutover):
    others = [m for m in majors.TESTED_MAJORS
              if m != cutover.old_major and blue_green_steps.installed(m)]
    assert (cutover.new_major != cutover.old_major) == bool(others)
    with psycopg.connect(cutover.new_url) as conn:
        assert majors.server_major_of(conn.info.server_version) == cutover.new_major


def test_the_traffic_ran_without_an_unexpected_error_while_published(cutover):
    """A published table without a replica identity would fail its UPDATEs here."""
    assert dict(cutover.ledger.unexpected) == {}, cutover.ledger.examples
    assert cutover.ledger.erased is not None  # the erasure's updates went through too
    assert sum(cutover.ledger.ops.values()) > 100


def test_every_table_has_the_same_rows_and_checksum_on_both(cutover):
    assert list(cutover.old_sums) == list(cutover.keys)
    assert {"users", "sessions", "licenses", "models", "jobs", "audit_log"} <= set(cutover.keys)
    assert cutover.new_sums == cutover.old_sums
    assert all(n > 0 for n, _ in cutover.old_sums.values()), cutover.old_sums


def test_the_audit_entries_arrive_once_into_the_new_servers_partitions(cutover):
    """The subscriber's own audit triggers do not fire for applied rows (the
    apply worker runs as a replica), so each entry is the old server's, once,
    and it lands in the partition of its month there too."""
    with (psycopg.connect(cutover.old_url) as old, psycopg.connect(cutover.new_url) as new):
        query = ("SELECT tableoid::regclass::text, count(*) FROM audit_log"
                 " GROUP BY 1 ORDER BY 1")
        assert new.execute(query).fetchall() == old.execute(query).fetchall()


def test_verify_passes_on_both_servers(cutover):
    """The publication is the upgrade's plumbing, not drift."""
    for url in (cutover.old_url, cutover.new_url):
        commands.verify(url, out=lambda _: None)


def test_without_the_sequences_a_new_write_collides(cutover):
    """Logical replication does not carry sequences: the step is needed."""
    assert cutover.collision == "pk_users"


def test_the_sequences_are_synced_and_new_writes_succeed_without_a_collision(cutover):
    assert {s.name for s in cutover.synced} >= {
        f"{t}_id_seq" for t in ("users", "sessions", "licenses", "models", "jobs", "audit_log")}
    with psycopg.connect(cutover.new_url, autocommit=True) as new:
        ids = rows.tenant(new)  # and their audit entries, by the new server's triggers
        assert all(ids[t] > cutover.blue_max_ids[t] for t in ids), (ids, cutover.blue_max_ids)
        newest = new.execute("SELECT min(id) FROM audit_log WHERE subject_user_id = %s",
                             (ids["users"],)).fetchone()[0]
        assert newest > cutover.blue_max_ids["audit_log"]


def test_replication_check_finds_nothing_to_block_the_old_server(cutover):
    result = run_cli("replication-check", DATABASE_URL=cutover.old_url)
    assert result.returncode == EXIT_OK, result.stderr
    assert "replication-check: 0 blocker(s)" in result.stdout


# ------------------------------------------------------------------ replication-check

PROBES = [
    ("CREATE TABLE probe (n integer)", "table probe", "replication-identity"),
    ("CREATE TABLE probe (id integer PRIMARY KEY); ALTER TABLE probe REPLICA IDENTITY NOTHING",
     "table probe", "replication-identity"),
    ("CREATE UNLOGGED TABLE probe (id integer PRIMARY KEY)", "table probe",
     "replication-unlogged"),
    ("CREATE TABLE probe (n integer, at date NOT NULL) PARTITION BY RANGE (at);"
     " CREATE TABLE probe_2026 PARTITION OF probe FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
     "table probe_2026", "replication-identity"),
    ("SELECT lo_create(0)", "large objects", "replication-large-objects"),
]

PASSING = [
    "CREATE TABLE probe (n integer); ALTER TABLE probe REPLICA IDENTITY FULL",
    "CREATE TABLE probe (n integer NOT NULL); CREATE UNIQUE INDEX uq_probe_n ON probe (n);"
    " ALTER TABLE probe REPLICA IDENTITY USING INDEX uq_probe_n",
    "CREATE TABLE probe (id integer, at date NOT NULL, PRIMARY KEY (id, at))"
    " PARTITION BY RANGE (at);"
    " CREATE TABLE probe_2026 PARTITION OF probe FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
]


def blockers(db) -> list[tuple[str, str]]:
    return [(f.object, f.rule) for f in replication.check(db) if f.blocks]


def test_replication_check_passes_the_migrated_schema(db):
    assert blockers(db) == []


@pytest.mark.parametrize("ddl, obj, rule", PROBES, ids=[p[2] + "-" + str(i)
                                                         for i, p in enumerate(PROBES)])
def test_replication_check_names_each_problem(db, ddl, obj, rule):
    db.execute(ddl)
    assert blockers(db) == [(obj, rule)]


@pytest.mark.parametrize("ddl", PASSING, ids=["full", "using-index", "partitioned-with-key"])
def test_replication_check_accepts_a_table_with_an_identity(db, ddl):
    db.execute(ddl)
    assert blockers(db) == []


def test_replication_check_lists_every_sequence_with_its_value_to_set(db, a):
    notes = {f.object: f.message for f in replication.check(db) if f.rule ==
             "replication-sequence"}
    assert set(notes) == {f"sequence {t}_id_seq" for t in
                          ("users", "sessions", "licenses", "models", "jobs", "audit_log")}
    last = db.execute("SELECT last_value FROM users_id_seq").fetchone()[0]
    assert notes["sequence users_id_seq"].endswith(
        f"run on the new server: SELECT setval('public.\"users_id_seq\"', {last})")


def test_replication_check_notes_a_materialized_view_to_refresh(db):
    db.execute("CREATE MATERIALIZED VIEW probe_counts AS SELECT count(*) AS n FROM users")
    notes = [(f.object, f.rule) for f in replication.check(db) if not f.blocks]
    assert ("materialized view probe_counts", "replication-matview") in notes


def test_replication_check_exits_7_with_one_line_per_blocker(db, pg_server):
    db.execute("CREATE TABLE probe (n integer)")
    url = pg_server.url(db.info.dbname)
    result = run_cli("replication-check", DATABASE_URL=url)
    assert result.returncode == EXIT_CONVENTIONS
    assert [line for line in result.stdout.splitlines() if line.startswith("BLOCKS")] == [
        line for line in replication.report(replication.check(db)).splitlines()
        if line.startswith("BLOCKS")]
    assert "table probe: replication-identity" in result.stdout
    assert result.stderr.strip() == ("schema: 1 problem(s) would break logical replication; "
                                     "see above")
