"""The workloads as the platform sends them: each catalog query as the role
its header names, in a transaction that names its acting user first where it
acts for one, directly and through PgBouncer in transaction mode, beside the
superuser's figure of the same script in the same run.

Four ways to send each workload, alternated so that drift hits them alike:
the superuser (the baseline, today's figures), the role's login with
prepared statements (what row-level security costs: the target), the same
login with the extended protocol (what a pooled client sends, parsed and
planned every time), and that through PgBouncer (the pooler's share is the
difference between the last two).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

import psycopg

from bench import pgbench
from runner.config import SUPERUSER
from runner.servers import pooler
from workload.mix import MIX

# The LOGIN roles the workloads connect as, one per group role, as a deploy
# makes them (docs/security.md); PLATFORM is a member of all three, for the
# mixed workload, whose transactions each take their query's role.
LOGINS = {"bench_app": "cadcam_app", "bench_worker": "cadcam_worker",
          "bench_admin": "cadcam_admin"}
LOGIN_OF = {group: login for login, group in LOGINS.items()}
PLATFORM = "bench_platform"

SUPERUSER_KIND, ROLE, EXTENDED, POOLED = "superuser", "as its role", "extended", "pooled"
KINDS = (SUPERUSER_KIND, ROLE, EXTENDED, POOLED)


@dataclass(frozen=True)
class Workload:
    name: str
    weights: dict[str, int]  # catalog query -> weight
    end: str  # each transaction's end: ROLLBACK leaves the data as it was

    @property
    def slug(self) -> str:
        return self.name.replace(" ", "_")


WORKLOADS = (
    Workload("claims", {"05_claim_next_job": 1}, "ROLLBACK"),
    Workload("batch claims", {"10_claim_next_jobs": 1}, "ROLLBACK"),
    Workload("progress updates", {"06_job_progress": 1}, "COMMIT"),
    Workload("session lookups", {"01_session_lookup": 1}, "COMMIT"),
    Workload("mixed catalog", MIX, "COMMIT"),
)


@dataclass
class Figure:
    """The median of the repeats of one way of sending a workload."""

    tps: float
    latency_ms: float


@dataclass
class Sent:
    workload: Workload
    roles: tuple[str, ...]
    figures: dict[str, Figure] = field(default_factory=dict)  # kind -> figure

    @property
    def ratio(self) -> float:
        """Throughput as the role over the superuser's, both direct and prepared."""
        return self.figures[ROLE].tps / self.figures[SUPERUSER_KIND].tps

    @property
    def pooler_share(self) -> float | None:
        """The pooler's share of a transaction's time: what going through
        PgBouncer adds to the same client's latency, over the pooled latency."""
        pooled, direct = self.figures.get(POOLED), self.figures.get(EXTENDED)
        if pooled is None or direct is None:
            return None
        return (pooled.latency_ms - direct.latency_ms) / pooled.latency_ms


def setup(pool_size: int) -> pooler.Setup:
    groups = {**LOGINS, PLATFORM: "cadcam_app"}
    return pooler.Setup(logins=groups, pool_size=pool_size)


def create_logins(superuser_url: str) -> None:
    """The workloads' logins; PLATFORM a member of all three group roles."""
    pooler.create_logins(superuser_url, setup(1).logins)
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        for group in ("cadcam_worker", "cadcam_admin"):
            conn.execute(f"GRANT {group} TO {PLATFORM}")


def roles_of(workload: Workload, queries: dict) -> tuple[str, ...]:
    return tuple(dict.fromkeys(queries[name].role for name in workload.weights))


def scripts(workload: Workload, queries: dict, kind: str) -> tuple[str, dict[str, str]]:
    """The login and the script text of each query for one way of sending the
    workload. A workload of one role connects as that role's login; a mixed
    one as PLATFORM, each transaction taking its query's role (and the
    superuser's baseline taking its own, so that both send as many
    statements)."""
    roles = roles_of(workload, queries)
    mixed = len(roles) > 1
    if kind == SUPERUSER_KIND:
        login, role_of = SUPERUSER, (lambda q: SUPERUSER if mixed else None)
    else:
        login = PLATFORM if mixed else LOGIN_OF[roles[0]]
        role_of = (lambda q: q.role) if mixed else (lambda q: None)
    texts = {name: queries[name].sent_script(role_of(queries[name]), workload.end)
             for name in workload.weights}
    return login, texts


def client(kind: str, login: str, pooler_port: int | None) -> pgbench.Client:
    if kind == POOLED:
        return pgbench.Client(login, pooler_port, "extended")
    return pgbench.Client(login, None, "extended" if kind == EXTENDED else "prepared")


def median(runs: list[pgbench.Run]) -> Figure:
    return Figure(statistics.median(r.tps for r in runs),
                  statistics.median(r.latency_ms for r in runs))
