"""Findings of the data-quality checks (SPEC §10): one row per finding. A proxy filters by code."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from ...services.checks import CODES, Finding
from .base import ListProxy, ListTableModel

COL_CODE, COL_TITLE, COL_NO, COL_ID_NUMBER, COL_MESSAGE = range(5)
HEADERS = ("规则编号", "问题", "户编号", "成员证件号码", "说明")  # the national number, never an internal code

ROW_ROLE = Qt.ItemDataRole.UserRole  # the Finding
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # native value of the cell
_CODE_ORDER = {c: i for i, c in enumerate(CODES)}

_Index = QModelIndex | QPersistentModelIndex


class FindingsTableModel(ListTableModel):
    HEADERS = HEADERS
    ROW_NUMBERS = True

    def set_findings(self, findings: list[Finding]) -> None:
        self.set_rows(findings)

    def findings(self) -> list[Finding]:
        return self.rows()

    def counts(self) -> Counter:
        """Findings per code."""
        return Counter(f.code for f in self._rows)

    def household_count(self) -> int:
        return len({f.household_no for f in self._rows})

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        f = self._rows[index.row()]
        col = index.column()
        if role == ROW_ROLE:
            return f
        if role == SORT_ROLE:
            if col == COL_CODE:
                return _CODE_ORDER.get(f.code, len(CODES))
            return (None, f.title, f.household_no, f.member_id_number or "", f.message)[col]
        if role == Qt.ItemDataRole.ToolTipRole and col == COL_MESSAGE:
            return f.message
        if role == Qt.ItemDataRole.ToolTipRole and col == COL_CODE:
            return "全国系统疑点规则编号" if _rule(f) else "本程序的检查（全国系统无对应编号）"
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return (_rule(f), f.title, f.household_no, f.member_id_number or "", f.message)[col]


def _rule(f: Finding) -> str:
    """The national rule number (SPEC §10: `rule`, none for the program's own checks)."""
    return getattr(f, "rule", None) or ""


class FindingsFilter(ListProxy):
    """Rows of one code (None: all), sortable by the native values of the source."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._code: str | None = None
        self.setSortRole(SORT_ROLE)

    def set_code(self, code: str | None) -> None:
        self.beginFilterChange()
        self._code = code
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def code(self) -> str | None:
        return self._code

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        if self._code is None:
            return True
        f = self.row(source_row)
        return f is not None and f.code == self._code
