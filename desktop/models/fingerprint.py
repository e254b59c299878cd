"""What the last import read of each household (issue 20): the fingerprint of its rows in the file, so that a
re-import of an unchanged county file need not read them in detail again (services/exchange/fingerprint.py)."""

from __future__ import annotations

from sqlalchemy import Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class ImportFingerprint(Base):
    """The households as the last import read them, packed into one value (fingerprint.pack: per household its
    number, id, 户编号 cell, digest, counts, members' ID numbers; zlib-compressed JSON by column) — a county's
    100,000 households are written and read back in a fraction of a second, not as 100,000 rows. Not a fact of the
    register: losing it only costs the next import its shortcut (every import writes it anew)."""

    __tablename__ = "import_fingerprint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
