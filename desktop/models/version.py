"""The data version: one row, bumped by every transaction that writes (services.dataversion)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class DataVersion(Base):
    """version counts the transactions that wrote; stamp is a random number drawn at each bump, so a
    database restored from a backup and written again never repeats a (version, stamp) seen before."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    stamp: Mapped[int] = mapped_column(BigInteger, default=0)
