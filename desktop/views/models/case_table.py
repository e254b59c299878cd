"""Cases (services.workflow.cases) and the timeline of one case (CaseView.steps), as table models.

Overdue deadlines are red; the pending step of a timeline is highlighted."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from ...services.workflow import CaseRow, ClueRow, StepView
from .base import ListTableModel

ROW_ROLE = Qt.ItemDataRole.UserRole  # the CaseRow / StepView
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # native value of the cell (dates as ISO text)

RED = QColor("#c62828")
ORANGE = QColor("#b45309")
GREY = QColor("#6b7280")
GREEN = QColor("#2e7d32")
PENDING_BACKGROUND = QColor("#fff4cc")

_Index = QModelIndex | QPersistentModelIndex


def iso(d: date | None) -> str:
    return d.isoformat() if d else ""


def _bold() -> QFont:
    font = QFont()
    font.setBold(True)
    return font


# ---------------------------------------------------------------- the case list

(COL_ID, COL_KIND, COL_NO, COL_HEAD, COL_VILLAGE, COL_OPENED, COL_STEP, COL_DUE, COL_STATE) = range(9)


class CaseTableModel(ListTableModel):
    HEADERS = ("编号", "类型", "户编号", "户主", "行政村", "发起日期", "当前步骤", "期限", "状态")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._as_of: date | None = None

    def set_rows(self, rows: list[CaseRow], as_of: date) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._as_of = as_of
        self.endResetModel()

    def row_of(self, case_id: int) -> int | None:
        return next((i for i, r in enumerate(self._rows) if r.id == case_id), None)

    def case_id(self, row: int) -> int | None:
        return self._rows[row].id if 0 <= row < len(self._rows) else None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        r: CaseRow | None = self._row(index)
        if r is None:
            return None
        col = index.column()
        if role == ROW_ROLE:
            return r
        values = (r.id, r.kind_name, r.household_no, r.head_name, r.village, r.opened_on, r.step, r.due_on,
                  r.state_name)
        if role == SORT_ROLE:
            v = values[col]
            return iso(v) if isinstance(v, date) or v is None else v
        if role == Qt.ItemDataRole.DisplayRole:
            v = values[col]
            return iso(v) if isinstance(v, date) or v is None else str(v)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_DUE and r.overdue:
                return QBrush(RED)
            if r.failed:
                return QBrush(GREY)
        if role == Qt.ItemDataRole.FontRole and col == COL_DUE and r.overdue:
            return _bold()
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_DUE and r.overdue and self._as_of and r.due_on:
                return f"已逾期 {(self._as_of - r.due_on).days} 天"
            if col == COL_STEP:
                return r.step
        if role == Qt.ItemDataRole.TextAlignmentRole and col == COL_ID:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


# ---------------------------------------------------------------- the timeline of one case

(STEP_SEQ, STEP_NAME, STEP_DUE, STEP_DONE, STEP_ACTOR, STEP_RESULT, STEP_NOTES) = range(7)
RESULT_COLOURS = {"failed": RED, "sent_back": ORANGE, "passed": GREEN}


def step_details(step: StepView, field_names: dict[str, str]) -> str:
    """The notes of a step with the data recorded on it (meeting form, publicity period, document number…)."""
    parts = []
    data = dict(step.data)
    start, end = data.pop("publicity_start", None), data.pop("publicity_end", None)
    if start:
        parts.append(f"公示期 {start} 至 {end}" if end else f"公示自 {start} 起")
    for key, value in data.items():
        name = field_names.get(key, key)
        if value is True:
            parts.append(name)
        elif value is False:
            parts.append(f"{name}：否")
        else:
            parts.append(f"{name}：{value}")
    if step.notes:
        parts.append(step.notes)
    return "；".join(parts)


class StepTableModel(ListTableModel):
    HEADERS = ("序号", "步骤", "期限", "办理日期", "办理人", "结果", "说明")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._as_of: date | None = None
        self._field_names: dict[str, str] = {}
        self._value_names: dict[tuple[str, str], str] = {}
        self._corrected: dict[int, list[str]] = {}  # step seq → the texts of its corrections

    def set_corrections(self, corrected: dict[int, list[str]]) -> None:
        """Mark corrected steps (更正): "〔已更正〕" after the details, the old values in the tooltip."""
        self._corrected = dict(corrected)
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(self.HEADERS) - 1))

    def set_steps(self, steps: list[StepView], as_of: date, field_names: dict[str, str] | None = None,
                  value_names: dict[tuple[str, str], str] | None = None,
                  upcoming: list[StepView] | None = None) -> None:
        """field_names: data key → label; value_names: (key, code) → shown name (e.g. category codes);
        upcoming: the steps still to come (workflow.upcoming), shown greyed after the recorded ones."""
        self.beginResetModel()
        self._rows = list(steps) + list(upcoming or [])
        self._as_of = as_of
        self._field_names = dict(field_names or {})
        self._value_names = dict(value_names or {})
        self._corrected = {}
        self.endResetModel()

    def step(self, row: int) -> StepView | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def pending_row(self) -> int | None:
        return next((i for i, s in enumerate(self._rows) if s.done_on is None and s.seq), None)

    @staticmethod
    def is_upcoming(step: StepView) -> bool:
        return step.seq == 0

    def details(self, s: StepView) -> str:
        shown = {k: self._value_names.get((k, v), v) if isinstance(v, str) else v for k, v in s.data.items()}
        return step_details(StepView(s.seq, s.key, s.name, s.due_on, s.done_on, s.actor, s.result, s.notes, shown,
                                     s.snapshot, s.overdue), self._field_names)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        s: StepView | None = self._row(index)
        if s is None:
            return None
        col = index.column()
        upcoming = self.is_upcoming(s)
        pending = s.done_on is None and not upcoming
        if role == ROW_ROLE:
            return s
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            result = "未开始" if upcoming else s.result_name
            details = self.details(s) + ("〔已更正〕" if s.seq in self._corrected and not upcoming else "")
            values = ("" if upcoming else s.seq, s.name, iso(s.due_on), iso(s.done_on), s.actor or "", result,
                      details)
            v = values[col]
            return v if role == SORT_ROLE else str(v)
        # An upcoming step whose deadline has passed will be late: red as well.
        late = s.overdue or (upcoming and s.due_on is not None and self._as_of is not None
                             and self._as_of > s.due_on)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == STEP_DUE and late:
                return QBrush(RED)
            if upcoming:
                return QBrush(GREY)
            if col == STEP_RESULT:
                colour = RESULT_COLOURS.get(s.result or "")
                return QBrush(colour) if colour else None
        if role == Qt.ItemDataRole.BackgroundRole and pending:
            return QBrush(PENDING_BACKGROUND)
        if role == Qt.ItemDataRole.FontRole and (pending or (col == STEP_DUE and late)):
            return _bold()
        if role == Qt.ItemDataRole.ToolTipRole:
            if upcoming:
                return f"尚未开始，应于 {s.due_on} 前完成" if s.due_on else "尚未开始"
            if col == STEP_DUE and s.overdue and s.due_on:
                end = s.done_on or self._as_of
                if end is not None:
                    return f"逾期 {(end - s.due_on).days} 天" + ("办理" if s.done_on else "，尚未办理")
            if s.seq in self._corrected and not upcoming:
                return "\n".join(["更正记录："] + self._corrected[s.seq])
            if col == STEP_NOTES:
                return self.details(s) or None
            if s.snapshot and not pending:
                return "选中可查看决定时冻结的测算"
        if role == Qt.ItemDataRole.TextAlignmentRole and col == STEP_SEQ:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None


# ---------------------------------------------------------------- clues

(CLUE_DATE, CLUE_SOURCE, CLUE_NO, CLUE_HEAD, CLUE_VILLAGE, CLUE_TEXT, CLUE_OUTCOME) = range(7)


class ClueTableModel(ListTableModel):
    HEADERS = ("日期", "来源", "户编号", "户主", "行政村", "线索内容", "处理情况")

    def set_rows(self, rows: list[ClueRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        c: ClueRow | None = self._row(index)
        if c is None:
            return None
        col = index.column()
        if role == ROW_ROLE:
            return c
        outcome = c.outcome or ("待处理" if c.case_id is None else "")
        if c.case_id is not None:
            outcome = f"{outcome}（流程 #{c.case_id}）" if outcome else f"流程 #{c.case_id}"
        values = (iso(c.reported_on), c.source_name, c.household_no or "（未对应登记户）", c.head_name, c.village,
                  c.description, outcome)
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            return values[col]
        if role == Qt.ItemDataRole.ToolTipRole and col in (CLUE_TEXT, CLUE_OUTCOME):
            return values[col] or None
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == CLUE_OUTCOME and c.case_id is None:
                return QBrush(ORANGE)
            if col == CLUE_NO and not c.household_no:
                return QBrush(GREY)
        return None
