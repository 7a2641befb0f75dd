"""read_schema(conn): the one reader of pg_catalog, into the model of model.py.

The queries are the named ones of queries.sql. They run in one transaction
under PRINT_SETTINGS, so that everything prints the same whatever the
session's settings are: names unqualified when in schema public, constants
in defaults through their type's output function.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

import psycopg
from psycopg.rows import namedtuple_row

from runner.catalog import model
from runner.migrate import history

QUERIES_FILE = Path(__file__).with_name("queries.sql")

# yoyo keeps its bookkeeping tables in the target schema, the runner keeps its
# own in schema schema_runner; neither is part of the declared schema.
YOYO_TABLES = ("_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock")
RUNNER_SCHEMA = "schema_runner"

PRINT_SETTINGS = {
    "search_path": "public",
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
    "bytea_output": "hex",
    "standard_conforming_strings": "on",
}

_HEADER = re.compile(r"^-- (name|fragment): (\w+)\s*$", re.MULTILINE)


@cache
def queries() -> dict[str, str]:
    """The named queries of queries.sql, their fragments pasted in."""
    parts = _HEADER.split(QUERIES_FILE.read_text(encoding="utf-8"))[1:]
    named: dict[str, str] = {}
    fragments: dict[str, str] = {}
    for kind, name, body in zip(parts[0::3], parts[1::3], parts[2::3], strict=True):
        (fragments if kind == "fragment" else named)[name] = body.strip()

    def paste(text: str) -> str:
        return re.sub(r"\{\{(\w+)\}\}", lambda m: paste(fragments[m[1]]), text)

    return {name: paste(body) for name, body in named.items()}


def fetch(conn: psycopg.Connection, name: str) -> list:
    """The rows of one named query, as named tuples."""
    query = queries()[name]
    params = {"yoyo": list(YOYO_TABLES)} if "%(yoyo)s" in query else None
    with conn.cursor(row_factory=namedtuple_row) as cur:
        return cur.execute(query, params).fetchall()


def _by_table(rows) -> dict[str, list]:
    grouped: dict[str, list] = defaultdict(list)
    for row in rows:
        grouped[row.table_name].append(row)
    return grouped


def _make(cls, row, **values):
    """An instance of a model class from a row whose names are its fields
    (values: the fields the row names otherwise); arrays become tuples."""
    fields = {f.name for f in dataclasses.fields(cls)}
    data = {k: v for k, v in row._asdict().items() if k in fields}
    data.update(values)
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def _on_table(cls, rows) -> tuple:
    return tuple(_make(cls, r, table=r.table_name) for r in rows)


def _constraints(rows) -> tuple[tuple[model.Constraint, ...], tuple[model.ForeignKey, ...]]:
    foreign = tuple(_make(model.ForeignKey, r, table=r.table_name, unique=r.unique_columns)
                    for r in rows if r.kind == "f")
    return _on_table(model.Constraint, [r for r in rows if r.kind != "f"]), foreign


def _indexes(rows) -> tuple[model.Index, ...]:
    return tuple(_make(model.Index, r, table=r.table_name, unique=r.is_unique,
                       constraint=r.constraint_name) for r in rows)


def _grants(rows) -> tuple[model.Grant, ...]:
    return tuple(_make(model.Grant, r, column=getattr(r, "column_name", None)) for r in rows)


def _tables(conn: psycopg.Connection, grants: dict[str, list]) -> dict[str, model.Table]:
    columns = _by_table(fetch(conn, "columns"))
    constraints = _by_table(fetch(conn, "constraints"))
    indexes = _by_table(fetch(conn, "indexes"))
    triggers = _by_table(fetch(conn, "triggers"))
    policies = _by_table(fetch(conn, "policies"))
    tables = {}
    for t in fetch(conn, "tables"):
        plain, foreign = _constraints(constraints[t.name])
        tables[t.name] = _make(
            model.Table, t, options=tuple(sorted(t.options)),
            columns=_on_table(model.Column, columns[t.name]),
            constraints=plain, foreign_keys=foreign, indexes=_indexes(indexes[t.name]),
            triggers=_on_table(model.Trigger, triggers[t.name]),
            policies=_on_table(model.Policy, policies[t.name]),
            grants=_grants(grants[t.name]))
    return tables


def _relations(conn: psycopg.Connection, grants: dict[str, list]) -> dict[str, model.Relation]:
    return {r.name: _make(model.Relation, r, grants=_grants(grants[r.name]))
            for r in fetch(conn, "relations")}


def _functions(conn: psycopg.Connection) -> dict[str, model.Function]:
    grants: dict[str, list] = defaultdict(list)
    for r in fetch(conn, "function_grants"):
        grants[r.identity].append(r)
    return {r.identity: _make(model.Function, r, grants=_grants(grants[r.identity]))
            for r in fetch(conn, "functions")}


def _read(conn: psycopg.Connection) -> model.Schema:
    grants: dict[str, list] = defaultdict(list)
    for r in fetch(conn, "relation_grants"):
        grants[r.relation].append(r)
    return model.Schema(
        tables=_tables(conn, grants),
        relations=_relations(conn, grants),
        types={r.name: _make(model.Type, r) for r in fetch(conn, "types")},
        functions=_functions(conn),
        extensions=tuple(r.name for r in fetch(conn, "extensions")),
        migrations=tuple(sorted(history.applied_migrations(conn))),
    )


def read_sequences(conn: psycopg.Connection) -> list[model.Sequence]:
    """The project's sequences and their current values, by name."""
    return [_make(model.Sequence, r, table=r.table_name, column=r.column_name)
            for r in fetch(conn, "sequences")]


def count_large_objects(conn: psycopg.Connection) -> int:
    return fetch(conn, "large_objects")[0].count


def read_schema(conn: psycopg.Connection) -> model.Schema:
    """Schema public of the connected database, in one transaction under
    PRINT_SETTINGS (the session's own settings are put back afterwards)."""
    with conn.transaction():
        before = {name: conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]
                  for name in PRINT_SETTINGS}
        for name, value in PRINT_SETTINGS.items():
            conn.execute("SELECT set_config(%s, %s, true)", (name, value))
        try:
            return _read(conn)
        finally:
            for name, value in before.items():
                conn.execute("SELECT set_config(%s, %s, true)", (name, value))
