"""Settings per year (SPEC §5) and township-wide settings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Optional

from sqlalchemy import JSON, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Money, Timestamps, Versioned


class YearSettings(Versioned, Timestamps, Base):
    __tablename__ = "year_settings"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitoring_line: Mapped[Optional[Decimal]] = mapped_column(Money)  # 监测线, yuan/person/year
    rural_average: Mapped[Optional[Decimal]] = mapped_column(Money)  # 当地农村人均纯收入
    county_income: Mapped[Optional[Decimal]] = mapped_column(Money)  # 县农村居民人均可支配收入
    period_start: Mapped[date] = mapped_column(Date)  # previous year 10-01
    period_end: Mapped[date] = mapped_column(Date)  # this year 09-30
    status_time_point: Mapped[date] = mapped_column(Date)  # 09-30 24:00
    thresholds: Mapped[dict] = mapped_column(JSON, default=dict)  # key-check thresholds (§6.3)


class AppSetting(Base):
    """Key/value settings of the installation: township name, current year, backup days."""

    __tablename__ = "app_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Optional[str]] = mapped_column(Text)
