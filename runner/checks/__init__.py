"""The checks over the live catalog and the SQL: the naming, type, comment
and index conventions (conventions.py, `schema conventions`), what breaks
logical replication (replication.py, `schema replication-check`), what
blocks distributing the tenant tables with Citus (citus.py, `schema
conventions --citus`), and squawk over the migrations (lint.py, `schema
lint`).

Imports the foundation and runner.catalog: each reads the schema through its
model.
"""
