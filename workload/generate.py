"""The data generator: fills a migrated database with realistic data at a scale factor.

Every row is made on the server by the INSERT ... SELECT generate_series
statements of workload/generate/*.sql, batch by batch, by two connections at
once (the machine has two cores). Values come from hashes of the row
number, so a scale gives the same data on every run. The generator connects
as the superuser, which row-level security lets through, and goes through
every constraint and trigger, except audit triggers (AUDIT_FUNCTIONS),
which are switched off during the bulk load only: see bulk_load().
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from psycopg import sql

from workload.params import bind

SQL_DIR = Path(__file__).resolve().parent / "generate"
# The platform's five core tables, in the order they depend on each other:
# the tables the generator fills.
TABLES = ("users", "sessions", "licenses", "models", "jobs")
WORKERS = 2

# Rows per batch: small enough for a live progress bar, large enough that
# statement overhead does not count.
BATCH = {"users": 10_000, "lineages": 10_000, "sessions": 50_000, "jobs": 25_000}

# Average versions per lineage of bench.lineage_length (50% 1, 25% 2, 12% 3,
# 8% 4, 5% 5), to turn a model count into a lineage count.
VERSIONS_PER_LINEAGE = 1.93

@dataclass(frozen=True)
class Plan:
    """Row counts of a run at a scale factor (SCALE=1: the issue's default size)."""

    scale: float
    t0: datetime
    users: int
    sessions: int
    lineages: int
    history: int  # finished jobs
    running: int
    queued: int
    pending: int

    @classmethod
    def at(cls, scale: float, t0: datetime | None = None) -> Plan:
        def n(count: float, floor: int = 1) -> int:
            return max(floor, round(count * scale))

        live = {"running": n(500, 100), "queued": n(3000, 1000), "pending": n(1000, 100)}
        return cls(
            scale=scale, t0=t0 or datetime.now(timezone.utc).replace(microsecond=0),
            users=n(100_000, 100), sessions=n(1_000_000),
            lineages=n(300_000 / VERSIONS_PER_LINEAGE),
            history=n(2_000_000) - sum(live.values()), **live,
        )

    @property
    def live(self) -> int:
        return self.running + self.queued + self.pending

    def sizes(self, fraction: float, history_only: bool = False) -> dict[str, int]:
        """Generated id range ends at a fraction of this plan. history_only: users,
        licenses and models stay at the plan's size, sessions and jobs grow."""
        base = min(fraction, 1.0) if history_only else fraction
        return {
            "users": round(self.users * base),
            "lineages": round(self.lineages * base),
            "sessions": round(self.sessions * fraction),
            "jobs": self.live + round(self.history * fraction),
        }


def read(name: str) -> str:
    return (SQL_DIR / name).read_text()


# Each table: its file, and which range key of Plan.sizes() its batches cover.
STEPS = (
    ("users", "10_users.sql", "users"),
    ("licenses", "30_licenses.sql", "users"),
    ("models", "40_models.sql", "lineages"),
    ("sessions", "20_sessions.sql", "sessions"),
    ("jobs", "50_jobs.sql", "jobs"),
)


def batches(lo: int, hi: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, hi)) for start in range(lo, hi, size)]


def install_helpers(conn: psycopg.Connection) -> None:
    """Schema bench and its functions, once per database."""
    if conn.execute("SELECT to_regnamespace('bench') IS NULL").fetchone()[0]:
        conn.execute(read("00_helpers.sql"))


# The trigger functions that write audit_log entries (jobs' updates have their own).
AUDIT_FUNCTIONS = ("audit_row_change", "audit_jobs_update")


@contextmanager
def bulk_load(conn: psycopg.Connection):
    """Audit triggers (those running one of AUDIT_FUNCTIONS, when the schema has them) off for the
    load and on again after it, even on failure: the load measures nothing,
    and every workload runs with every trigger on."""
    names = conn.execute(
        "SELECT tgrelid::regclass::text, tgname FROM pg_trigger"
        " WHERE tgfoid::regproc::text = ANY(%s)"
        " AND tgrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
        (list(AUDIT_FUNCTIONS), list(TABLES))).fetchall()
    for table, trigger in names:
        conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(
            sql.Identifier(table), sql.Identifier(trigger)))
    try:
        yield [trigger for _, trigger in names]
    finally:
        for table, trigger in names:
            conn.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER {}").format(
                sql.Identifier(table), sql.Identifier(trigger)))


def sync_identities(conn: psycopg.Connection) -> None:
    """Identity sequences past the explicit ids, so the application's inserts work."""
    for table in ("users", "sessions", "models", "jobs"):
        conn.execute(sql.SQL(
            "SELECT setval(pg_get_serial_sequence({t}, 'id'), max(id)) FROM {i}"
            " HAVING max(id) IS NOT NULL"
        ).format(t=sql.Literal(table), i=sql.Identifier(table)))


class Generator:
    """Grows one database step by step: grow(0.1), then grow(1.0), then grow(5.0, True)."""

    def __init__(self, url: str, plan: Plan, progress=None):
        self.url = url
        self.plan = plan
        self.progress = progress  # callable(total) -> a tqdm-like bar, or None
        self.done = {"users": 0, "lineages": 0, "sessions": 0, "jobs": 0}
        self.seconds: dict[str, float] = {}
        self.audit_triggers: list[str] = []  # switched off during the loads

    def variables(self) -> dict[str, int]:
        """What the catalog's pgbench lines draw parameters from (pgbench -D):
        the sessions and users made so far, the running jobs."""
        return {"sessions": self.done["sessions"], "users": self.done["users"],
                "running": self.plan.running}

    def grow(self, fraction: float, history_only: bool = False) -> dict[str, int]:
        """Generate up to this fraction of the plan; returns rows added per table."""
        target = self.plan.sizes(fraction, history_only)
        work = [(table, name, key, self.done[key], target[key])
                for table, name, key in STEPS if target[key] > self.done[key]]
        with psycopg.connect(self.url, autocommit=True) as conn:
            install_helpers(conn)
            with bulk_load(conn) as triggers:
                self.audit_triggers = triggers
                added = self._run(work, target)
            sync_identities(conn)
        self.done.update(target)
        return added

    def _run(self, work, target) -> dict[str, int]:
        total = sum(hi - lo for *_, lo, hi in work)  # ids (users for licenses, lineages for models)
        bar = self.progress(total) if self.progress else None
        local = threading.local()
        opened = []

        def connection() -> psycopg.Connection:
            # One connection per worker thread, opened on first use.
            if not hasattr(local, "conn"):
                local.conn = psycopg.connect(self.url, autocommit=True)
                opened.append(local.conn)
            return local.conn

        def one(text: str, lo: int, hi: int) -> int:
            conn = connection()
            rows = conn.execute(bind(text, self._values(target, lo, hi), conn)).rowcount
            if bar:
                bar.update(hi - lo)
            return rows

        added = {}
        try:
            with ThreadPoolExecutor(WORKERS) as pool:
                for table, name, key, lo, hi in work:
                    started = time.monotonic()
                    if bar:
                        bar.set_description(f"generating {table}")
                    text = read(name)
                    futures = [pool.submit(one, text, a, b) for a, b in batches(lo, hi, BATCH[key])]
                    added[table] = sum(f.result() for f in futures)
                    self.seconds[table] = self.seconds.get(table, 0.0) + time.monotonic() - started
        finally:
            for conn in opened:
                conn.close()
            if bar:
                bar.close()
        return added

    def _values(self, target: dict[str, int], lo: int, hi: int) -> dict:
        plan = self.plan
        return {
            "lo": lo, "hi": hi, "t0": plan.t0,
            "total": plan.users, "total_users": plan.users,
            "users": max(self.done["users"], target["users"]),
            "lineages": max(self.done["lineages"], target["lineages"]),
            "running": plan.running, "queued": plan.queued, "live": plan.live,
        }
