"""The platform's workload, one package for everything that sends the
platform's traffic: `make bench` (bench/), `schema rehearse`
(runner/rehearse/) and the tests that drive it (tests/soak.py,
tests/roles.py, tests/test_bench_queries.py).

- catalog.py, queries/*.sql: the query catalog, each query with the role
  that sends it, its acting user, the index its plan must use and how
  pgbench draws its parameters; the plan check.
- params.py: the :name parameters of the catalog's and the generator's SQL,
  and binding them.
- generate.py, generate/*.sql: the data generator, at a scale factor.
- mix.py: the mixed workload, the share of each query.
- clients.py: sending a statement as a role, for an acting user.

Imports psycopg and the standard library only, never runner/, bench/ or
tests/ (tests/test_layout.py checks it).
"""
