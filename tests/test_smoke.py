from tests import rows


def test_every_builder_makes_a_valid_row(db):
    owner = rows.user(db)
    rows.session(db, owner)
    rows.license(db, owner)
    model_id = rows.model(db, owner)
    rows.job(db, owner, model_id=model_id)
    counts = db.execute(
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM sessions),"
        " (SELECT count(*) FROM licenses), (SELECT count(*) FROM models),"
        " (SELECT count(*) FROM jobs)"
    ).fetchone()
    assert counts == (1, 1, 1, 1, 1)


def test_each_test_gets_a_fresh_clone(db):
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 0
