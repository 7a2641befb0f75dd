"""verify's view of a schema: pg_dump --schema-only, normalized, and the diff
of two of them. The catalog model (runner.catalog) serves every other use.
"""

from __future__ import annotations

import difflib
import re
import subprocess

from runner import config
from runner.catalog import RUNNER_SCHEMA, YOYO_TABLES
from runner.errors import EXIT_FAILED, RunnerError

# The monthly partitions of audit_log (audit_log_y2026m11) depend on the day
# the schema was built and are made by create_audit_partitions() as months
# pass: they are data, not declared schema. The parent table, its default
# partition and its partitioned indexes are compared as usual.
AUDIT_MONTHS = "audit_log_y[0-9][0-9][0-9][0-9]m[0-9][0-9]"

# pg_dump lines that differ between two dumps of one schema: the session
# settings it prints, and the random key of \restrict (PostgreSQL 17.6+).
_NOISE = re.compile(r"^(SET |SELECT pg_catalog\.set_config|\\(un)?restrict )")


def schema_dump(url: str, pg_dump: str) -> str:
    """pg_dump --schema-only of the database, with owners and privileges, without
    yoyo's tables, the audit months and the runner's schema; pg_dump is the
    program's path, one that reads the server's major (runner.servers.majors).
    Publications and subscriptions are left out: they are a blue/green
    upgrade's plumbing (docs/replication.md), made by hand, not schema."""
    excludes = [f"--exclude-table=public.{name}" for name in YOYO_TABLES]
    excludes.append(f"--exclude-table=public.{AUDIT_MONTHS}")
    excludes.append(f"--exclude-schema={RUNNER_SCHEMA}")
    command = [pg_dump, "--schema-only", "--no-publications", "--no-subscriptions", *excludes,
               "--dbname", config.libpq_url(url)]
    try:
        proc = subprocess.run(command, capture_output=True, text=True)
    except OSError as exc:
        raise RunnerError(f"could not run pg_dump ({command[0]}): {exc.strerror}",
                          EXIT_FAILED) from None
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"]
        raise RunnerError(f"pg_dump of {config.redact(config.libpq_url(url))} failed: "
                          f"{lines[0].removeprefix('pg_dump: ')}", EXIT_FAILED)
    return proc.stdout


def normalized_dump(url: str, pg_dump: str) -> list[str]:
    """The schema dump as comparable lines: no comments, blank lines or session
    noise, and each run of GRANT/REVOKE lines sorted."""
    lines = [
        line.rstrip()
        for line in schema_dump(url, pg_dump).splitlines()
        if line.strip() and not line.startswith("--") and not _NOISE.match(line)
    ]
    return _sorted_grant_runs(lines)


def _sorted_grant_runs(lines: list[str]) -> list[str]:
    """pg_dump prints an object's privileges in the order they were granted,
    which says nothing about the schema: GRANT a, b and GRANT b, a are equal."""
    out: list[str] = []
    run: list[str] = []
    for line in [*lines, ""]:
        if line.startswith(("GRANT ", "REVOKE ")):
            run.append(line)
            continue
        out.extend(sorted(run))
        run = []
        out.append(line)
    return out[:-1]


def schema_diff(expected_url: str, actual_url: str, pg_dump: str) -> list[str]:
    """Unified diff of two databases' normalized schema dumps; empty when equal."""
    return list(difflib.unified_diff(
        normalized_dump(expected_url, pg_dump), normalized_dump(actual_url, pg_dump),
        fromfile="expected", tofile="actual", lineterm="",
    ))
