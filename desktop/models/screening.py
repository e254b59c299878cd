"""集中排查 visits (§6.3) and the 脱贫不享受政策 facts recorded per household (§6.4)."""

from __future__ import annotations

from datetime import date
from typing import Optional

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Timestamps


class ScreeningVisit(Timestamps, Base):
    __tablename__ = "screening_visit"
    __table_args__ = (UniqueConstraint("household_id", "year", name="uq_screening_visit_household_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    visited_on: Mapped[Optional[date]] = mapped_column(Date)
    visited_by: Mapped[Optional[str]] = mapped_column(String(64))
    outcome: Mapped[Optional[str]] = mapped_column(String(16))  # no_risk, clue, already_monitored, other
    note: Mapped[Optional[str]] = mapped_column(Text)


class PolicyFacts(Timestamps, Base):
    """Yes/no facts for the 脱贫不享受政策 criteria 2–8 and exceptions 2 and 4 (seed 004 annex 2)."""

    __tablename__ = "policy_facts"
    __table_args__ = (UniqueConstraint("household_id", "year", name="uq_policy_facts_household_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    facts: Mapped[dict] = mapped_column(JSON, default=dict)  # {"c2": true, …, "e2": false, "e4": true}
    note: Mapped[Optional[str]] = mapped_column(Text)
