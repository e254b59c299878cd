"""整改台账 sent down to the villages as .xlsx and their answers taken back (issue 17): only 整改状态 and
整改说明或理由 change, bad rows are named in Chinese and nothing changes, a 村级录入员's answers for another
village are refused."""

from __future__ import annotations

import openpyxl
import pytest

from desktop.services import rectification, rectification_book
from desktop.services.access import AccessDenied
from desktop.services.context import AppContext
from desktop.services.rectification import FIXED, OPEN, WAIVED, ReplyError
from desktop.services.rectification_book import HEADERS

from ..conftest import TODAY, YEAR
from .test_rectification import EAST_NO, LATER, MEDICAL, WEST_NO, world  # noqa: F401 - the fixture

STATE_COL, REASON_COL = HEADERS.index("整改状态") + 1, HEADERS.index("整改说明或理由") + 1


@pytest.fixture
def checked(ctx, world):  # noqa: F811 - the fixture imported above
    ctx.run(rectification.check, YEAR, TODAY)
    return world


def files(ctx, tmp_path) -> dict[str, rectification_book.LedgerFile]:
    return {f.village: f for f in ctx.read(rectification_book.export_villages, tmp_path, YEAR, TODAY)}


def rows_of(path) -> tuple[list, list[list]]:
    ws = openpyxl.load_workbook(path)["整改台账"]
    cells = [[c for c in row] for row in ws.iter_rows()]
    return cells[0], cells


def answer(path, answers: dict[str, tuple[str | None, str | None]], out=None):
    """Fill in the village's answers, keyed by the row's 问题 title, as a clerk would in Excel."""
    wb = openpyxl.load_workbook(path)
    ws = wb["整改台账"]
    title_col = HEADERS.index("问题") + 1
    for row in range(3, ws.max_row + 1):
        title = ws.cell(row, title_col).value
        if title in answers:
            state, reason = answers[title]
            ws.cell(row, STATE_COL).value = state
            ws.cell(row, REASON_COL).value = reason
    wb.save(out or path)
    return out or path


def by_title(ctx, no: str) -> dict[str, rectification.Entry]:
    return {e.title: e for e in ctx.read(rectification.entries, YEAR) if e.household_no == no}


def test_each_village_gets_its_own_workbook_of_what_is_still_found(ctx, checked, tmp_path):
    out = files(ctx, tmp_path)
    assert set(out) == {"东村", "西村"}
    east = out["东村"]
    assert east.path.name == f"整改台账_东村_{YEAR}.xlsx"
    entries = [e for e in ctx.read(rectification.entries, YEAR) if e.village == "东村"]
    assert east.rows == len(entries) > 0
    title, cells = rows_of(east.path)
    assert "东村" in title[0].value and "整改台账" in title[0].value and f"{YEAR} 年度" in title[0].value
    assert [c.value for c in cells[1]] == list(HEADERS)
    data = cells[2:]
    assert len(data) == len(entries)
    assert {row[2].value for row in data} == {EAST_NO}  # only 东村's households
    medical = next(row for row in data if row[7].value == "未参加基本医疗保险")
    assert medical[5].data_type == "s" and medical[5].value.startswith("370305")  # the ID number as text
    assert medical[4].value == "李四" and medical[STATE_COL - 1].value == "待整改"
    ws = openpyxl.load_workbook(east.path)["整改台账"]
    assert any("整改状态" in str(dv.formula1) or "下拉选项" in str(dv.formula1)
               for dv in ws.data_validations.dataValidation)


def test_fixed_entries_are_not_sent_and_a_reason_like_a_formula_stays_text(ctx, checked, tmp_path):
    entries = by_title(ctx, EAST_NO)
    ctx.run(rectification.decide, [entries["未参加基本医疗保险"].id], WAIVED, "=1+1 已核实", TODAY)
    ctx.run(rectification.decide, [entries["三保障和饮水安全未填"].id], FIXED, None, TODAY)
    east = files(ctx, tmp_path)["东村"]
    _title, cells = rows_of(east.path)
    titles = [row[7].value for row in cells[2:]]
    assert "三保障和饮水安全未填" not in titles
    medical = next(row for row in cells[2:] if row[7].value == "未参加基本医疗保险")
    assert medical[REASON_COL - 1].value == "=1+1 已核实" and medical[REASON_COL - 1].data_type == "s"
    assert medical[STATE_COL - 1].value == "无需整改"


def test_round_trip_takes_back_state_and_reason_only(ctx, checked, tmp_path):
    east = files(ctx, tmp_path)["东村"]
    wb = openpyxl.load_workbook(east.path)
    ws = wb["整改台账"]
    message_col = HEADERS.index("问题说明") + 1
    ws.cell(3, message_col).value = "村里改写的说明"  # columns for reading are never taken back
    wb.save(east.path)
    answer(east.path, {"未参加基本医疗保险": ("无需整改", "在外地参加职工医保，已核实"),
                       "三保障和饮水安全未填": ("已整改", "已入户补填")})
    before = by_title(ctx, EAST_NO)
    result = ctx.run(rectification_book.import_replies, east.path, YEAR, LATER)
    assert (result.changed, result.households) == (2, 1) and result.rows == east.rows
    after = by_title(ctx, EAST_NO)
    m, g = after["未参加基本医疗保险"], after["三保障和饮水安全未填"]
    assert (m.state, m.reason, m.decided_by, m.decided_on) == (WAIVED, "在外地参加职工医保，已核实", "admin", LATER)
    assert (g.state, g.reason, g.fixed_on) == (FIXED, "已入户补填", LATER)
    assert all(after[t].message == before[t].message for t in after)
    # the same reply again changes nothing
    assert ctx.run(rectification_book.import_replies, east.path, YEAR, LATER).changed == 0
    # the next check confirms what was corrected and reopens what was not (A23–A25 are still blank)
    ctx.run(rectification.check, YEAR, LATER)
    assert by_title(ctx, EAST_NO)["三保障和饮水安全未填"].state == OPEN
    assert by_title(ctx, EAST_NO)["未参加基本医疗保险"].state == WAIVED


def test_bad_rows_are_named_and_nothing_changes(ctx, checked, tmp_path):
    east = files(ctx, tmp_path)["东村"]
    answer(east.path, {"未参加基本医疗保险": ("完成", None), "三保障和饮水安全未填": ("无需整改", None)})
    wb = openpyxl.load_workbook(east.path)
    ws = wb["整改台账"]
    last = ws.max_row
    for c, v in enumerate(("99999", "东村", EAST_NO, "", "", "", "", "", "", "", "已整改", ""), start=1):
        ws.cell(last + 1, c).value = v
    west_id = next(iter(by_title(ctx, WEST_NO).values())).id
    for c in range(1, len(HEADERS) + 1):  # 西村's ledger number on a row of 东村's household
        ws.cell(last + 2, c).value = ws.cell(3, c).value
    ws.cell(last + 2, 1).value = str(west_id)
    ws.cell(last + 3, 1).value = ws.cell(3, 1).value  # the same entry twice
    wb.save(east.path)
    good = answer(east.path, {}, tmp_path / "copy.xlsx")
    before = [(e.id, e.state, e.reason) for e in ctx.read(rectification.entries, YEAR)]
    with pytest.raises(ReplyError) as err:
        ctx.run(rectification_book.import_replies, good, YEAR, LATER)
    text = str(err.value)
    assert "未导入任何内容" in text and len(err.value.problems) == 5
    assert "【整改状态】“完成”：应为 待整改、已整改 或 无需整改" in text
    assert "【整改说明或理由】：选择“无需整改”须写明理由" in text
    assert f"第 {last + 1} 行【台账编号】“99999”" in text and "没有这一条" in text
    assert f"第 {last + 2} 行【户编号】“{EAST_NO}”：与台账编号 {west_id} 的户 {WEST_NO} 不符" in text
    assert f"第 {last + 3} 行【台账编号】" in text and "与第 3 行重复" in text
    assert [(e.id, e.state, e.reason) for e in ctx.read(rectification.entries, YEAR)] == before


def test_a_file_without_the_ledger_columns_is_refused(ctx, checked, tmp_path):
    path = tmp_path / "other.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["户编号", "姓名"])
    wb.save(path)
    with pytest.raises(ReplyError, match="找不到“台账编号”和“整改状态”"):
        ctx.run(rectification_book.import_replies, path, YEAR, LATER)


def test_a_clerks_answers_for_another_village_are_refused(db, ctx, checked, clerk, tmp_path):
    out = files(ctx, tmp_path)
    answer(out["东村"].path, {"未参加基本医疗保险": ("已整改", "已补录")})
    answer(out["西村"].path, {"三保障和饮水安全未填": ("已整改", "已补填")})
    clerk_ctx = AppContext(db, clerk, year=YEAR, today=lambda: TODAY)
    mine = tmp_path / "mine"
    mine.mkdir()
    assert [f.village for f in clerk_ctx.read(rectification_book.export_villages, mine, YEAR, TODAY)] == ["西村"]
    with pytest.raises(ReplyError, match="东村.*没有该村的录入权限"):
        clerk_ctx.run(rectification_book.import_replies, out["东村"].path, YEAR, LATER)
    assert by_title(ctx, EAST_NO)["未参加基本医疗保险"].state == OPEN
    result = clerk_ctx.run(rectification_book.import_replies, out["西村"].path, YEAR, LATER)
    assert result.changed == 1
    assert by_title(ctx, WEST_NO)["三保障和饮水安全未填"].decided_by == "clerk"
    # and the clerk cannot take 东村's workbook out either
    east_village = by_title(ctx, EAST_NO)["未参加基本医疗保险"].village_id
    with pytest.raises(AccessDenied, match="东村"):
        clerk_ctx.read(rectification_book.export_village, tmp_path / "e.xlsx", YEAR, east_village, TODAY)
