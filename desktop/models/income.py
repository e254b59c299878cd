"""Income records: per household per year, optionally per quarter, with detail lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Optional

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Money, Timestamps, Versioned


class IncomeRecord(Versioned, Timestamps, Base):
    __tablename__ = "income_record"
    __table_args__ = (UniqueConstraint("household_id", "year", "quarter", "collected_on",
                                       name="uq_income_record_household_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    quarter: Mapped[Optional[int]] = mapped_column(Integer)  # None: the annual record
    collected_on: Mapped[Optional[date]] = mapped_column(Date)
    collected_by: Mapped[Optional[str]] = mapped_column(String(64))
    # 采集人、被采集人双签字 [002 §二]: NULL when not known (an import whose file does not say).
    signatures_collected: Mapped[Optional[bool]] = mapped_column(Boolean)
    size: Mapped[Optional[int]] = mapped_column(Integer)  # household size frozen when collected
    note: Mapped[Optional[str]] = mapped_column(String(200))
    origin: Mapped[Optional[str]] = mapped_column(String(8))  # entered, imported (NULL: before 0005)
    source_file: Mapped[Optional[str]] = mapped_column(String(260))  # the file an imported record came from
    recorded_by: Mapped[Optional[str]] = mapped_column(String(64))  # the user who entered or imported it


class IncomeLine(Base):
    __tablename__ = "income_line"
    # by record, carrying what assess sums (a record's lines are also looked up through it)
    __table_args__ = (Index("ix_income_line_record_item_amount", "record_id", "item", "amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("income_record.id"))
    item: Mapped[str] = mapped_column(String(4))  # A28 … A36
    line: Mapped[str] = mapped_column(String(64))  # e.g. 务工收入
    amount: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[Optional[str]] = mapped_column(String(200))
