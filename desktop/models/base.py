"""Declarative base and column types shared by all tables."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, text
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CENT = Decimal("0.01")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Money(TypeDecorator):
    """Exact yuan amounts stored as integer fen; Python side is Decimal with 2 places.

    SQLite has no decimal type (Numeric goes through float), so whole fen in a BIGINT is the
    only exact storage that also works unchanged on PostgreSQL.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, Decimal):
            value = Decimal(str(value))
        return int((value.quantize(CENT, rounding=ROUND_HALF_UP) * 100).to_integral_value())

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Versioned:
    """A record people edit from several seats (the county edition): `version` goes up by one with every UPDATE and
    the UPDATE names the version it read (SQLAlchemy's version_id_col), so of two saves of the same read the second
    changes nothing and fails (services/concurrency.py says who changed what, in Chinese). Rows written in bulk
    without it start at 1."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:  # noqa: N805 (SQLAlchemy's declared_attr)
        return {"version_id_col": cls.__table__.c.version}
