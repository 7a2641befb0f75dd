"""The schema as one typed model, read once (reader.read_schema) and used by
every consumer: the conventions gate, docs/schema.md and the tests.

Values are as PostgreSQL prints them under reader.PRINT_SETTINGS; one-letter
codes are pg_catalog's (kind 'p' primary key, on_delete 'r' RESTRICT, ...).
Every class is a frozen, keyword-only dataclass whose collections are
tuples (the Schema's are dicts by name), so a model can be compared and
shared freely and nobody builds one with a long row of positional values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, kw_only=True)
class Column:
    table: str
    name: str
    type: str  # format_type(): "timestamp with time zone", "user_role"
    not_null: bool
    default: str | None  # the expression; for a generated column, its expression
    identity: str  # '' | 'a' (always) | 'd' (by default)
    generated: str  # '' | 's' (stored)
    comment: str | None
    banned_type: str | None  # varchar, bpchar, timestamp, json or money it is made of
    serial: bool  # its default is nextval() of a sequence it owns


@dataclass(frozen=True, kw_only=True)
class Constraint:
    """A primary key ('p'), unique ('u'), check ('c'), exclusion ('x'), constraint
    trigger ('t') or NOT NULL ('n') constraint; foreign keys are ForeignKey."""

    table: str
    name: str
    kind: str
    definition: str  # pg_get_constraintdef()
    columns: tuple[str, ...]
    comment: str | None


@dataclass(frozen=True, kw_only=True)
class ForeignKey:
    kind: ClassVar[str] = "f"

    table: str
    name: str
    definition: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str  # 'a' NO ACTION, 'r' RESTRICT, 'c' CASCADE, 'n' SET NULL, 'd' SET DEFAULT
    on_update: str
    nullable: bool  # some column is nullable: a row may reference nothing
    unique: bool  # the columns hold a unique key: at most one row per referenced row
    comment: str | None


@dataclass(frozen=True, kw_only=True)
class Index:
    table: str
    name: str
    method: str  # btree, gin, gist, ...
    unique: bool
    enforces: bool  # unique, or backs an exclusion constraint
    valid: bool
    natts: int  # key and included columns
    columns: tuple[str | None, ...]  # key columns; None for an expression
    keys: tuple[str, ...]  # each key as pg_get_indexdef() prints it
    signature: tuple[str, ...]  # each key with its operator class, collation and options
    predicate: str | None
    constraint: str | None  # the constraint it backs


@dataclass(frozen=True, kw_only=True)
class Trigger:
    table: str
    name: str
    definition: str  # pg_get_triggerdef()
    function: str
    events: int  # 4 INSERT | 8 DELETE | 16 UPDATE


@dataclass(frozen=True, kw_only=True)
class Policy:
    table: str
    name: str
    roles: str  # "cadcam_app, cadcam_admin"
    command: str  # ALL, SELECT, INSERT, UPDATE, DELETE
    using: str | None
    with_check: str | None


@dataclass(frozen=True, kw_only=True)
class Grant:
    """A privilege of a role (not the owner) on an object, or on one of its columns."""

    grantee: str  # a role, or PUBLIC
    privilege: str  # SELECT, UPDATE, EXECUTE, ...
    column: str | None = None  # None: the whole object


@dataclass(frozen=True, kw_only=True)
class Table:
    name: str
    comment: str | None
    options: tuple[str, ...]  # storage parameters: "fillfactor=70"
    owner: str
    row_security: bool
    force_row_security: bool
    primary_key: str | None  # its name
    columns: tuple[Column, ...]
    constraints: tuple[Constraint, ...]  # by name
    foreign_keys: tuple[ForeignKey, ...]  # by name
    indexes: tuple[Index, ...]  # by name
    triggers: tuple[Trigger, ...]  # by name
    policies: tuple[Policy, ...]  # by name
    grants: tuple[Grant, ...]  # by grantee, then column order, then privilege

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True, kw_only=True)
class Relation:
    """Any relation of the project (table, partition, sequence, view), for
    ownership and privileges; tables are described in full by Table."""

    name: str
    kind: str  # 'r' table, 'p' partitioned table, 'S' sequence, 'v' view, ...
    owner: str
    partition_of: str | None
    persistence: str  # 'p' permanent, 'u' unlogged, 't' temporary
    replica_identity: str  # 'd' default (the primary key), 'n' nothing, 'f' full, 'i' index
    identity_index: str | None  # the index that identity finds rows by; None: none
    grants: tuple[Grant, ...]


@dataclass(frozen=True, kw_only=True)
class Sequence:
    """A sequence's current state: data, not schema, so not part of Schema;
    read by reader.read_sequences for a cut-over, which must carry it."""

    name: str
    table: str | None  # the table and column it serves (identity or serial)
    column: str | None
    last_value: int | None  # None before its first nextval


@dataclass(frozen=True, kw_only=True)
class Type:
    name: str
    kind: str  # 'e' enum, 'd' domain, 'r' range, 'c' composite
    values: tuple[str, ...]  # an enum's labels in sort order
    comment: str | None
    owner: str


@dataclass(frozen=True, kw_only=True)
class Function:
    identity: str  # regprocedure: "register_user(text,text,text,user_locale,text)"
    name: str
    arguments: str  # "email text, password_hash text, ..."
    returns: str
    language: str
    kind: str  # 'f' function, 'p' procedure, 'a' aggregate, 'w' window
    volatility: str  # 'i' immutable, 's' stable, 'v' volatile
    strict: bool
    security_definer: bool
    parallel: str  # 's' safe, 'r' restricted, 'u' unsafe
    config: tuple[str, ...]  # SET clauses: "search_path=pg_catalog, pg_temp"
    comment: str | None
    owner: str
    grants: tuple[Grant, ...]

    @property
    def signature(self) -> str:
        """name(arguments with their names), as a reader writes a call."""
        return f"{self.name}({self.arguments})"


@dataclass(frozen=True, kw_only=True)
class Schema:
    """Schema public of one database, as far as it belongs to the project
    (runner/catalog/queries.sql says what belongs)."""

    tables: dict[str, Table]  # by name
    relations: dict[str, Relation]  # by name
    types: dict[str, Type]  # by name
    functions: dict[str, Function]  # by identity
    extensions: tuple[str, ...]
    migrations: tuple[str, ...]  # the applied migrations, by id

    @property
    def enums(self) -> list[Type]:
        return [t for t in self.types.values() if t.kind == "e"]

    @property
    def foreign_keys(self) -> list[ForeignKey]:
        """Every foreign key, by name."""
        return sorted((fk for t in self.tables.values() for fk in t.foreign_keys),
                      key=lambda fk: fk.name)
