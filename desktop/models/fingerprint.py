"""What the last import read of each household (issue 20): the fingerprint of its rows in the file, so that a
re-import of an unchanged county file need not read them in detail again (services/exchange/fingerprint.py)."""

from __future__ import annotations

from typing import Optional

from sqlalchemy import Boolean, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class ImportFingerprint(Base):
    """One household as the last import read it. Not a fact of the register: losing it only costs the next
    import its shortcut (it is rebuilt by every import)."""

    __tablename__ = "import_fingerprint"

    household_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    household_id: Mapped[int] = mapped_column(Integer)
    rawkey: Mapped[bytes] = mapped_column(LargeBinary)  # the 户编号 cell as the file's XML holds it
    digest: Mapped[bytes] = mapped_column(LargeBinary(16))  # of its rows, on every sheet, in order
    noted: Mapped[bool] = mapped_column(Boolean)  # the import said something about it (never skipped)
    members: Mapped[int] = mapped_column(Integer)  # its member rows (the preview's and summary's counts)
    measures: Mapped[int] = mapped_column(Integer)
    lines: Mapped[int] = mapped_column(Integer)
    income: Mapped[bool] = mapped_column(Boolean)
    ids: Mapped[Optional[str]] = mapped_column(Text)  # its members' ID numbers, living ones marked with *
