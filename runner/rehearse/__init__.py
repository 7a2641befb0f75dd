"""`schema rehearse`: apply the pending migrations to a loaded copy under the
platform's traffic, and measure what each one does to that traffic.

1. A shadow database on a throw-away server (or, with DATABASE_URL, a new
   database on that server, dropped afterwards; no existing one is touched):
   the landed migrations (the manifest's), the benchmark generator's data at
   the scale asked, ANALYZE.
2. The traffic (runner/rehearse/traffic.py) runs for a baseline.
3. The pending migrations run with the runner itself (its lock, timeouts,
   retries and statement-by-statement path), while the traffic goes on and
   the locks are watched (runner/rehearse/watch.py).
4. The traffic runs a little longer: a query that fails after a migration is
   a change the previous release cannot live with.
5. The report (runner/rehearse/report.py): per migration, and the offences.

Imports the foundation, runner.migrate (it migrates with the runner's own
code), runner.servers (the throw-away server) and the workload package (the
catalog, the generator, the mix and the clients), never bench/.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from runner import config
from runner.errors import EXIT_FAILED, EXIT_REHEARSE, EXIT_USAGE, RunnerError
from runner.migrate import commands, manifest
from runner.migrate.files import load_migrations
from runner.rehearse import report as reporting
from runner.rehearse.traffic import Traffic, needed_locks
from runner.rehearse.watch import Journal, Sampler
from runner.scratch import scratch_database
from runner.servers import server
from runner.settings import Settings

DEFAULT_OUT = config.REPO / "rehearse-out"


@dataclass(frozen=True, kw_only=True)
class Options:
    scale: float = 0.02
    to: str | None = None
    since: str | None = None  # rehearse landed migrations from this one on, too
    rate: float = 100.0
    clients: int = 4
    budget_ms: float | None = None  # default: the runner's lock_timeout
    queued_budget_ms: float | None = None  # None: a queued wait is a note, not an offence
    baseline_s: float = 3.0
    after_s: float = 2.0
    interval_s: float = 0.01
    out_dir: Path = DEFAULT_OUT


def split(settings: Settings, since: str | None) -> tuple[str | None, list[str]]:
    """The last migration the shadow is built with, and the ones rehearsed:
    the landed ones (in the manifest as committed, SCHEMA_LANDED_REF or HEAD),
    else those before `since`."""
    ids = [m.id for m in load_migrations(settings)]
    landed_files = manifest.landed(settings.migrations_dir,
                                   os.environ.get("SCHEMA_LANDED_REF", "HEAD"))
    landed = [i for i in ids if f"{i}.sql" in landed_files]
    if since is not None:
        if since not in ids:
            raise RunnerError(f"--since {since}: no such migration", EXIT_USAGE)
        landed = ids[:ids.index(since)]
    base = landed[-1] if landed else None
    return base, ids[len(landed):]


@contextlib.contextmanager
def shadow_database() -> Iterator[str]:
    """A new empty database: on DATABASE_URL's server, else on a throw-away
    server of the selected major."""
    url = config.database_url_from_env()
    if url:
        with scratch_database(url, "rehearse") as shadow:
            yield shadow
        return
    with server.throwaway_server(None, "schema-rehearse-", server.free_port(), {}) as local:
        local.ensure_database("rehearse")
        yield local.url("rehearse")


def load_data(url: str, scale: float, out) -> dict[str, int]:
    """The benchmark generator's rows at this scale, then ANALYZE; the
    variables the catalog queries draw their parameters from."""
    from workload.generate import Generator, Plan

    plan = Plan.at(scale)
    started = time.monotonic()
    try:
        generator = Generator(url, plan)
        generator.grow(1.0)
    except psycopg.Error as exc:
        raise RunnerError(f"the benchmark generator cannot fill this schema: "
                          f"{str(exc).strip().splitlines()[0]}; rehearse from a later "
                          "migration (--since)", EXIT_FAILED) from None
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    out(f"loaded scale {scale:g} in {time.monotonic() - started:.1f} s: "
        f"{generator.done['users']} users, {generator.done['sessions']} sessions, "
        f"{generator.done['jobs']} jobs")
    return generator.variables()


def build(url: str, settings: Settings, base: str | None, pending: list[str], scale: float,
          out=print) -> dict:
    """Build the shadow in an empty database, up to base; the traffic's variables."""
    if base:
        commands.migrate(url, settings, to=base, out=lambda _: None)
    out(f"shadow built up to {base or 'nothing'}; {len(pending)} migration(s) to rehearse")
    return load_data(url, scale, out)


def prepare(url: str, settings: Settings, options: Options, out=print) -> tuple[list[str],
                                                                                 dict]:
    """Build the shadow in an empty database; returns the migrations to
    rehearse and the traffic's variables."""
    base, pending = split(settings, options.since)
    return pending, build(url, settings, base, pending, options.scale, out)


def rehearse_on(url: str, settings: Settings, options: Options, variables: dict,
                out=print) -> tuple[reporting.Report, reporting.Observed]:
    """Run the traffic, apply the pending migrations with the runner under it,
    and analyse what happened. url is a prepared shadow database."""
    budget = options.budget_ms if options.budget_ms is not None else settings.lock_timeout * 1000
    traffic = Traffic(url, variables, options.rate, clients=options.clients)
    tables = _tables(url)
    needs = {name: needed_locks(q.statement, tables) for name, q in traffic.queries.items()}
    sampler = Sampler(url, interval=options.interval_s)
    journal = Journal()
    traffic.start()
    sampler.start()
    baseline_start = time.monotonic()
    try:
        time.sleep(options.baseline_s)
        baseline = (baseline_start, time.monotonic())
        failed = traffic.failures()
        if failed:
            raise RunnerError(f"the traffic fails before any migration runs: {failed[0].query}: "
                              f"{failed[0].error}", EXIT_FAILED)
        try:
            commands.migrate(url, settings, to=options.to, out=out, observer=journal)
        finally:
            time.sleep(options.after_s)
    finally:
        samples = sampler.stop()
        ops = traffic.stop()
    seen = reporting.Observed(baseline=baseline, end=time.monotonic(),
                              migrations=journal.migrations, statements=journal.statements,
                              samples=samples, ops=ops, runner_pids=journal.runner_pids,
                              interval=options.interval_s, needs=needs)
    return reporting.analyse(seen, scale=options.scale, rate=options.rate,
                             budget_ms=budget, queued_budget_ms=options.queued_budget_ms), seen


def _tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
            " AND relkind IN ('r', 'p') AND NOT relispartition")]


def write(report: reporting.Report, seen: reporting.Observed, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "rehearse.md", out_dir / "rehearse.json"]
    written[0].write_text(reporting.markdown(report))
    written[1].write_text(reporting.as_json(report))
    if reporting.plot(seen, out_dir / "rehearse.png"):
        written.append(out_dir / "rehearse.png")
    return written


def rehearse(settings: Settings, options: Options, as_json: bool = False,
             out=print) -> reporting.Report | None:
    """The command: shadow, traffic, migrations, report; raises EXIT_REHEARSE
    naming each offence."""
    say = (lambda _: None) if as_json else out
    base, pending = split(settings, options.since)
    if not pending:
        note = "nothing to rehearse: every migration has landed (--since ID rehearses landed " \
               "ones too)"
        out(json.dumps({"passed": True, "findings": [], "note": note}) if as_json else note)
        return None
    with shadow_database() as url:
        variables = build(url, settings, base, pending, options.scale, say)
        result, seen = rehearse_on(url, settings, options, variables, say)
    paths = write(result, seen, options.out_dir)
    out(reporting.as_json(result) if as_json else reporting.markdown(result))
    if not as_json:
        out("report: " + ", ".join(os.path.relpath(p) for p in paths))
    offences = result.offences()
    if offences:
        for line in offences:
            print(f"schema: rehearse: {line}", file=sys.stderr)
        raise RunnerError(f"rehearse: {len(offences)} offence(s) against the traffic; "
                          "see above", EXIT_REHEARSE)
    return result
