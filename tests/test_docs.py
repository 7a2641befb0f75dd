"""docs/schema.md: generated from the catalog of the migrated schema, committed,
and kept up to date.

The committed file must equal runner.docs.render() of the template database
built by the migrations. What the file must mention is read here from
pg_catalog, not from runner.docs or runner.catalog, so that a table, column,
enum value, index or constraint added later is covered without editing this
test.
"""

from __future__ import annotations

import difflib
import re

import psycopg
import pytest

from runner import catalog, cli, config, docs
from runner.errors import RunnerError
from runner.migrate import commands

COMMITTED = config.REPO / "docs" / "schema.md"
STALE = "docs/schema.md is out of date: run `make docs` and commit it"
MAX_DIFF_LINES = 40

RELATION = re.compile(r'^    (\S+) (\|\||\|o)--(o\{|o\|) (\S+) : "([^"]+)"$')
ENTITY = re.compile(r"^    (\S.*) \{$")

# -- what pg_catalog holds ------------------------------------------------------------

TABLES = """
SELECT c.oid, c.relname FROM pg_class AS c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition AND c.relname <> ALL (%s)
"""
COLUMNS = """
SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped
"""
INDEXES = """
SELECT i.relname FROM pg_index AS x JOIN pg_class AS i ON i.oid = x.indexrelid
WHERE x.indrelid = %s
"""
# NOT NULL is a column's nullability; 18 also lists it here (contype 'n').
CONSTRAINTS = "SELECT conname FROM pg_constraint WHERE conrelid = %s AND contype <> 'n'"
FOREIGN_KEYS = """
SELECT con.conname, c.relname, f.relname FROM pg_constraint AS con
JOIN pg_class AS c ON c.oid = con.conrelid JOIN pg_class AS f ON f.oid = con.confrelid
WHERE con.contype = 'f' AND c.relnamespace = 'public'::regnamespace
"""
ENUMS = """
SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
FROM pg_type AS t JOIN pg_enum AS e ON e.enumtypid = t.oid
WHERE t.typnamespace = 'public'::regnamespace GROUP BY t.typname
"""


def _names(conn: psycopg.Connection, query: str, *params) -> list[str]:
    return [row[0] for row in conn.execute(query, params)]


def live_catalog(conn: psycopg.Connection) -> dict:
    tables = {}
    for oid, name in conn.execute(TABLES, (list(catalog.YOYO_TABLES),)).fetchall():
        tables[name] = {"columns": _names(conn, COLUMNS, oid),
                        "indexes": _names(conn, INDEXES, oid),
                        "constraints": _names(conn, CONSTRAINTS, oid)}
    return {"tables": tables,
            "enums": dict(conn.execute(ENUMS).fetchall()),
            "foreign_keys": conn.execute(FOREIGN_KEYS).fetchall()}


@pytest.fixture(scope="module")
def template(migrated_proc):
    """render() twice and the live catalog, of the template the migrations built.
    The connection is closed at once: an open one would stop the template's cloning."""
    with psycopg.connect(host=migrated_proc.host, port=migrated_proc.port,
                         user=migrated_proc.user, dbname=migrated_proc.template_dbname) as conn:
        return {"markdown": docs.render(conn), "again": docs.render(conn),
                "catalog": live_catalog(conn)}


# -- reading the Markdown ---------------------------------------------------------------

def sections(markdown: str) -> dict[str, str]:
    """### heading -> its text up to the next heading."""
    parts = re.split(r"^#{2,3} (.+)$", markdown, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def mermaid(markdown: str) -> list[str]:
    blocks = re.findall(r"^```mermaid\n(.*?)^```$", markdown, flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, "expected exactly one mermaid block"
    lines = blocks[0].splitlines()
    assert lines[0] == "erDiagram"
    return lines


def relations(markdown: str) -> list[tuple[str, ...]]:
    return [tuple(name.strip('"') if i in (0, 3) else name for i, name in enumerate(m.groups()))
            for m in map(RELATION.match, mermaid(markdown)) if m]


def entities(markdown: str) -> list[str]:
    return [m[1].strip('"') for m in map(ENTITY.match, mermaid(markdown)) if m]


# -- the committed file --------------------------------------------------------------------

def test_committed_docs_match_the_migrated_schema(template):
    expected = template["markdown"]
    committed = COMMITTED.read_bytes().decode("utf-8") if COMMITTED.exists() else ""
    if committed.encode() == expected.encode():
        return
    diff = list(difflib.unified_diff(
        committed.splitlines(), expected.splitlines(),
        fromfile="docs/schema.md (committed)", tofile="docs/schema.md (from the migrations)",
        lineterm="", n=1))
    if not diff:
        diff = ["(the files differ only in line endings or a final newline)"]
    elif len(diff) > MAX_DIFF_LINES:
        diff = diff[:MAX_DIFF_LINES] + [f"... and {len(diff) - MAX_DIFF_LINES} more diff lines"]
    pytest.fail(STALE + "\n" + "\n".join(diff), pytrace=False)


def test_render_is_deterministic(template):
    assert template["markdown"] == template["again"]


def test_render_mentions_every_table_column_index_and_constraint(template):
    found = sections(template["markdown"])
    assert template["catalog"]["tables"], "the migrations built no table"
    for table, parts in template["catalog"]["tables"].items():
        section = found.get(f"Table `{table}`")
        assert section is not None, f"no section for table {table}"
        for column in parts["columns"]:
            assert f"\n| `{column}` |" in section, f"column {table}.{column} missing"
        for name in parts["indexes"] + parts["constraints"]:
            assert f"`{name}`" in section, f"index or constraint {name} missing from {table}"


def test_render_lists_every_enum_value_in_order(template):
    found = sections(template["markdown"])
    assert template["catalog"]["enums"], "the migrations built no enum type"
    for enum, values in template["catalog"]["enums"].items():
        section = found.get(f"Enum `{enum}`")
        assert section is not None, f"no section for enum type {enum}"
        listed = re.search(r"^Values, in sort order: (.*)\.$", section, flags=re.MULTILINE)
        assert listed and listed[1] == ", ".join(f"`{v}`" for v in values), enum


def test_table_of_contents_links_every_section(template):
    markdown = template["markdown"]
    anchors = set(re.findall(r"\]\(#([^)]+)\)", markdown))
    headings = {docs.slug(h) for h in sections(markdown)}
    assert anchors and anchors <= headings
    for table in template["catalog"]["tables"]:
        assert f"#table-{table}" in markdown


def test_diagram_has_one_entity_per_table_and_one_relation_per_foreign_key(template):
    markdown = template["markdown"]
    assert sorted(entities(markdown)) == sorted(template["catalog"]["tables"])
    drawn = {(name, child, parent) for parent, _, _, child, name in relations(markdown)}
    assert len(relations(markdown)) == len(template["catalog"]["foreign_keys"])
    assert drawn == set(template["catalog"]["foreign_keys"])


def test_diagram_cardinalities_follow_nullability_and_uniqueness(template):
    drawn = {name: (left, right) for _, left, right, _, name in relations(template["markdown"])}
    assert drawn["fk_sessions_user_id"] == ("||", "o{")  # NOT NULL, many sessions per user
    assert drawn["fk_jobs_model_id"] == ("|o", "o{")  # nullable
    assert drawn["fk_models_parent_model_id"] == ("|o", "o|")  # nullable and unique


def test_pipes_and_backticks_in_definitions_stay_inside_their_cell(template):
    row = next(line for line in template["markdown"].splitlines()
               if line.startswith("| `ck_users_email_format` |"))
    assert "{\\|}" in row and "``CHECK" in row
    assert len(re.findall(r"(?<!\\)\|", row)) == 4  # three cells


# -- a schema the migrations do not build yet -----------------------------------------------

NEW_TABLE = """
CREATE TABLE api_keys (
    id bigint GENERATED ALWAYS AS IDENTITY,
    user_id bigint NOT NULL,
    revoked_by bigint,
    label text NOT NULL DEFAULT 'a|b',
    CONSTRAINT pk_api_keys PRIMARY KEY (id),
    CONSTRAINT fk_api_keys_user_id FOREIGN KEY (user_id) REFERENCES users (id)
        ON DELETE CASCADE,
    CONSTRAINT fk_api_keys_revoked_by FOREIGN KEY (revoked_by) REFERENCES users (id)
        ON DELETE SET NULL,
    CONSTRAINT ck_api_keys_label_length CHECK (char_length(label) <= 100)
) WITH (fillfactor = 90);
CREATE INDEX idx_api_keys_user_id ON api_keys (user_id) WHERE revoked_by IS NULL;
COMMENT ON TABLE api_keys IS 'API keys a user made for scripts.';
COMMENT ON COLUMN api_keys.label IS 'Shown to the user; may hold a | pipe.';
"""


def test_a_new_table_is_documented(db):
    db.execute(NEW_TABLE)
    search_path = db.execute("SHOW search_path").fetchone()[0]
    markdown = docs.render(db)
    assert db.execute("SHOW search_path").fetchone()[0] == search_path  # settings put back
    section = sections(markdown)["Table `api_keys`"]
    assert "API keys a user made for scripts." in section
    assert "Storage parameters: `fillfactor=90`." in section
    assert ("| `label` | `text` | no | `'a\\|b'::text` | Shown to the user; may hold a \\| pipe. |"
            in section)
    assert "| `fk_api_keys_user_id` | `user_id` | `users.id` | CASCADE | NO ACTION |" in section
    assert ("| `fk_api_keys_revoked_by` | `revoked_by` | `users.id` | SET NULL | NO ACTION |"
            in section)
    assert "`revoked_by IS NULL`" in section and "`ck_api_keys_label_length`" in section
    assert "[`api_keys`](#table-api_keys)" in markdown
    assert ("users", "||", "o{", "api_keys", "fk_api_keys_user_id") in relations(markdown)
    assert ("users", "|o", "o{", "api_keys", "fk_api_keys_revoked_by") in relations(markdown)
    assert "api_keys" in entities(markdown)
    assert "`api_keys.user_id` (`fk_api_keys_user_id`)" in sections(markdown)["Table `users`"]


def test_owner_and_grants_are_documented_per_table(db):
    db.execute("CREATE TABLE audit_probe (id bigint PRIMARY KEY, note text, secret text)")
    db.execute("COMMENT ON TABLE audit_probe IS 'Probe.'")
    db.execute("ALTER TABLE audit_probe OWNER TO cadcam_owner")
    db.execute("GRANT SELECT, INSERT ON audit_probe TO cadcam_app")
    db.execute("GRANT SELECT (id, note) ON audit_probe TO cadcam_readonly")
    section = docs.render(db).split("### Table `audit_probe`")[1].split("### ")[0]
    assert "**Privileges (owner `cadcam_owner`)**" in section
    assert "| `cadcam_app` | SELECT, INSERT | all |" in section
    assert "| `cadcam_readonly` | SELECT | `id`, `note` |" in section
    assert "secret`" not in section.split("**Privileges")[1]


def test_mermaid_names_and_types_are_single_words():
    assert docs.mermaid_type("timestamp with time zone") == "timestamptz"
    assert docs.mermaid_type("timestamp(3) without time zone") == "timestamp(3)"
    assert docs.mermaid_type("character varying(255)[]") == "varchar(255)[]"
    assert docs.mermaid_type("numeric(10,2)") == "numeric"
    assert docs.mermaid_type("double precision") == "float8"
    assert docs.mermaid_entity("users") == "users"
    assert docs.mermaid_entity("tokens") == '"tokens"'  # `to` is a Mermaid keyword
    assert docs.mermaid_attribute("pk") == "pk_"


def test_code_spans_hold_any_backticks_and_control_characters():
    assert docs.code("a`b") == "``a`b``"
    assert docs.code("`x") == "`` `x ``"
    assert docs.sql_code("CHECK (x =\nCASE WHEN y = ' \t\n' THEN 1 END)") == (
        "`CHECK (x = CASE WHEN y = ' \\t\\n' THEN 1 END)`")


# -- generate() and the command line --------------------------------------------------------

def scratch_databases(pg_server) -> list[str]:
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        return _names(conn, "SELECT datname FROM pg_database WHERE datname LIKE %s", "%\\_docs\\_%")


def test_generate_builds_from_the_migrations_and_drops_its_scratch_database(
        pg_server, template, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", pg_server.url("postgres"))
    output = tmp_path / "docs" / "schema.md"
    counts = docs.generate(output, out=lambda _: None)
    assert output.read_bytes() == template["markdown"].encode()
    assert counts == (len(template["catalog"]["tables"]), len(template["catalog"]["enums"]))
    assert scratch_databases(pg_server) == []


def test_generate_drops_its_scratch_database_when_migrating_fails(
        pg_server, tmp_path, monkeypatch):
    def fail(url, **_):
        raise RunnerError("migration failed on purpose")

    monkeypatch.setenv("DATABASE_URL", pg_server.url("postgres"))
    monkeypatch.setattr(commands, "migrate", fail)
    output = tmp_path / "schema.md"
    with pytest.raises(RunnerError, match="on purpose"):
        docs.generate(output, out=lambda _: None)
    assert not output.exists()
    assert scratch_databases(pg_server) == []


def test_the_docs_command_prints_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(docs, "generate", lambda output, out=print: (5, 9))
    assert cli.main(["docs", "docs/schema.md"]) == 0
    assert capsys.readouterr().out == "wrote docs/schema.md (5 tables, 9 enum types)\n"
