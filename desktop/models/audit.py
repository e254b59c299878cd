"""Audit log: who changed what, when, from what to what. Written by services, never edited; chained."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # insert, update, event, import, login …
    table_name: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[Optional[int]] = mapped_column(Integer)
    household_id: Mapped[Optional[int]] = mapped_column(Integer, index=True)
    field: Mapped[Optional[str]] = mapped_column(String(64))
    old: Mapped[Optional[str]] = mapped_column(Text)
    new: Mapped[Optional[str]] = mapped_column(Text)
    # HMAC-SHA256 of the previous entry's chain value and this entry's content, keyed by a secret kept in the
    # database (services/audit.py): an entry edited, deleted or added outside the program breaks the chain.
    chain: Mapped[Optional[bytes]] = mapped_column(LargeBinary(32))
