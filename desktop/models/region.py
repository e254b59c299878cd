"""Region hierarchy: 省 › 市 › 县 › 乡镇 › 行政村 › 自然村/村民小组."""

from __future__ import annotations

from typing import Optional

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Timestamps, Versioned

LEVELS = ("province", "city", "county", "township", "village", "group")


class Region(Versioned, Timestamps, Base):
    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("region.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    code: Mapped[Optional[str]] = mapped_column(String(12))  # 12-digit statistical division code
    rural_population: Mapped[Optional[int]] = mapped_column(Integer)  # villages: 农村户籍人口 (2% ratio)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
