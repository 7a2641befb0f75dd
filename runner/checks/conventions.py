"""Schema conventions, checked on the live catalog: rules over the Schema model.

check(schema) returns every violation of the project's conventions in a
Schema read by runner.catalog.read_schema. It looks at every table there is,
so a table added tomorrow is held to the same rules as the five core tables;
what belongs to the project (not yoyo's tables, not the runner's schema, not
an extension's members, partitions through their parent) is decided once, in
runner/catalog/queries.sql.

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
                                   audit triggers (audit_row_change, or
                                   for updates audit_<table>_update) on
                                   insert, update and delete
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import combinations

from runner.catalog import (
    Column,
    Constraint,
    ForeignKey,
    Function,
    Index,
    Schema,
    Table,
    Trigger,
    Type,
)


@dataclass(frozen=True, order=True)
class Violation:
    """One broken rule: the object ("table jobs", "index idx_x"), the rule id
    ("pk-name") and a one-line message saying what is wrong and how to fix it."""

    object: str
    rule: str
    message: str


# -- The schema, as the rules see it ------------------------------------------------

@dataclass(frozen=True)
class Catalog:
    """The objects of the Schema that the rules look at, flattened."""

    tables: list[Table]
    columns: list[Column]
    constraints: list[Constraint | ForeignKey]
    indexes: list[Index]
    triggers: list[Trigger]
    types: list[Type]
    functions: list[Function]

    @classmethod
    def of(cls, schema: Schema) -> Catalog:
        tables = list(schema.tables.values())
        return cls(
            tables=tables,
            columns=[c for t in tables for c in t.columns],
            constraints=sorted((c for t in tables for c in (*t.constraints, *t.foreign_keys)),
                               key=lambda c: (c.table, c.name)),
            indexes=sorted((ix for t in tables for ix in t.indexes), key=lambda ix: ix.name),
            triggers=[tg for t in tables for tg in t.triggers],
            types=list(schema.types.values()),
            functions=list(schema.functions.values()),
        )


# -- Helpers ---------------------------------------------------------------------

def _violation(obj: str, rule: str, problem: str, fix: str) -> Violation:
    return Violation(obj, rule, f"{obj} {problem} ({rule}): {fix}")


def _constraint(con) -> str:
    return f"constraint {con.name} on {con.table}"


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
        if t.primary_key is None:
            yield _violation(f"table {t.name}", "pk-missing", "has no primary key",
                             f"add CONSTRAINT {want} PRIMARY KEY (id)")
        elif t.primary_key != want:
            yield _violation(f"constraint {t.primary_key} on {t.name}", "pk-name",
                             f"is not named {want}",
                             f"ALTER TABLE {t.name} RENAME CONSTRAINT {t.primary_key} TO {want}")


# -- 2. Foreign keys -------------------------------------------------------------

_ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
              "d": "SET DEFAULT"}


def _foreign_keys(cat: Catalog) -> Iterator[ForeignKey]:
    """Foreign keys that are held to rule 2: those without a comment saying why not."""
    return (con for con in cat.constraints
            if isinstance(con, ForeignKey) and not _commented(con.comment))


def _serves(ix: Index, columns: tuple[str, ...]) -> bool:
    """Whether the index serves lookups by the foreign key's columns: it is valid,
    not partial, and its leading key columns are those columns in order."""
    if not ix.valid or ix.predicate is not None:
        return False
    return ix.columns[:len(columns)] == tuple(columns)


def foreign_key_indexes(cat: Catalog) -> Iterator[Violation]:
    """Every foreign key has an index leading with its columns."""
    for fk in _foreign_keys(cat):
        indexes = [ix for ix in cat.indexes if ix.table == fk.table]
        if not any(_serves(ix, fk.columns) for ix in indexes):
            cols = ", ".join(fk.columns)
            yield _violation(
                _constraint(fk), "fk-index", f"has no index leading with ({cols})",
                f"CREATE INDEX idx_{fk.table}_{'_'.join(fk.columns)} ON {fk.table} "
                f"({cols}), or COMMENT ON CONSTRAINT {fk.name} ON {fk.table} saying why not")


def foreign_key_on_delete(cat: Catalog) -> Iterator[Violation]:
    """Every foreign key is ON DELETE RESTRICT."""
    for fk in _foreign_keys(cat):
        if fk.on_delete != "r":
            yield _violation(
                _constraint(fk), "fk-on-delete",
                f"is ON DELETE {_ON_DELETE.get(fk.on_delete, fk.on_delete)}, not RESTRICT",
                f"declare it ON DELETE RESTRICT, or COMMENT ON CONSTRAINT {fk.name} "
                f"ON {fk.table} saying why not")


# -- 3. Names --------------------------------------------------------------------

_NAME_RULES = {"f": "fk-name", "u": "uq-name", "c": "ck-name", "x": "ex-name"}


def _constraint_name_wanted(con) -> str | None:
    """The name pattern the constraint misses, or None when its name is right."""
    t = con.table
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
                             f"ALTER TABLE {con.table} RENAME CONSTRAINT {con.name} TO "
                             f"{want}")


def _index_names_wanted(ix) -> list[str] | None:
    """The names the index may have, or None when its name is one of them.
    Btree indexes are idx_<table>_<columns> (a unique one may be uq_...), GIN
    gin_<table>_<columns>; a partial index may add _<suffix> (two indexes on
    the same columns with different predicates need different names); an
    expression index and other methods need only <method>_<table>_ before."""
    if ix.constraint:
        return None if ix.name == ix.constraint else [ix.constraint]
    prefix = f"{'idx' if ix.method == 'btree' else ix.method}_{ix.table}_"
    if None in ix.columns or ix.method not in ("btree", "gin"):
        return None if _has_suffix(ix.name, prefix) else [f"{prefix}<...>"]
    cols = "_".join(ix.columns)
    wanted = [prefix + cols] + ([f"uq_{ix.table}_{cols}"] if ix.unique else [])
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
        prefix = f"trg_{tg.table}_"
        if not _has_suffix(tg.name, prefix):
            yield _violation(f"trigger {tg.name} on {tg.table}", "trigger-name",
                             f"is not named {prefix}<purpose>",
                             f"ALTER TRIGGER {tg.name} ON {tg.table} RENAME TO "
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
        obj = f"column {col.table}.{col.name}"
        if col.banned_type:
            rule, fix = _BANNED_TYPES[col.banned_type]
            yield _violation(obj, rule, f"is of type {col.type}", fix)
        if col.serial:
            yield _violation(obj, "column-serial",
                             "is a serial (its default is nextval() of a sequence it owns)",
                             "use bigint GENERATED ALWAYS AS IDENTITY")


# -- 5. Comments -----------------------------------------------------------------

def _uncommented(kind: str, rule: str, rows: Iterable, name, what: str):
    for row in rows:
        if not _commented(row.comment):
            yield _violation(f"{kind} {name(row)}", rule, "has no comment",
                             f"COMMENT ON {what} {name(row)} IS '...'")


def table_comments(cat: Catalog) -> Iterator[Violation]:
    return _uncommented("table", "table-comment", cat.tables, lambda t: t.name, "TABLE")


def column_comments(cat: Catalog) -> Iterator[Violation]:
    return _uncommented("column", "column-comment", cat.columns,
                        lambda c: f"{c.table}.{c.name}", "COLUMN")


def type_comments(cat: Catalog) -> Iterator[Violation]:
    return _uncommented("type", "type-comment", cat.types, lambda t: t.name, "TYPE")


_ROUTINE_KINDS = {"f": "function", "p": "procedure", "a": "aggregate", "w": "function"}


def _routine(f) -> str:
    """The routine as an object: function f(text), procedure p() or aggregate a(integer)."""
    return f"{_ROUTINE_KINDS.get(f.kind, 'function')} {f.identity}"


def function_comments(cat: Catalog) -> Iterator[Violation]:
    for f in cat.functions:
        if not _commented(f.comment):
            obj = _routine(f)
            yield _violation(obj, "function-comment", "has no comment",
                             f"COMMENT ON {obj.split()[0].upper()} {f.identity} IS '...'")


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
                             f"COMMENT ON {_routine(f).split()[0].upper()} {f.identity} IS "
                             "'SECURITY DEFINER because ...'")


# -- 7. Duplicate and redundant indexes ------------------------------------------

def _keep_order(ix) -> tuple:
    """Of two duplicates, the one to keep sorts first: it backs a constraint,
    enforces uniqueness, covers more columns, or comes first by name."""
    return (ix.constraint is None, not ix.enforces, -ix.natts, ix.name)


def _overlap(a, b) -> Violation | None:
    """a and b have one table, method and predicate: is one of them superfluous?"""
    if a.signature == b.signature:
        keep, drop = sorted((a, b), key=_keep_order)
        return _violation(f"index {drop.name}", "index-duplicate",
                          f"has the same method, keys and predicate as index {keep.name}",
                          f"drop index {drop.name} (or its constraint)")
    short, long = sorted((a, b), key=lambda ix: len(ix.signature))
    if long.signature[:len(short.signature)] == short.signature and not short.enforces:
        return _violation(f"index {short.name}", "index-redundant",
                          f"has keys that lead index {long.name} (same method and predicate)",
                          f"drop index {short.name}: {long.name} serves its queries")
    return None


def index_overlaps(cat: Catalog) -> Iterator[Violation]:
    """No two valid indexes of one table where one makes the other superfluous."""
    found: dict[tuple[str, str], Violation] = {}
    valid = [ix for ix in cat.indexes if ix.valid]
    for a, b in combinations(valid, 2):
        if (a.table, a.method, a.predicate) == (b.table, b.method, b.predicate):
            v = _overlap(a, b)
            if v:
                found.setdefault((v.object, v.rule), v)
    return iter(found.values())


# -- 8. Row-level security and audit ---------------------------------------------

def _user_tables(cat: Catalog) -> Iterator[Table]:
    """Tables that hold a user's rows: users itself, and any with a user_id column."""
    owned = {c.table for c in cat.columns if c.name == "user_id"}
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


def _audits(table: str, function: str) -> bool:
    """audit_row_change() audits any table; a hot table may audit its updates
    through a function of its own, audit_<table>_update() (jobs does)."""
    return function in ("audit_row_change", f"audit_{table}_update")


def audited(cat: Catalog) -> Iterator[Violation]:
    """Every insert, update and delete of a user's rows reaches the audit log."""
    for t in _user_tables(cat):
        events = 0
        for tg in cat.triggers:
            if tg.table == t.name and _audits(t.name, tg.function):
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


def check(schema: Schema) -> list[Violation]:
    """Every violation of the conventions in the schema, sorted by object, rule, message."""
    cat = Catalog.of(schema)
    return sorted({v for rule in RULES for v in rule(cat)})


def report(violations: Iterable[Violation]) -> str:
    """One line per violation."""
    return "\n".join(v.message for v in violations)
