"""The Mermaid ER diagram of docs/schema.md: one entity per table, one line
per foreign key."""

from __future__ import annotations

import re

from runner.catalog import ForeignKey, Schema, Table

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


def _keys(table: Table) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for constraint in table.constraints:
        if constraint.kind == "p":
            for col in constraint.columns:
                keys.setdefault(col, []).append("PK")
    for fk in table.foreign_keys:
        for col in fk.columns:
            if "FK" not in keys.setdefault(col, []):
                keys[col].append("FK")
    return keys


def _entity(table: Table) -> list[str]:
    keys = _keys(table)
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


def diagram(schema: Schema, heading: str) -> list[str]:
    lines = [f"## {heading}", "",
             "One box per table (PK: primary key column, FK: foreign key column) and one line "
             "per foreign key, labelled with its name and drawn from the referenced table. "
             "At the referenced table, `||` means every row references one, `|o` that the "
             "foreign key columns are nullable; at the referencing table, `o{` means any "
             "number of rows, `o|` at most one (the columns are unique).", "",
             "```mermaid", "erDiagram"]
    for table in schema.tables.values():
        lines += _entity(table)
    lines += [relation(fk) for fk in schema.foreign_keys]
    return lines + ["```"]
