"""Helpers of the blue/green test (tests/test_replication.py): the two
servers' majors, publishing and subscribing, waiting for the subscriber, and
what the cut-over compares. The procedure they follow is docs/replication.md.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from runner import catalog
from runner.errors import RunnerError
from runner.servers import majors

NAME = "cadcam_upgrade"  # the publication, the subscription and its slot
# Where the run leaves its figures for the report at the end of the test run.
FIGURES = pytest.StashKey[list]()

# The old server must decode for logical replication; the new one reports
# what it applied every second instead of every ten, so that the wait for
# it is short.
PUBLISHER_SETTINGS = {"wal_level": "logical"}
SUBSCRIBER_SETTINGS = {"wal_receiver_status_interval": "1s"}


def installed(major: int) -> bool:
    try:
        majors.server_bin_dir(major)
    except RunnerError:
        return False
    return True


def subscriber_major(old: int) -> int:
    """The new server's major: the next newer installed one (an upgrade),
    else the closest older one, else the same."""
    newer = [m for m in majors.TESTED_MAJORS if m > old and installed(m)]
    older = [m for m in reversed(majors.TESTED_MAJORS) if m < old and installed(m)]
    return (newer or older or [old])[0]


def tables(conn: psycopg.Connection) -> dict[str, tuple[str, ...]]:
    """The project's tables (partitioned ones by their parent) and their
    primary keys' columns, from the catalog model."""
    schema = catalog.read_schema(conn)
    return {name: next(c.columns for c in t.constraints if c.kind == "p")
            for name, t in sorted(schema.tables.items())}


def publish(conn: psycopg.Connection, names: list[str]) -> None:
    """A publication of the tables; a partitioned table's changes go out
    under its own name, so that the new server routes them to its own
    partitions."""
    conn.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE {} "
                         "WITH (publish_via_partition_root = true)").format(
        sql.Identifier(NAME), sql.SQL(", ").join(map(sql.Identifier, names))))


def subscribe(conn: psycopg.Connection, publisher_dsn: str) -> None:
    """A subscription that copies the existing rows, then streams. From 16 on,
    the apply worker would switch to each table's owner, which row-level
    security (forced) stops; run_as_owner keeps the subscription's superuser."""
    options = "copy_data = true"
    if conn.info.server_version >= 160000:
        options += ", run_as_owner = true"
    conn.execute(sql.SQL("CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} WITH ({})").format(
        sql.Identifier(NAME), sql.Literal(publisher_dsn), sql.Identifier(NAME),
        sql.SQL(options)))


def _apply_error(subscriber: psycopg.Connection, log: Path) -> str | None:
    """The subscriber's last replication error, when its workers had any."""
    errors = subscriber.execute(
        "SELECT coalesce(sum(apply_error_count + sync_error_count), 0)"
        " FROM pg_stat_subscription_stats WHERE subname = %s", (NAME,)).fetchone()[0]
    if not errors:
        return None
    lines = [line for line in log.read_text(errors="replace").splitlines() if "ERROR:" in line]
    return lines[-1] if lines else f"{errors} error(s), see {log}"


def wait_caught_up(publisher: psycopg.Connection, subscriber: psycopg.Connection,
                   timeout: float, log: Path) -> float:
    """Seconds until every table's initial copy is done and the subscriber
    has applied the publisher's WAL up to now; fails after timeout, or as
    soon as the subscriber's workers report an error (its server log says
    which)."""
    started = time.monotonic()
    # The insert position, not pg_current_wal_lsn() (the write position): the
    # test servers commit asynchronously, so the last commits may not be
    # written yet, and the walsender sends them only once they are.
    target = publisher.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
    while True:
        error = _apply_error(subscriber, log)
        if error:
            pytest.fail(f"the subscriber stopped on an error: {error}", pytrace=False)
        copying = subscriber.execute(
            "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'").fetchone()[0]
        behind = publisher.execute(
            "SELECT coalesce(bool_or(replay_lsn IS NULL OR replay_lsn < %s), true)"
            " FROM pg_stat_replication WHERE application_name = %s",
            (target, NAME)).fetchone()[0]
        if copying == 0 and not behind:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            pytest.fail(f"the subscriber did not catch up in {timeout:.0f} s "
                        f"({copying} table(s) still copying)", pytrace=False)
        time.sleep(0.2)


def checksums(conn: psycopg.Connection, keys: dict[str, tuple[str, ...]]) -> dict[str, tuple]:
    """(rows, md5 of every row's text in key order) per table, printed in UTC."""
    conn.execute("SET TimeZone = 'UTC'")
    found = {}
    for name, key in keys.items():
        order = sql.SQL(", ").join(sql.Identifier("t", c) for c in key)
        found[name] = conn.execute(sql.SQL(
            "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {}), ''))"
            " FROM {} AS t").format(order, sql.Identifier(name))).fetchone()
    return found


def max_ids(conn: psycopg.Connection, names: list[str]) -> dict[str, int]:
    return {name: conn.execute(sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(
        sql.Identifier(name))).fetchone()[0] for name in names}
