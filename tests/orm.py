"""The platform's application as a SQLAlchemy 2 developer writes it.

The models User, Session, License, Model and Job are declared by hand, as in
the application; the acting user of each transaction is named by a session
event (after_begin calls set_acting_user), the only way row-level security
accepts. tests/test_orm.py drives these models through PgBouncer as the
real logins, and also reflects the same tables with automap, as a tool
that builds its relationships from the catalog's foreign keys would.
"""

from __future__ import annotations

import uuid
import warnings
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Integer,
    LargeBinary,
    SmallInteger,
    Text,
    create_engine,
    event,
    exc,
    text,
)
from sqlalchemy.dialects.postgresql import ENUM, JSONB, UUID
from sqlalchemy.engine import Engine
from sqlalchemy.ext.automap import automap_base
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    mapped_column,
    relationship,
    sessionmaker,
)
from sqlalchemy.types import TIMESTAMP

TZ = TIMESTAMP(timezone=True)
CORE = ["users", "sessions", "licenses", "models", "jobs"]


# The schema's enum types as the application declares them (a test checks
# them against the catalog): the ORM names each type, never creates it.
ENUMS = {
    "user_status": ("pending", "active", "suspended", "deleted"),
    "license_plan": ("trial", "starter", "professional", "enterprise", "education"),
    "license_status": ("pending", "active", "suspended", "expired", "cancelled"),
    "model_type": ("part", "assembly", "sketch", "drawing", "mesh"),
    "model_file_format": ("fcstd", "step", "iges", "stl", "obj", "3mf", "dxf", "brep"),
    "job_type": ("model_generate", "model_import", "cam_toolpath", "gcode_post", "simulation",
                 "thumbnail", "export"),
    "job_status": ("pending", "queued", "running", "succeeded", "failed", "cancelled",
                   "timed_out"),
}


def enum(name: str) -> ENUM:
    return ENUM(*ENUMS[name], name=name, create_type=False)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    email: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(enum("user_status"), server_default="pending")
    company_name: Mapped[str | None] = mapped_column(Text)
    tax_office: Mapped[str | None] = mapped_column(Text)


class Session(Base):
    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    refresh_token_hash: Mapped[bytes] = mapped_column(LargeBinary)
    access_token_jti: Mapped[uuid.UUID] = mapped_column(UUID)
    expires_at: Mapped[datetime] = mapped_column(TZ)
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)


class License(Base):
    __tablename__ = "licenses"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    plan: Mapped[str] = mapped_column(enum("license_plan"))
    status: Mapped[str] = mapped_column(enum("license_status"))
    starts_at: Mapped[datetime] = mapped_column(TZ)
    ends_at: Mapped[datetime] = mapped_column(TZ)
    seats: Mapped[int] = mapped_column(Integer, server_default="1")


class Model(Base):
    """One version of a CAD model. `parent` is the relationship of the key
    fk_models_parent_model_id: attaching a version to its parent copies the
    parent's id, user_id and version into parent_model_id, user_id and
    parent_version, and the schema checks that version is one more."""

    __tablename__ = "models"
    __table_args__ = (
        ForeignKeyConstraint(["parent_model_id", "user_id", "parent_version"],
                             ["models.id", "models.user_id", "models.version"]),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(enum("model_type"))
    file_format: Mapped[str] = mapped_column(enum("model_file_format"))
    storage_key: Mapped[str] = mapped_column(Text)
    sha256: Mapped[bytes] = mapped_column(LargeBinary)
    file_size: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    parent_model_id: Mapped[int | None] = mapped_column(BigInteger)
    parent_version: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict | None] = mapped_column(JSONB)
    metrics: Mapped[dict | None] = mapped_column(JSONB)
    thumbnail_key: Mapped[str | None] = mapped_column(Text)

    parent: Mapped[Model | None] = relationship(
        remote_side=[id, user_id, version],
        foreign_keys=[parent_model_id, user_id, parent_version])


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        ForeignKeyConstraint(["model_id", "user_id"], ["models.id", "models.user_id"]),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    model_id: Mapped[int | None] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(enum("job_type"))
    status: Mapped[str] = mapped_column(enum("job_status"), server_default="pending")
    priority: Mapped[int] = mapped_column(SmallInteger, server_default="5")
    input_params: Mapped[dict | None] = mapped_column(JSONB)
    result: Mapped[dict | None] = mapped_column(JSONB)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    celery_task_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    progress: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    started_at: Mapped[datetime | None] = mapped_column(TZ)
    finished_at: Mapped[datetime | None] = mapped_column(TZ)

    model: Mapped[Model | None] = relationship(
        foreign_keys=[model_id, user_id])


def act_for_user(session, transaction, connection) -> None:
    """after_begin: name the acting user of the transaction that begins, the
    one session.info["user_id"] holds (none before sign-in)."""
    user_id = session.info.get("user_id")
    if user_id is not None:
        connection.execute(text("SELECT set_acting_user(:user_id)"), {"user_id": user_id})


def engine(url: str, pool_size: int = 2) -> Engine:
    """An engine as the application configures it behind PgBouncer in
    transaction mode: no server-side prepared statements."""
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(url, pool_size=pool_size, max_overflow=0,
                         connect_args={"prepare_threshold": None})


def sessions(bind: Engine) -> sessionmaker:
    """The application's session factory: every transaction acts for the
    user its session names."""
    factory = sessionmaker(bind, expire_on_commit=False)
    event.listen(factory, "after_begin", act_for_user)
    return factory


def automapped(bind: Engine):
    """The five tables reflected with automap: classes and relationships made
    from the catalog's foreign keys. SQLAlchemy warns that the tenant keys
    overlap on user_id (each composite key shares it with fk_*_user_id),
    which is the design: every one of them copies the same owner."""
    base = automap_base()
    base.metadata.reflect(bind, only=CORE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exc.SAWarning)
        base.prepare()
        base.registry.configure()
    return base.classes
