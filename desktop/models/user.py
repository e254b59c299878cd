"""Users and the villages a 村级录入员 may work on."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Timestamps


class User(Timestamps, Base):
    __tablename__ = "user_"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # admin, auditor, clerk
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login: Mapped[Optional[datetime]] = mapped_column(DateTime)


class UserVillage(Base):
    __tablename__ = "user_village"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_.id"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("region.id"), primary_key=True)


class LoginGuard(Base):
    """Failed log-ins in a row under one user name, typed as it was (known or not: an unknown name is
    delayed and locked exactly like a known one, so the answers do not tell which names exist)."""

    __tablename__ = "login_guard"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row since the last success or lock
    last_failed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)  # UTC
    retry_at: Mapped[Optional[datetime]] = mapped_column(DateTime)  # UTC: no attempt is checked before it
    locked_until: Mapped[Optional[datetime]] = mapped_column(DateTime)  # UTC
