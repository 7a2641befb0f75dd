"""The schema's migration runner: a thin CLI around yoyo and an embedded PostgreSQL (15 to 18)."""
