"""What in the live schema would break logical replication, for a blue/green
upgrade (docs/replication.md): check(conn) reads the catalog through
runner.catalog and returns findings, each with a stable rule id.

Blockers (the subscriber would stop, or rows would silently not arrive):
  replication-identity   a table without a replica identity: no primary key
                         under REPLICA IDENTITY DEFAULT, or NOTHING; once it is
                         published, its UPDATEs and DELETEs fail on the
                         publisher itself
  replication-unlogged   an unlogged table writes no WAL, so none of its rows
                         is ever sent
  replication-large-objects
                         large objects live outside every table and are not
                         sent
Notes (nothing breaks, but the cut-over must do them by hand):
  replication-sequence   a sequence's value is not sent: set it on the new
                         server before it takes writes
  replication-matview    a materialized view is not sent: refresh it there
  replication-ddl        schema changes are not sent: migrate both servers
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from runner import catalog
from runner.catalog import Relation, Sequence

TABLE_KINDS = ("r", "p")


@dataclass(frozen=True, order=True)
class Finding:
    """One thing logical replication would not carry: the object, the rule id,
    a one-line message with what to do, and whether it breaks replication."""

    blocks: bool
    object: str
    rule: str
    message: str


def _leaf_tables(relations: list[Relation]) -> list[Relation]:
    """Tables that hold rows: plain tables and partitions (a partitioned
    parent has none; its partitions are what the publisher sends)."""
    return [r for r in relations if r.kind == "r"]


def _identity(table: Relation) -> Finding | None:
    if table.replica_identity == "f":
        return None
    if table.replica_identity == "n" or table.identity_index is None:
        return Finding(True, f"table {table.name}", "replication-identity",
                       "no replica identity: its UPDATEs and DELETEs would fail once "
                       "published; add a primary key (or REPLICA IDENTITY USING INDEX "
                       "on a unique, non-partial index of NOT NULL columns)")
    return None


def _unlogged(table: Relation) -> Finding | None:
    if table.persistence != "u":
        return None
    return Finding(True, f"table {table.name}", "replication-unlogged",
                   "unlogged: its rows are never sent; ALTER TABLE ... SET LOGGED "
                   "before publishing it, or leave it out and rebuild it on the new server")


def setval_statement(seq: Sequence) -> str | None:
    """What sets the sequence on the new server to its value here (None: it
    was never used, and the new server's is as unused)."""
    if seq.last_value is None:
        return None
    name = 'public."' + seq.name.replace('"', '""') + '"'
    return f"SELECT setval('{name}', {seq.last_value})"


def _sequence(seq: Sequence) -> Finding:
    serves = f" ({seq.table}.{seq.column})" if seq.table else ""
    statement = setval_statement(seq)
    todo = (f"at cut-over, once writes here have stopped, run on the new server: {statement}"
            if statement else "never used: nothing to set yet")
    return Finding(False, f"sequence {seq.name}", "replication-sequence",
                   f"its value is not sent{serves}; {todo}")


def sync_sequences(source: psycopg.Connection, target: psycopg.Connection) -> list[Sequence]:
    """The cut-over's sequence step: each used sequence of source set to the
    same value on target (run it after the last write on source)."""
    used = [s for s in catalog.read_sequences(source) if s.last_value is not None]
    with target.transaction():
        for seq in used:
            target.execute(setval_statement(seq))
    return used


def _matview(view: Relation) -> Finding:
    return Finding(False, f"materialized view {view.name}", "replication-matview",
                   "not sent: REFRESH MATERIALIZED VIEW on the new server at cut-over")


def _large_objects(count: int) -> Finding | None:
    if count == 0:
        return None
    return Finding(True, "large objects", "replication-large-objects",
                   f"{count} large object(s): not sent; move them into a bytea column "
                   "or copy them with pg_dump --large-objects at cut-over")


DDL = Finding(False, "schema changes", "replication-ddl",
              "DDL is not sent: run every migration on both servers, additive ones on "
              "the new server first (docs/replication.md)")


def check(conn: psycopg.Connection) -> list[Finding]:
    """Every finding for the connected database: blockers first, then notes."""
    relations = list(catalog.read_schema(conn).relations.values())
    tables = _leaf_tables(relations)
    found = [f for t in tables for f in (_identity(t), _unlogged(t)) if f]
    found += [_sequence(s) for s in catalog.read_sequences(conn)]
    found += [_matview(r) for r in relations if r.kind == "m"]
    found += [f for f in [_large_objects(catalog.count_large_objects(conn))] if f]
    found.append(DDL)
    return sorted(found, key=lambda f: (not f.blocks, f.rule, f.object))


def report(findings: list[Finding]) -> str:
    """One line per finding, blockers first, and a summary line."""
    lines = [f"{'BLOCKS' if f.blocks else 'note'}  {f.object}: {f.rule}: {f.message}"
             for f in findings]
    blockers = sum(f.blocks for f in findings)
    lines.append(f"replication-check: {blockers} blocker(s), {len(findings) - blockers} "
                 "note(s)" + ("" if blockers else "; the schema can be replicated as it is"))
    return "\n".join(lines)
