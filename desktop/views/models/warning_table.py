"""预警中心 tables: the warning rows of services.warnings.dashboard (filterable by kind) and the
villages with their ratio of monitored persons (SPEC §6.2)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor

from ...services import rules
from ...services.warnings import TITLES, WarningRow
from .base import ListProxy, ListTableModel
from .case_table import GREY, ORANGE, RED, iso

ROW_ROLE = Qt.ItemDataRole.UserRole
SORT_ROLE = Qt.ItemDataRole.UserRole + 1

COLOURS = {"红": QColor("#c62828"), "黄": QColor("#b7791f"), "蓝": QColor("#1565c0")}
# Kinds whose due date is a deadline (days > 0: late; ≤ 0: days left). Colour rows carry the
# identification date instead, and removal rows have none.
DEADLINE_KINDS = {"overdue", "due_soon", "plan_overdue", "revisit_due", "green_near"}

_Index = QModelIndex | QPersistentModelIndex


# ---------------------------------------------------------------- warning rows

(COL_KIND, COL_NO, COL_HEAD, COL_VILLAGE, COL_WHAT, COL_DUE, COL_DAYS) = range(7)
_KIND_ORDER = {k: i for i, k in enumerate(TITLES)}


def days_text(r: WarningRow) -> str:
    if r.kind not in DEADLINE_KINDS or r.days is None:
        return ""
    if r.days > 0:
        return f"逾期 {r.days} 天"
    if r.days == 0:
        return "今天到期"
    return f"还剩 {-r.days} 天"


class WarningTableModel(ListTableModel):
    HEADERS = ("类型", "户编号", "户主", "行政村", "事项", "期限", "逾期天数")

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        r: WarningRow | None = self._row(index)
        if r is None:
            return None
        col = index.column()
        if role == ROW_ROLE:
            return r
        deadline = r.kind in DEADLINE_KINDS
        if role == SORT_ROLE:
            days = r.days if deadline and r.days is not None else -10**6
            return (_KIND_ORDER.get(r.kind, 99), r.household_no, r.head_name, r.village, r.what,
                    iso(r.due_on) if deadline else "", days)[col]
        if role == Qt.ItemDataRole.DisplayRole:
            return (TITLES.get(r.kind, r.kind), r.household_no, r.head_name, r.village, r.what,
                    iso(r.due_on) if deadline else "", days_text(r))[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_WHAT:
                return r.what
            return "双击打开流程" if r.case_id is not None else "双击打开该户"
        if role == Qt.ItemDataRole.ForegroundRole:
            late = deadline and r.days is not None and r.days > 0
            if col in (COL_DUE, COL_DAYS) and late:
                return QBrush(RED)
            if col == COL_DAYS and deadline:
                return QBrush(ORANGE)
            if r.kind == "colour" and col in (COL_KIND, COL_WHAT):
                colour = next((c for name, c in COLOURS.items() if r.what.startswith(name)), None)
                return QBrush(colour) if colour else None
        if role == Qt.ItemDataRole.TextAlignmentRole and col == COL_DAYS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class WarningFilter(ListProxy):
    """Rows of one kind (None: all), sorted by the native values of the source."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._kind: str | None = None
        self.setSortRole(SORT_ROLE)

    def set_kind(self, kind: str | None) -> None:
        self.beginFilterChange()
        self._kind = kind
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def kind(self) -> str | None:
        return self._kind

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        if self._kind is None:
            return True
        r = self.row(source_row)
        return r is not None and r.kind == self._kind


# ---------------------------------------------------------------- villages

(V_NAME, V_PERSONS, V_POPULATION, V_RATIO, V_FLAGGED) = range(5)


def ratio_text(v: rules.VillageRatio) -> str:
    return "" if v.ratio is None else f"{v.ratio * 100:.2f}%"


class VillageTableModel(ListTableModel):
    HEADERS = ("村", "人数", "农村户籍人口", "比例", "超过2%")

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        v: rules.VillageRatio | None = self._row(index)
        if v is None:
            return None
        col = index.column()
        if role == ROW_ROLE:
            return v
        if role == SORT_ROLE:
            return (v.village, v.persons, v.population if v.population is not None else -1,
                    float(v.ratio) if v.ratio is not None else -1.0, v.flagged)[col]
        if role == Qt.ItemDataRole.DisplayRole:
            population = "未填" if not v.population else str(v.population)
            return (v.village, str(v.persons), population, ratio_text(v), "是" if v.flagged else "否")[col]
        if role == Qt.ItemDataRole.ForegroundRole:
            if v.flagged and col in (V_RATIO, V_FLAGGED, V_NAME):
                return QBrush(RED)
            if not v.population and col in (V_POPULATION, V_RATIO):
                return QBrush(GREY)
        if role == Qt.ItemDataRole.ToolTipRole:
            if not v.population:
                return "未填农村户籍人口，无法计算比例：请在“村组管理”中填写"
            return "未消除风险的监测对象人数（不含整户无劳动能力兜底保障户）÷ 农村户籍人口"
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (V_PERSONS, V_POPULATION, V_RATIO):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
