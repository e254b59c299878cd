"""The register table at county scale: the model keeps only the ordered list of household ids
(filtered and sorted in SQL) and loads display rows lazily, a page at a time (Anki's browser model)."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from ...services import register
from ...services.context import AppContext
from ...services.register import HouseholdFilter, HouseholdRow
from .base import ListTableModel

_ROOT = QModelIndex()  # the invisible root: a flat table's rows have no parent

(COL_NO, COL_VILLAGE, COL_GROUP, COL_HEAD, COL_SIZE, COL_PHONE, COL_STATUS, COL_CATEGORY, COL_ALLEVIATED,
 COL_IDENTIFIED) = range(10)
HEADERS = ("户编号", "行政村", "村民小组", "户主", "人数", "联系电话", "监测状态", "监测对象类别", "脱贫户",
           "识别监测时间")
# Sort key understood by services.register.household_ids, per column.
SORT_KEYS = ("household_no", "village", "group", "head_name", "size", "phone", "status", "category",
             "poverty_alleviated", "identified_on")
# A typical widest value per column, to size columns without reading every row.
SAMPLES = ("3703050010010001", "某某某某村", "第十二村民小组", "欧阳某某", "人数", "13800000000", "已消除风险",
           "突发严重困难户", "脱贫户", "2024-12-31")
_ATTRS = ("household_no", "village", "group", "head_name", "size", "phone", "status", "category",
          "poverty_alleviated", "identified_on")

ROW_ROLE = Qt.ItemDataRole.UserRole  # the household id
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # native value of the cell
PAGE_SIZE = 200
CLOSED_GREY = QColor("#9ca3af")
MAX_PAGES = 100  # pages kept in memory (20,000 rows); older ones are read again when needed

_Index = QModelIndex | QPersistentModelIndex
_YES_NO = {True: "是", False: "否", None: "不详"}  # None: the register does not know (an import that did not say)


class HouseholdTableModel(ListTableModel):
    HEADERS = HEADERS
    ROW_NUMBERS = True
    countChanged = Signal(int)

    def __init__(self, ctx: AppContext, flt: HouseholdFilter | None = None, parent=None, *, load: bool = True):
        super().__init__(parent)
        self.ctx = ctx
        self._filter = flt or HouseholdFilter()
        self._sort = "household_no"
        self._sort_column = COL_NO
        self._descending = False
        self._ids: list[int] = []
        self._row_of: dict[int, int] | None = None
        self._pages: OrderedDict[int, dict[int, HouseholdRow]] = OrderedDict()
        if load:
            self._query()

    # ------------------------------------------------------------ queries

    def _query(self) -> None:
        self._ids = self.ctx.read(register.household_ids, self._filter, self._sort, self._descending)
        self._row_of = None
        self._pages.clear()

    def _reload(self) -> None:
        self.beginResetModel()
        self._query()
        self.endResetModel()
        self.countChanged.emit(len(self._ids))

    def set_filter(self, flt: HouseholdFilter) -> None:
        self._filter = flt
        self._reload()

    def filter(self) -> HouseholdFilter:
        return self._filter

    def refresh(self) -> None:
        """Read ids and rows again (after a save, or F5)."""
        self._reload()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(SORT_KEYS):
            return
        self._sort_column = column
        self._sort = SORT_KEYS[column]
        self._descending = order == Qt.SortOrder.DescendingOrder
        self._reload()

    def sort_state(self) -> tuple[int, Qt.SortOrder]:
        return self._sort_column, (Qt.SortOrder.DescendingOrder if self._descending else Qt.SortOrder.AscendingOrder)

    # ------------------------------------------------------------ rows

    def count(self) -> int:
        return len(self._ids)

    def household_id(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, household_id: int) -> int | None:
        if self._row_of is None:
            self._row_of = {hid: i for i, hid in enumerate(self._ids)}
        return self._row_of.get(household_id)

    def row(self, row: int) -> HouseholdRow | None:
        if not 0 <= row < len(self._ids):
            return None
        page = row // PAGE_SIZE
        rows = self._pages.get(page)
        if rows is None:
            ids = self._ids[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
            rows = {r.id: r for r in self.ctx.read(register.household_rows, ids)}
            self._pages[page] = rows
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page)
        return rows.get(self._ids[row])

    # ------------------------------------------------------------ Qt model

    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        if role == ROW_ROLE:
            return self._ids[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col in (COL_SIZE, COL_ALLEVIATED):
                return int(Qt.AlignmentFlag.AlignCenter)
            return None
        if role == Qt.ItemDataRole.ForegroundRole:  # a closed household (户注销) is greyed
            r = self.row(index.row())
            return QBrush(CLOSED_GREY) if r is not None and r.closed else None
        if role not in (Qt.ItemDataRole.DisplayRole, SORT_ROLE, Qt.ItemDataRole.ToolTipRole):
            return None
        r = self.row(index.row())
        if r is None:
            return None
        value = getattr(r, _ATTRS[col])
        if role == SORT_ROLE:
            return value
        if col == COL_ALLEVIATED:
            return _YES_NO[value]
        if col == COL_SIZE:
            return str(value)
        if isinstance(value, date):
            return value.isoformat()
        if role == Qt.ItemDataRole.ToolTipRole and col not in (COL_HEAD, COL_VILLAGE, COL_GROUP):
            return None
        return value or ""
