"""One benchmark run: a scratch server, the schema, data at 10% then 100% of the
scale (then 500% when it fits the time budget), the workloads, the targets
and the report."""

from __future__ import annotations

import random
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

from bench import cluster, overhead, pgbench, roles
from runner.servers import pooler
from workload import catalog
from workload.generate import TABLES, Generator, Plan
from workload.mix import MIX
from workload.params import bind

BENCH_DIR = Path(__file__).resolve().parent
WORKLOADS = BENCH_DIR / "workloads"
CLIENTS = (1, 2, 4, 8)
# Jobs per claim -> the claim on jobs (a catalog query) and on the bare table
# (a workload): one job, or up to ten in one statement as River, Oban and
# graphile-worker fetch.
BATCHES = {1: ("05_claim_next_job", "claim_bare"), 10: ("10_claim_next_jobs", "claim_bare_batch")}
# What a claim runs against: jobs as migrated; jobs with the claim's audit
# trigger off (the audit target compares the two); the bare table.
JOBS, NO_AUDIT, BARE = "jobs", "no audit", "bare"
AUDIT_TRIGGER = "trg_jobs_audit_update"
# Claims that commit (the queue refilled as it drains) cost a run per kind
# and batch as well: two client counts, the breakdown's and the most.
COMMITTED_CLIENTS = (2, 8)
# Clients of the runs that are not about concurrency: two per core.
BUSY_CLIENTS = 4
# Where a claim's time goes: jobs loses one thing at a time until it has no
# more than bench.bare_jobs. Each step is a statement or a workload file run
# on the bench database; three drop objects, so the breakdown runs last.
BREAKDOWN_CLIENTS = 2
BREAKDOWN = (
    ("jobs as migrated", None),
    ("and audit_log without its CHECKs and secondary indexes", WORKLOADS / "strip_audit_log.sql"),
    ("without the audit trigger", f"ALTER TABLE jobs DISABLE TRIGGER {AUDIT_TRIGGER}"),
    ("and without trg_jobs_updated_at", "ALTER TABLE jobs DISABLE TRIGGER trg_jobs_updated_at"),
    ("and only the bare table's indexes", WORKLOADS / "strip_indexes.sql"),
    ("and no CHECK or foreign key", WORKLOADS / "strip_constraints.sql"),
)
# A month of retention on the tables that grow without bound, as they are
# today, unpartitioned: a DELETE found by a scan and audited row by row (then
# vacuumed), where a partitioned table would detach and drop one partition.
# Each is measured at every growth step in a transaction that is rolled
# back, so the data stays as it was. purge_sessions(30) takes the sessions
# opened 60 to 90 days ago (a third of them); the jobs statement the oldest
# month of the two years of history.
RETENTION = (
    ("sessions", "SELECT purge_sessions(30)"),
    ("jobs", "WITH gone AS (DELETE FROM jobs WHERE finished_at < %(t0)s - interval '700 days'"
             " RETURNING 1) SELECT count(*) FROM gone"),
)
LARGE_TABLES = set(TABLES)


def step_sql(change: str | Path) -> str:
    """The SQL of a BREAKDOWN step: the statement, or the workload file's text."""
    return change.read_text() if isinstance(change, Path) else change


@dataclass
class Retention:
    """One month's retention DELETE on one table, at one growth step."""

    table: str
    table_bytes: int  # with its indexes and TOAST
    deleted: int
    seconds: float

    @property
    def us_per_row(self) -> float:
        return self.seconds * 1e6 / max(self.deleted, 1)


@dataclass
class Growth:
    fraction: float
    jobs: int
    sessions: int
    claim_ms: float
    lookup_ms: float
    retention: list[Retention] = field(default_factory=list)
    # Each catalog query alone, one client: (superuser ms, as its role ms).
    catalog: dict[str, tuple[float, float]] = field(default_factory=dict)
    role_plans: list[str] = field(default_factory=list)  # catalog.role_problems found


@dataclass
class Results:
    scale: float
    started: datetime
    seconds_per_run: float
    repeats: int
    applied: list[str] = field(default_factory=list)  # --apply files
    audit_triggers: list[str] = field(default_factory=list)
    generation: dict[str, float] = field(default_factory=dict)  # seconds per table
    tables: list[tuple[str, int, int]] = field(default_factory=list)  # name, rows, bytes
    plans: list[catalog.PlanCheck] = field(default_factory=list)
    claims: list[dict] = field(default_factory=list)  # batch, clients, claims/s by kind
    committed: list[dict] = field(default_factory=list)  # batch, clients, jobs, no audit
    queue_depth: int = 0
    progress: dict = field(default_factory=dict)
    lookups: pgbench.Run | None = None
    mixed: pgbench.Run | None = None
    growth: list[Growth] = field(default_factory=list)
    growth_skipped: str = ""
    sent: list[roles.Sent] = field(default_factory=list)  # the workloads as their roles
    pooler_missing: str = ""  # why there are no figures through PgBouncer
    breakdown: list[dict] = field(default_factory=list)  # step, jobs, bare (claims/s)
    overhead: dict = field(default_factory=dict)  # "migrate"/"noop" -> overhead.Timing
    server_version: str = ""
    pgbench_version: str = ""
    elapsed: float = 0.0


class Bench:
    """The workloads, on one populated database of the bench server."""

    def __init__(self, server, url: str, generator: Generator, out: Path, seconds: float,
                 repeats: int, say=print):
        self.server, self.url, self.generator = server, url, generator
        self.plan = generator.plan
        self.out, self.seconds, self.repeats, self.say = out, seconds, repeats, say
        self.scripts_dir = out / "scripts"
        self.scripts_dir.mkdir(parents=True, exist_ok=True)
        self.queries = {q.name: q for q in catalog.load()}

    # -- helpers -------------------------------------------------------------------
    def sql(self, text: str, values: dict | None = None):
        with psycopg.connect(self.url, autocommit=True) as conn:
            rows = conn.execute(bind(text, values or {}, conn) if values else text)
            return rows.fetchall() if rows.description else None

    def script(self, name: str) -> Path:
        """The pgbench script of a catalog query or a workload file, written under out/."""
        text = (self.queries[name].pgbench_script() if name in self.queries
                else (WORKLOADS / f"{name}.sql").read_text())
        path = self.scripts_dir / f"{name}.sql"
        path.write_text(text)
        return path

    def bench(self, names: list[str], clients: int, weights: list[int] | None = None
              ) -> pgbench.Run:
        scripts = [(self.script(n), w)
                   for n, w in zip(names, weights or [1] * len(names), strict=True)]
        return pgbench.run(self.server, cluster.DBNAME, scripts, clients,
                           self.generator.variables(), self.seconds)

    def settle(self) -> None:
        """VACUUM and ANALYZE everything: the state every measurement starts from."""
        self.sql("VACUUM (ANALYZE)")

    def now(self):
        return self.sql("SELECT now()")[0][0]

    def requeue(self, since) -> None:
        """Claimed jobs back to queued, dead rows vacuumed: the queue of before the run."""
        self.sql((WORKLOADS / "requeue.sql").read_text(), {"since": since})
        self.sql("VACUUM jobs")

    # -- claims --------------------------------------------------------------------
    def claim_script(self, batch: int, bare: bool, commit: bool = False) -> Path:
        """The claim of `batch` jobs. Rolled back, every transaction does all of a
        claim's work (find, lock, update, index entries, triggers) and the queue
        stays as deep as the generator made it, however long the run. Committed,
        as a real claim is (its audit entry goes to WAL), a second transaction
        refills the queue by as many new jobs (bench/workloads/refill.sql)."""
        query, bare_workload = BATCHES[batch]
        text = (WORKLOADS / f"{bare_workload}.sql").read_text() if bare \
            else self.queries[query].statement
        statement = catalog.without_comments(text)
        if commit:
            refill = catalog.without_comments((WORKLOADS / "refill.sql").read_text())
            body = (f"\\set user_id random(1, :users)\n\\set batch {batch}\n"
                    f"{statement}\n{refill}\n")
        else:
            body = f"BEGIN;\n{statement}\nROLLBACK;\n"
        name = f"claim{batch}_{'bare_' if bare else ''}{'committed' if commit else 'rolled_back'}"
        path = self.scripts_dir / f"{name}.sql"
        path.write_text(body)
        return path

    def claim(self, clients: int, batch: int = 1, kind: str = JOBS,
              commit: bool = False) -> pgbench.Run:
        script = self.claim_script(batch, kind == BARE, commit)
        if kind == NO_AUDIT:
            self.sql(f"ALTER TABLE jobs DISABLE TRIGGER {AUDIT_TRIGGER}")
        try:
            run = pgbench.run(self.server, cluster.DBNAME, [(script, 1)], clients,
                              self.generator.variables(), self.seconds)
        finally:
            if kind == NO_AUDIT:
                self.sql(f"ALTER TABLE jobs ENABLE TRIGGER {AUDIT_TRIGGER}")
        # The rolled-back (or claimed) row versions go, so that every run starts alike.
        self.sql("VACUUM bench.bare_jobs" if kind == BARE else "VACUUM jobs")
        return run

    def make_bare(self) -> None:
        self.sql((WORKLOADS / "bare_jobs.sql").read_text())
        self.sql("VACUUM (ANALYZE) bench.bare_jobs")

    def compare(self, clients: int, batch: int = 1, kinds: tuple[str, ...] = (JOBS, BARE),
                commit: bool = False) -> dict:
        """Claims per second of each kind, the median of the repeats, alternated
        so that drift hits every kind alike."""
        runs = {kind: [] for kind in kinds}
        for _ in range(self.repeats):
            for kind in kinds:
                runs[kind].append(self.claim(clients, batch, kind, commit).tps)
        return {kind: statistics.median(tps) for kind, tps in runs.items()}

    def claims(self) -> list[dict]:
        rows = []
        for batch in BATCHES:
            for clients in CLIENTS:
                row = {"batch": batch, "clients": clients,
                       **self.compare(clients, batch, (JOBS, NO_AUDIT, BARE))}
                self.say(f"  claim of {batch}, {clients} client(s): jobs {row[JOBS]:.0f}/s,"
                         f" without audit {row[NO_AUDIT]:.0f}/s, bare {row[BARE]:.0f}/s;"
                         f" audit ratio {row[JOBS] / row[NO_AUDIT]:.2f}")
                rows.append(row)
        return rows

    def committed(self) -> list[dict]:
        rows = []
        for batch in BATCHES:
            for clients in COMMITTED_CLIENTS:
                row = {"batch": batch, "clients": clients,
                       **self.compare(clients, batch, (JOBS, NO_AUDIT), commit=True)}
                self.say(f"  committed claim of {batch}, {clients} client(s): jobs"
                         f" {row[JOBS]:.0f}/s, without audit {row[NO_AUDIT]:.0f}/s")
                rows.append(row)
        return rows

    def breakdown(self) -> list[dict]:
        """The claim comparison again after each step of BREAKDOWN. Leaves jobs
        without its audit and updated_at triggers, and with the bare table's
        indexes and no constraints: run it last."""
        rows = []
        for step, change in BREAKDOWN:
            if change:
                self.sql(step_sql(change))
                self.sql("VACUUM (ANALYZE) jobs")
            row = {"step": step, **self.compare(BREAKDOWN_CLIENTS)}
            self.say(f"  {step}: {row[JOBS]:.0f}/s, ratio {row[JOBS] / row[BARE]:.2f}")
            rows.append(row)
        return rows

    # -- progress updates ------------------------------------------------------------
    def update_counts(self) -> tuple[int, int]:
        return tuple(self.sql(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
            " WHERE relid = 'jobs'::regclass"
        )[0])

    def progress(self) -> dict:
        before = self.update_counts()
        run = self.bench(["06_job_progress"], BUSY_CLIENTS)
        # Backends report their counts as they exit: wait for pgbench's to land.
        deadline = time.monotonic() + 10
        while (after := self.update_counts())[0] - before[0] < run.transactions \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        updates, hot = after[0] - before[0], after[1] - before[1]
        share = hot / updates if updates else 0.0
        self.say(f"  progress updates: {run.tps:.0f}/s, {share:.1%} HOT")
        return {"run": run, "updates": updates, "hot": hot, "share": share}

    # -- reads -----------------------------------------------------------------------
    def lookups(self) -> pgbench.Run:
        run = self.bench(["01_session_lookup"], BUSY_CLIENTS)
        self.say(f"  session lookups: {run.tps:.0f}/s")
        return run

    def mixed(self) -> pgbench.Run:
        since = self.now()
        run = self.bench(list(MIX), BUSY_CLIENTS, list(MIX.values()))
        self.requeue(since)
        self.say(f"  mixed catalog workload: {run.tps:.0f} transactions/s")
        return run

    def growth_point(self, fraction: float) -> Growth:
        """Claim latency and session lookup latency, one client."""
        claim = self.claim(1)
        lookup = self.bench(["01_session_lookup"], 1)
        done = self.generator.done
        point = Growth(fraction, done["jobs"], done["sessions"], claim.latency_ms,
                       lookup.latency_ms)
        self.say(f"  at {fraction:.0%}: claim {claim.latency_ms:.3f} ms,"
                 f" lookup {lookup.latency_ms:.3f} ms")
        point.catalog = self.catalog_latency()
        point.role_plans = self.role_plans()
        slowest = max(point.catalog.items(), key=lambda kv: kv[1][1] / kv[1][0])
        self.say(f"  catalog queries as their roles: {len(point.role_plans)} plan problem(s);"
                 f" the most slowed, {slowest[0]}: {slowest[1][0]:.3f} ms as the superuser,"
                 f" {slowest[1][1]:.3f} ms as {self.queries[slowest[0]].role}")
        point.retention = self.retention()
        for r in point.retention:
            self.say(f"  a month's retention on {r.table}: {r.deleted} rows in {r.seconds:.1f} s"
                     f" ({r.us_per_row:.0f} us a row), rolled back")
        return point

    def retention(self) -> list[Retention]:
        """Each RETENTION statement in a transaction of its own, rolled back."""
        found = []
        for table, statement in RETENTION:
            with psycopg.connect(self.url) as conn:
                size = conn.execute("SELECT pg_total_relation_size(%s::regclass)",
                                    (table,)).fetchone()[0]
                started = time.monotonic()
                deleted = conn.execute(statement, {"t0": self.generator.plan.t0}).fetchone()[0]
                found.append(Retention(table, size, deleted, time.monotonic() - started))
                conn.rollback()
        return found

    # -- as the platform sends them ---------------------------------------------------
    def catalog_latency(self) -> dict[str, tuple[float, float]]:
        """Each catalog query alone, one client, prepared, in a transaction that
        names its acting user and is rolled back: as the superuser, then as
        its role's login."""
        found = {}
        folder = self.scripts_dir / "latency"
        folder.mkdir(exist_ok=True)
        for name, q in self.queries.items():
            path = folder / f"{name}.sql"
            path.write_text(q.sent_script(None, "ROLLBACK"))
            runs = [pgbench.run(self.server, cluster.DBNAME, [(path, 1)], 1,
                                self.generator.variables(), self.seconds, c)
                    for c in (pgbench.SUPERUSER_CLIENT, pgbench.Client(roles.LOGIN_OF[q.role]))]
            found[name] = (runs[0].latency_ms, runs[1].latency_ms)
        self.sql("VACUUM jobs")
        return found

    def role_plans(self) -> list[str]:
        """What each catalog query's plans (custom and generic) read whole or
        sort as its role, with its acting user, that the superuser's do not."""
        rng = random.Random(6)
        found = []
        with psycopg.connect(self.url, autocommit=True) as conn:
            for q in self.queries.values():
                values = q.sample(self.generator.variables(), rng)
                sender = catalog.Sender(q.role, values[q.acting_user] if q.acting_user else None)
                for generic in (False, True):
                    found += catalog.role_problems(conn, q, values, generic, sender, LARGE_TABLES)
        return found

    def send(self, workload: roles.Workload, kind: str, pooler_port: int | None) -> pgbench.Run:
        """One run of the workload sent one way (roles.KINDS), BUSY_CLIENTS clients."""
        login, texts = roles.scripts(workload, self.queries, kind)
        folder = self.scripts_dir / kind.replace(" ", "_") / workload.slug
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, text in texts.items():
            (folder / f"{name}.sql").write_text(text)
            paths.append((folder / f"{name}.sql", workload.weights[name]))
        since = self.now()
        run = pgbench.run(self.server, cluster.DBNAME, paths, BUSY_CLIENTS,
                          self.generator.variables(), self.seconds,
                          roles.client(kind, login, pooler_port))
        if workload.end == "COMMIT":
            self.requeue(since)  # committed claims back in the queue; vacuums jobs
        else:
            self.sql("VACUUM jobs")
        return run

    def as_roles(self, pooler_port: int | None) -> list[roles.Sent]:
        kinds = roles.KINDS if pooler_port else roles.KINDS[:-1]
        found = []
        for workload in roles.WORKLOADS:
            runs = {kind: [] for kind in kinds}
            for _ in range(self.repeats):
                for kind in kinds:
                    runs[kind].append(self.send(workload, kind, pooler_port))
            sent = roles.Sent(workload, roles.roles_of(workload, self.queries),
                              {kind: roles.median(r) for kind, r in runs.items()})
            f = sent.figures
            pooled = (f", through PgBouncer {f[roles.POOLED].tps:.0f}/s"
                      f" (pooler's share {sent.pooler_share:.0%})" if roles.POOLED in f else "")
            self.say(f"  {workload.name}: superuser {f[roles.SUPERUSER_KIND].tps:.0f}/s,"
                     f" as {'/'.join(sent.roles)} {f[roles.ROLE].tps:.0f}/s"
                     f" (ratio {sent.ratio:.2f}), extended protocol {f[roles.EXTENDED].tps:.0f}/s"
                     f"{pooled}")
            found.append(sent)
        return found

    def plans(self) -> list[catalog.PlanCheck]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return catalog.check_all(conn, self.generator.variables())

    def tables(self) -> list[tuple[str, int, int]]:
        return [tuple(row) for row in self.sql(
            "SELECT relname::text, reltuples::bigint, pg_total_relation_size(oid) FROM pg_class"
            " WHERE relname = ANY(:tables) AND relnamespace = 'public'::regnamespace"
            " ORDER BY array_position(:tables, relname::text)", {"tables": list(TABLES)})]


# -- the whole run -------------------------------------------------------------------
def timed(say, what: str, action):
    started = time.monotonic()
    value = action()
    say(f"{what}: {time.monotonic() - started:.0f} s")
    return value


def breakdown_estimate(seconds: float, repeats: int) -> float:
    """Seconds the breakdown takes: per step, the repeats on both tables, and
    a vacuum after each run."""
    return len(BREAKDOWN) * repeats * len((JOBS, BARE)) * (max(1, round(seconds)) + 2)


def committed_estimate(seconds: float, repeats: int) -> float:
    """Seconds the committed claims take: per batch and client count, the
    repeats with and without the audit trigger, and a vacuum after each run."""
    runs = len(BATCHES) * len(COMMITTED_CLIENTS) * repeats * len((JOBS, NO_AUDIT))
    return runs * (max(1, round(seconds)) + 2)


def growth_estimate(generator: Generator, settle_s: float, last: Growth) -> float:
    """Seconds the 500% step would take: generating 4x the sessions and finished
    jobs at the rate measured so far, then settling 5x the data and running
    5x the retention of the last step."""
    rows = {"sessions": generator.done["sessions"], "jobs": generator.done["jobs"]}
    per_row = {t: generator.seconds[t] / rows[t] for t in rows}
    plan = generator.plan
    make = 4 * plan.sessions * per_row["sessions"] + 4 * plan.history * per_row["jobs"]
    return make + 5 * settle_s + 5 * sum(r.seconds for r in last.retention)


def sent_as_roles(b: Bench, server, results: Results) -> list[roles.Sent]:
    """The workloads as their roles; through PgBouncer too when it is installed."""
    if pooler.binary() is None:
        results.pooler_missing = pooler.INSTALL_HINT
        b.say(f"  no figures through the pooler: {pooler.INSTALL_HINT}")
        return b.as_roles(None)
    with pooler.running(server.port, roles.setup(BUSY_CLIENTS)) as port:
        return b.as_roles(port)


def execute(scale: float, out: Path, seconds: float, repeats: int, budget_s: float,
            progress=None, say=print, extra_sql: list[Path] = ()) -> Results:
    """Everything but the report; the server and its data are gone when it returns."""
    started = time.monotonic()
    plan = Plan.at(scale)
    results = Results(scale, datetime.now().astimezone(), seconds, repeats,
                      applied=[str(p) for p in extra_sql])
    with cluster.bench_server(out) as server:
        say(f"PostgreSQL on 127.0.0.1:{server.port}, data in {server.data_dir}")
        url = cluster.migrated_database(server)
        roles.create_logins(server.url("postgres"))
        for path in extra_sql:  # before the data, as a migration would have been
            say(f"applying {path}")
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(path.read_text())
        results.server_version = cluster.server_version(url)
        results.pgbench_version = subprocess.run(
            [server.client("pgbench", "the benchmark"), "--version"],
            capture_output=True, text=True).stdout.strip()
        results.overhead = timed(say, "the runner against plain yoyo",
                                 lambda: overhead.measure(server.url("postgres")))
        for kind, t in results.overhead.items():
            say(f"  {kind}: schema migrate {t.runner_s:.3f} s, yoyo apply {t.yoyo_s:.3f} s,"
                f" ratio {t.ratio:.2f}")
        generator = Generator(url, plan, progress)
        b = Bench(server, url, generator, out, seconds, repeats, say)

        timed(say, "data at 10%", lambda: generator.grow(0.1))
        timed(say, "vacuum, analyze", b.settle)
        results.growth.append(b.growth_point(0.1))

        timed(say, "data at 100%", lambda: generator.grow(1.0))
        settle_started = time.monotonic()
        timed(say, "vacuum, analyze", b.settle)
        settle_s = time.monotonic() - settle_started
        results.audit_triggers = generator.audit_triggers
        results.generation = dict(generator.seconds)
        results.growth.append(b.growth_point(1.0))
        results.tables = b.tables()
        results.plans = b.plans()
        timed(say, "bare table", b.make_bare)
        results.queue_depth = plan.queued
        results.claims = timed(say, "claims", b.claims)
        results.progress = b.progress()
        results.lookups = b.lookups()
        results.mixed = b.mixed()
        results.sent = timed(say, "the workloads as their roles, direct and pooled",
                             lambda: sent_as_roles(b, server, results))

        # Committed claims add jobs past the generator's ids, and the breakdown
        # drops objects: both come after the last growth step, their time kept aside.
        estimate = growth_estimate(generator, settle_s, results.growth[-1])
        left = (budget_s - (time.monotonic() - started)
                - committed_estimate(seconds, repeats) - breakdown_estimate(seconds, repeats))
        if estimate + 60 < left:
            timed(say, "data at 500% (sessions and jobs)", lambda: generator.grow(5.0, True))
            timed(say, "vacuum, analyze", b.settle)
            results.growth.append(b.growth_point(5.0))
        else:
            results.growth_skipped = (f"500% skipped: it would take about {estimate / 60:.0f} min,"
                                      f" {left / 60:.0f} min of the {budget_s / 60:.0f} min budget"
                                      " were left (--budget to change it)")
            say(results.growth_skipped)
        results.committed = timed(say, "committed claims", b.committed)
        results.breakdown = timed(say, "where a claim's time goes", b.breakdown)
    results.elapsed = time.monotonic() - started
    return results
