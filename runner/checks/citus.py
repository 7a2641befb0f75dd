"""Citus readiness, checked on the live catalog: what blocks distributing the
tenant tables by user_id.

check(schema) returns every key, foreign key and column of a Schema read by
runner.catalog.read_schema that Citus would refuse when the tables are
distributed as DISTRIBUTION says. Citus never runs here: these are Citus's
published rules, applied to the catalog (docs/citus.md).

What is distributed, and by what:
  - a table with a user_id column, by user_id (the tenant tables, colocated);
  - the tables named in DISTRIBUTION, by the column named there: users by its
    id (the tenant itself), audit_log by subject_user_id (the user the entry
    belongs to); an entry None makes a reference table;
  - any other table is a reference table: one copy on every node.

Rules, each with a stable id:
  1. citus-unique-key          every primary key, unique constraint and unique
                               index (partial or not, backing a constraint or
                               not) of a distributed table has the
                               distribution column as a plain key column
  2. citus-exclusion           an exclusion constraint of a distributed table
                               compares the distribution column WITH =
  3. citus-fk-colocated        a foreign key between two distributed tables
                               pairs the two distribution columns, at the same
                               position of both column lists
  4. citus-fk-reference-to-distributed
                               no foreign key from a reference table to a
                               distributed table
  5. citus-distribution-not-null
                               the distribution column is NOT NULL
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain

from runner.catalog import Constraint, ForeignKey, Index, Schema, Table

TENANT_COLUMN = "user_id"

# Tables distributed by another column than user_id. users is the tenant: its
# own id is every other table's user_id. audit_log rows belong to the user they
# are about (subject_user_id), so a user's entries sit on the user's node and
# erasure stays on one shard.
DISTRIBUTION: dict[str, str | None] = {"users": "id", "audit_log": "subject_user_id"}


@dataclass(frozen=True, order=True)
class Blocker:
    """One thing Citus would refuse: the object ("constraint uq_users_email",
    "index idx_x", "foreign key fk_x", "column jobs.user_id"), the rule id
    ("citus-unique-key") and a message saying what to change."""

    object: str
    rule: str
    message: str


# -- Which table is distributed by what --------------------------------------------

def distribution_column(table: Table) -> str | None:
    """The column the table is distributed by; None for a reference table.
    A DISTRIBUTION entry names the column (None: a reference table even with a
    user_id column); an entry whose column the table lacks is ignored, and
    the table is distributed by user_id if it has one, as any other."""
    names = {c.name for c in table.columns}
    if table.name in DISTRIBUTION:
        column = DISTRIBUTION[table.name]
        if column is None or column in names:
            return column
    return TENANT_COLUMN if TENANT_COLUMN in names else None


def distribution(schema: Schema) -> dict[str, str | None]:
    """Every table's distribution column, by table name (None: reference table)."""
    return {name: distribution_column(t) for name, t in schema.tables.items()}


def _distributed(schema: Schema, dist: dict[str, str | None]) -> Iterator[tuple[Table, str]]:
    for name, table in schema.tables.items():
        if dist[name] is not None:
            yield table, dist[name]


# -- 1. Unique keys ------------------------------------------------------------------

def _unique_object(ix: Index) -> str:
    """A constraint's index is reported as the constraint, once."""
    return f"constraint {ix.constraint}" if ix.constraint else f"index {ix.name}"


def _keyed_by(table: Table, column: str) -> bool:
    """The distribution column alone is a unique key of the table (users.id)."""
    return any(ix.unique and ix.predicate is None and ix.columns == (column,)
               for ix in table.indexes)


def _unique_fix(ix: Index, table: Table, column: str, kind: str | None) -> str:
    lookup = "move the key to a lookup table distributed by the key itself"
    if _keyed_by(table, column):
        # Adding the column would make the key unique trivially, enforcing nothing.
        return lookup
    keys = ", ".join((column, *ix.keys))
    if kind == "p":
        return f"make it PRIMARY KEY ({keys})"
    if kind == "u":
        return f"make it UNIQUE ({keys}), or {lookup}"
    where = f" WHERE {ix.predicate}" if ix.predicate else ""
    return (f"rebuild it as CREATE UNIQUE INDEX {ix.name} ON {table.name} ({keys}){where}, "
            f"or {lookup}")


def unique_keys(schema: Schema, dist: dict[str, str | None]) -> Iterator[Blocker]:
    """Each shard enforces its own unique indexes only: a key without the
    distribution column would be unique per shard, not per table. Citus reads
    the index's key columns: an expression or an INCLUDE column does not count."""
    for table, column in _distributed(schema, dist):
        kinds = {c.name: c.kind for c in table.constraints}
        for ix in table.indexes:
            if not ix.unique or column in ix.columns:
                continue
            keys = ", ".join(ix.keys)
            yield Blocker(_unique_object(ix), "citus-unique-key",
                          f"{table.name} ({keys}) is unique without {column}, which each "
                          "shard would enforce for its own rows only: "
                          f"{_unique_fix(ix, table, column, kinds.get(ix.constraint))}")


# -- 2. Exclusion constraints --------------------------------------------------------

def _elements(definition: str) -> list[str]:
    """The elements of EXCLUDE USING m (a WITH op, ...) [WHERE ...], split at
    the commas that are outside parentheses and string literals."""
    start = definition.index("(") + 1
    elements, depth, quoted, current = [], 0, False, ""
    for char in definition[start:]:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            if depth == 0:
                break
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            elements.append(current.strip())
            current = ""
            continue
        current += char
    return [*elements, current.strip()]


# "user_id WITH =", possibly with an operator class between (user_id int8_ops
# WITH =) and the operator schema-qualified (WITH OPERATOR(pg_catalog.=)). An
# expression element is printed in parentheses or as a call, so its first word
# is never the bare column name.
_EQUALS = re.compile(r'^"?(?P<column>[^\s"(]+)"?(?:\s+[^()]*?)?\s+WITH\s+'
                     r"(?:=|OPERATOR\((?:\w+\.)?=\))$")


def _compares_equal(con: Constraint, column: str) -> bool:
    for element in _elements(con.definition):
        match = _EQUALS.match(element)
        if match and match["column"] == column:
            return True
    return False


def exclusions(schema: Schema, dist: dict[str, str | None]) -> Iterator[Blocker]:
    """An exclusion constraint is enforced per shard like a unique key: it holds
    for the table only when rows that could conflict are on one shard, which
    is when the distribution column must be equal for a conflict."""
    for table, column in _distributed(schema, dist):
        for con in table.constraints:
            if con.kind == "x" and not _compares_equal(con, column):
                yield Blocker(f"constraint {con.name}", "citus-exclusion",
                              f"the exclusion on {table.name} does not compare {column} "
                              "WITH =, so each shard would check its own rows only: add "
                              f"{column} WITH = to its elements")


# -- 3, 4. Foreign keys --------------------------------------------------------------

def _colocated(fk: ForeignKey, column: str, ref_column: str) -> bool:
    """The key pairs the two distribution columns: referencing and referenced
    rows then have the same distribution value, so they are on one node."""
    return (column, ref_column) in zip(fk.columns, fk.ref_columns, strict=True)


def foreign_keys(schema: Schema, dist: dict[str, str | None]) -> Iterator[Blocker]:
    """Each shard checks its foreign keys against the shards on its own node:
    a distributed table may reference a colocated table through the
    distribution column, or a reference table (a copy is on every node); a
    reference table cannot reference a distributed one (its rows are on every
    node, the referenced rows on one)."""
    for table in schema.tables.values():
        for fk in table.foreign_keys:
            column, ref_column = dist[table.name], dist.get(fk.ref_table)
            obj = f"foreign key {fk.name}"
            refs = (f"{table.name} ({', '.join(fk.columns)}) -> "
                    f"{fk.ref_table} ({', '.join(fk.ref_columns)})")
            if column is None and ref_column is not None:
                yield Blocker(obj, "citus-fk-reference-to-distributed",
                              f"{refs} goes from a reference table to a distributed "
                              f"one: give {table.name} a {TENANT_COLUMN} column so that it "
                              "is distributed too, or drop the key")
            elif (column is not None and ref_column is not None
                  and not _colocated(fk, column, ref_column)):
                yield Blocker(obj, "citus-fk-colocated",
                              f"{refs} does not pair {table.name}.{column} with "
                              f"{fk.ref_table}.{ref_column}, so the referenced row may be on "
                              "another node: put them at the same position of both column "
                              f"lists{_referenced_key(schema, fk.ref_table, ref_column)}, "
                              "or drop the key")


def _referenced_key(schema: Schema, table: str, column: str) -> str:
    """The hint that the referenced side needs a unique key with its
    distribution column, unless that column alone is the key (users.id)."""
    if _keyed_by(schema.tables[table], column):
        return ""
    return f" (referencing a unique key of {table} that holds {column})"


# -- 5. The distribution column ------------------------------------------------------

def not_null(schema: Schema, dist: dict[str, str | None]) -> Iterator[Blocker]:
    """Citus refuses a row whose distribution value is NULL: it has no shard.
    NOT NULL says so in the schema, with the constraint's error."""
    for table, column in _distributed(schema, dist):
        if not table.column(column).not_null:
            yield Blocker(f"column {table.name}.{column}", "citus-distribution-not-null",
                          "the distribution column may be NULL, and a row without a "
                          f"distribution value has no shard: ALTER TABLE {table.name} "
                          f"ALTER COLUMN {column} SET NOT NULL")


# -- The check and the report --------------------------------------------------------

RULES = [unique_keys, exclusions, foreign_keys, not_null]


def check(schema: Schema) -> list[Blocker]:
    """Every blocker, sorted by object then rule."""
    dist = distribution(schema)
    return sorted(chain.from_iterable(rule(schema, dist) for rule in RULES))


def report(blockers: Iterable[Blocker]) -> str:
    """One line per blocker, then a summary line."""
    blockers = list(blockers)
    if not blockers:
        return f"citus: no blocker: the schema can be distributed by {TENANT_COLUMN} as it is"
    lines = [f"{b.object}: {b.rule}: {b.message}" for b in blockers]
    lines.append(f"citus: {len(blockers)} blocker(s) to distributing by {TENANT_COLUMN} "
                 "(docs/citus.md says how to resolve each)")
    return "\n".join(lines)
