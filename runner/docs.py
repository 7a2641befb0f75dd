"""Generated schema documentation: docs/schema.md, rendered from the live catalog.

`make docs` runs `python -m runner.docs [OUTPUT]`: it builds the schema from
every migration in a scratch database (on the server of DATABASE_URL, else on
the embedded one), renders that database's catalog as Markdown and drops the
scratch database again, so the file never depends on the state of a
developer's database. tests/test_docs.py fails when the committed file is
out of date.

The Markdown holds, for schema public (without yoyo's tables and the runner's
schema): enum types; per table its comment, storage parameters, columns,
constraints, indexes, foreign keys and triggers; functions; and a Mermaid ER
diagram. The same catalog always gives the same bytes: everything is sorted
here, and no date, OID, port or database name is printed.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import psycopg

from runner import catalog, commands, config, history, server
from runner.errors import EXIT_OK, RunnerError

DEFAULT_OUTPUT = config.REPO / "docs" / "schema.md"

# Session settings that change how the catalog prints: names are qualified
# unless visible in search_path, and constants in defaults print through
# their type's output function.
PRINT_SETTINGS = {
    "search_path": "public",
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
    "bytea_output": "hex",
    "standard_conforming_strings": "on",
}

# -- catalog queries that runner.catalog does not have ---------------------------

TABLE_NAMES_SQL = """
SELECT c.oid::regclass::text, c.relname
FROM pg_class AS c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
"""

FOREIGN_KEYS_SQL = """
SELECT con.conname, c.relname, f.relname,
       array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k (n, i)
             JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.n
             ORDER BY k.i),
       array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k (n, i)
             JOIN pg_attribute AS a ON a.attrelid = con.confrelid AND a.attnum = k.n
             ORDER BY k.i),
       con.confdeltype, con.confupdtype,
       EXISTS (SELECT 1 FROM pg_attribute AS a
               WHERE a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey)
                 AND NOT a.attnotnull),
       EXISTS (SELECT 1 FROM pg_index AS ix
               WHERE ix.indrelid = con.conrelid AND ix.indisunique
                 AND ix.indpred IS NULL AND ix.indexprs IS NULL
                 AND (SELECT array_agg(k.n) FROM unnest(ix.indkey) WITH ORDINALITY AS k (n, i)
                      WHERE k.i <= ix.indnkeyatts) <@ con.conkey)
FROM pg_constraint AS con
JOIN pg_class AS c ON c.oid = con.conrelid
JOIN pg_class AS f ON f.oid = con.confrelid
WHERE con.contype = 'f' AND c.relnamespace = 'public'::regnamespace
  AND c.relname <> ALL (%(yoyo)s)
"""

INDEX_CONSTRAINTS_SQL = """
SELECT i.relname, con.conname
FROM pg_constraint AS con
JOIN pg_class AS i ON i.oid = con.conindid
WHERE con.contype IN ('p', 'u', 'x') AND i.relnamespace = 'public'::regnamespace
"""

FUNCTION_DETAILS_SQL = """
SELECT p.oid::regprocedure::text, p.proname, pg_get_function_identity_arguments(p.oid),
       coalesce(pg_get_function_result(p.oid), ''), l.lanname, p.proparallel
FROM pg_proc AS p
JOIN pg_language AS l ON l.oid = p.prolang
WHERE p.pronamespace = 'public'::regnamespace
"""

# The policies of each table (roles, command, USING, WITH CHECK), as
# pg_policies prints them.
POLICIES_SQL = """
SELECT tablename, policyname, array_to_string(roles, ', '), cmd, qual, with_check
FROM pg_policies
WHERE schemaname = 'public'
ORDER BY tablename, policyname
"""

EXTENSIONS_SQL = "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'"


# Owner of each table, and whether row-level security is enabled and forced.
TABLE_OWNERS_SQL = """
SELECT c.relname, pg_get_userbyid(c.relowner), c.relrowsecurity, c.relforcerowsecurity
FROM pg_class AS c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
"""

# Grants on each table and on its columns (a NULL column: the whole table), to
# roles other than the owner; grantee 0 is PUBLIC.
PRIVILEGES_SQL = """
SELECT c.relname, CASE acl.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(acl.grantee) END,
       acl.privilege_type, NULL::text, 0
FROM pg_class AS c
CROSS JOIN LATERAL aclexplode(c.relacl) AS acl
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
  AND acl.grantee <> c.relowner
UNION ALL
SELECT c.relname, CASE acl.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(acl.grantee) END,
       acl.privilege_type, a.attname, a.attnum
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
CROSS JOIN LATERAL aclexplode(a.attacl) AS acl
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1, 2, 5, 3
"""


# -- the catalog as plain values -------------------------------------------------------

class Column(NamedTuple):
    name: str
    type: str
    not_null: bool
    default: str | None
    identity: str
    generated: str
    comment: str | None


class Index(NamedTuple):
    name: str
    method: str
    unique: bool
    keys: list[str]
    predicate: str | None
    constraint: str | None


class ForeignKey(NamedTuple):
    name: str
    table: str
    ref_table: str
    columns: list[str]
    ref_columns: list[str]
    on_delete: str
    on_update: str
    nullable: bool  # some column is nullable: a row may reference nothing
    unique: bool  # the columns are unique: at most one row per referenced row


class Constraint(NamedTuple):
    name: str
    kind: str
    definition: str
    columns: list[str]


class Function(NamedTuple):
    signature: str
    returns: str
    language: str
    volatility: str
    properties: list[str]
    comment: str | None


@dataclass
class Table:
    name: str
    comment: str | None
    options: list[str]
    columns: list[Column] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    triggers: list[tuple[str, str]] = field(default_factory=list)  # name, definition
    owner: str = ""
    grants: list[tuple[str, str, str | None]] = field(default_factory=list)  # role, privilege, column
    row_security: tuple[bool, bool] = (False, False)  # enabled, forced
    policies: list[tuple[str, str, str, str | None, str | None]] = field(
        default_factory=list)  # name, roles, command, using, with check


@dataclass
class Catalog:
    tables: dict[str, Table]
    enums: list[tuple[str, list[str], str | None]]  # name, values in order, comment
    foreign_keys: list[ForeignKey]
    functions: list[Function]
    extensions: list[str]
    migrations: list[str]


def _read_tables(conn: psycopg.Connection) -> dict[str, Table]:
    tables = {name: Table(name, comment, sorted(options or []))
              for name, comment, options in catalog.rows(conn, catalog.TABLES_SQL)}
    for table, *values in catalog.rows(conn, catalog.COLUMNS_SQL):  # in column order
        tables[table].columns.append(Column(*values))
    _read_constraints(conn, tables)
    _read_indexes(conn, tables)
    _read_privileges(conn, tables)
    for name, table, definition in catalog.rows(conn, catalog.TRIGGERS_SQL):
        if table in tables:
            tables[table].triggers.append((name, _trigger_body(definition)))
    for table in tables.values():
        table.constraints.sort(key=lambda c: (KIND_ORDER.index(c.kind), c.name))
        table.indexes.sort()
        table.triggers.sort()
    return tables


def _read_privileges(conn: psycopg.Connection, tables: dict[str, Table]) -> None:
    for name, owner, enabled, forced in conn.execute(TABLE_OWNERS_SQL):
        if name in tables:
            tables[name].owner = owner
            tables[name].row_security = (enabled, forced)
    for name, *policy in conn.execute(POLICIES_SQL):
        if name in tables:
            tables[name].policies.append(tuple(policy))
    for name, role, privilege, column, _ in conn.execute(PRIVILEGES_SQL):
        if name in tables:
            tables[name].grants.append((role, privilege, column))


def _read_constraints(conn: psycopg.Connection, tables: dict[str, Table]) -> None:
    """Every constraint of a table but foreign keys, which have their own list."""
    names = dict(catalog.rows(conn, TABLE_NAMES_SQL))  # regclass text -> relname
    for name, regclass, kind, definition, _, _, columns in catalog.rows(
            conn, catalog.CONSTRAINTS_SQL):
        if kind != "f" and regclass in names:  # not a foreign table's
            tables[names[regclass]].constraints.append(
                Constraint(name, CONSTRAINT_KINDS[kind], definition, list(columns)))


def _read_indexes(conn: psycopg.Connection, tables: dict[str, Table]) -> None:
    backing = dict(catalog.rows(conn, INDEX_CONSTRAINTS_SQL))
    for name, table, method, unique, keys, predicate in catalog.rows(conn, catalog.INDEXES_SQL):
        if table in tables:  # not a materialized view's
            tables[table].indexes.append(
                Index(name, method, unique, list(keys), predicate, backing.get(name)))


def _trigger_body(definition: str) -> str:
    """The definition without its `CREATE TRIGGER name` head."""
    return re.sub(r"^CREATE (CONSTRAINT )?TRIGGER \S+ ", "", definition)


def _read_foreign_keys(conn: psycopg.Connection) -> list[ForeignKey]:
    fks = []
    for name, table, ref, cols, ref_cols, on_del, on_upd, nullable, unique in catalog.rows(
            conn, FOREIGN_KEYS_SQL):
        fks.append(ForeignKey(name, table, ref, list(cols), list(ref_cols),
                              FK_ACTIONS[on_del], FK_ACTIONS[on_upd], nullable, unique))
    return sorted(fks)


def _read_functions(conn: psycopg.Connection) -> list[Function]:
    details = {row[0]: row[1:] for row in catalog.rows(conn, FUNCTION_DETAILS_SQL)}
    functions = []
    for key, volatility, strict, secdef, config_, comment in catalog.rows(
            conn, catalog.FUNCTIONS_SQL):
        name, args, returns, language, parallel = details[key]
        properties = (["strict"] * strict + ["security definer"] * secdef
                      + [PARALLEL[parallel]] * (parallel != "u")
                      + ["SET {} = {}".format(*setting.split("=", 1)) for setting in config_])
        functions.append(Function(f"{name}({args})", returns, language,
                                  VOLATILITY[volatility], properties, comment))
    return sorted(functions)


def _read_migrations(conn: psycopg.Connection) -> list[str]:
    return sorted(history.applied_migrations(conn))


def read_catalog(conn: psycopg.Connection) -> Catalog:
    """The catalog of schema public, sorted; run under PRINT_SETTINGS."""
    return Catalog(
        tables=dict(sorted(_read_tables(conn).items())),
        enums=sorted((name, list(values), comment)
                     for name, values, comment in catalog.rows(conn, catalog.ENUMS_SQL)),
        foreign_keys=_read_foreign_keys(conn),
        functions=_read_functions(conn),
        extensions=sorted(row[0] for row in conn.execute(EXTENSIONS_SQL)),
        migrations=_read_migrations(conn),
    )


def _with_print_settings(conn: psycopg.Connection, reader):
    """reader(conn) in a transaction whose settings are PRINT_SETTINGS, then put back."""
    with conn.transaction():
        before = {name: conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]
                  for name in PRINT_SETTINGS}
        for name, value in PRINT_SETTINGS.items():
            conn.execute("SELECT set_config(%s, %s, true)", (name, value))
        try:
            return reader(conn)
        finally:
            for name, value in before.items():
                conn.execute("SELECT set_config(%s, %s, true)", (name, value))


# -- words -----------------------------------------------------------------------------

CONSTRAINT_KINDS = {"p": "primary key", "u": "unique", "x": "exclusion", "c": "check",
                    "t": "constraint trigger", "n": "not null"}
KIND_ORDER = ["primary key", "unique", "exclusion", "check", "constraint trigger", "not null"]
FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
              "d": "SET DEFAULT"}
VOLATILITY = {"i": "immutable", "s": "stable", "v": "volatile"}
PARALLEL = {"s": "parallel safe", "r": "parallel restricted", "u": "parallel unsafe"}


# -- Markdown helpers -------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_C_ESCAPES = {"\t": r"\t", "\n": r"\n", "\r": r"\r", "\f": r"\f", "\v": r"\v"}


def code(text: str) -> str:
    """An inline code span of text, whatever backticks and control characters it holds."""
    text = _CONTROL.sub(lambda m: _C_ESCAPES.get(m[0], f"\\x{ord(m[0]):02x}"), text)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")


def one_line(definition: str) -> str:
    """SQL as PostgreSQL prints it, on one line: white space between tokens (its
    line breaks and indentation) folded into single spaces; literals untouched."""
    parts, pos = [], 0
    for quoted in _QUOTED.finditer(definition):
        parts += [re.sub(r"\s+", " ", definition[pos:quoted.start()]), quoted[0]]
        pos = quoted.end()
    parts.append(re.sub(r"\s+", " ", definition[pos:]))
    return "".join(parts).strip()


def sql_code(definition: str) -> str:
    return code(one_line(definition))


def prose(text: str | None) -> str:
    """A comment as Markdown text: characters GitHub would take for markup are
    escaped (emphasis, strike-through, math, HTML tags), the rest left as written."""
    if not text:
        return ""
    text = re.sub(r"([\\*~$])", r"\\\1", text.strip())
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)


def cell(text: str | None) -> str:
    """Text made safe for one Markdown table cell."""
    if not text:
        return ""
    return text.replace("\r\n", "\n").replace("|", "\\|").replace("\n", "<br>")


def md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return lines


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def link(heading: str, text: str) -> str:
    return f"[{text}](#{slug(heading)})"


def _cols(table: str, columns: list[str]) -> str:
    return code(f"{table}.{columns[0]}" if len(columns) == 1
                else f"{table} ({', '.join(columns)})")


def _paragraph(text: str | None, missing: str) -> list[str]:
    return [prose(text) if text else missing, ""]


# -- sections ------------------------------------------------------------------------------

TITLE = "Database schema"
ENUMS_HEADING = "Enum types"
TABLES_HEADING = "Tables"
FUNCTIONS_HEADING = "Functions"
DIAGRAM_HEADING = "Entity-relationship diagram"


def _enum_heading(name: str) -> str:
    return f"Enum `{name}`"


def _table_heading(name: str) -> str:
    return f"Table `{name}`"


def _intro(cat: Catalog) -> list[str]:
    built = (f"the migrations up to {code(cat.migrations[-1])} ({len(cat.migrations)} applied)"
             if cat.migrations else "the live catalog")
    summary = (f"Schema `public` as built by {built}: {len(cat.tables)} tables, "
               f"{len(cat.enums)} enum types, {len(cat.functions)} functions")
    extensions = ", ".join(code(name) for name in cat.extensions)
    return [
        f"# {TITLE}", "",
        "> Generated by `make docs` (`python -m runner.docs`) from the migrations in "
        "`migrations/`. Do not edit this file by hand: change the schema with a "
        "migration, then run `make docs` and commit the result.", "",
        summary + (f"; extensions: {extensions}." if extensions else "."), "",
        "Definitions are as PostgreSQL prints them (`pg_get_constraintdef`, "
        "`pg_get_indexdef`, `pg_get_triggerdef`), on one line; control characters inside "
        "their string literals are shown as `\\t`, `\\n`, `\\r`, `\\f`, `\\v`.", "",
    ]


def _toc(cat: Catalog) -> list[str]:
    lines = ["## Contents", "", f"- {link(ENUMS_HEADING, ENUMS_HEADING)}"]
    lines += [f"  - {link(_enum_heading(name), code(name))}" for name, _, _ in cat.enums]
    lines.append(f"- {link(TABLES_HEADING, TABLES_HEADING)}")
    lines += [f"  - {link(_table_heading(name), code(name))}" for name in cat.tables]
    lines.append(f"- {link(FUNCTIONS_HEADING, FUNCTIONS_HEADING)}")
    lines.append(f"- {link(DIAGRAM_HEADING, DIAGRAM_HEADING)}")
    return lines + [""]


def _enum_users(cat: Catalog, enum: str) -> list[str]:
    return [f"{table.name}.{col.name}" for table in cat.tables.values()
            for col in table.columns if col.type.removesuffix("[]") == enum]


def _enums(cat: Catalog) -> list[str]:
    lines = [f"## {ENUMS_HEADING}", ""]
    if not cat.enums:
        return lines + ["None.", ""]
    for name, values, comment in cat.enums:
        lines += [f"### {_enum_heading(name)}", ""]
        lines += _paragraph(comment, "_No comment._")
        lines += ["Values, in sort order: " + ", ".join(code(v) for v in values) + ".", ""]
        used_by = _enum_users(cat, name)
        lines += ["Used by: " + (", ".join(code(u) for u in used_by) or "no column") + ".", ""]
    return lines


def _default(col: Column) -> str:
    if col.identity:
        return f"generated {'always' if col.identity == 'a' else 'by default'} as identity"
    if col.generated == "s":
        return f"generated always as {sql_code(col.default)} stored"
    return sql_code(col.default) if col.default is not None else ""


def _columns(table: Table) -> list[str]:
    rows = [[code(c.name), code(c.type), "no" if c.not_null else "yes", _default(c),
             prose(c.comment)] for c in table.columns]
    return ["**Columns**", "",
            *md_table(["Column", "Type", "Nullable", "Default", "Comment"], rows), ""]


def _listing(title: str, headers: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return [f"**{title}**: none.", ""]
    return [f"**{title}**", "", *md_table(headers, rows), ""]


def _constraints(table: Table) -> list[str]:
    rows = [[code(c.name), c.kind, sql_code(c.definition)] for c in table.constraints]
    return _listing("Constraints", ["Name", "Kind", "Definition"], rows)


def _indexes(table: Table) -> list[str]:
    rows = [[code(ix.name), ix.method, ", ".join(sql_code(k) for k in ix.keys),
             sql_code(ix.predicate) if ix.predicate else "", "yes" if ix.unique else "no",
             code(ix.constraint) if ix.constraint else ""] for ix in table.indexes]
    return _listing("Indexes", ["Name", "Method", "Key columns", "Predicate", "Unique",
                                "Backs constraint"], rows)


def _foreign_keys(cat: Catalog, table: Table) -> list[str]:
    rows = [[code(fk.name), ", ".join(code(c) for c in fk.columns),
             _cols(fk.ref_table, fk.ref_columns), fk.on_delete, fk.on_update]
            for fk in cat.foreign_keys if fk.table == table.name]
    return _listing("Foreign keys", ["Name", "Columns", "References", "On delete",
                                     "On update"], rows)


PRIVILEGE_ORDER = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES",
                   "TRIGGER", "MAINTAIN"]


def _privileges(table: Table) -> list[str]:
    """One row per role's table-wide privileges, one per (role, privilege) on columns."""
    whole: dict[str, set[str]] = {}
    columns: dict[tuple[str, str], list[str]] = {}
    for role, privilege, column in table.grants:
        if column is None:
            whole.setdefault(role, set()).add(privilege)
        else:
            columns.setdefault((role, privilege), []).append(column)
    rows = [[code(role), ", ".join(p for p in PRIVILEGE_ORDER if p in privileges), "all"]
            for role, privileges in sorted(whole.items())]
    rows += [[code(role), privilege, ", ".join(code(c) for c in cols)]
             for (role, privilege), cols in sorted(columns.items())]
    rows.sort(key=lambda row: row[0])
    title = f"Privileges (owner {code(table.owner)})" if table.owner else "Privileges"
    return _listing(title, ["Role", "Privileges", "Columns"], rows)


def _row_security(table: Table) -> list[str]:
    enabled, forced = table.row_security
    if not enabled:
        return ["**Row-level security**: off.", ""]
    rows = [[code(name), code(roles), command, sql_code(using) if using else "",
             sql_code(check) if check else ""]
            for name, roles, command, using, check in table.policies]
    title = "Row-level security (enabled, forced)" if forced else "Row-level security (enabled)"
    return _listing(title, ["Policy", "Roles", "Command", "Using", "With check"], rows)


def _triggers(table: Table) -> list[str]:
    rows = [[code(name), sql_code(definition)] for name, definition in table.triggers]
    return _listing("Triggers", ["Name", "Definition"], rows)


def _table_notes(cat: Catalog, table: Table) -> list[str]:
    notes = []
    if table.options:
        notes.append("Storage parameters: " + ", ".join(code(o) for o in table.options) + ".")
    incoming = sorted((fk.table, fk.name, fk.columns) for fk in cat.foreign_keys
                      if fk.ref_table == table.name)
    if incoming:
        notes.append("Referenced by: " + ", ".join(
            f"{_cols(t, cols)} ({code(name)})" for t, name, cols in incoming) + ".")
    return [line for note in notes for line in (note, "")]


def _table(cat: Catalog, table: Table) -> list[str]:
    return [f"### {_table_heading(table.name)}", "",
            *_paragraph(table.comment, "_No comment._"),
            *_table_notes(cat, table),
            *_columns(table), *_constraints(table), *_indexes(table),
            *_foreign_keys(cat, table), *_triggers(table), *_privileges(table),
            *_row_security(table)]


def _tables(cat: Catalog) -> list[str]:
    lines = [f"## {TABLES_HEADING}", ""]
    for table in cat.tables.values():
        lines += _table(cat, table)
    return lines


def _functions(cat: Catalog) -> list[str]:
    rows = [[code(f.signature), code(f.returns), f.language, f.volatility,
             "; ".join(code(p) if p.startswith("SET ") else p for p in f.properties),
             prose(f.comment)] for f in cat.functions]
    lines = [f"## {FUNCTIONS_HEADING}", "",
             "Functions of schema `public`; those of extensions are left out.", ""]
    if not rows:
        return lines + ["None.", ""]
    return lines + md_table(["Function", "Returns", "Language", "Volatility", "Properties",
                             "Comment"], rows) + [""]


# -- Mermaid ER diagram ------------------------------------------------------------------------

# Mermaid attribute types are single words.
_MERMAID_TYPES = [
    (r"^timestamp(\(\d+\))? with time zone", r"timestamptz\1"),
    (r"^timestamp(\(\d+\))? without time zone", r"timestamp\1"),
    (r"^time(\(\d+\))? with time zone", r"timetz\1"),
    (r"^time(\(\d+\))? without time zone", r"time\1"),
    (r"^character varying", "varchar"),
    (r"^character", "char"),
    (r"^bit varying", "varbit"),
    (r"^double precision", "float8"),
    (r"^interval [a-z ]+", "interval"),
    (r"\(\d+,\d+\)", ""),  # numeric(10,2): a comma would end the word
]
# Words Mermaid's ER lexer takes for keywords when an entity name starts with them.
_MERMAID_KEYWORDS = ("one", "many", "only", "zero", "to", "optionally", "class", "style",
                     "subgraph", "end", "erdiagram")


def mermaid_type(pg_type: str) -> str:
    text = pg_type.replace('"', "")
    for pattern, replacement in _MERMAID_TYPES:
        text = re.sub(pattern, replacement, text)
    return re.sub(r"[^A-Za-z0-9_\-\[\]()]+", "_", text)


def mermaid_entity(name: str) -> str:
    """A table name as a Mermaid entity: bare when safe, else quoted."""
    bare = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and name.lower() != "u"
    if bare and not name.lower().startswith(_MERMAID_KEYWORDS):
        return name
    return '"' + name.replace('"', "'") + '"'


def mermaid_attribute(name: str) -> str:
    word = re.sub(r"[^A-Za-z0-9_\-]+", "_", name)
    word = word if re.match(r"[A-Za-z_]", word) else "_" + word
    return word + "_" if word.lower() in ("pk", "fk", "uk") else word


def _keys(cat: Catalog, table: Table) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for constraint in table.constraints:
        if constraint.kind == "primary key":
            for col in constraint.columns:
                keys.setdefault(col, []).append("PK")
    for fk in cat.foreign_keys:
        if fk.table == table.name:
            for col in fk.columns:
                if "FK" not in keys.setdefault(col, []):
                    keys[col].append("FK")
    return keys


def _entity(cat: Catalog, table: Table) -> list[str]:
    keys = _keys(cat, table)
    lines = [f"    {mermaid_entity(table.name)} {{"]
    for col in table.columns:
        marks = ", ".join(keys.get(col.name, []))
        lines.append(f"        {mermaid_type(col.type)} {mermaid_attribute(col.name)}"
                     + (f" {marks}" if marks else ""))
    return lines + ["    }"]


def relation(fk: ForeignKey) -> str:
    """One line per foreign key, the referenced table on the left."""
    parent = "|o" if fk.nullable else "||"
    child = "o|" if fk.unique else "o{"
    return (f"    {mermaid_entity(fk.ref_table)} {parent}--{child} "
            f'{mermaid_entity(fk.table)} : "{fk.name}"')


def _diagram(cat: Catalog) -> list[str]:
    lines = [f"## {DIAGRAM_HEADING}", "",
             "One box per table (PK: primary key column, FK: foreign key column) and one line "
             "per foreign key, labelled with its name and drawn from the referenced table. "
             "At the referenced table, `||` means every row references one, `|o` that the "
             "foreign key columns are nullable; at the referencing table, `o{` means any "
             "number of rows, `o|` at most one (the columns are unique).", "",
             "```mermaid", "erDiagram"]
    for table in cat.tables.values():
        lines += _entity(cat, table)
    lines += [relation(fk) for fk in cat.foreign_keys]
    return lines + ["```"]


def format_markdown(cat: Catalog) -> str:
    lines = [*_intro(cat), *_toc(cat), *_enums(cat), *_tables(cat), *_functions(cat),
             *_diagram(cat)]
    return "\n".join(lines) + "\n"


# -- entry points ---------------------------------------------------------------------------------

def render(conn: psycopg.Connection) -> str:
    """Markdown documentation of schema public of the connected database."""
    return format_markdown(_with_print_settings(conn, read_catalog))


def _write(output: Path, text: str) -> None:
    """Write the file whole or not at all."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    partial.write_text(text, encoding="utf-8", newline="\n")
    partial.replace(output)


def build(url: str, output: Path) -> tuple[int, int]:
    """Write render() of the database at url to output; returns (tables, enum types)."""
    with psycopg.connect(config.libpq_url(url), autocommit=True) as conn:
        cat = _with_print_settings(conn, read_catalog)
    _write(Path(output), format_markdown(cat))
    return len(cat.tables), len(cat.enums)


def generate(output: Path, out=print) -> tuple[int, int]:
    """Build the schema from every migration in a scratch database next to the
    target database (DATABASE_URL, else the embedded server's), document it in
    output, and drop the scratch database, also on failure."""
    with commands.scratch_database(server.database_url(out=out), "docs") as scratch_url:
        commands.migrate(scratch_url, out=lambda _: None)
        return build(scratch_url, output)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m runner.docs",
        description="Write the schema documentation, built from every migration in a scratch "
        "database (DATABASE_URL's server, else the embedded PostgreSQL).")
    p.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT,
                   help="Markdown file to write (default docs/schema.md)")
    args = p.parse_args(argv)
    try:
        tables, enums = generate(args.output)
    except RunnerError as exc:
        print(f"docs: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"wrote {_shown(args.output)} ({tables} tables, {enums} enum types)")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
