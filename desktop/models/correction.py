"""Corrections (更正), voided cases (作废) and closed households (户注销): each a dated record with its reason,
who made it, and the value it replaced. The corrected row itself changes too (and is audited as every change);
this table is the case's and the household's visible history of why."""

from __future__ import annotations

from datetime import date
from typing import Optional

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Timestamps


class Correction(Timestamps, Base):
    __tablename__ = "correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("case_.id"), index=True)
    step_id: Mapped[Optional[int]] = mapped_column(ForeignKey("case_step.id"))
    clue_id: Mapped[Optional[int]] = mapped_column(ForeignKey("clue.id"))
    kind: Mapped[str] = mapped_column(String(16))  # step, opened, clue, void, close, reopen
    field: Mapped[Optional[str]] = mapped_column(String(64))  # done_on, notes, opened_on, data key …
    old: Mapped[Optional[str]] = mapped_column(Text)
    new: Mapped[Optional[str]] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    made_on: Mapped[date] = mapped_column(Date)  # the day of the correction (the user's today)
    made_by: Mapped[str] = mapped_column(String(64))  # user name
    seq: Mapped[int] = mapped_column(Integer, default=0)  # order of the fields of one correction
