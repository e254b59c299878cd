"""Cases (认定, 绿色通道, 风险消除, 回退, 清退), their steps, and clues (线索)."""

from __future__ import annotations

from datetime import date
from typing import Optional

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Timestamps, Versioned


class Clue(Versioned, Timestamps, Base):
    __tablename__ = "clue"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[Optional[int]] = mapped_column(ForeignKey("household.id"), index=True)
    source: Mapped[str] = mapped_column(String(4))  # code list "clue_source"
    reported_on: Mapped[date] = mapped_column(Date)
    reporter: Mapped[Optional[str]] = mapped_column(String(64))
    description: Mapped[Optional[str]] = mapped_column(Text)
    outcome: Mapped[Optional[str]] = mapped_column(String(200))
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("case_.id"))


class Case(Versioned, Timestamps, Base):
    __tablename__ = "case_"  # "case" is an SQL keyword
    # One open case per household (the revisit after removal apart), and one open revisit: the database refuses a
    # second even when two seats open one at the same moment (services/workflow.py says so in Chinese first).
    __table_args__ = (
        Index("uq_case_open_household", "household_id", unique=True,
              sqlite_where=text("state = 'open' AND kind <> 'revisit'"),
              postgresql_where=text("state = 'open' AND kind <> 'revisit'")),
        Index("uq_case_open_household_kind", "household_id", "kind", unique=True,
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # identify, green, removal, rollback, clearout
    state: Mapped[str] = mapped_column(String(16), index=True)
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[Optional[date]] = mapped_column(Date)
    outcome: Mapped[Optional[str]] = mapped_column(String(16))
    end_reason: Mapped[Optional[str]] = mapped_column(String(200))
    data: Mapped[dict] = mapped_column(JSON, default=dict)  # kind-specific: removal way, document no …
    opened_by: Mapped[Optional[str]] = mapped_column(String(64))


class CaseStep(Versioned, Timestamps, Base):
    __tablename__ = "case_step"
    # One pending step per case: of two seats completing the same step at once, only one adds the next.
    __table_args__ = (Index("uq_case_step_pending", "case_id", unique=True, sqlite_where=text("done_on IS NULL"),
                            postgresql_where=text("done_on IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(32))
    done_on: Mapped[Optional[date]] = mapped_column(Date)
    due_on: Mapped[Optional[date]] = mapped_column(Date)
    actor: Mapped[Optional[str]] = mapped_column(String(64))
    result: Mapped[Optional[str]] = mapped_column(String(16))  # passed, failed, sent_back
    notes: Mapped[Optional[str]] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)  # meeting form, objections, document no …
    snapshot: Mapped[Optional[dict]] = mapped_column(JSON)  # frozen assessment the decision was based on
