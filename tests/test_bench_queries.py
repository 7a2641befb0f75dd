"""The workload's query catalog (workload/queries) on generated data.

The data generator fills one database at a moderate scale, once for the
module; each catalog query's plan, custom and generic, must use its intended
index and read no table whole. The generator's promises that the workloads
rely on are checked too.
"""

from __future__ import annotations

import os
import random
import re

import psycopg
import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from bench import pgbench, roles
from bench.run import BREAKDOWN, RETENTION, WORKLOADS, step_sql
from runner.config import SUPERUSER
from runner.servers import pooler
from tests import rows
from workload import catalog, clients
from workload.generate import TABLES, Generator, Plan, bulk_load
from workload.params import bind

# 2,000 users, 20,000 sessions, 6,000 models, 40,000 jobs: loads in seconds,
# and large enough that a sequential scan is the planner's choice only when
# no index serves the query.
SCALE = 0.02
QUERIES = catalog.load()
CLAIM = catalog.query("05_claim_next_job")


@pytest.fixture(scope="module")
def generated(pg_server, migrated_proc):
    """(connection, generator) of a clone of the migrated template filled by the generator."""
    name = f"bench_catalog_{os.getpid()}"
    janitor = DatabaseJanitor(user=SUPERUSER, host="127.0.0.1", port=pg_server.port,
                              dbname=name, template_dbname=migrated_proc.template_dbname)
    with janitor:
        url = pg_server.url(name)
        generator = Generator(url, Plan.at(SCALE))
        generator.grow(1.0)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")  # the test server runs no autovacuum
            yield conn, generator


@pytest.fixture
def loaded(generated):
    """(connection, plan) of the generated database."""
    conn, generator = generated
    return conn, generator.plan


@pytest.mark.parametrize("generic", [False, True], ids=["custom", "generic"])
@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_catalog_query_uses_its_index(generated, query, generic):
    conn, generator = generated
    values = query.sample(generator.variables(), random.Random(query.name))
    check = catalog.check(conn, query, values, generic)
    assert check.problems(set(TABLES)) == []


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_catalog_query_runs_as_its_role(generated, query):
    """As the role its header names, for its acting user, as rehearse sends it
    (the claim and the progress update write: rolled back)."""
    conn, generator = generated
    values = query.sample(generator.variables(), random.Random(query.name))
    user_id = values[query.acting_user] if query.acting_user else None
    clients.send(conn, query.bound(values, conn), query.role, user_id)


def classes_of_values(query, conn, generator) -> list[dict]:
    """Parameter values of each class a plan could differ on: a sampled draw;
    each value of a parameter drawn from a few (each status of the dashboard);
    and, for a query that acts for a user, the user with the most jobs and a
    user with no rows at all."""
    base = query.sample(generator.variables(), random.Random(query.name))
    found = [base]
    for line in query.sets:
        match = catalog.SET_LINE.fullmatch(line)
        name, low, high = match.groups()
        if low.lstrip("-").isdigit() and high.lstrip("-").isdigit() and int(high) - int(low) < 8:
            found += [{**base, name: value} for value in range(int(low), int(high) + 1)]
    if query.acting_user:
        busiest = conn.execute("SELECT user_id FROM jobs GROUP BY user_id"
                               " ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        nobody = conn.execute("SELECT max(id) + 1 FROM users").fetchone()[0]
        found += [{**base, query.acting_user: busiest}, {**base, query.acting_user: nobody}]
    return found


@pytest.mark.parametrize("generic", [False, True], ids=["custom", "generic"])
@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_catalog_query_plan_as_its_role_reads_no_more_than_the_superusers(generated, query,
                                                                          generic):
    """Row-level security in the plan: as the role its header names, with its
    acting user, a query reads no core table or index whole and sorts no
    table that the superuser's plan of the same statement reads through an
    index, for every class of parameter value."""
    conn, generator = generated
    problems = []
    for values in classes_of_values(query, conn, generator):
        user_id = values[query.acting_user] if query.acting_user else None
        sender = catalog.Sender(role=query.role, user_id=user_id)
        problems += catalog.role_problems(conn, query, values, generic, sender, set(TABLES))
    assert problems == []


READS = [q for q in QUERIES if q.statement.lstrip().upper().startswith("SELECT")]


def valid_session(conn) -> dict:
    """session_no of a session the token refresh would accept."""
    (number,) = conn.execute("SELECT min(id) FROM sessions WHERE revoked_at IS NULL"
                             " AND expires_at > now()").fetchone()
    return {"session_no": number}


def active_model_params(query, conn) -> dict:
    """template_no, material_no and size_no of the parameters of a model with an
    active job: the values 07's arrays pick from, read from its statement."""
    template, material, size = conn.execute(
        "SELECT m.params->>'template', m.params->>'material', (m.params->>'size')::int"
        " FROM models AS m JOIN jobs AS j ON j.model_id = m.id"
        " WHERE j.status IN ('pending', 'queued', 'running') AND m.deleted_at IS NULL"
        " ORDER BY m.id LIMIT 1").fetchone()
    arrays = {name: re.findall(r"'([^']*)'", items) for items, name in
              re.findall(r"ARRAY\[(.*?)\]\)\[:(\w+)\]", query.statement, re.S)}
    return {"template_no": arrays["template_no"].index(template) + 1,
            "material_no": arrays["material_no"].index(material) + 1,
            "size_no": (size - 10) // 5}


@pytest.mark.parametrize("query", READS, ids=[q.name for q in READS])
def test_catalog_read_finds_as_its_role_what_the_superuser_finds(generated, query):
    """As its role, with its acting user, a read returns the rows the
    superuser's run of the same statement returns, for every class of
    parameter value: row-level security hides nothing the platform needs
    (a token refresh has no acting user yet: it finds its session through
    session_for_refresh()). Some class finds rows, so the test can fail."""
    conn, generator = generated
    draws = classes_of_values(query, conn, generator)
    if "session_no" in query.statement:
        draws.append({**draws[0], **valid_session(conn)})
    if "template_no" in query.statement:
        draws.append({**draws[0], **active_model_params(query, conn)})
    found = 0
    for values in draws:
        text = query.bound(values, conn)
        with conn.transaction(force_rollback=True):
            expected = conn.execute(text).fetchall()
        user_id = values[query.acting_user] if query.acting_user else None
        with conn.transaction(force_rollback=True):
            for statement in clients.opening(query.role, user_id):
                conn.execute(statement)
            assert conn.execute(text).fetchall() == expected, values
        found += bool(expected)
    assert found, f"{query.name}: no draw found a row"


def test_every_catalog_query_says_what_issues_it():
    for query in QUERIES:
        text = (catalog.QUERIES_DIR / f"{query.name}.sql").read_text()
        assert "Issued by:" in text, f"{query.name}: say which platform feature issues it"


def test_every_catalog_query_is_sent_by_a_role_that_exists(db):
    """Each query's Role line names one of the project's roles, and a query that
    acts for a user is sent by a role that may name one (set_acting_user), for
    a user its pgbench lines draw."""
    roles = {name for (name,) in db.execute("SELECT rolname FROM pg_roles")}
    for query in QUERIES:
        assert query.role in roles, f"{query.name}: no role {query.role}"
        if query.acting_user:
            assert db.execute("SELECT has_function_privilege(%s, 'set_acting_user(bigint)',"
                              " 'EXECUTE')", (query.role,)).fetchone()[0], query.name
            assert any(line.startswith(f"\\set {query.acting_user} ") for line in query.sets)


def test_a_query_without_a_role_line_is_refused(tmp_path):
    path = tmp_path / "99_no_role.sql"
    path.write_text("-- A query.\n-- Index: pk_jobs\nSELECT 1;\n")
    with pytest.raises(ValueError, match=r"99_no_role.sql: add one '-- Role: <role>' line"):
        catalog.parse(path)


def test_an_acting_user_that_is_no_parameter_is_refused(tmp_path):
    path = tmp_path / "99_acting.sql"
    path.write_text("-- A query.\n-- Role: cadcam_app\n-- Acting user: user_id\n"
                    "-- Index: pk_jobs\nSELECT 1;\n")
    with pytest.raises(ValueError, match="names no :user_id parameter"):
        catalog.parse(path)


def test_pgbench_script_sets_parameters_before_the_statement():
    query = catalog.query("01_session_lookup")
    script = query.pgbench_script().splitlines()
    assert script[0] == r"\set session_no random(1, :sessions)"
    assert script[-1].endswith(";") and not any(line.startswith("--") for line in script)


def test_generator_makes_the_planned_rows(loaded):
    conn, plan = loaded
    counts = dict(conn.execute(
        "SELECT 'users', count(*) FROM users UNION ALL SELECT 'sessions', count(*) FROM sessions"
        " UNION ALL SELECT 'jobs', count(*) FROM jobs").fetchall())
    assert counts == {"users": plan.users, "sessions": plan.sessions,
                      "jobs": plan.live + plan.history}
    live = dict(conn.execute(
        "SELECT status::text, count(*) FROM jobs WHERE status IN ('pending', 'queued', 'running')"
        " GROUP BY status").fetchall())
    assert live == {"running": plan.running, "queued": plan.queued, "pending": plan.pending}


def test_running_jobs_are_the_first_ids(loaded):
    """The progress workload updates jobs 1 to plan.running."""
    conn, plan = loaded
    assert conn.execute("SELECT min(id), max(id) FROM jobs WHERE status = 'running'"
                        ).fetchone() == (1, plan.running)


def test_session_n_has_the_digest_of_its_token(loaded):
    """The lookup workload finds session n by the digest of 'refresh-token-<n>'."""
    conn, plan = loaded
    found = conn.execute(
        "SELECT id FROM sessions WHERE refresh_token_hash = sha256(convert_to(%s, 'UTF8'))",
        (f"refresh-token-{plan.sessions}",)).fetchone()
    assert found == (plan.sessions,)


def test_lineages_are_lines_of_one_owner(loaded):
    conn, _ = loaded
    lengths = dict(conn.execute(
        "SELECT max(version), count(*) FROM models GROUP BY (id - 1) / 5"
        " HAVING count(*) <> max(version) OR count(DISTINCT user_id) <> 1").fetchall())
    assert lengths == {}
    assert conn.execute("SELECT max(version) FROM models").fetchone()[0] == 5


def test_tax_numbers_are_tckn_and_vkn(loaded):
    conn, _ = loaded
    kinds = dict(conn.execute(
        "SELECT length(tax_no), count(*) FROM users WHERE tax_no IS NOT NULL GROUP BY 1"
    ).fetchall())
    assert set(kinds) == {10, 11}
    assert conn.execute("SELECT count(*) FROM users WHERE phone !~ '^\\+905'").fetchone()[0] == 0


def test_claim_takes_the_most_urgent_oldest_queued_job(loaded):
    conn, _ = loaded
    with conn.transaction(force_rollback=True):
        expected = conn.execute(
            "SELECT id FROM jobs WHERE status = 'queued' ORDER BY priority, created_at LIMIT 1"
        ).fetchone()[0]
        claimed = conn.execute(CLAIM.statement).fetchone()[0]
        row = conn.execute("SELECT status::text, started_at = now() FROM jobs WHERE id = %s",
                           (claimed,)).fetchone()
    assert (claimed, row) == (expected, ("running", True))


def test_bulk_load_switches_audit_triggers_off_and_on_again(db):
    exists = "SELECT count(*) FROM pg_trigger WHERE tgname = 'trg_jobs_audit'"
    if not db.execute(exists).fetchone()[0]:  # a schema before the audit log: a stand-in
        db.execute("CREATE FUNCTION audit_stub() RETURNS trigger LANGUAGE plpgsql"
                   " SET search_path = pg_catalog AS 'BEGIN RETURN NULL; END'")
        db.execute("CREATE TRIGGER trg_jobs_audit AFTER UPDATE ON jobs"
                   " FOR EACH ROW EXECUTE FUNCTION audit_stub()")
    state = "SELECT tgenabled FROM pg_trigger WHERE tgname = 'trg_jobs_audit'"
    with pytest.raises(RuntimeError), bulk_load(db) as switched_off:
        assert "trg_jobs_audit" in switched_off
        assert db.execute(state).fetchone()[0] == "D"
        raise RuntimeError("a failed load")
    assert db.execute(state).fetchone()[0] == "O"


def test_bind_replaces_parameters_but_not_casts(db):
    assert bind("SELECT :n::text || :s", {"n": 7, "s": "x"}, db) == "SELECT 7::text || 'x'"
    with pytest.raises(KeyError, match=":missing"):
        bind("SELECT :missing", {}, db)


def index_shapes(db, table: str) -> set[str]:
    """The table's index definitions without their names."""
    return {row[0].split(" USING ", 1)[1] for row in db.execute(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %s::regclass",
        (table,))}


def test_breakdown_ends_with_jobs_shaped_like_the_bare_table(db):
    db.execute("CREATE SCHEMA bench")
    db.execute((WORKLOADS / "bare_jobs.sql").read_text())
    for _, change in BREAKDOWN:
        if change:
            db.execute(step_sql(change))
    assert index_shapes(db, "jobs") == index_shapes(db, "bench.bare_jobs")
    assert db.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = 'jobs'::regclass"
                      " AND contype IN ('c', 'f', 'u')").fetchone()[0] == 0
    enabled = db.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'jobs'::regclass"
                         " AND NOT tgisinternal AND tgenabled <> 'D'"
                         " AND tgtype & 16 = 16").fetchall()  # UPDATE triggers still on
    assert enabled == []
    db.execute(CLAIM.statement)  # the claim still runs on what is left


BATCH = catalog.query("10_claim_next_jobs")
QUEUE_ORDER = "SELECT id FROM jobs WHERE status = 'queued' ORDER BY priority, created_at"


def test_batch_claim_takes_the_ten_most_urgent_oldest_queued_jobs(loaded):
    conn, _ = loaded
    with conn.transaction(force_rollback=True):
        expected = [i for (i,) in conn.execute(f"{QUEUE_ORDER} LIMIT 10")]
        claimed = [row[0] for row in conn.execute(BATCH.statement)]
        states = conn.execute("SELECT DISTINCT status::text, started_at = now() FROM jobs"
                              " WHERE id = ANY(%s)", (claimed,)).fetchall()
    assert sorted(claimed) == sorted(expected) and len(claimed) == 10
    assert states == [("running", True)]


def test_two_batch_claims_at_once_take_different_jobs_without_waiting(loaded):
    conn, _ = loaded
    queue = [i for (i,) in conn.execute(f"{QUEUE_ORDER} LIMIT 20")]
    with psycopg.connect(conn.info.dsn) as first, psycopg.connect(conn.info.dsn) as second:
        second.execute("SET lock_timeout = '1s'")  # waiting for the first would fail it
        mine = {row[0] for row in first.execute(BATCH.statement)}
        theirs = {row[0] for row in second.execute(BATCH.statement)}
        first.rollback()
        second.rollback()
    assert (mine, theirs) == (set(queue[:10]), set(queue[10:]))


def test_batch_claim_returns_what_is_left_of_a_short_queue(db):
    queued = {rows.job(db, status="queued") for _ in range(3)}
    rows.job(db, status="pending")
    claimed = {row[0] for row in db.execute(BATCH.statement)}
    assert claimed == queued
    assert db.execute(BATCH.statement).fetchall() == []


def test_a_committed_claim_and_its_refill_keep_the_queue_as_deep(db):
    """The committed claims of the benchmark: the claim of ten, then refill.sql
    adds as many queued jobs, so the queue neither drains nor grows."""
    user_id = rows.user(db)
    for _ in range(12):
        rows.job(db, user_id=user_id, status="queued")
    refill = (WORKLOADS / "refill.sql").read_text()
    depth = "SELECT count(*) FROM jobs WHERE status = 'queued'"
    for _ in range(3):
        taken = len(db.execute(BATCH.statement).fetchall())
        db.execute(bind(refill, {"user_id": user_id, "batch": taken}, db))
        assert (taken, db.execute(depth).fetchone()[0]) == (10, 12)


RETAINED = {  # what each RETENTION statement must leave: no row of it matches
    "sessions": "SELECT count(*) FROM sessions WHERE expires_at < now() - interval '30 days'"
                " OR revoked_at < now() - interval '30 days'",
    "jobs": "SELECT count(*) FROM jobs WHERE finished_at < %(t0)s - interval '700 days'",
}


@pytest.mark.parametrize("table, statement", RETENTION, ids=[t for t, _ in RETENTION])
def test_a_months_retention_takes_only_what_it_says(loaded, table, statement):
    """The figures behind docs/partitioning.md: the statement deletes a slice
    of the table (some rows, far from all) and exactly the rows its rule names."""
    conn, plan = loaded
    with conn.transaction(force_rollback=True):
        total = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        matching = conn.execute(RETAINED[table], {"t0": plan.t0}).fetchone()[0]
        deleted = conn.execute(statement, {"t0": plan.t0}).fetchone()[0]
        assert 0 < deleted == matching < total / 2
        assert conn.execute(RETAINED[table], {"t0": plan.t0}).fetchone()[0] == 0
        left = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert left == total - deleted


@pytest.fixture(scope="module")
def bench_pooler(pg_server, generated):
    """The benchmark's logins and PgBouncer (bench/roles.py) in front of the server."""
    if pooler.binary() is None:
        pytest.skip(pooler.INSTALL_HINT)
    roles.create_logins(pg_server.url("postgres"))
    with pooler.running(pg_server.port, roles.setup(2)) as port:
        yield port


@pytest.mark.parametrize("workload", roles.WORKLOADS, ids=[w.slug for w in roles.WORKLOADS])
def test_each_workload_runs_as_its_roles_direct_and_through_pgbouncer(pg_server, generated,
                                                                     bench_pooler, workload):
    """make bench's scripts as the platform sends them: each way of sending
    runs its transactions without a failure (pgbench.run raises on one), as
    the logins of the query's roles; the data stays as it was."""
    conn, generator = generated
    queries = {q.name: q for q in QUERIES}
    before = conn.execute("SELECT count(*) FILTER (WHERE status = 'running'), count(*)"
                          " FROM jobs").fetchone()
    since = conn.execute("SELECT now()").fetchone()[0]
    for kind in roles.KINDS:
        login, texts = roles.scripts(workload, queries, kind)
        paths = []
        for name, text in texts.items():
            path = pg_server.data_dir.parent / f"bench_{os.getpid()}_{kind[:4]}_{name}.sql"
            path.write_text(text)
            paths.append((path, workload.weights[name]))
        run = pgbench.run(pg_server, conn.info.dbname, paths, 2, generator.variables(), 1,
                          roles.client(kind, login, bench_pooler))
        assert run.transactions > 0
    conn.execute(bind((WORKLOADS / "requeue.sql").read_text(), {"since": since}, conn))
    assert conn.execute("SELECT count(*) FILTER (WHERE status = 'running'), count(*)"
                        " FROM jobs").fetchone() == before


def test_a_mixed_workload_takes_each_querys_role_and_the_baseline_the_same_statements():
    """One login per role for a workload of one role; the mixed workload's
    transactions each take their query's role, the superuser's its own."""
    queries = {q.name: q for q in QUERIES}
    mixed = next(w for w in roles.WORKLOADS if len(w.weights) > 1)
    login, texts = roles.scripts(mixed, queries, roles.ROLE)
    assert login == roles.PLATFORM
    assert 'SET LOCAL ROLE "cadcam_admin";' in texts["04_jobs_dashboard"]
    assert "SELECT set_acting_user(:user_id);" in texts["02_active_license"]
    base_login, base = roles.scripts(mixed, queries, roles.SUPERUSER_KIND)
    assert base_login == SUPERUSER
    assert f'SET LOCAL ROLE "{SUPERUSER}";' in base["04_jobs_dashboard"]
    assert [len(t.splitlines()) for t in base.values()] == [len(t.splitlines())
                                                           for t in texts.values()]
    claims = roles.WORKLOADS[0]
    assert roles.scripts(claims, queries, roles.POOLED)[0] == "bench_worker"
    assert "SET LOCAL ROLE" not in roles.scripts(claims, queries, roles.POOLED)[1][
        "05_claim_next_job"]
