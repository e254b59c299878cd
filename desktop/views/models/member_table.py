"""Editable table of a household's members: every field A5–A22 plus 残疾等级, 联系电话, the start dates of
低保 / 特困 / 大病或残疾 and the key-group facts 失业, 失能, 在外就读 (§6.3), and the member's
status (read-only: it changes through events). Cells with a validation problem are light red with
the message as tooltip; members no longer of status 正常 are greyed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor

from ...services.codes import codes
from ...services.idnumber import parse_id
from ...services.labels import field_info, field_label
from ...services.register import READ_ONLY_MEMBER, MemberData, Problem
from .base import ListTableModel

_ROOT = QModelIndex()  # the invisible root: a flat table's rows have no parent

FIELDS = ("name", "sex", "id_number", "birth_date", "relation", "ethnicity", "political", "education", "school",
          "school_absence_reason", "health", "disability_grade", "health_since", "labor", "work_region", "work_place",
          "work_months", "a17_medical", "a17_resident_medical", "a17_employee_medical", "a18_serious_illness",
          "a19_pension", "a19_employee_pension", "a20_dibao", "a20_dibao_since", "a21_tekun", "a21_tekun_since",
          "a22_relocated", "public_post_months", "unemployed", "incapacitated", "studying_away", "phone", "status",
          "status_date")
COL = {f: i for i, f in enumerate(FIELDS)}
KINDS = tuple(field_info("member", f)["kind"] for f in FIELDS)
HEADERS = tuple(field_label("member", f) for f in FIELDS)

ROW_ROLE = Qt.ItemDataRole.UserRole  # the MemberData of the row
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # native value

PROBLEM_BACKGROUND = QColor("#fde2e2")
INACTIVE_FOREGROUND = QColor("#8a8a8a")
READ_ONLY_BACKGROUND = QColor("#f3f3f3")

_Index = QModelIndex | QPersistentModelIndex


def date_from_text(text: str):
    """A typed date (2024-05-01, 2024/05/01, 2024.05.01) as a date; blank is None; anything else is kept
    as typed, for services.register.validate_member to name."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text.replace("/", "-").replace(".", "-"))
    except ValueError:
        return text


def display_value(kind: str | None, value) -> str:
    if value is None:
        return ""
    if kind == "bool":
        return "是" if value else "否"
    if isinstance(value, date):
        return value.isoformat()
    if kind in (None, "int", "date"):
        return str(value)
    return codes(kind).name(value, str(value))


class MemberTableModel(ListTableModel):
    HEADERS = HEADERS
    ROW_NUMBERS = True
    """Holds copies of the members; `members()` gives them back in table order."""

    membersEdited = Signal()  # any change made through the model (cells, rows, order)

    def __init__(self, members: list[MemberData] | None = None, parent=None):
        super().__init__(parent)
        self._members: list[MemberData] = [replace(m) for m in members or []]
        self._problems: dict[tuple[int, str], list[str]] = {}

    # ------------------------------------------------------------ contents

    def set_members(self, members: list[MemberData]) -> None:
        self.beginResetModel()
        self._members = [replace(m) for m in members]
        self._problems = {}
        self.endResetModel()

    def members(self) -> list[MemberData]:
        return [replace(m) for m in self._members]

    def member(self, row: int) -> MemberData:
        return self._members[row]

    def set_problems(self, problems: list[Problem]) -> None:
        """Mark cells named by member problems (those with a row)."""
        marks: dict[tuple[int, str], list[str]] = {}
        for p in problems:
            if p.row is not None and 0 <= p.row < len(self._members):
                fld = p.field if p.field in COL else "name"
                marks.setdefault((p.row, fld), []).append(p.message)
        if marks == self._problems:
            return
        touched = set(marks) | set(self._problems)
        self._problems = marks
        for row, fld in touched:
            if row < len(self._members):
                index = self.index(row, COL[fld])
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ToolTipRole])

    def problem_at(self, row: int, column: int) -> list[str]:
        return self._problems.get((row, FIELDS[column]), [])

    # ------------------------------------------------------------ rows

    def add_blank(self, **values) -> int:
        row = len(self._members)
        self.beginInsertRows(QModelIndex(), row, row)
        self._members.append(MemberData(**values))
        self.endInsertRows()
        self.membersEdited.emit()
        return row

    def remove_unsaved(self, row: int) -> bool:
        """Drop a row never saved (id None); saved members leave only through events."""
        if not 0 <= row < len(self._members) or self._members[row].id is not None:
            return False
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._members[row]
        self.endRemoveRows()
        self._problems = {}
        self.membersEdited.emit()
        return True

    def move_row(self, row: int, delta: int) -> int:
        """Move a row up (-1) or down (+1); returns its new row."""
        target = row + delta
        if not (0 <= row < len(self._members) and 0 <= target < len(self._members)) or delta == 0:
            return row
        # beginMoveRows wants the destination as the row *before which* to insert.
        dest = target + 1 if delta > 0 else target
        self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), dest)
        self._members.insert(target, self._members.pop(row))
        self.endMoveRows()
        self._problems = {}
        self.membersEdited.emit()
        return target

    # ------------------------------------------------------------ Qt model

    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._members)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if FIELDS[index.column()] in READ_ONLY_MEMBER:
            return base
        return base | Qt.ItemFlag.ItemIsEditable

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._members)):
            return None
        m = self._members[index.row()]
        fld, kind = FIELDS[index.column()], KINDS[index.column()]
        value = getattr(m, fld)
        if role == Qt.ItemDataRole.DisplayRole:
            return display_value(kind, value)
        if role == Qt.ItemDataRole.EditRole:
            return value
        if role == SORT_ROLE:
            return value
        if role == ROW_ROLE:
            return m
        if role == Qt.ItemDataRole.BackgroundRole:
            if (index.row(), fld) in self._problems:
                return PROBLEM_BACKGROUND
            if fld in READ_ONLY_MEMBER:
                return READ_ONLY_BACKGROUND
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            return INACTIVE_FOREGROUND if not m.current else None
        if role == Qt.ItemDataRole.ToolTipRole:
            messages = self._problems.get((index.row(), fld))
            if messages:
                return "\n".join(messages)
            if not m.current:
                when = f"（{m.status_date.isoformat()}）" if m.status_date else ""
                return f"该成员状态为“{codes('member_status').name(m.status, m.status)}”{when}，不计入家庭人口"
            if fld == "birth_date":
                return "由身份证号得出"
            if fld in READ_ONLY_MEMBER:
                return "成员状态通过“成员变更”登记"
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and kind == "int":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index: _Index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (role != Qt.ItemDataRole.EditRole or not index.isValid()
                or not self.flags(index) & Qt.ItemFlag.ItemIsEditable):
            return False
        fld, kind = FIELDS[index.column()], KINDS[index.column()]
        value = self._coerce(fld, kind, value)
        m = self._members[index.row()]
        if getattr(m, fld) == value:
            return True
        setattr(m, fld, value)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole])
        if fld == "id_number":  # the birth date the ID says
            born = self.index(index.row(), COL["birth_date"])
            self.dataChanged.emit(born, born, [Qt.ItemDataRole.DisplayRole])
        if fld == "id_number" and not m.sex:  # the sex the ID says (digit 17), when none was chosen yet
            info = parse_id(value)
            if info.error is None and info.sex:
                m.sex = info.sex
                sex = self.index(index.row(), FIELDS.index("sex"))
                self.dataChanged.emit(sex, sex, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole])
        self.membersEdited.emit()
        return True

    @staticmethod
    def _coerce(fld: str, kind: str | None, value):
        if isinstance(value, str):
            value = value.strip()
        if fld == "id_number":
            return (value or "").upper()
        if fld == "name":
            return value or ""
        if value == "" or value is None:
            return None
        if kind == "bool":
            if isinstance(value, str):
                return {"是": True, "否": False}.get(value)
            return bool(value)
        if kind == "int":
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
        if kind == "date" and isinstance(value, str):
            return date_from_text(value)
        if kind not in (None, "date") and isinstance(value, str) and value not in codes(kind):
            return codes(kind).code_of(value) or value  # a typed name becomes its code
        return value
