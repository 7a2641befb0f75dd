"""The schema as one typed model: read_schema(conn) -> Schema.

queries.sql holds every read of pg_catalog, and decides once what belongs to
the project; reader.py runs them into the frozen dataclasses of model.py.
The checks (runner.checks), docs/schema.md (runner.docs) and the catalog
tests all use this model; verify's pg_dump comparison is runner.migrate.dump.

Imports runner.migrate.history only (the migrations a schema holds).
"""

from runner.catalog.model import (
    Column,
    Constraint,
    ForeignKey,
    Function,
    Grant,
    Index,
    Policy,
    Relation,
    Schema,
    Sequence,
    Table,
    Trigger,
    Type,
)
from runner.catalog.reader import (
    PRINT_SETTINGS,
    RUNNER_SCHEMA,
    YOYO_TABLES,
    count_large_objects,
    read_schema,
    read_sequences,
)

__all__ = [
    "PRINT_SETTINGS", "RUNNER_SCHEMA", "YOYO_TABLES", "Column", "Constraint", "ForeignKey",
    "Function", "Grant", "Index", "Policy", "Relation", "Schema", "Sequence", "Table", "Trigger",
    "Type", "count_large_objects", "read_schema", "read_sequences",
]
