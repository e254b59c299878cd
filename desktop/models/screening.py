"""集中排查 visits (§6.3). (The 脱贫不享受政策 facts of §6.4 are columns of the household.)"""

from __future__ import annotations

from datetime import date
from typing import Optional

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Timestamps, Versioned


class ScreeningVisit(Versioned, Timestamps, Base):
    __tablename__ = "screening_visit"
    __table_args__ = (UniqueConstraint("household_id", "year", name="uq_screening_visit_household_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    visited_on: Mapped[Optional[date]] = mapped_column(Date)
    visited_by: Mapped[Optional[str]] = mapped_column(String(64))
    outcome: Mapped[Optional[str]] = mapped_column(String(16))  # no_risk, clue, already_monitored, other
    note: Mapped[Optional[str]] = mapped_column(Text)
