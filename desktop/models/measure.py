"""Assistance measures (帮扶措施, A39–A52)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Optional

from sqlalchemy import Boolean, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Money, Timestamps, Versioned


class Measure(Versioned, Timestamps, Base):
    __tablename__ = "measure"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("case_.id"))
    # The person a measure is for (公益岗位 holder, trainee, pupil); None for the whole household.
    member_id: Mapped[Optional[int]] = mapped_column(ForeignKey("member.id"))
    category: Mapped[str] = mapped_column(String(4))  # A39 … A52
    item: Mapped[Optional[str]] = mapped_column(String(64))
    start_date: Mapped[Optional[date]] = mapped_column(Date)
    end_date: Mapped[Optional[date]] = mapped_column(Date)
    amount: Mapped[Optional[Decimal]] = mapped_column(Money)
    responsible_unit: Mapped[Optional[str]] = mapped_column(String(100))
    # None: the default of SPEC §3 for the item; True/False: overridden, with a note.
    developmental_override: Mapped[Optional[bool]] = mapped_column(Boolean)
    developmental_note: Mapped[Optional[str]] = mapped_column(String(200))
    raises_working_ability: Mapped[bool] = mapped_column(Boolean, default=False)  # 技能培训 only
    ended_on: Mapped[Optional[date]] = mapped_column(Date)
    ended_reason: Mapped[Optional[str]] = mapped_column(String(200))
