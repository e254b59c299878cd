"""整改台账 as workbooks: sent down to each village, and the villages' replies taken back (issue 17).

The export is one .xlsx a village (through the program's one export frame, exchange.exporter._write_book: written
whole or not at all, every text cell text, never a formula): a title row, then one row a finding with the ledger
number, where and what, and the two columns the village fills in — 整改状态 (a dropdown: 待整改 / 已整改 / 无需整改)
and 整改说明或理由. Taking a reply back changes only those two; every other column is for reading (户编号 is
compared, so a row pasted from another village's file is caught). A reply is taken whole or not at all: a bad row,
a ledger number that is not in this year's ledger, a household of a village the user may not change, 无需整改
without a reason — each named by row in Chinese, and nothing changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Rectification, Region
from . import access, regions
from .exchange.exporter import _write_book
from .exchange.reader import Book as ReadBook
from .exchange.xlsx import TEXT, Book, Col
from .rectification import OPEN, STATES, WAIVED, ReplyError, ReplyRefused, entries, state_name, state_of_name
from .rectification import _apply as apply_decision

ID, VILLAGE, NO, HEAD, MEMBER, ID_NUMBER, RULE, TITLE, MESSAGE, FOUND, STATE, REASON = range(12)
HEADERS = ("台账编号", "行政村", "户编号", "户主", "成员姓名", "成员证件号码", "规则编号", "问题", "问题说明",
           "首次发现", "整改状态", "整改说明或理由")
WIDTHS = (9, 10, 19, 9, 9, 21, 11, 22, 60, 11, 11, 40)
STATE_NOTE = "请从下拉列表选择：已整改（已改正）、无需整改（须在右侧写明理由）或 待整改（尚未处理）"
REASON_NOTE = "已整改：写明怎样改正的；无需整改：必须写明理由（例如已入户核实情况属实）"
LIST_SHEET = "下拉选项"
SHEET = "整改台账"


@dataclass(frozen=True)
class LedgerFile:
    path: Path
    village: str
    rows: int


@dataclass(frozen=True)
class ReplyResult:
    rows: int  # rows of findings read
    changed: int  # entries whose state or reason changed
    households: int  # households of the changed entries

    def summary(self) -> str:
        return f"已读取 {self.rows} 条整改回复，更新 {self.changed} 条（涉及 {self.households} 户），其余未变"


def _columns() -> list[Col]:
    cols = []
    for i, (header, width) in enumerate(zip(HEADERS, WIDTHS, strict=True)):
        fill = i in (STATE, REASON)
        cols.append(Col(header, TEXT, width, "required" if fill else "normal", "state" if i == STATE else None,
                        True, STATE_NOTE if i == STATE else REASON_NOTE if i == REASON else None,
                        shared=i in (VILLAGE, RULE, TITLE, FOUND, STATE)))
    return cols


def export_village(session: Session, path: Path | str, year: int, village_id: int, as_of: date, *,
                   states: tuple[str, ...] = (OPEN, WAIVED)) -> LedgerFile:
    """One village's ledger of `year` (by default what is still found: 待整改 and 无需整改) to send down."""
    access.village(session, village_id)
    name = session.scalar(select(Region.name).where(Region.id == village_id, Region.level == "village"))
    if name is None:
        from .rectification import RectificationError
        raise RectificationError(f"行政村 #{village_id} 不存在")
    rows = entries(session, year, village_ids=[village_id], states=states)

    def make(tmp: Path) -> Book:
        book = Book(tmp)
        book.plan_lists(LIST_SHEET, {"state": ("整改状态", [state_name(s) for s in STATES])})
        return book

    def write(book: Book, tw) -> dict:
        title = f"{tw.name}{name}数据质量问题整改台账（{year} 年度，截至 {as_of.isoformat()}）"
        ws = book.sheet(SHEET, _columns(), 3, above=[[(0, len(HEADERS) - 1, title)]])
        ws.dropdowns(last_row=ws.next_row + len(rows) + 200)
        for e in rows:
            ws.row([str(e.id), e.village, e.household_no, e.head_name, e.member_name, e.member_id_number or "",
                    e.rule or "", e.title, e.message, e.first_found_on.isoformat(), e.state_name, e.reason or ""])
        return {"done": len(rows), "total": len(rows)}

    out, _counts = _write_book(session, path, make, write, None)
    return LedgerFile(out, name, len(rows))


def export_villages(session: Session, folder: Path | str, year: int, as_of: date) -> list[LedgerFile]:
    """One file a village (of those the user may see) that has findings 待整改 or 无需整改, into `folder`:
    整改台账_村名_年度.xlsx."""
    access.logged_in(session)
    folder = Path(folder)
    if not folder.is_dir():
        from .rectification import RectificationError
        raise RectificationError(f"文件夹不存在：{folder}")
    villages = sorted({(e.village_id, e.village) for e in entries(session, year, states=(OPEN, WAIVED))
                       if e.village_id is not None}, key=lambda v: v[1])
    return [export_village(session, folder / f"整改台账_{_safe(name)}_{year}.xlsx", year, vid, as_of)
            for vid, name in villages]


def _safe(name: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", name).strip("_") or "村"


# ---------------------------------------------------------------- the replies

def _norm(v) -> str:
    return "".join(str(v).split()) if v is not None else ""


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (date, datetime)):
        return v.isoformat()[:10]
    return str(v).strip()


def _header(rows: list[tuple[int, list]]) -> tuple[int, dict[int, int]] | None:
    """The header row (Excel number) and our column → its position, found under any title rows."""
    wanted = {_norm(h): i for i, h in enumerate(HEADERS)}
    for number, cells in rows[:30]:
        found = {wanted[_norm(c)]: pos for pos, c in enumerate(cells) if _norm(c) in wanted}
        if ID in found and STATE in found:
            return number, found
    return None


def import_replies(session: Session, path: Path | str, year: int, as_of: date) -> ReplyResult:
    """Take back a village's answers (整改状态, 整改说明或理由) for the ledger of `year`: all or nothing."""
    user = access.actor(session)
    book = ReadBook(Path(path))
    try:
        table = None
        for sh in book.sheets:
            if not sh.visible:
                continue
            rows = list(book.rows(sh.name))
            head = _header(rows)
            if head is not None:
                table = (sh.name, rows, head)
                break
    finally:
        book.close()
    if table is None:
        raise ReplyError(["文件中找不到“台账编号”和“整改状态”两列：请用本程序导出的整改台账填写后导入"])
    sheet, rows, (header_row, cols) = table
    problems: list[str] = []
    answers: list[tuple[int, int, str | None, str | None, str]] = []  # row, entry id, state, reason, 户编号

    def cell(cells: list, col: int) -> str:
        pos = cols.get(col)
        return _cell_text(cells[pos]) if pos is not None and pos < len(cells) else ""

    def bad(number: int, col: int | None, value: str, why: str) -> None:
        where = f"工作表“{sheet}”第 {number} 行" + (f"【{HEADERS[col]}】" if col is not None else "")
        problems.append(f"{where}{f'“{value}”' if value else ''}：{why}")

    refused = False
    seen: dict[int, int] = {}
    for number, cells in rows:
        if number <= header_row or all(_cell_text(c) == "" for c in cells):
            continue
        raw_id = cell(cells, ID)
        if not raw_id.isdigit():
            bad(number, ID, raw_id, "不是整改台账编号（应为导出时的数字编号，请勿修改此列）")
            continue
        entry_id = int(raw_id)
        if entry_id in seen:
            bad(number, ID, raw_id, f"与第 {seen[entry_id]} 行重复")
            continue
        seen[entry_id] = number
        text = cell(cells, STATE)
        state = state_of_name(text) if text else None
        if text and state is None:
            bad(number, STATE, text, "应为 待整改、已整改 或 无需整改")
        reason = cell(cells, REASON) or None
        answers.append((number, entry_id, state, reason, cell(cells, NO)))
    found = {}
    ids = [a[1] for a in answers]
    for start in range(0, len(ids), 900):
        found.update({r.id: r for r in session.scalars(select(Rectification).where(
            Rectification.id.in_(ids[start:start + 900]), Rectification.year == year))})
    listed = {e.id: e for e in entries(session, year, ids=list(found))} if found else {}
    allowed = user.village_ids
    names = regions.names(session)
    changes = []
    for number, entry_id, state, reason, cells_no in answers:
        r = found.get(entry_id)
        if r is None:
            bad(number, ID, str(entry_id), f"{year} 年度整改台账中没有这一条（文件是否为本乡镇本年度导出的？）")
            continue
        e = listed.get(entry_id)
        if e is None:  # in the ledger but outside the villages the user may see
            village = _village_of(session, r.household_id, names)
            refused = True
            bad(number, None, "", f"台账编号 {entry_id} 的户属于“{village}”，您没有该村的录入权限")
            continue
        if cells_no and cells_no != e.household_no:
            bad(number, NO, cells_no, f"与台账编号 {entry_id} 的户 {e.household_no} 不符（此行是否从别的台账复制？）")
            continue
        if allowed is not None and e.village_id not in allowed:
            refused = True
            bad(number, None, "", f"户 {e.household_no} 属于“{e.village}”，您没有该村的录入权限")
            continue
        new_state = state or r.state
        new_reason = reason if reason is not None else r.reason
        if new_state == WAIVED and not new_reason:
            bad(number, REASON, "", "选择“无需整改”须写明理由")
            continue
        if new_state != r.state or new_reason != r.reason:
            changes.append((r, new_state, new_reason))
    if problems:
        raise (ReplyRefused if refused else ReplyError)(problems)
    access.households(session, {r.household_id for r, _s, _t in changes}, write=True)
    for r, new_state, new_reason in changes:
        apply_decision(r, new_state, new_reason, user.username, as_of)
    session.flush()
    return ReplyResult(len(answers), len(changes), len({r.household_id for r, _s, _t in changes}))


def _village_of(session: Session, household_id: int, names: dict) -> str:
    from ..models import Household
    vid = session.scalar(select(Household.village_id).where(Household.id == household_id))
    return names.get(vid, "其他村")
