"""Schema conventions (SPEC.md, Conventions), checked on the live catalog.

check(conn) reads pg_catalog for schema public and returns every violation of
the project's conventions. It looks at every table there is, so a table added
tomorrow is held to the same rules as the five core tables. Left out: yoyo's
bookkeeping tables (catalog.YOYO_TABLES), the runner's schema (only public is
read), objects that belong to an extension (pg_depend deptype 'e'), and
partitions, whose keys, indexes and triggers are cloned from their parent,
which is checked.

Rules, each with a stable id:
  1. pk-missing, pk-name           a primary key named pk_<table>
  2. fk-index, fk-on-delete        an index that serves the foreign key, and
                                   ON DELETE RESTRICT, unless COMMENT ON
                                   CONSTRAINT says why not
  3. fk-name, uq-name, ck-name, ex-name, index-name, trigger-name
  4. column-varchar, column-char, column-timestamp, column-json,
     column-money, column-serial
  5. table-comment, column-comment, type-comment, function-comment
  6. function-search-path, function-security-definer
  7. index-duplicate, index-redundant
  8. table-row-security, table-audited
                                   a table that holds a user's rows (users,
                                   or any table with a user_id column) has
                                   row-level security enabled and forced, and
                                   audit triggers (audit_row_change) on
                                   insert, update and delete
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row

from runner.catalog import YOYO_TABLES


@dataclass(frozen=True, order=True)
class Violation:
    """One broken rule: the object ("table jobs", "index idx_x"), the rule id
    ("pk-name") and a one-line message saying what is wrong and how to fix it."""

    object: str
    rule: str
    message: str


# -- Catalog queries -------------------------------------------------------------

# The project's tables: ordinary and partitioned tables of schema public that
# are not yoyo's, not an extension's member and not a partition.
_PROJECT_TABLES = """
project_tables AS (
    SELECT c.oid, c.relname
    FROM pg_class AS c
    WHERE c.relnamespace = 'public'::regnamespace
      AND c.relkind IN ('r', 'p')
      AND NOT c.relispartition
      AND c.relname <> ALL (%(yoyo)s)
      AND NOT EXISTS (
          SELECT 1 FROM pg_depend AS d
          WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
      )
)
"""

# Finds each project table with its comment and the name of its primary key
# (NULL when it has none).
TABLES_SQL = "WITH" + _PROJECT_TABLES + """
SELECT t.relname AS name,
       obj_description(t.oid, 'pg_class') AS comment,
       c.relrowsecurity AS row_security, c.relforcerowsecurity AS force_row_security,
       (SELECT con.conname FROM pg_constraint AS con
        WHERE con.conrelid = t.oid AND con.contype = 'p') AS pk
FROM project_tables AS t
JOIN pg_class AS c ON c.oid = t.oid
ORDER BY t.relname
"""

# Finds each column of the project tables with its type, its comment, the
# banned type it is made of (itself, a domain's base type or an array's
# element type, followed to the end; NULL when none), and whether it is a
# serial: its default uses a sequence that the column owns (deptype 'a';
# identity columns own theirs with deptype 'i' and have no default).
COLUMNS_SQL = "WITH RECURSIVE" + _PROJECT_TABLES + """,
column_types AS (
    SELECT a.attrelid, a.attnum, a.atttypid AS typid
    FROM project_tables AS t
    JOIN pg_attribute AS a ON a.attrelid = t.oid
    WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION
    SELECT ct.attrelid, ct.attnum,
           CASE ty.typtype WHEN 'd' THEN ty.typbasetype ELSE ty.typelem END
    FROM column_types AS ct
    JOIN pg_type AS ty ON ty.oid = ct.typid
    WHERE ty.typtype = 'd' OR (ty.typcategory = 'A' AND ty.typelem <> 0)
)
SELECT t.relname AS table_name, a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type,
       col_description(t.oid, a.attnum) AS comment,
       (SELECT min(ty.typname) FROM column_types AS ct
        JOIN pg_type AS ty ON ty.oid = ct.typid
        WHERE ct.attrelid = a.attrelid AND ct.attnum = a.attnum
          AND ty.oid = ANY ('{varchar,bpchar,timestamp,json,money}'::regtype[]::oid[])
       ) AS banned,
       EXISTS (
           SELECT 1
           FROM pg_attrdef AS ad
           JOIN pg_depend AS uses
             ON uses.classid = 'pg_attrdef'::regclass AND uses.objid = ad.oid
            AND uses.refclassid = 'pg_class'::regclass
           JOIN pg_class AS seq ON seq.oid = uses.refobjid AND seq.relkind = 'S'
           JOIN pg_depend AS owns
             ON owns.classid = 'pg_class'::regclass AND owns.objid = seq.oid
            AND owns.refclassid = 'pg_class'::regclass AND owns.refobjid = ad.adrelid
            AND owns.refobjsubid = ad.adnum AND owns.deptype = 'a'
           WHERE ad.adrelid = a.attrelid AND ad.adnum = a.attnum
       ) AS serial
FROM project_tables AS t
JOIN pg_attribute AS a ON a.attrelid = t.oid
WHERE a.attnum > 0 AND NOT a.attisdropped
ORDER BY t.relname, a.attnum
"""

# Finds the primary key, foreign key, unique, check and exclusion constraints
# declared on the project tables (not inherited, not cloned for a partition),
# with their columns in key order, ON DELETE action and comment.
CONSTRAINTS_SQL = "WITH" + _PROJECT_TABLES + """
SELECT con.conname AS name, t.relname AS table_name, con.contype AS kind,
       array(SELECT a.attname
             FROM unnest(con.conkey) WITH ORDINALITY AS k (attnum, i)
             JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.i) AS columns,
       con.confdeltype AS on_delete,
       obj_description(con.oid, 'pg_constraint') AS comment
FROM project_tables AS t
JOIN pg_constraint AS con ON con.conrelid = t.oid
WHERE con.contype IN ('p', 'f', 'u', 'c', 'x')
  AND con.conparentid = 0 AND con.conislocal
ORDER BY t.relname, con.conname
"""

# Finds every index on the project tables: method, whether it enforces
# uniqueness (unique, primary key or exclusion), validity, predicate, key
# columns (NULL for an expression), a comparable signature of each key
# (definition, operator class, collation, ordering options) and the
# constraint it backs, if any.
INDEXES_SQL = "WITH" + _PROJECT_TABLES + """
SELECT i.relname AS name, t.relname AS table_name, am.amname AS method,
       ix.indisunique AS is_unique,
       ix.indisunique OR ix.indisexclusion AS enforces,
       ix.indisvalid AS valid, ix.indnatts AS natts,
       pg_get_expr(ix.indpred, ix.indrelid) AS predicate,
       array(SELECT a.attname
             FROM generate_series(0, ix.indnkeyatts - 1) AS k
             LEFT JOIN pg_attribute AS a
               ON a.attrelid = ix.indrelid AND a.attnum = ix.indkey[k]
             ORDER BY k) AS columns,
       array(SELECT concat_ws(' ', pg_get_indexdef(ix.indexrelid, k + 1, true),
                              ix.indclass[k], ix.indcollation[k], ix.indoption[k])
             FROM generate_series(0, ix.indnkeyatts - 1) AS k
             ORDER BY k) AS keys,
       (SELECT con.conname FROM pg_constraint AS con
        WHERE con.conindid = ix.indexrelid AND con.conrelid = ix.indrelid
          AND con.contype IN ('p', 'u', 'x')) AS constraint_name
FROM project_tables AS t
JOIN pg_index AS ix ON ix.indrelid = t.oid
JOIN pg_class AS i ON i.oid = ix.indexrelid
JOIN pg_am AS am ON am.oid = i.relam
ORDER BY i.relname
"""

# Finds the user-written triggers of the project tables (not the internal
# triggers behind foreign keys, not the clones on partitions).
TRIGGERS_SQL = "WITH" + _PROJECT_TABLES + """
SELECT tg.tgname AS name, t.relname AS table_name, tg.tgfoid::regproc::text AS function,
       tg.tgtype & 28 AS events  -- 4 INSERT, 8 DELETE, 16 UPDATE
FROM project_tables AS t
JOIN pg_trigger AS tg ON tg.tgrelid = t.oid
WHERE NOT tg.tgisinternal AND tg.tgparentid = 0
ORDER BY t.relname, tg.tgname
"""

# Finds the types the project made in public (enums, domains, ranges, and
# composite types that are not a table's row type), with their comments.
TYPES_SQL = """
SELECT t.typname AS name, t.typtype AS kind, obj_description(t.oid, 'pg_type') AS comment
FROM pg_type AS t
LEFT JOIN pg_class AS c ON c.oid = t.typrelid
WHERE t.typnamespace = 'public'::regnamespace
  AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND c.relkind = 'c'))
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend AS d
      WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
  )
ORDER BY t.typname
"""

# Finds the functions, procedures and aggregates the project wrote in public,
# with their kind, SECURITY DEFINER flag, SET clauses and comment. Left out:
# an extension's members (deptype 'e') and functions PostgreSQL makes itself,
# such as a range type's constructors (deptype 'i').
FUNCTIONS_SQL = """
SELECT p.oid::regprocedure::text AS name, p.prokind AS kind,
       p.prosecdef AS security_definer,
       coalesce(p.proconfig, '{}') AS config,
       obj_description(p.oid, 'pg_proc') AS comment
FROM pg_proc AS p
WHERE p.pronamespace = 'public'::regnamespace
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend AS d
      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype IN ('e', 'i')
  )
ORDER BY 1
"""


@dataclass(frozen=True)
class Catalog:
    """The rows of the queries above, read once per check."""

    tables: list[Any]
    columns: list[Any]
    constraints: list[Any]
    indexes: list[Any]
    triggers: list[Any]
    types: list[Any]
    functions: list[Any]


def _fetch(conn: psycopg.Connection, query: str) -> list[Any]:
    """Rows of one query as named tuples."""
    params = {"yoyo": list(YOYO_TABLES)} if "%(yoyo)s" in query else None
    with conn.cursor(row_factory=namedtuple_row) as cur:
        return cur.execute(query, params).fetchall()


def read_catalog(conn: psycopg.Connection) -> Catalog:
    return Catalog(
        tables=_fetch(conn, TABLES_SQL), columns=_fetch(conn, COLUMNS_SQL),
        constraints=_fetch(conn, CONSTRAINTS_SQL), indexes=_fetch(conn, INDEXES_SQL),
        triggers=_fetch(conn, TRIGGERS_SQL), types=_fetch(conn, TYPES_SQL),
        functions=_fetch(conn, FUNCTIONS_SQL),
    )


# -- Helpers ---------------------------------------------------------------------

def _violation(obj: str, rule: str, problem: str, fix: str) -> Violation:
    return Violation(obj, rule, f"{obj} {problem} ({rule}): {fix}")


def _constraint(con) -> str:
    return f"constraint {con.name} on {con.table_name}"


def _commented(comment: str | None) -> bool:
    return bool(comment and comment.strip())


def _identifier(name: str) -> str:
    """The name as PostgreSQL stores it: cut to 63 bytes (NAMEDATALEN - 1)."""
    return name.encode()[:63].decode(errors="ignore")


def _extends(name: str, base: str) -> bool:
    """name is base, or base followed by _<more>."""
    return name == base or (name.startswith(base + "_") and len(name) > len(base) + 1)


def _has_suffix(name: str, prefix: str) -> bool:
    """name is prefix followed by at least one character."""
    return name.startswith(prefix) and len(name) > len(prefix)


# -- 1. Primary keys -------------------------------------------------------------

def primary_keys(cat: Catalog) -> Iterator[Violation]:
    """Every table has a primary key named pk_<table>."""
    for t in cat.tables:
        want = _identifier(f"pk_{t.name}")
        if t.pk is None:
            yield _violation(f"table {t.name}", "pk-missing", "has no primary key",
                             f"add CONSTRAINT {want} PRIMARY KEY (id)")
        elif t.pk != want:
            yield _violation(f"constraint {t.pk} on {t.name}", "pk-name",
                             f"is not named {want}",
                             f"ALTER TABLE {t.name} RENAME CONSTRAINT {t.pk} TO {want}")


# -- 2. Foreign keys -------------------------------------------------------------

_ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
              "d": "SET DEFAULT"}


def _foreign_keys(cat: Catalog) -> Iterator[Any]:
    """Foreign keys that are held to rule 2: those without a comment saying why not."""
    return (con for con in cat.constraints if con.kind == "f" and not _commented(con.comment))


def _serves(ix, columns: list[str]) -> bool:
    """Whether the index serves lookups by the foreign key's columns: it is valid,
    not partial, and its leading key columns are those columns in order."""
    if not ix.valid or ix.predicate is not None:
        return False
    return list(ix.columns)[:len(columns)] == columns


def foreign_key_indexes(cat: Catalog) -> Iterator[Violation]:
    """Every foreign key has an index leading with its columns."""
    for fk in _foreign_keys(cat):
        indexes = [ix for ix in cat.indexes if ix.table_name == fk.table_name]
        if not any(_serves(ix, fk.columns) for ix in indexes):
            cols = ", ".join(fk.columns)
            yield _violation(
                _constraint(fk), "fk-index", f"has no index leading with ({cols})",
                f"CREATE INDEX idx_{fk.table_name}_{'_'.join(fk.columns)} ON {fk.table_name} "
                f"({cols}), or COMMENT ON CONSTRAINT {fk.name} ON {fk.table_name} saying why not")


def foreign_key_on_delete(cat: Catalog) -> Iterator[Violation]:
    """Every foreign key is ON DELETE RESTRICT."""
    for fk in _foreign_keys(cat):
        if fk.on_delete != "r":
            yield _violation(
                _constraint(fk), "fk-on-delete",
                f"is ON DELETE {_ON_DELETE.get(fk.on_delete, fk.on_delete)}, not RESTRICT",
                f"declare it ON DELETE RESTRICT, or COMMENT ON CONSTRAINT {fk.name} "
                f"ON {fk.table_name} saying why not")


# -- 3. Names --------------------------------------------------------------------

_NAME_RULES = {"f": "fk-name", "u": "uq-name", "c": "ck-name", "x": "ex-name"}


def _constraint_name_wanted(con) -> str | None:
    """The name pattern the constraint misses, or None when its name is right."""
    t = con.table_name
    if con.kind == "f":
        base = f"fk_{t}_{con.columns[0]}" if con.columns else f"fk_{t}"
        return None if _extends(con.name, base) else base
    if con.kind == "u":
        want = _identifier(f"uq_{t}_{'_'.join(con.columns)}")
        return None if con.name == want else want
    prefix = f"{'ck' if con.kind == 'c' else 'ex'}_{t}_"
    return None if _has_suffix(con.name, prefix) else f"{prefix}<rule>"


def constraint_names(cat: Catalog) -> Iterator[Violation]:
    """fk_<table>_<column>, uq_<table>_<columns>, ck_<table>_<rule>, ex_<table>_<rule>."""
    for con in cat.constraints:
        if con.kind not in _NAME_RULES:
            continue  # primary keys: primary_keys()
        want = _constraint_name_wanted(con)
        if want:
            pattern = f"{want}[_<more>]" if con.kind == "f" else want
            yield _violation(_constraint(con), _NAME_RULES[con.kind], f"is not named {pattern}",
                             f"ALTER TABLE {con.table_name} RENAME CONSTRAINT {con.name} TO "
                             f"{want}")


def _index_names_wanted(ix) -> list[str] | None:
    """The names the index may have, or None when its name is one of them.
    Btree indexes are idx_<table>_<columns> (a unique one may be uq_...), GIN
    gin_<table>_<columns>; a partial index may add _<suffix> (two indexes on
    the same columns with different predicates need different names); an
    expression index and other methods need only <method>_<table>_ before."""
    if ix.constraint_name:
        return None if ix.name == ix.constraint_name else [ix.constraint_name]
    prefix = f"{'idx' if ix.method == 'btree' else ix.method}_{ix.table_name}_"
    if None in ix.columns or ix.method not in ("btree", "gin"):
        return None if _has_suffix(ix.name, prefix) else [f"{prefix}<...>"]
    cols = "_".join(ix.columns)
    wanted = [prefix + cols] + ([f"uq_{ix.table_name}_{cols}"] if ix.is_unique else [])
    wanted = [_identifier(w) for w in wanted]
    if ix.name in wanted or (ix.predicate and any(_extends(ix.name, w) for w in wanted)):
        return None
    return [w + ("[_<suffix>]" if ix.predicate else "") for w in wanted]


def index_names(cat: Catalog) -> Iterator[Violation]:
    """Indexes are named for their table, method and key columns, or for their constraint."""
    for ix in cat.indexes:
        wanted = _index_names_wanted(ix)
        if wanted:
            yield _violation(f"index {ix.name}", "index-name",
                             f"is not named {' or '.join(wanted)}",
                             f"ALTER INDEX {ix.name} RENAME TO {wanted[0]}")


def trigger_names(cat: Catalog) -> Iterator[Violation]:
    """Triggers are trg_<table>_<purpose>."""
    for tg in cat.triggers:
        prefix = f"trg_{tg.table_name}_"
        if not _has_suffix(tg.name, prefix):
            yield _violation(f"trigger {tg.name} on {tg.table_name}", "trigger-name",
                             f"is not named {prefix}<purpose>",
                             f"ALTER TRIGGER {tg.name} ON {tg.table_name} RENAME TO "
                             f"{prefix}<purpose>")


# -- 4. Column types -------------------------------------------------------------

_BANNED_TYPES = {
    "varchar": ("column-varchar", "use text with a CHECK on char_length"),
    "bpchar": ("column-char", "use text with a CHECK on char_length"),
    "timestamp": ("column-timestamp", "use timestamptz"),
    "json": ("column-json", "use jsonb"),
    "money": ("column-money", "use numeric, with the currency in a column of its own"),
}


def column_types(cat: Catalog) -> Iterator[Violation]:
    """No varchar(n), char(n), timestamp, json, money or serial column."""
    for col in cat.columns:
        obj = f"column {col.table_name}.{col.name}"
        if col.banned:
            rule, fix = _BANNED_TYPES[col.banned]
            yield _violation(obj, rule, f"is of type {col.type}", fix)
        if col.serial:
            yield _violation(obj, "column-serial",
                             "is a serial (its default is nextval() of a sequence it owns)",
                             "use bigint GENERATED ALWAYS AS IDENTITY")


# -- 5. Comments -----------------------------------------------------------------

def _uncommented(kind: str, rule: str, rows: Iterable[Any], name, what: str):
    for row in rows:
        if not _commented(row.comment):
            yield _violation(f"{kind} {name(row)}", rule, "has no comment",
                             f"COMMENT ON {what} {name(row)} IS '...'")


def table_comments(cat: Catalog) -> Iterator[Violation]:
    return _uncommented("table", "table-comment", cat.tables, lambda t: t.name, "TABLE")


def column_comments(cat: Catalog) -> Iterator[Violation]:
    return _uncommented("column", "column-comment", cat.columns,
                        lambda c: f"{c.table_name}.{c.name}", "COLUMN")


def type_comments(cat: Catalog) -> Iterator[Violation]:
    return _uncommented("type", "type-comment", cat.types, lambda t: t.name, "TYPE")


_ROUTINE_KINDS = {"f": "function", "p": "procedure", "a": "aggregate", "w": "function"}


def _routine(f) -> str:
    """The routine as an object: function f(text), procedure p() or aggregate a(integer)."""
    return f"{_ROUTINE_KINDS.get(f.kind, 'function')} {f.name}"


def function_comments(cat: Catalog) -> Iterator[Violation]:
    for f in cat.functions:
        if not _commented(f.comment):
            obj = _routine(f)
            yield _violation(obj, "function-comment", "has no comment",
                             f"COMMENT ON {obj.split()[0].upper()} {f.name} IS '...'")


# -- 6. Functions ----------------------------------------------------------------

_SECURITY_DEFINER = re.compile(r"\bSECURITY\s+DEFINER\b", re.IGNORECASE)


def function_search_path(cat: Catalog) -> Iterator[Violation]:
    """Every function and procedure pins search_path (aggregates take no SET clause)."""
    for f in cat.functions:
        if f.kind != "a" and not any(c.startswith("search_path=") for c in f.config):
            yield _violation(_routine(f), "function-search-path",
                             "does not pin search_path",
                             "add SET search_path = pg_catalog, pg_temp")


def _says_why(comment: str | None) -> bool:
    """The comment names SECURITY DEFINER and has at least three more words (the why)."""
    if not comment or not _SECURITY_DEFINER.search(comment):
        return False
    return len(re.findall(r"\w+", _SECURITY_DEFINER.sub(" ", comment))) >= 3


def security_definer_comments(cat: Catalog) -> Iterator[Violation]:
    """A SECURITY DEFINER function's comment says it is one, and why."""
    for f in cat.functions:
        if f.security_definer and not _says_why(f.comment):
            yield _violation(_routine(f), "function-security-definer",
                             "is SECURITY DEFINER without a comment saying so and why",
                             f"COMMENT ON {_routine(f).split()[0].upper()} {f.name} IS "
                             "'SECURITY DEFINER because ...'")


# -- 7. Duplicate and redundant indexes ------------------------------------------

def _keep_order(ix) -> tuple:
    """Of two duplicates, the one to keep sorts first: it backs a constraint,
    enforces uniqueness, covers more columns, or comes first by name."""
    return (ix.constraint_name is None, not ix.enforces, -ix.natts, ix.name)


def _overlap(a, b) -> Violation | None:
    """a and b have one table, method and predicate: is one of them superfluous?"""
    if a.keys == b.keys:
        keep, drop = sorted((a, b), key=_keep_order)
        return _violation(f"index {drop.name}", "index-duplicate",
                          f"has the same method, keys and predicate as index {keep.name}",
                          f"drop index {drop.name} (or its constraint)")
    short, long = sorted((a, b), key=lambda ix: len(ix.keys))
    if long.keys[:len(short.keys)] == short.keys and not short.enforces:
        return _violation(f"index {short.name}", "index-redundant",
                          f"has keys that lead index {long.name} (same method and predicate)",
                          f"drop index {short.name}: {long.name} serves its queries")
    return None


def index_overlaps(cat: Catalog) -> Iterator[Violation]:
    """No two valid indexes of one table where one makes the other superfluous."""
    found: dict[tuple[str, str], Violation] = {}
    valid = [ix for ix in cat.indexes if ix.valid]
    for a, b in combinations(valid, 2):
        if (a.table_name, a.method, a.predicate) == (b.table_name, b.method, b.predicate):
            v = _overlap(a, b)
            if v:
                found.setdefault((v.object, v.rule), v)
    return iter(found.values())


# -- 8. Row-level security and audit ---------------------------------------------

def _user_tables(cat: Catalog) -> Iterator[Any]:
    """Tables that hold a user's rows: users itself, and any with a user_id column."""
    owned = {c.table_name for c in cat.columns if c.name == "user_id"}
    return (t for t in cat.tables if t.name == "users" or t.name in owned)


def row_security(cat: Catalog) -> Iterator[Violation]:
    """A user's rows are behind row-level security, forced on the owner too."""
    for t in _user_tables(cat):
        if not (t.row_security and t.force_row_security):
            yield _violation(
                f"table {t.name}", "table-row-security",
                "holds a user's rows without row-level security enabled and forced",
                f"ALTER TABLE {t.name} ENABLE ROW LEVEL SECURITY; ALTER TABLE {t.name} "
                "FORCE ROW LEVEL SECURITY; with policies as in sql/30_users.sql")


_ALL_EVENTS = 4 | 8 | 16  # INSERT, DELETE, UPDATE in pg_trigger.tgtype


def audited(cat: Catalog) -> Iterator[Violation]:
    """Every insert, update and delete of a user's rows reaches the audit log."""
    for t in _user_tables(cat):
        events = 0
        for tg in cat.triggers:
            if tg.table_name == t.name and tg.function == "audit_row_change":
                events |= tg.events
        if events != _ALL_EVENTS:
            yield _violation(
                f"table {t.name}", "table-audited",
                "holds a user's rows without audit triggers on insert, update and delete",
                f"CREATE TRIGGER trg_{t.name}_audit AFTER INSERT OR UPDATE OR DELETE ON {t.name} "
                "FOR EACH ROW EXECUTE FUNCTION audit_row_change('{<secret columns>}', "
                "'{updated_at}')")


# -- Entry points ----------------------------------------------------------------

RULES = (
    primary_keys,
    foreign_key_indexes, foreign_key_on_delete,
    constraint_names, index_names, trigger_names,
    column_types,
    table_comments, column_comments, type_comments, function_comments,
    function_search_path, security_definer_comments,
    index_overlaps,
    row_security, audited,
)


def check(conn: psycopg.Connection) -> list[Violation]:
    """Every violation of the conventions in schema public, sorted by object, rule, message."""
    cat = read_catalog(conn)
    return sorted({v for rule in RULES for v in rule(cat)})


def report(violations: Iterable[Violation]) -> str:
    """One line per violation."""
    return "\n".join(v.message for v in violations)
