"""The key-check list of a concentrated screening (集中排查): one row per listed household, with
every reason it is listed, and whether it has been visited. A proxy filters by reason and village."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from ...services.screening import OUTCOMES, REASONS, KeyCheck
from .base import ListProxy, ListTableModel

COL_NO, COL_HEAD, COL_VILLAGE, COL_REASONS, COL_VISITED, COL_OUTCOME = range(6)
HEADERS = ("户编号", "户主", "行政村", "排查原因", "走访日期", "排查结果")

ROW_ROLE = Qt.ItemDataRole.UserRole  # the KeyCheck
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # native value of the cell

_Index = QModelIndex | QPersistentModelIndex


class KeyCheckTableModel(ListTableModel):
    HEADERS = HEADERS
    ROW_NUMBERS = True

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[KeyCheck] = []
        self._villages: dict[int, str] = {}

    def set_rows(self, rows: list[KeyCheck], village_names: dict[int, str]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._villages = dict(village_names)
        self.endResetModel()

    def rows(self) -> list[KeyCheck]:
        return list(self._rows)

    def village_name(self, village_id: int) -> str:
        return self._villages.get(village_id, "")

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        k = self._rows[index.row()]
        col = index.column()
        if role == ROW_ROLE:
            return k
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_REASONS:
                return "\n".join(k.reason_texts)
            if col == COL_OUTCOME and k.note:
                return k.note
            return None
        if role == SORT_ROLE:
            return (k.household_no, k.head_name, self.village_name(k.village_id), len(k.reasons),
                    k.visited_on.isoformat() if k.visited_on else "", OUTCOMES.get(k.outcome, k.outcome or ""))[col]
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if col == COL_NO:
            return k.household_no
        if col == COL_HEAD:
            return k.head_name
        if col == COL_VILLAGE:
            return self.village_name(k.village_id)
        if col == COL_REASONS:
            return "；".join(k.reason_texts)
        if col == COL_VISITED:
            return k.visited_on.isoformat() if k.visited_on else "未走访"
        if col == COL_OUTCOME:
            outcome = OUTCOMES.get(k.outcome, k.outcome or "")
            return f"{outcome}（{k.note}）" if outcome and k.note else outcome
        return None


class KeyCheckFilter(ListProxy):
    """Rows with a given reason (a key of screening.REASONS) in a given village; None means any."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._reason: str | None = None
        self._village: int | None = None
        self._visited: bool | None = None
        self.setSortRole(SORT_ROLE)

    def set_reason(self, reason: str | None) -> None:
        if reason is not None and reason not in REASONS:
            raise KeyError(reason)
        self.beginFilterChange()
        self._reason = reason
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_village(self, village_id: int | None) -> None:
        self.beginFilterChange()
        self._village = village_id
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_visited(self, visited: bool | None) -> None:
        self.beginFilterChange()
        self._visited = visited
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_all(self, reason: str | None, village_id: int | None, visited: bool | None) -> None:
        """The three filters at once: one pass over the rows, not three."""
        if reason is not None and reason not in REASONS:
            raise KeyError(reason)
        if (reason, village_id, visited) == (self._reason, self._village, self._visited):
            return
        self.beginFilterChange()
        self._reason, self._village, self._visited = reason, village_id, visited
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        k = self.row(source_row)
        if k is None:
            return False
        if self._reason is not None and self._reason not in k.reasons:
            return False
        if self._village is not None and k.village_id != self._village:
            return False
        if self._visited is not None and (k.visited_on is not None) != self._visited:
            return False
        return True
