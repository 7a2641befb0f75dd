"""A soak of the whole platform: many clients at once, as the real roles.

App clients (each acting for its own user) sign up, sign in, refresh and
revoke sessions, buy and cancel licenses, upload models and new versions,
submit jobs (some with a repeated idempotency key) and browse their rows;
two clients of one user (two browser tabs) count clicks in the same row;
workers claim jobs with the catalog's claim query (FOR UPDATE SKIP LOCKED),
report progress, finish, fail and retry, two of them with clocks behind the
server's; an operator runs the retention functions and erases one user
midway. Everything a client saw committed goes into a Ledger, which the
tests compare with the database afterwards (tests/test_soak.py), and after
a server crash (tests/test_crash.py).

A Target says how clients connect: through PgBouncer as LOGIN roles, or
straight to the server. Errors are classified as provoked (a repeated
idempotency key, an overlapping license: each named by its constraint) or
unexpected; a lost connection (a crash) stops the client, and what it was
doing then is neither committed nor failed in the ledger: in doubt.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from workload import catalog
from workload.clients import set_acting_user

CLAIM = catalog.query("05_claim_next_job").statement
# A worker that reports its own clock claims with it instead of now().
CLAIM_WITH_CLOCK = CLAIM.replace("started_at = now()", "started_at = %(clock)s")
assert CLAIM_WITH_CLOCK != CLAIM, "the catalog's claim no longer sets started_at = now()"

ARGON2ID_HASH = ("$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$"
                 "RdescudvJCsgt3ub+b+dWRWJTmaaJObG0Vw7d8mjxXU")
PROVOKED = ("uq_jobs_idempotency_key_user_id", "ex_licenses_active_overlap")
FINISHED = ("succeeded", "failed")
RETRIES = (0, 2)  # max_retries of a soak job, chosen at random: a first failure may be final
# Where a soak leaves its figures for the report at the end of the test run
# (tests/conftest.py prints them): the pooled soak's, and the crashed one's.
FIGURES = pytest.StashKey[list]()
CRASH_FIGURES = pytest.StashKey[list]()


class Stopped(Exception):
    """The client's connection is gone (the server crashed or stopped)."""


class Erased(Stopped):
    """The client's account was erased: the person is gone, the client stops."""


@dataclass
class Target:
    """How each kind of client connects: kind -> function returning a new connection."""

    connect: Callable[[str], psycopg.Connection]


@dataclass(frozen=True)
class Plan:
    seconds: float = 20.0  # how long the traffic runs
    users: int = 6  # app clients, one user each (one of them is erased midway)
    workers: int = 4  # the last two report clocks 50 ms and 2 s behind
    seed: int = 6698
    erase_at: float = 0.4  # fraction of the run when the operator erases a user


@dataclass
class Ledger:
    """What the clients saw committed, and how it went."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    users: dict[int, str] = field(default_factory=dict)  # id -> e-mail
    personal: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    sessions: dict[int, int] = field(default_factory=dict)  # id -> user id
    revoked: set[int] = field(default_factory=set)  # revoked by their client
    licenses: dict[int, int] = field(default_factory=dict)
    cancelled: set[int] = field(default_factory=set)
    models: dict[int, int] = field(default_factory=dict)
    jobs: dict[int, int] = field(default_factory=dict)  # id -> user id
    keys: dict[str, int] = field(default_factory=dict)  # idempotency key -> job id
    # (job, attempt, worker, task) of every claim
    claims: list[tuple[int, int, int, str]] = field(default_factory=list)
    reports: Counter = field(default_factory=Counter)  # job id -> progress reports
    finishes: Counter = field(default_factory=Counter)  # job id -> finishes, retries included
    clicks: Counter = field(default_factory=Counter)  # user id -> committed increments
    purged: int = 0  # sum of purge_sessions()
    erased: int | None = None
    erase_txid: int | None = None
    checks: int = 0  # transactions that checked whose rows they saw
    foreign_rows: list[str] = field(default_factory=list)  # any row of another user seen
    ops: Counter = field(default_factory=Counter)
    provoked: Counter = field(default_factory=Counter)
    unexpected: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    in_doubt: Counter = field(default_factory=Counter)  # actions cut off by a lost connection
    elapsed: float = 0.0

    def add(self, what: str, key, value) -> None:
        with self.lock:
            getattr(self, what)[key] = value

    def count(self, what: str, key, n: int = 1) -> None:
        with self.lock:
            getattr(self, what)[key] += n

    def fail(self, kind: str, exc: BaseException) -> None:
        name = getattr(getattr(exc, "diag", None), "constraint_name", None) or type(exc).__name__
        with self.lock:
            self.unexpected[f"{kind}: {name}"] += 1
            self.examples.setdefault(f"{kind}: {name}", str(exc).splitlines()[0])

    def figures(self) -> list[str]:
        """Operations per second by kind, and errors by kind, for the report."""
        secs = max(self.elapsed, 1e-9)
        total = sum(self.ops.values())
        lines = [f"{total} operations in {secs:.1f} s ({total / secs:.0f}/s)"]
        lines += [f"  {kind:22} {n:6}  {n / secs:7.1f}/s" for kind, n in sorted(self.ops.items())]
        lines.append("provoked errors: " + (", ".join(
            f"{k} {v}" for k, v in sorted(self.provoked.items())) or "none"))
        lines.append("unexpected errors: " + (", ".join(
            f"{k} {v}" for k, v in sorted(self.unexpected.items())) or "none"))
        if self.in_doubt:
            lines.append("cut off by the crash (in doubt): " + ", ".join(
                f"{k} {v}" for k, v in sorted(self.in_doubt.items())))
        return lines


class Client(threading.Thread):
    """One connection, one loop of step(), until stop is set or the connection is gone."""

    kind = "client"

    def __init__(self, target: Target, ledger: Ledger, stop: threading.Event, seed: int):
        super().__init__(daemon=True)
        self.target, self.ledger, self.stop = target, ledger, stop
        self.rng = random.Random(seed)
        self.conn: psycopg.Connection | None = None

    def run(self) -> None:
        try:
            self.conn = self.target.connect(self.login)
            self.setup()
            while not self.stop.is_set():
                self.step()
        except Stopped:
            pass
        except psycopg.OperationalError:
            self.ledger.count("in_doubt", f"{self.kind}: connect")
        except Exception as exc:  # a fault of the scenario itself must not pass unseen
            self.ledger.fail(f"{self.kind} thread", exc)
        finally:
            if self.conn is not None:
                self.conn.close()

    def setup(self) -> None:
        pass

    def step(self):
        raise NotImplementedError

    def attempt(self, kind: str, work, provokes: tuple[str, ...] = ()):
        """Run work(conn) in one transaction. Returns its result once committed
        (counted as an operation of `kind` unless None: nothing to do), None
        when it failed (a provoked error is counted as such)."""
        try:
            with self.conn.transaction():
                result = work(self.conn)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            if self.conn.broken or self.conn.closed:
                self.ledger.count("in_doubt", kind)
                raise Stopped from None
            self.ledger.fail(kind, exc)
            return None
        except psycopg.IntegrityError as exc:
            if exc.diag.constraint_name in provokes:
                self.ledger.count("provoked", exc.diag.constraint_name)
            else:
                self.ledger.fail(kind, exc)
            return None
        except psycopg.Error as exc:
            self.ledger.fail(kind, exc)
            return None
        if result is not None:  # committed and did something
            self.ledger.count("ops", kind)
        return result


def one(conn, query: str, params=None):
    row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


# --------------------------------------------------------------------------- the application

class AppClient(Client):
    """A person using the platform: one user, signed up by this client."""

    kind = "app"
    login = "app"

    def __init__(self, *args, number: int, run_id: str):
        super().__init__(*args)
        self.number = number
        self.email = f"soak-{run_id}-{number}@example.com.tr"
        self.user_id: int | None = None
        self.tokens: dict[int, bytes] = {}  # live sessions of this client
        self.active_license: int | None = None
        self.lineage: tuple[int, int] | None = None  # latest model id, version
        self.my_keys: list[str] = []

    def act(self, conn) -> None:
        """Name the acting user, and stop (Erased) when the account is gone:
        the application checks it in the transaction that writes, under a
        key share lock, so that an erasure either waits for this transaction
        (and then scrubs what it wrote) or is seen by it."""
        set_acting_user(conn, self.user_id)
        status = one(conn, "SELECT status FROM users WHERE id = %s FOR KEY SHARE", (self.user_id,))
        if status in (None, "deleted"):
            raise Erased

    def setup(self) -> None:
        phone = f"+90532000{self.number:04d}"

        def sign_up(conn):
            return one(conn, "SELECT register_user(%s, %s, %s)", (self.email, ARGON2ID_HASH, phone))
        self.user_id = self.attempt("sign up", sign_up)
        if self.user_id is None:
            raise Stopped
        self.ledger.add("users", self.user_id, self.email)
        with self.ledger.lock:
            self.ledger.personal[self.user_id] += [self.email, phone]
        self.sign_in()

    def sign_in(self) -> None:
        token = os.urandom(32)
        device = f"device-{uuid.uuid4()}"
        agent = f"FreeCAD/1.0 soak {uuid.uuid4()}"
        ip = f"10.{self.rng.randrange(256)}.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"
        lifetime = timedelta(seconds=1) if self.rng.random() < 0.2 else timedelta(days=30)

        def work(conn):
            found = conn.execute("SELECT id, status FROM user_for_login(%s)",
                                 (self.email,)).fetchone()
            if found is None or found[1] == "deleted":
                raise Erased
            self.act(conn)
            return one(conn, """
                INSERT INTO sessions (user_id, refresh_token_hash, access_token_jti,
                    device_fingerprint, ip_address, user_agent, expires_at)
                VALUES (%s, %s, gen_random_uuid(), %s, %s, %s, now() + %s) RETURNING id""",
                (self.user_id, hashlib.sha256(token).digest(), device, ip, agent, lifetime))
        session_id = self.attempt("sign in", work)
        if session_id is not None:
            self.tokens[session_id] = token
            self.ledger.add("sessions", session_id, self.user_id)
            with self.ledger.lock:
                self.ledger.personal[self.user_id] += [device, agent, ip]

    def step(self):
        actions = [(self.sign_in, 2), (self.refresh, 6), (self.revoke, 2), (self.buy, 2),
                   (self.cancel, 1), (self.upload, 3), (self.submit, 6), (self.browse, 5),
                   (self.as_no_one, 2), (self.sign_up_another, 1)]
        choice = self.rng.choices([a for a, _ in actions], [w for _, w in actions])[0]
        return choice()

    def refresh(self):
        if not self.tokens:
            return self.sign_in()
        session_id, token = self.rng.choice(list(self.tokens.items()))

        gone = []

        def work(conn):
            found = conn.execute("SELECT id, user_id, expires_at, revoked_at"
                                 " FROM session_for_refresh(sha256(%s))", (token,)).fetchone()
            if found is None or found[3] is not None or found[2] <= datetime.now(timezone.utc):
                gone.append(session_id)  # expired, revoked or purged
                return None
            self.act(conn)
            return conn.execute("UPDATE sessions SET last_used_at = now() WHERE id = %s",
                                (session_id,)).rowcount
        self.attempt("refresh", work)
        if gone:
            del self.tokens[session_id]

    def revoke(self):
        if not self.tokens:
            return None
        session_id = self.rng.choice(list(self.tokens))

        def work(conn):
            self.act(conn)
            return conn.execute("UPDATE sessions SET revoked_at = now()"
                                " WHERE id = %s AND revoked_at IS NULL",
                                (session_id,)).rowcount or None
        if self.attempt("revoke", work) == 1:
            with self.ledger.lock:
                self.ledger.revoked.add(session_id)
        self.tokens.pop(session_id, None)

    def buy(self):
        overlapping = self.active_license is not None  # provokes ex_licenses_active_overlap

        def work(conn):
            self.act(conn)
            return one(conn, """
                INSERT INTO licenses (user_id, plan, status, starts_at, ends_at, seats, features)
                VALUES (%s, 'professional', 'active', now(), now() + interval '30 days', %s, %s)
                RETURNING id""", (self.user_id, self.rng.randint(1, 5), Jsonb({"cam": True})))
        license_id = self.attempt("buy license", work, provokes=("ex_licenses_active_overlap",))
        if license_id is not None:
            if overlapping:
                self.ledger.fail("buy license", AssertionError("an overlapping license was taken"))
            self.active_license = license_id
            self.ledger.add("licenses", license_id, self.user_id)

    def cancel(self):
        if self.active_license is None:
            return None
        license_id = self.active_license

        def work(conn):
            self.act(conn)
            return conn.execute("UPDATE licenses SET status = 'cancelled', cancelled_at = now()"
                                " WHERE id = %s", (license_id,)).rowcount
        if self.attempt("cancel license", work) == 1:
            self.active_license = None
            with self.ledger.lock:
                self.ledger.cancelled.add(license_id)

    def upload(self):
        parent = self.lineage if self.lineage and self.rng.random() < 0.5 else None
        version = parent[1] + 1 if parent else 1

        def work(conn):
            self.act(conn)
            return one(conn, """
                INSERT INTO models (user_id, name, type, file_format, storage_key, sha256,
                    file_size, version, parent_model_id)
                VALUES (%s, %s, 'part', 'fcstd', %s, %s, %s, %s, %s) RETURNING id""",
                (self.user_id, f"Flanş {uuid.uuid4().hex[:6]}", f"models/{uuid.uuid4()}.FCStd",
                 os.urandom(32), self.rng.randint(1, 3 * 1024**3), version,
                 parent[0] if parent else None))
        model_id = self.attempt("upload model", work)
        if model_id is not None:
            self.lineage = (model_id, version)
            self.ledger.add("models", model_id, self.user_id)

    def submit(self):
        repeat = bool(self.my_keys) and self.rng.random() < 0.15  # provokes its per-user key
        key = self.rng.choice(self.my_keys) if repeat else f"soak-{uuid.uuid4()}"
        model_id = self.lineage[0] if self.lineage else None

        def work(conn):
            self.act(conn)
            return one(conn, """
                INSERT INTO jobs (user_id, model_id, type, status, priority, idempotency_key,
                    max_retries, input_params)
                VALUES (%s, %s, 'cam_toolpath', 'queued', %s, %s, %s, %s) RETURNING id""",
                (self.user_id, model_id, self.rng.randint(0, 9), key, self.rng.choice(RETRIES),
                 Jsonb({"tool": "T1"})))
        job_id = self.attempt("submit job", work, provokes=("uq_jobs_idempotency_key_user_id",))
        if job_id is not None:
            if repeat:
                self.ledger.fail("submit job", AssertionError(f"key {key} made a second job"))
            self.my_keys.append(key)
            self.ledger.add("jobs", job_id, self.user_id)
            self.ledger.add("keys", key, job_id)
        elif repeat:  # the application finds the first job by its key
            def find(conn):
                set_acting_user(conn, self.user_id)
                return one(conn, "SELECT id FROM jobs WHERE idempotency_key = %s", (key,))
            found = self.attempt("find job by key", find)
            if found is not None and found != self.ledger.keys.get(key):
                self.ledger.fail("find job by key", AssertionError(f"key {key} found job {found}"))

    def browse(self):
        def work(conn):
            set_acting_user(conn, self.user_id)
            owners = conn.execute("""
                SELECT 'users', id FROM users
                UNION ALL SELECT 'sessions', user_id FROM sessions
                UNION ALL SELECT 'licenses', user_id FROM licenses
                UNION ALL SELECT 'models', user_id FROM models
                UNION ALL SELECT 'jobs', user_id FROM jobs""").fetchall()
            return [f"{table} of user {owner}" for table, owner in owners
                    if owner != self.user_id]
        foreign = self.attempt("browse", work)
        if foreign is not None:
            with self.ledger.lock:
                self.ledger.checks += 1
                self.ledger.foreign_rows += foreign

    def as_no_one(self):
        """A transaction that names no acting user, on whatever server
        connection the pooler gives: it must see nothing."""
        def work(conn):
            return conn.execute("""
                SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM sessions)
                     + (SELECT count(*) FROM licenses) + (SELECT count(*) FROM models)
                     + (SELECT count(*) FROM jobs)""").fetchone()[0]
        seen = self.attempt("browse as no one", work)
        if seen is not None:
            with self.ledger.lock:
                self.ledger.checks += 1
                if seen:
                    self.ledger.foreign_rows.append(f"{seen} rows with no acting user")

    def sign_up_another(self):
        email = f"soak-extra-{uuid.uuid4().hex[:12]}@example.com.tr"
        user_id = self.attempt("sign up", lambda conn: one(
            conn, "SELECT register_user(%s, %s)", (email, ARGON2ID_HASH)))
        if user_id is not None:
            self.ledger.add("users", user_id, email)


class TabClient(Client):
    """One of two browser tabs of the same user, counting clicks in one row:
    read-modify-write in one statement, so no increment may be lost."""

    kind = "tab"
    login = "app"

    def __init__(self, *args, user_id: int):
        super().__init__(*args)
        self.user_id = user_id

    def step(self):
        def work(conn):
            set_acting_user(conn, self.user_id)
            return conn.execute("""
                UPDATE users SET metadata = jsonb_set(metadata, '{clicks}',
                    to_jsonb(coalesce((metadata ->> 'clicks')::integer, 0) + 1))
                WHERE id = %s""", (self.user_id,)).rowcount
        if self.attempt("click", work) == 1:
            self.ledger.count("clicks", self.user_id)


# --------------------------------------------------------------------------- workers

class Worker(Client):
    """A Celery worker: claim, report progress, finish, fail or retry."""

    kind = "worker"
    login = "worker"

    def __init__(self, *args, number: int, skew: timedelta | None):
        super().__init__(*args)
        self.number, self.skew = number, skew
        self.idle = threading.Event()

    def clock(self) -> datetime:
        return datetime.now(timezone.utc) - self.skew

    def now(self):
        """What the worker writes as 'now': the server's, or its own clock."""
        return "now()" if self.skew is None else "%(clock)s"

    def step(self):
        task = uuid.uuid4()

        def claim(conn):
            if self.skew is None:
                row = conn.execute(CLAIM).fetchone()
            else:
                row = conn.execute(CLAIM_WITH_CLOCK, {"clock": self.clock()}).fetchone()
            if row is None:
                return None
            attempt, retries = conn.execute(
                "UPDATE jobs SET celery_task_id = %s WHERE id = %s"
                " RETURNING retry_count, max_retries", (task, row[0])).fetchone()
            return row[0], attempt, retries
        claimed = self.attempt("claim", claim)
        if claimed is None:
            self.idle.set()
            time.sleep(0.01)
            return None
        self.idle.clear()
        job_id, attempt, retries = claimed
        with self.ledger.lock:
            self.ledger.claims.append((job_id, attempt, self.number, str(task)))
        for _ in range(self.rng.randint(1, 3)):
            self.report(job_id, task)
        self.finish(job_id, task, retry=attempt < retries)

    def report(self, job_id: int, task: uuid.UUID) -> None:
        def work(conn):
            return conn.execute("""
                UPDATE jobs SET progress = %s, metrics = jsonb_build_object('reports',
                    coalesce((metrics ->> 'reports')::integer, 0) + 1)
                WHERE id = %s AND status = 'running' AND celery_task_id = %s""",
                (self.rng.randint(1, 99), job_id, task)).rowcount
        done = self.attempt("progress", work)
        if done == 1:
            self.ledger.count("reports", job_id)
        elif done == 0:
            self.ledger.fail("progress", AssertionError(f"job {job_id} was not ours to report"))

    def finish(self, job_id: int, task: uuid.UUID, retry: bool) -> None:
        succeed = self.rng.random() < 0.7
        at = {"clock": self.clock()} if self.skew else {}
        if succeed:
            kind, query = "succeed", f"""
                UPDATE jobs SET status = 'succeeded', progress = 100, finished_at = {self.now()},
                    result = '{{"files": ["out.nc"]}}'
                WHERE id = %(id)s AND status = 'running' AND celery_task_id = %(task)s"""
        elif retry:
            kind, query = "retry", """
                UPDATE jobs SET status = 'queued', retry_count = retry_count + 1,
                    error_message = 'spindle stalled, retrying'
                WHERE id = %(id)s AND status = 'running' AND celery_task_id = %(task)s"""
        else:
            kind, query = "fail", f"""
                UPDATE jobs SET status = 'failed', finished_at = {self.now()},
                    error_message = 'spindle stalled'
                WHERE id = %(id)s AND status = 'running' AND celery_task_id = %(task)s"""
        done = self.attempt(kind, lambda conn: conn.execute(
            query, {"id": job_id, "task": task, **at}).rowcount)
        if done == 1:
            self.ledger.count("finishes", job_id)
        elif done == 0:
            self.ledger.fail(kind, AssertionError(f"job {job_id} was not ours to finish"))


# --------------------------------------------------------------------------- the operator

class Operator(Client):
    """Retention every half second; one erasure when its time comes."""

    kind = "operator"
    login = "admin"

    def __init__(self, *args, victim: Callable[[], int | None], erase_after: float):
        super().__init__(*args)
        self.victim, self.erase_after = victim, erase_after
        self.started = time.monotonic()

    def step(self):
        purged = self.attempt("purge sessions", lambda conn: one(conn, "SELECT purge_sessions(0)"))
        if purged:
            with self.ledger.lock:
                self.ledger.purged += purged
        self.attempt("audit partitions", lambda conn: conn.execute(
            "SELECT create_audit_partitions(3)").fetchall())
        self.attempt("drop old audit", lambda conn: conn.execute(
            "SELECT drop_audit_partitions(24)").fetchall())
        victim = self.victim()
        due = time.monotonic() - self.started > self.erase_after
        if self.ledger.erased is None and victim and due:
            def erase(conn):
                return one(conn, "SELECT erase_user(%s)", (victim,)), one(
                    conn, "SELECT pg_current_xact_id()::text::bigint")
            done = self.attempt("erase user", erase)
            if done is not None and done[0]:
                with self.ledger.lock:
                    self.ledger.erased, self.ledger.erase_txid = victim, done[1]
        self.stop.wait(0.5)


# --------------------------------------------------------------------------- the run

def run(target: Target, plan: Plan, drain: Callable[[], int], drain_seconds: float = 20.0,
        stop: threading.Event | None = None) -> Ledger:
    """Run the scenario for plan.seconds, then let the workers empty the queue
    (drain() counts the jobs still queued or running); returns the ledger."""
    ledger = Ledger()
    stop_apps = stop or threading.Event()
    stop_workers = threading.Event()
    rng = random.Random(plan.seed)
    run_id = uuid.uuid4().hex[:8]
    apps = [AppClient(target, ledger, stop_apps, rng.randrange(2**32), number=i, run_id=run_id)
            for i in range(plan.users)]
    skews = [None] * (plan.workers - 2) + [timedelta(milliseconds=50), timedelta(seconds=2)]
    workers = [Worker(target, ledger, stop_workers, rng.randrange(2**32), number=i, skew=s)
               for i, s in enumerate(skews[-plan.workers:])]
    operator = Operator(target, ledger, stop_apps, rng.randrange(2**32),
                        victim=lambda: apps[0].user_id, erase_after=plan.seconds * plan.erase_at)
    started = time.monotonic()
    for client in [*apps, *workers, operator]:
        client.start()
    shared = _shared_user(apps)
    tabs = [TabClient(target, ledger, stop_apps, rng.randrange(2**32), user_id=shared)
            for _ in range(2)] if shared else []
    for tab in tabs:
        tab.start()
    stop_apps.wait(plan.seconds)
    stop_apps.set()
    for client in [*apps, *tabs, operator]:
        client.join(30)
    deadline = time.monotonic() + drain_seconds
    while time.monotonic() < deadline and any(w.is_alive() for w in workers):
        try:
            if drain() == 0 and all(w.idle.is_set() or not w.is_alive() for w in workers):
                break
        except psycopg.OperationalError:
            break
        time.sleep(0.1)
    stop_workers.set()
    for worker in workers:
        worker.join(30)
    ledger.elapsed = time.monotonic() - started
    return ledger


def _shared_user(apps: list[AppClient]) -> int | None:
    """The user of the second app client, once signed up: the tabs' user."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if len(apps) > 1 and apps[1].user_id is not None:
            return apps[1].user_id
        if len(apps) > 1 and not apps[1].is_alive():
            return None
        time.sleep(0.01)
    return None


# ------------------------------------------------------------------ what the database shows

def fetch(conn, query: str, params=None) -> list[dict]:
    return conn.cursor(row_factory=dict_row).execute(query, params).fetchall()


def audited_claims(conn) -> Counter:
    """Claims (queued -> running) the audit log holds, by job."""
    return Counter(r["row_id"] for r in fetch(conn, """
        SELECT row_id FROM audit_log WHERE table_name = 'jobs' AND action = 'update'
          AND old_values ->> 'status' = 'queued' AND new_values ->> 'status' = 'running'"""))


def progress_reports(conn) -> dict[int, int | None]:
    """The progress reports counted in each job's metrics (None: none yet)."""
    return {r["id"]: r["n"] for r in fetch(
        conn, "SELECT id, (metrics ->> 'reports')::integer AS n FROM jobs")}


def clicks(conn) -> dict[int, int]:
    """The tabs' click count of each user that has one."""
    return {r["id"]: r["n"] for r in fetch(
        conn, "SELECT id, (metadata ->> 'clicks')::integer AS n FROM users"
              " WHERE metadata ? 'clicks'")}


def audit_text(conn) -> str:
    """Every audit entry as text, to search for values that must be gone."""
    return "\n".join(r["t"] for r in fetch(conn, "SELECT a::text AS t FROM audit_log AS a"))
