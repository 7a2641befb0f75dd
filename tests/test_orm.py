"""A real ORM client: the application and its workers as SQLAlchemy 2 code
(tests/orm.py), through PgBouncer in transaction mode, as the logins of
cadcam_app and cadcam_worker.

From sign-up to a finished job; two users in two threads through one pool,
each blind to the other's rows and refused when it reaches for them; the
worker's claim with with_for_update(skip_locked=True); per-user idempotency
keys; and the same flows with classes that automap reflects from the
catalog, a new version attached to its parent through the relationship
automap builds from fk_models_parent_model_id.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from sqlalchemy import exc, func, select, update

from runner.migrate import commands
from tests import orm, rows
from tests.cli import quiet
from tests.orm import Job, License, Model, Session, User

NOW = datetime.now(timezone.utc)


@pytest.fixture
def app(pooler, db):
    """The application's session factory, through the pooler as cadcam_app."""
    bind = orm.engine(pooler.url(db.info.dbname, "app"))
    yield orm.sessions(bind)
    bind.dispose()


@pytest.fixture
def worker(pooler, db):
    """A Celery worker's session factory, through the pooler as cadcam_worker
    (a worker acts for no user)."""
    bind = orm.engine(pooler.url(db.info.dbname, "worker"))
    yield orm.sessions(bind)
    bind.dispose()


def sign_up(app, email: str) -> int:
    """register_user() before there is an acting user, as the sign-up
    endpoint calls it; the account is then activated as its own user."""
    with app() as s, s.begin():
        user_id = s.scalar(select(func.register_user(email, rows.ARGON2ID_HASH)))
    with app(info={"user_id": user_id}) as s, s.begin():
        s.get(User, user_id).status = "active"
    return user_id


def upload(s, user_id: int, name: str, parent: Model | None = None, **over) -> Model:
    n = uuid.uuid4().hex
    model = Model(user_id=user_id, name=name, type="part", file_format="fcstd",
                  storage_key=f"models/{user_id}/{n}.FCStd", sha256=os.urandom(32),
                  file_size=2048, **over)
    if parent is not None:
        model.parent, model.version = parent, parent.version + 1
    s.add(model)
    s.flush()
    return model


def claim(worker) -> int | None:
    """The worker's claim as SQLAlchemy code: the most urgent queued job no
    other worker holds, marked running in the same transaction."""
    with worker() as s, s.begin():
        job = s.scalars(select(Job).where(Job.status == "queued")
                        .order_by(Job.priority, Job.id).limit(1)
                        .with_for_update(skip_locked=True)).first()
        if job is None:
            return None
        job.status, job.started_at = "running", func.now()
        job.celery_task_id = uuid.uuid4()
        return job.id


def test_from_sign_up_to_a_finished_job(app, worker):
    user_id = sign_up(app, "ayse.kaya@example.com.tr")
    with app(info={"user_id": user_id}) as s, s.begin():
        s.get(User, user_id).company_name = "Kaya Kalıp"
        s.add(Session(user_id=user_id, refresh_token_hash=hashlib.sha256(b"r1").digest(),
                      access_token_jti=uuid.uuid4(), expires_at=NOW + timedelta(days=30)))
        s.add(License(user_id=user_id, plan="professional", status="active",
                      starts_at=NOW, ends_at=NOW + timedelta(days=30)))
        root = upload(s, user_id, "Flanş")
        second = upload(s, user_id, "Flanş", parent=root)
        job = Job(user_id=user_id, model_id=second.id, type="cam_toolpath", status="queued",
                  idempotency_key="flans-v2-toolpath", input_params={"tool": "T1"})
        s.add(job)
    assert (second.version, second.parent_model_id, second.parent_version) == (2, root.id, 1)

    assert claim(worker) == job.id
    with worker() as s, s.begin():
        running = s.get(Job, job.id)
        assert running.model.name == "Flanş"  # the worker reads its job's model
        running.progress = 50
    with worker() as s, s.begin():
        done = s.get(Job, job.id)
        done.status, done.progress, done.finished_at = "succeeded", 100, func.now()
        done.result = {"gcode": f"results/{job.id}.nc"}
    assert claim(worker) is None

    with app(info={"user_id": user_id}) as s:
        finished = s.get(Job, job.id)
        assert (finished.status, finished.progress) == ("succeeded", 100)
        assert s.scalar(select(func.count()).select_from(Model)) == 2


def test_the_orm_enums_are_the_catalogs(db):
    for name, values in orm.ENUMS.items():
        labels = db.execute("SELECT enumlabel FROM pg_enum WHERE enumtypid = %s::regtype"
                            " ORDER BY enumsortorder", (name,)).fetchall()
        assert tuple(label for (label,) in labels) == values, name


def test_no_acting_user_sees_nothing(app, db, a):
    with app() as s:
        counts = [s.scalar(select(func.count()).select_from(cls))
                  for cls in (User, Session, License, Model, Job)]
    assert counts == [0, 0, 0, 0, 0]


def test_two_users_in_two_threads_through_one_pool(pooler, db):
    """Two users' requests interleave on one pool of two connections (and
    PgBouncer's server connections): each sees only its own rows, and every
    reach for the other's is refused, in every transaction."""
    bind = orm.engine(pooler.url(db.info.dbname, "app"), pool_size=2)
    app = orm.sessions(bind)
    users = [sign_up(app, f"thread{n}@example.com") for n in (1, 2)]
    models = {}
    for user_id in users:
        with app(info={"user_id": user_id}) as s, s.begin():
            models[user_id] = upload(s, user_id, f"Parça {user_id}").id
    rounds, barrier, failures = 20, threading.Barrier(2), []

    def requests(me: int, other: int) -> None:
        try:
            for _ in range(rounds):
                barrier.wait(timeout=30)
                with app(info={"user_id": me}) as s, s.begin():
                    assert s.scalars(select(Model.id)).all() == [models[me]]
                    assert s.get(Model, models[other]) is None
                    hidden = s.execute(update(Model).where(Model.id == models[other])
                                       .values(name="taken"))
                    assert hidden.rowcount == 0
                with pytest.raises(exc.ProgrammingError, match="row-level security"):
                    with app(info={"user_id": me}) as s, s.begin():
                        s.add(Job(user_id=other, type="cam_toolpath"))
                with pytest.raises(exc.IntegrityError, match="fk_jobs_model_id"):
                    with app(info={"user_id": me}) as s, s.begin():
                        s.add(Job(user_id=me, model_id=models[other], type="cam_toolpath"))
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)
            barrier.abort()

    threads = [threading.Thread(target=requests, args=pair)
               for pair in ((users[0], users[1]), (users[1], users[0]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bind.dispose()
    assert failures == []
    with psycopg.connect(pooler.url(db.info.dbname, "admin"), prepare_threshold=None) as conn:
        names = conn.execute("SELECT name FROM models ORDER BY id").fetchall()
    assert [n for (n,) in names] == [f"Parça {u}" for u in users]


def test_idempotency_keys_are_per_user(app):
    first, second = (sign_up(app, f"key{n}@example.com") for n in (1, 2))
    for user_id in (first, second):
        with app(info={"user_id": user_id}) as s, s.begin():
            s.add(Job(user_id=user_id, type="cam_toolpath", idempotency_key="shared-doc"))
    with pytest.raises(exc.IntegrityError, match="uq_jobs_idempotency_key_user_id") as info:
        with app(info={"user_id": second}) as s, s.begin():
            s.add(Job(user_id=second, type="cam_toolpath", idempotency_key="shared-doc"))
    assert info.value.orig.diag.message_detail is None  # no row's values in the error
    # Insert, else fetch by key: the repeat finds the user's own job.
    with app(info={"user_id": second}) as s:
        found = s.scalars(select(Job).where(Job.idempotency_key == "shared-doc")).all()
    assert [job.user_id for job in found] == [second]


def test_claims_of_two_workers_skip_each_others_rows(app, worker):
    user_id = sign_up(app, "queue@example.com")
    with app(info={"user_id": user_id}) as s, s.begin():
        for priority in (3, 5):
            s.add(Job(user_id=user_id, type="cam_toolpath", status="queued", priority=priority))
    with worker() as first, first.begin():
        held = first.scalars(select(Job).where(Job.status == "queued")
                             .order_by(Job.priority, Job.id).limit(1)
                             .with_for_update(skip_locked=True)).one()
        other = claim(worker)  # another worker, while the first holds its row
        assert other is not None and other != held.id
        held.status, held.started_at = "running", func.now()


def test_automap_classes_run_the_same_flows(pooler, db, app, worker):
    """Classes and relationships reflected from the catalog: a new version is
    attached to its parent through the relationship automap builds from
    fk_models_parent_model_id, which writes parent_version."""
    user_id = sign_up(app, "automap@example.com")
    bind = orm.engine(pooler.url(db.info.dbname, "app"))
    classes = orm.automapped(bind)
    factory = orm.sessions(bind)
    with factory(info={"user_id": user_id}) as s, s.begin():
        root = classes.models(user_id=user_id, name="Gövde", type="part", file_format="step",
                              storage_key=f"models/{user_id}/govde-1.step",
                              sha256=os.urandom(32), file_size=4096)
        child = classes.models(name="Gövde", type="part", file_format="step", version=2,
                               storage_key=f"models/{user_id}/govde-2.step",
                               sha256=os.urandom(32), file_size=4096)
        child.models = root  # the many-to-one relationship of the lineage key
        s.add_all([root, child])
        s.flush()
        s.add(classes.jobs(user_id=user_id, model_id=child.id, type="cam_toolpath",
                           status="queued"))
    assert (child.user_id, child.parent_model_id, child.parent_version) == (user_id, root.id, 1)
    assert claim(worker) is not None
    with factory(info={"user_id": user_id}) as s:
        lineage = s.get(classes.models, child.id)
        assert lineage.models.id == root.id and lineage.models_collection == []
        assert [m.id for m in s.get(classes.models, root.id).models_collection] == [child.id]
    bind.dispose()


def test_the_lineage_relationship_failed_before_0035(pooler, db, app):
    """On the schema before 0035 (parent_version GENERATED ALWAYS) the
    relationship automap builds could not attach a version to its parent."""
    direct = f"postgresql://{db.info.user}@{db.info.host}:{db.info.port}/{db.info.dbname}"
    commands.rollback(direct, to="0034_comments_set_acting_user", out=quiet)
    user_id = sign_up(app, "before@example.com")
    bind = orm.engine(pooler.url(db.info.dbname, "app"))
    classes = orm.automapped(bind)
    with pytest.raises(exc.ProgrammingError, match="parent_version"):
        with orm.sessions(bind)(info={"user_id": user_id}) as s, s.begin():
            root = classes.models(user_id=user_id, name="Eski", type="part", file_format="step",
                                  storage_key="models/eski-1.step", sha256=os.urandom(32),
                                  file_size=1)
            child = classes.models(name="Eski", type="part", file_format="step", version=2,
                                   storage_key="models/eski-2.step", sha256=os.urandom(32),
                                   file_size=1)
            child.models = root
            s.add_all([root, child])
    bind.dispose()
