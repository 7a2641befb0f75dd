"""The query catalog (workload/queries/*.sql): reading it, turning it into pgbench
scripts, and checking each query's plan.

A catalog file is one statement with pgbench-style :name parameters, after a
header of comments: the first line names the query, `-- Role: r` names the
role that sends it in production (the API's queries cadcam_app, the Celery
workers' cadcam_worker, the operations and billing views' cadcam_admin),
`-- Acting user: name` the parameter that holds the user it acts for, where
it acts for one (set_acting_user), `-- Index: a, b` lists the indexes its
plan must use (`a | b`: either of them), and each `-- pgbench: \\set ...`
line is a pgbench meta-command that picks a parameter (random(lo, hi), where
lo and hi are numbers or :variables given to pgbench with -D).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from workload.clients import SET_ACTING_USER, opening, role_opening
from workload.params import PARAMETER, bind

QUERIES_DIR = Path(__file__).resolve().parent / "queries"
SET_LINE = re.compile(r"\\set (\w+) random\((\S+), (\S+)\)$")
ROLE = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True)
class Query:
    name: str
    title: str
    role: str  # the role that sends it
    acting_user: str | None  # the parameter naming the user it acts for, if it acts for one
    indexes: tuple[tuple[str, ...], ...]  # each group: any one of these indexes
    sets: tuple[str, ...]  # pgbench \set meta-commands
    statement: str  # the SQL, comment lines removed

    def pgbench_script(self) -> str:
        return "\n".join([*self.sets, self.statement]) + "\n"

    def sent_script(self, role: str | None = None, end: str = "COMMIT") -> str:
        """The pgbench script of the query as the platform sends it: one
        transaction that names its acting user first (set_acting_user of the
        parameter, as workload.clients.opening does), takes `role` with SET
        LOCAL ROLE when given (a login that is a member of several roles),
        and ends with `end` (COMMIT, or ROLLBACK to leave the data as it
        was). With nothing to open and a COMMIT: the statement alone."""
        opening_lines = ([SET_ACTING_USER.format(f":{self.acting_user}") + ";"]
                         if self.acting_user else [])
        opening_lines += [f"{line};" for line in role_opening(role)]
        if not opening_lines and end == "COMMIT":
            return self.pgbench_script()
        return "\n".join([*self.sets, "BEGIN;", *opening_lines, self.statement, f"{end};"]) + "\n"

    def bound(self, values: dict, conn: psycopg.Connection) -> str:
        """The statement with these values in place of its :parameters, without
        its final semicolon (to send on, or to EXPLAIN)."""
        return bind(self.statement.rstrip(";"), values, conn)

    def sample(self, variables: dict[str, int], rng: random.Random) -> dict[str, int]:
        """Values for the :parameters, drawn as the pgbench \\set lines would."""
        def number(token: str) -> int:
            return int(variables[token[1:]]) if token.startswith(":") else int(token)

        values = {}
        for line in self.sets:
            match = SET_LINE.fullmatch(line)
            if not match:
                raise ValueError(f"{self.name}: only '\\set NAME random(LO, HI)' is understood,"
                                 f" not {line!r}")
            name, lo, hi = match.groups()
            values[name] = rng.randint(number(lo), number(hi))
        return values


def without_comments(text: str) -> str:
    """The SQL text without its comment lines."""
    return "\n".join(line for line in text.splitlines()
                     if not line.lstrip().startswith("--")).strip()


def query(name: str) -> Query:
    """The catalog query of that name."""
    return parse(QUERIES_DIR / f"{name}.sql")


def parse(path: Path) -> Query:
    lines = path.read_text().splitlines()
    header = [line[3:].strip() for line in lines if line.startswith("-- ")]
    field = {key: [h.split(":", 1)[1].strip() for h in header if h.startswith(key + ":")]
             for key in ("Role", "Acting user", "Index", "pgbench")}
    if len(field["Role"]) != 1 or not ROLE.fullmatch(field["Role"][0]):
        raise ValueError(f"{path.name}: add one '-- Role: <role>' line to its header, the role"
                         " that sends it (cadcam_app, cadcam_worker or cadcam_admin)")
    if not field["Index"]:
        raise ValueError(f"{path.name}: add a '-- Index: <index name>' line to its header")
    statement = without_comments(path.read_text())
    acting = field["Acting user"][0] if field["Acting user"] else None
    if acting is not None and acting not in PARAMETER.findall(statement):
        raise ValueError(f"{path.name}: '-- Acting user: {acting}' names no :{acting} parameter"
                         " of the statement")
    return Query(
        name=path.stem, title=header[0].rstrip("."),
        role=field["Role"][0], acting_user=acting,
        indexes=tuple(tuple(alt.strip() for alt in group.split("|"))
                      for group in field["Index"][0].split(",")),
        sets=tuple(field["pgbench"]), statement=statement,
    )


def load(directory: Path = QUERIES_DIR) -> list[Query]:
    return [parse(path) for path in sorted(directory.glob("*.sql"))]


# -- plans ---------------------------------------------------------------------------
def nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


@dataclass(frozen=True)
class Sender:
    """Who sends a query: a role (None: the connection's own, the superuser's
    baseline) acting for a user or for none."""

    role: str | None = None
    user_id: int | None = None


SUPERUSER = Sender()


def explain(conn: psycopg.Connection, query: Query, values: dict, generic: bool,
            sender: Sender = SUPERUSER) -> dict:
    """The plan (EXPLAIN, FORMAT JSON; nothing is executed) with these parameter values:
    as literals (a custom plan), or as $n parameters under force_generic_plan (the
    plan a prepared statement settles on, as with pgbench -M prepared). Planned
    as the sender, in a transaction of its own that is rolled back: the role's
    row-level-security policies are in the plan, as in production. A Function
    Scan of a function whose statements the planner cannot see into (SECURITY
    DEFINER: session_for_refresh()) gets their plans as its children."""
    with conn.transaction(force_rollback=True):
        statement = _open(conn, query, values, generic, sender)
        plan = conn.execute(f"EXPLAIN (FORMAT JSON) {statement}").fetchone()[0][0]["Plan"]
        _close(conn, generic)
    scans = [n for n in nodes(plan) if n["Node Type"] == "Function Scan"]
    if scans:
        inner = nested_plans(conn, query, values, generic, sender)
        for scan in scans:
            scan.setdefault("Plans", []).extend(
                {**p, "Parent Relationship": "Function"} for p in inner)
    return plan


def _open(conn: psycopg.Connection, query: Query, values: dict, generic: bool,
          sender: Sender) -> str:
    """Begin the sender's work in the current transaction; the statement to run
    (the query with literals, or EXECUTE of it prepared, as a generic plan)."""
    for statement in opening(sender.role, sender.user_id):
        conn.execute(statement)
    if not generic:
        return query.bound(values, conn)
    order = list(dict.fromkeys(PARAMETER.findall(query.statement)))
    text = PARAMETER.sub(lambda m: f"${order.index(m.group(1)) + 1}", query.statement)
    conn.execute(f"PREPARE catalog_query AS {text.rstrip(';')}")
    conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    args = ", ".join(str(int(values[name])) for name in order)
    return f"EXECUTE catalog_query({args})" if order else "EXECUTE catalog_query"


def _close(conn: psycopg.Connection, generic: bool) -> None:
    """Drop what _open prepared (a prepared statement outlives a rollback)."""
    if generic:
        conn.execute("DEALLOCATE catalog_query")


# auto_explain, loaded for one transaction: every statement's plan, the
# statements functions run included, sent to the client as a notice.
AUTO_EXPLAIN = {"log_min_duration": "0", "log_nested_statements": "on",
                "log_format": "json", "log_level": "notice"}


def nested_plans(conn: psycopg.Connection, query: Query, values: dict, generic: bool,
                 sender: Sender) -> list[dict]:
    """The plans of the statements the query's functions run, as auto_explain
    logs them: the query is executed, as the sender, in a transaction that
    is rolled back. The superuser's connection loads auto_explain (once per
    connection) and sets it before the sender's role is taken."""
    found: list[dict] = []

    def keep(diagnostic) -> None:
        text = diagnostic.message_primary or ""
        if "plan:" in text:
            found.append(json.loads(text.split("plan:", 1)[1])["Plan"])

    conn.add_notice_handler(keep)
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("LOAD 'auto_explain'")
            for setting, value in AUTO_EXPLAIN.items():
                conn.execute(f"SET LOCAL auto_explain.{setting} = '{value}'")
            conn.execute(_open(conn, query, values, generic, sender))
            _close(conn, generic)
    finally:
        conn.remove_notice_handler(keep)
    return found[:-1]  # the last is the query's own plan, logged when it ends


@dataclass(frozen=True)
class PlanCheck:
    query: Query
    generic: bool
    used: tuple[str, ...]  # indexes the plan reads
    seq_scans: tuple[str, ...]  # tables the plan reads whole

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(" | ".join(group) for group in self.query.indexes
                     if not set(group) & set(self.used))

    def problems(self, large: set[str]) -> list[str]:
        kind = "generic" if self.generic else "custom"
        found = [f"{self.query.name} ({kind} plan): does not use {', '.join(self.missing)}"
                 f" (uses {', '.join(self.used) or 'no index'})"] if self.missing else []
        found += [f"{self.query.name} ({kind} plan): Seq Scan on {table}"
                  for table in self.seq_scans if table in large]
        return found


def check(conn: psycopg.Connection, query: Query, values: dict, generic: bool,
          sender: Sender = SUPERUSER) -> PlanCheck:
    plan = explain(conn, query, values, generic, sender)
    used = tuple(dict.fromkeys(n["Index Name"] for n in nodes(plan) if "Index Name" in n))
    seq = tuple(n["Relation Name"] for n in nodes(plan) if n["Node Type"] == "Seq Scan")
    return PlanCheck(query, generic, used, seq)


def own_nodes(plan: dict) -> Iterator[dict]:
    """The plan's nodes without its sub-plans and init-plans (run apart)."""
    yield plan
    for child in plan.get("Plans", []):
        if child.get("Parent Relationship") not in ("SubPlan", "InitPlan"):
            yield from own_nodes(child)


def reads(plan: dict, large: set[str]) -> set[str]:
    """What a plan reads whole or sorts itself, of the large tables: a Seq Scan,
    an index scan with no index condition (the whole index, or a partial
    index's predicate only; an ordered scan may stop early, but only the
    superuser's plan says whether it may), and a Sort over a scan of the table
    (the rows in an order an index could have given)."""
    found = set()
    for node in nodes(plan):
        table = node.get("Relation Name")
        if node["Node Type"] == "Seq Scan" and table in large:
            found.add(f"Seq Scan on {table}")
        if "Index Name" in node and "Index Cond" not in node:
            found.add(f"whole index {node['Index Name']}")
        if node["Node Type"] == "Sort":
            below = {n.get("Relation Name") for n in own_nodes(node)} & large
            found.update(f"Sort of {t}" for t in below)
    return found


def role_problems(conn: psycopg.Connection, query: Query, values: dict, generic: bool,
                  sender: Sender, large: set[str]) -> list[str]:
    """What the plan as the sender reads whole or sorts that the superuser's
    plan of the same statement does not: the cost of row-level security."""
    baseline = reads(explain(conn, query, values, generic), large)
    as_role = reads(explain(conn, query, values, generic, sender), large)
    kind = "generic" if generic else "custom"
    # A partial btree index read whole is the queue it holds (its predicate's
    # rows), what the superuser's plan reads through another index's condition.
    queues = {f"whole index {name}" for (name,) in conn.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " JOIN pg_am a ON a.oid = c.relam WHERE i.indpred IS NOT NULL AND a.amname = 'btree'")}
    return [f"{query.name} ({kind} plan as {sender.role}, {values}): {what}"
            for what in sorted(as_role - baseline - queues)]


def check_all(conn: psycopg.Connection, variables: dict[str, int],
              seed: int = 6) -> list[PlanCheck]:
    """Custom and generic plan of every catalog query, with sampled parameters."""
    rng = random.Random(seed)
    checks = []
    for query in load():
        values = query.sample(variables, rng)
        checks += [check(conn, query, values, generic) for generic in (False, True)]
    return checks
