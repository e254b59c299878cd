"""The 数据质量 page's tables: the 整改台账 entries (services.rectification.Entry, one row a finding) and the rules
they fall under with counts. The national number and the Chinese title come first, never an internal code."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ...services.rectification import FIXED, OPEN, WAIVED, Entry
from .base import ListTableModel

(COL_RULE, COL_TITLE, COL_VILLAGE, COL_NO, COL_HEAD, COL_MEMBER, COL_STATE, COL_MESSAGE, COL_REASON,
 COL_DECIDER) = range(10)
HEADERS = ("规则编号", "问题", "行政村", "户编号", "户主", "成员", "整改状态", "说明", "整改说明或理由", "决定人")

ROW_ROLE = Qt.ItemDataRole.UserRole  # the Entry (or RuleCount)
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # native value of the cell
STATE_COLOURS = {OPEN: QColor("#c62828"), FIXED: QColor("#2e7d32"), WAIVED: QColor("#6d6d6d")}

_Index = QModelIndex | QPersistentModelIndex


def _member(e: Entry) -> str:
    """The member's name (the ID number in the tooltip), or the ID number when no member of the household holds it."""
    return e.member_name or e.member_id_number or ""


class LedgerTableModel(ListTableModel):
    HEADERS = HEADERS
    ROW_NUMBERS = True
    SORT_ROLE = SORT_ROLE

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        e = self._row(index)
        if e is None:
            return None
        col = index.column()
        if role == ROW_ROLE:
            return e
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(e, col)
        if role == SORT_ROLE:
            return self.sort_value(e, col)
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_STATE:
            return STATE_COLOURS.get(e.state)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_MESSAGE:
                return e.message
            if col == COL_RULE:
                return "全国系统疑点规则编号" if e.rule else "本程序的检查（全国系统无对应编号）"
            if col == COL_MEMBER and e.member_id_number:
                return e.member_id_number
            if col == COL_STATE and e.changed:
                return f"决定时的说明：{e.decided_message}"
            if col == COL_REASON and e.reason:
                return e.reason
        return None

    def sort_value(self, e: Entry, col: int):
        if col == COL_RULE:
            return e.rule_key if e.rule else f"~{e.rule_key}"  # national numbers first, ours after
        return self._text(e, col)

    @staticmethod
    def _text(e: Entry, col: int) -> str:
        if col == COL_STATE:
            extra = "（情况有变化）" if e.changed else f"（第 {e.reopened} 次重新出现）" if e.reopened and \
                e.is_open else ""
            return e.state_name + extra
        if col == COL_DECIDER:
            return f"{e.decider} {e.decided_on}" if e.decided_on else ""
        return (e.rule or "", e.title, e.village, e.household_no, e.head_name, _member(e), "", e.message,
                e.reason or "", "")[col]

    def replace(self, updated: list[Entry]) -> None:
        """Entries changed by a decision, put in place (rows stay where they are)."""
        by_id = {e.id: e for e in updated}
        for i, e in enumerate(self._rows):
            if e.id in by_id:
                self._rows[i] = by_id[e.id]
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(HEADERS) - 1))


@dataclass(frozen=True)
class RuleCount:
    key: str | None  # None: every rule
    rule: str
    title: str
    findings: int
    households: int
    open: int


R_RULE, R_TITLE, R_COUNT, R_HOUSEHOLDS, R_OPEN = range(5)


class RuleTableModel(ListTableModel):
    """The rules with findings among the entries shown (the first row: all of them)."""

    HEADERS = ("规则编号", "问题", "条数", "户数", "待整改")
    SORT_ROLE = SORT_ROLE

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        r = self._row(index)
        if r is None:
            return None
        col = index.column()
        if role == ROW_ROLE:
            return r
        values = (r.rule, r.title, r.findings, r.households, r.open)
        if role == SORT_ROLE:
            return (0 if r.key is None else 1, values[col])
        if role == Qt.ItemDataRole.DisplayRole:
            return str(values[col]) if col >= R_COUNT else values[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= R_COUNT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and col == R_TITLE:
            return r.title
        return None


def rule_counts(entries: list[Entry]) -> list[RuleCount]:
    """Per rule: findings, households and 待整改, most first; the first row sums them all. One pass, plain reads
    (a county's ledger has tens of thousands of entries and this runs on the GUI thread)."""
    n: dict[str, list] = {}
    households: set = set()
    total_open = 0
    for e in entries:
        c = n.get(e.rule_key)
        if c is None:
            c = n[e.rule_key] = [e.rule or "", e.title, 0, set(), 0]
        c[2] += 1
        c[3].add(e.household_id)
        households.add(e.household_id)
        if e.is_open:
            c[4] += 1
            total_open += 1
    rows = [RuleCount(k, rule, title, count, len(hh), open_) for k, (rule, title, count, hh, open_) in n.items()]
    rows.sort(key=lambda r: (-r.findings, r.key))
    total = RuleCount(None, "", "全部规则", len(entries), len(households), total_open)
    return [total, *rows]


Q_VILLAGE, Q_RULE, Q_TITLE, Q_OPEN, Q_HOUSEHOLDS = range(5)


class OpenCountModel(ListTableModel):
    """预警中心: 整改台账 entries still 待整改, one row per village and rule (services.rectification.Count)."""

    HEADERS = ("行政村", "规则编号", "问题", "待整改", "户数")
    SORT_ROLE = SORT_ROLE

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        c = self._row(index)
        if c is None:
            return None
        col = index.column()
        if role == ROW_ROLE:
            return c
        values = (c.village, c.rule or "", c.title, c.open, c.households)
        if role == SORT_ROLE:
            return values[col]
        if role == Qt.ItemDataRole.DisplayRole:
            return str(values[col]) if col >= Q_OPEN else values[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= Q_OPEN:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{c.village}：{c.title} 待整改 {c.open} 条（双击到“数据质量”查看）"
        return None
