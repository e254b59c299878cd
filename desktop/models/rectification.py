"""整改台账: each data-quality finding (SPEC §10) of a year and where its rectification stands, kept across check
runs. One row per (year, household, rule or code, member); services.rectification keeps it in step with the checks."""

from __future__ import annotations

from datetime import date
from typing import Optional

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Timestamps


class Rectification(Timestamps, Base):
    __tablename__ = "rectification"
    __table_args__ = (Index("ix_rectification_year_household", "year", "household_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    rule_key: Mapped[str] = mapped_column(String(32))  # the national rule number, else our code: what identifies it
    rule: Mapped[Optional[str]] = mapped_column(String(32))  # the national number (None for a check of our own)
    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    member_id_number: Mapped[Optional[str]] = mapped_column(String(32))  # None: the finding is about the household
    message: Mapped[str] = mapped_column(Text)  # as the latest check that found it worded it
    state: Mapped[str] = mapped_column(String(8))  # open 待整改, fixed 已整改, waived 无需整改
    reason: Mapped[Optional[str]] = mapped_column(Text)  # why 无需整改, or what was done
    decided_by: Mapped[Optional[str]] = mapped_column(String(64))  # user name; None when the checks moved it
    decided_on: Mapped[Optional[date]] = mapped_column(Date)
    decided_message: Mapped[Optional[str]] = mapped_column(Text)  # the message a person's decision was made on
    first_found_on: Mapped[date] = mapped_column(Date)
    last_found_on: Mapped[date] = mapped_column(Date)
    fixed_on: Mapped[Optional[date]] = mapped_column(Date)  # the check that no longer found it
    reopened: Mapped[int] = mapped_column(Integer, default=0)  # times it came back after 已整改
