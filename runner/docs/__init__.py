"""Generated schema documentation: docs/schema.md, rendered from the live catalog.

`make docs` (`schema docs`) builds the schema from every migration in a
scratch database (on the server of DATABASE_URL, else on the embedded one),
reads its catalog into the Schema model (runner.catalog), renders it as
Markdown (render.py, with markdown.py and mermaid.py) and drops the scratch
database again, so the file never depends on the state of a developer's
database. tests/test_docs.py fails when the committed file is out of date.

Imports the foundation, runner.catalog, runner.migrate (to build the schema)
and runner.servers (the embedded server to build it on).
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from runner import config
from runner.catalog import read_schema
from runner.docs.markdown import cell, code, link, md_table, one_line, prose, slug, sql_code
from runner.docs.mermaid import mermaid_attribute, mermaid_entity, mermaid_type, relation
from runner.docs.render import format_markdown
from runner.migrate import commands
from runner.scratch import scratch_database
from runner.servers import server

DEFAULT_OUTPUT = config.REPO / "docs" / "schema.md"

__all__ = [
    "DEFAULT_OUTPUT", "build", "cell", "code", "format_markdown", "generate", "link",
    "md_table", "mermaid_attribute", "mermaid_entity", "mermaid_type", "one_line", "prose",
    "relation", "render", "slug", "sql_code",
]


def render(conn: psycopg.Connection) -> str:
    """Markdown documentation of schema public of the connected database."""
    return format_markdown(read_schema(conn))


def _write(output: Path, text: str) -> None:
    """Write the file whole or not at all."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    partial.write_text(text, encoding="utf-8", newline="\n")
    partial.replace(output)


def build(url: str, output: Path) -> tuple[int, int]:
    """Write render() of the database at url to output; returns (tables, enum types)."""
    with psycopg.connect(config.libpq_url(url), autocommit=True) as conn:
        schema = read_schema(conn)
    _write(Path(output), format_markdown(schema))
    return len(schema.tables), len(schema.enums)


def generate(output: Path, out=print) -> tuple[int, int]:
    """Build the schema from every migration in a scratch database next to the
    target database (DATABASE_URL, else the embedded server's), document it in
    output, and drop the scratch database, also on failure."""
    with scratch_database(server.database_url(out=out), "docs") as scratch_url:
        commands.migrate(scratch_url, out=lambda _: None)
        return build(scratch_url, output)
