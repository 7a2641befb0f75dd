"""The :name parameters of the catalog's and the generator's SQL, and binding them."""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

# A :name parameter in a generator or catalog file; '::' casts are not.
PARAMETER = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


def bind(text: str, values: dict, conn: psycopg.Connection) -> str:
    """The SQL text with every :name replaced by the literal of values[name]."""
    def literal(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"no value for :{name}: pass it in the parameters")
        return sql.Literal(values[name]).as_string(conn)
    return PARAMETER.sub(literal, text)
