"""The schema's migration runner: a thin CLI around yoyo and the embedded PostgreSQL 17."""
