"""The measures of a household's assistance plan (services.measures.measures)."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush

from ...services.measures import MeasureRow
from .case_table import GREEN, GREY, ORANGE, iso

_ROOT = QModelIndex()  # the invisible root: a flat table's rows have no parent

(COL_CATEGORY, COL_ITEM, COL_MEMBER, COL_START, COL_END, COL_AMOUNT, COL_UNIT, COL_DEVELOPMENTAL,
 COL_STATE) = range(9)
HEADERS = ("类别", "项目", "受益成员", "开始", "结束", "金额", "责任单位", "开发式", "状态")

ROW_ROLE = Qt.ItemDataRole.UserRole  # the MeasureRow
SORT_ROLE = Qt.ItemDataRole.UserRole + 1

_Index = QModelIndex | QPersistentModelIndex


def state_name(r: MeasureRow, as_of: date) -> str:
    if r.ended_on is not None and not r.active:
        return "已中止"
    if r.active:
        return "实施中"
    if r.start_date is not None and r.start_date > as_of:
        return "未开始"
    return "已结束"


def developmental_text(r: MeasureRow) -> str:
    return ("是" if r.developmental else "否") + ("（调整）" if r.overridden else "")


class MeasureTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[MeasureRow] = []
        self._as_of = date.today()

    def set_rows(self, rows: list[MeasureRow], as_of: date) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._as_of = as_of
        self.endResetModel()

    def rows(self) -> list[MeasureRow]:
        return list(self._rows)

    def measure(self, row: int) -> MeasureRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, measure_id: int) -> int | None:
        return next((i for i, r in enumerate(self._rows) if r.id == measure_id), None)

    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        col = index.column()
        if role == ROW_ROLE:
            return r
        state = state_name(r, self._as_of)
        if role == SORT_ROLE:
            values = (r.category, r.item, r.member_name, iso(r.start_date), iso(r.end_date),
                      float(r.amount) if r.amount is not None else -1.0, r.responsible_unit, r.developmental, state)
            return values[col]
        if role == Qt.ItemDataRole.DisplayRole:
            amount = f"{r.amount:,.2f}" if r.amount is not None else ""
            values = (r.category_name, r.item, r.member_name, iso(r.start_date), iso(r.end_date), amount,
                      r.responsible_unit, developmental_text(r), state)
            return values[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_DEVELOPMENTAL and r.overridden:
                return f"调整理由：{r.developmental_note}"
            if col == COL_STATE and r.ended_on is not None:
                return f"{r.ended_on} 中止：{r.ended_reason}"
            if col == COL_STATE and r.continues_after_removal:
                return "有期限的措施，风险消除后继续实施至结束"
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_STATE:
                return QBrush({"实施中": GREEN, "已中止": ORANGE}.get(state, GREY))
            if col == COL_DEVELOPMENTAL and r.developmental:
                return QBrush(GREEN)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == COL_AMOUNT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
