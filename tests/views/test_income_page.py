"""收入测算 page (SPEC §4, §6.1): amounts typed line by line, the four results and the suggested
category update live through services.income.compute / rules.suggest_category; records are saved."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from PySide6.QtCore import QDate, QModelIndex, Qt

from desktop.services import income, register
from desktop.services.income import LineData, RecordData
from desktop.views import income_page as income_page_module
from desktop.views.income_page import IncomePage

from ..conftest import TODAY, YEAR, family


def add_household(ctx, village_id, no="3703050010010001", serial=1, **fields) -> int:
    data, members = family(village_id, no=no, serial=serial)
    for k, v in fields.items():
        setattr(data, k, v)
    return ctx.run(register.save_household, data, members, TODAY)


@pytest.fixture
def hid(ctx, township):
    """A household of 3 with a risk type (因病): below the line it is a candidate."""
    return add_household(ctx, township["villages"]["东村"], a27_risk_types=["01"])


@pytest.fixture
def page(qtbot, ctx):
    p = IncomePage(ctx)
    qtbot.addWidget(p)
    p.resize(1200, 800)
    return p


def results(page) -> dict[str, str]:
    return {code: page.result_text(code) for code in ("A33", "A34", "A37", "A38")}


def test_open_household_shows_head_size_and_line_of_the_year(page, hid):
    assert page.open_household(hid)
    header = page.header.text()
    assert "3703050010010001" in header and "张三" in header and "东村" in header
    assert "家庭人口 <b>3</b> 人（2024-09-30 状态时点）" in header
    assert "2024 年监测线 <b>7,100</b> 元/人·年" in header
    assert page.editing_label.text() == "正在填写：新记录"
    assert page.collected_on.date() == QDate(2024, 11, 20)
    assert page.collected_by.text() == "管理员"
    names = income.item_names()
    titles = [box.title() for box in page.lines.widget().findChildren(income_page_module.QGroupBox)]
    assert titles[:2] == [f"A28 {names['A28']}", f"A29 {names['A29']}"] and len(titles) == 7
    assert results(page) == {"A33": "0.00", "A34": "0.00", "A37": "0.00", "A38": "0.00"}


def test_results_update_live_as_amounts_are_typed(qtbot, page, hid):
    page.open_household(hid)
    qtbot.keyClicks(page.lines.amount_edit("A28", "务工收入"), "30000")
    assert results(page) == {"A33": "30,000.00", "A34": "10,000.00", "A37": "30,000.00", "A38": "10,000.00"}
    qtbot.keyClicks(page.lines.amount_edit("A32", "种植业"), "3000")
    assert results(page) == {"A33": "27,000.00", "A34": "9,000.00", "A37": "27,000.00", "A38": "9,000.00"}
    assert page.lines.subtotals["A28"].text() == "30,000.00"
    assert page.lines.subtotals["A32"].text() == "3,000.00"
    qtbot.keyClicks(page.lines.amount_edit("A35", "商业保险理赔"), "600")
    qtbot.keyClicks(page.lines.amount_edit("A36", "医疗自付"), "9600")
    assert results(page) == {"A33": "27,000.00", "A34": "9,000.00", "A37": "18,000.00", "A38": "6,000.00"}


def test_amounts_accept_separators_unit_and_full_width_digits(page, hid):
    page.open_household(hid)
    page.lines.amount_edit("A28", "务工收入").setText("12,000元")
    page.lines.amount_edit("A28", "其他").setText("１５００.５")
    assert page.lines.subtotals["A28"].text() == "13,500.50"
    assert page.result_text("A33") == "13,500.50" and page.result_text("A34") == "4,500.17"
    assert not page.calc_error.isVisible() and page.lines.problems() == []


def test_suggested_category_and_reasons_follow_the_typed_income(qtbot, page, ctx, township):
    hid = add_household(ctx, township["villages"]["东村"], a4_poverty_alleviated=True, a27_risk_types=["01"])
    page.open_household(hid)
    qtbot.keyClicks(page.lines.amount_edit("A28", "务工收入"), "15000")
    assert page.category_label.text() == "建议纳入：脱贫不稳定户"
    reasons = page.reasons_label.text()
    assert "人均收入参考值 5,000.00 元低于 2024 年监测线 7,100 元" in reasons
    assert "存在返贫致贫风险：因病" in reasons
    edit = page.lines.amount_edit("A28", "务工收入")
    edit.clear()
    qtbot.keyClicks(edit, "24000")  # A34 8,000 ≥ line, but rigid medical costs bring A38 below it
    qtbot.keyClicks(page.lines.amount_edit("A36", "医疗自付"), "6000")
    assert page.result_text("A38") == "6,000.00"
    assert page.category_label.text() == "建议纳入：突发严重困难户"
    edit.clear()
    qtbot.keyClicks(edit, "90000")
    assert page.category_label.text() == "暂不建议纳入，需入户研判"
    assert "人均收入参考值 28,000.00 元不低于 2024 年监测线 7,100 元" in page.reasons_label.text()


def test_suggestion_uses_guarantee_problems_of_the_household_and_derived_a26(qtbot, page, ctx, township):
    data, members = family(township["villages"]["东村"])
    members[2].a17_medical = False  # A26 derived: a member without basic medical insurance
    hid = ctx.run(register.save_household, data, members, TODAY)
    page.open_household(hid)
    qtbot.keyClicks(page.lines.amount_edit("A28", "务工收入"), "9000")
    assert page.category_label.text() == "建议纳入：边缘易致贫户"
    assert "“三保障”和饮水安全存在问题：基本医疗保险" in page.reasons_label.text()


def test_negative_or_invalid_amount_is_rejected_inline_and_results_show_a_dash(qtbot, page, hid):
    page.open_household(hid)
    qtbot.keyClicks(page.lines.amount_edit("A28", "务工收入"), "30000")
    edit = page.lines.amount_edit("A29", "种植业")
    qtbot.keyClicks(edit, "-500")
    row = next(r for r in page.lines.rows if r.amount is edit)
    assert not row.error.isHidden() and "金额不能为负数" in row.error.text()
    assert results(page) == {"A33": "—", "A34": "—", "A37": "—", "A38": "—"}
    assert page.lines.subtotals["A29"].text() == "—"
    assert not page.calc_error.isHidden() and "金额填写有误" in page.calc_error.text()
    assert page.category_label.text() == "—"
    edit.clear()
    qtbot.keyClicks(edit, "12a")
    assert "不是有效的金额" in row.error.text()
    assert not page.save()
    assert "种植业" in page.error.text() and "不是有效的金额" in page.error.text()
    edit.clear()
    assert row.error.isHidden()
    assert page.result_text("A33") == "30,000.00"


def test_size_zero_shows_a_chinese_error_instead_of_a_number(qtbot, page, ctx, hid):
    _data, members = ctx.read(register.get_household, hid)
    for m in members:
        ctx.run(register.record_event, hid, "death", date(2024, 5, 1), member_id=m.id, as_of=TODAY)
    page.open_household(hid)
    assert "家庭人口 <b>0</b> 人" in page.header.text()
    qtbot.keyClicks(page.lines.amount_edit("A28", "务工收入"), "1000")
    assert results(page)["A34"] == "—"
    assert not page.calc_error.isHidden() and "家庭人口数为 0" in page.calc_error.text()


def test_saving_creates_a_dated_record_with_collector_and_signatures(qtbot, page, ctx, hid):
    page.open_household(hid)
    qtbot.keyClicks(page.lines.amount_edit("A28", "务工收入"), "30000")
    page.lines.note_edit("A28", "务工收入").setText("在淄博务工 10 个月")
    qtbot.keyClicks(page.lines.amount_edit("A32", "种植业"), "3000")
    page.collected_on.setDate(QDate(2024, 11, 18))
    page.collected_by.setText("王采集")
    page.quarter.setCurrentIndex(page.quarter.findData(3))
    page.signatures.setChecked(True)
    page.note.setText("入户核实")
    seen = []
    page.saved.connect(seen.append)
    assert page.save()
    recs = ctx.read(income.records, hid, YEAR)
    assert len(recs) == 1
    rec = recs[0]
    assert (rec.collected_on, rec.collected_by, rec.quarter, rec.signatures_collected, rec.note, rec.size) == \
        (date(2024, 11, 18), "王采集", 3, True, "入户核实", 3)
    assert {(ln.item, ln.line, ln.amount, ln.note) for ln in rec.lines} == {
        ("A28", "务工收入", Decimal("30000.00"), "在淄博务工 10 个月"), ("A32", "种植业", Decimal("3000.00"), None)}
    assert seen == [hid]
    assert page.notice.text() == "已保存 2024-11-18 的收入记录"
    assert page.record_id == rec.id and page.editing_label.text().startswith("正在修改：2024-11-18")
    assert page.records_model.rowCount() == 1
    assert page.records_model.index(0, 4).data() == "27,000.00"
    assert page.records_model.index(0, 4).data(Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
    # Saving again changes the same record; 新建记录 makes another one.
    page.lines.amount_edit("A28", "务工收入").setText("31000")
    assert page.save()
    assert [r.totals.A28 for r in ctx.read(income.records, hid, YEAR)] == [Decimal("31000.00")]
    page.new_record()
    qtbot.keyClicks(page.lines.amount_edit("A28", "务工收入"), "5000")
    assert page.save()
    assert len(ctx.read(income.records, hid, YEAR)) == 2


def test_saving_needs_a_collector(page, ctx, hid):
    page.open_household(hid)
    page.collected_by.clear()
    assert not page.save()
    assert "请填写采集人" in page.error.text()
    assert ctx.read(income.records, hid, YEAR) == []


def test_ctrl_s_saves_and_tab_moves_between_amounts(qtbot, ctx, hid):
    from desktop import app as desktop_app
    window = desktop_app.create_main_window(ctx)  # Ctrl+S is the window's application-wide action
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    page = window.show_page("income")
    page.open_household(hid)
    first = page.lines.amount_edit("A28", "务工收入")
    first.setFocus()
    qtbot.waitUntil(first.hasFocus)
    qtbot.keyClicks(first, "8000")
    qtbot.keyClick(first, Qt.Key.Key_Tab)
    assert page.focusWidget() is page.lines.amount_edit("A28", "行业部门公益岗收入")
    assert first.text() == "8,000.00"  # tidied when left
    qtbot.keyClick(page.focusWidget(), Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert [r.totals.A28 for r in ctx.read(income.records, hid, YEAR)] == [Decimal("8000.00")]


def test_earlier_records_are_listed_and_selecting_one_loads_it(qtbot, page, ctx, hid):
    ctx.run(income.save_record, RecordData(hid, YEAR, quarter=2, collected_on=date(2024, 6, 30), collected_by="甲",
                                           lines=[LineData("A28", "务工收入", Decimal("20000"))]), TODAY)
    ctx.run(income.save_record, RecordData(hid, YEAR, quarter=3, collected_on=date(2024, 9, 30), collected_by="乙",
                                           signatures_collected=True,
                                           lines=[LineData("A28", "务工收入", Decimal("24000")),
                                                  LineData("A28", "旧明细", Decimal("300"), "导入")]), TODAY)
    page.open_household(hid)
    assert page.records_model.rowCount() == 2
    assert page.collected_by.text() == "乙" and page.signatures.isChecked()  # the latest is loaded
    assert page.lines.amount_edit("A28", "旧明细").text() == "300.00"  # a line outside the catalog is kept
    assert page.result_text("A33") == "24,300.00"
    older = page.records_model.index(1, 0)
    assert older.data() == "2024-06-30"
    qtbot.mouseClick(page.records_view.viewport(), Qt.MouseButton.LeftButton,
                     pos=page.records_view.visualRect(older).center())
    assert page.collected_by.text() == "甲" and page.quarter.currentData() == 2
    assert page.result_text("A33") == "20,000.00"
    assert page.editing_label.text() == "正在修改：2024-06-30 采集的记录（第2季度）"


def test_unsaved_changes_are_confirmed_before_another_household_opens(qtbot, page, ctx, township, hid,
                                                                      monkeypatch):
    other = add_household(ctx, township["villages"]["西村"], no="3703050020010001", serial=11)
    page.open_household(hid)
    qtbot.keyClicks(page.lines.amount_edit("A28", "务工收入"), "100")
    asked = []
    monkeypatch.setattr(income_page_module, "confirm", lambda parent, text: asked.append(text) or False)
    assert not page.open_household(other)
    assert asked and page.facts.household_id == hid
    monkeypatch.setattr(income_page_module, "confirm", lambda parent, text: True)
    assert page.open_household(other)
    assert page.facts.household_no == "3703050020010001"


def test_search_finds_households_by_number_or_name_and_enter_opens_the_only_match(page, ctx, township, hid):
    add_household(ctx, township["villages"]["西村"], no="3703050020010001", serial=11)
    rows = page.find("张三")
    assert len(rows) == 2 and page.matches.rowCount() == 2
    assert "张三（东村）" in page.matches.item(0).text()
    page.search.setText("3703050020010001")
    page.open_first()
    assert page.facts is not None and page.facts.household_no == "3703050020010001"
    assert page.search.text() == "3703050020010001"
    page.open_first()  # Enter again keeps the household
    assert page.facts.household_no == "3703050020010001" and page.search_hint.isHidden()
    page.search.setText("不存在的人")
    page.open_first()
    assert page.search_hint.text() == "没有找到符合条件的户" and not page.search_hint.isHidden()
    assert "3703050020010001" in page.header.text()


def test_choosing_a_match_of_the_completer_opens_that_household(qtbot, page, ctx, township, hid):
    other = add_household(ctx, township["villages"]["西村"], no="3703050020010001", serial=11)
    page.find("3703050020010001")
    index = page.completer.completionModel().index(0, 0)
    assert index.data() == "3703050020010001  张三（西村）· 未纳入"  # the pickers' one line, with the status
    page.completer.activated[QModelIndex].emit(index)
    qtbot.waitUntil(lambda: page.facts is not None and page.facts.household_id == other)


def test_a_year_without_a_monitoring_line_is_explained(page, ctx, hid):
    ctx.year = 2030
    assert not page.open_household(hid)
    assert "2030 年度未设置监测线" in page.header.text()
    assert not page.save_button.isEnabled()


def test_a_change_of_the_current_year_reloads_the_household_for_that_year(qtbot, page, ctx, hid):
    from desktop.services import settings
    ctx.run(settings.set_year, 2025, monitoring_line="7300")
    page.open_household(hid)
    ctx.year = 2025
    page.show()
    qtbot.waitUntil(lambda: page.facts.year == 2025)
    assert "2025 年监测线 <b>7,300</b> 元/人·年" in page.header.text()


def test_enter_on_a_match_in_the_popup_opens_it(qtbot, page, ctx, township, hid):
    other = add_household(ctx, township["villages"]["西村"], no="3703050020010001", serial=11)
    page.show()
    qtbot.waitExposed(page)
    page.search.setFocus()
    qtbot.keyClicks(page.search, "37030500")
    page.find(page.search.text(), popup=True)
    popup = page.completer.popup()
    qtbot.waitUntil(popup.isVisible)
    popup.setCurrentIndex(page.completer.completionModel().index(1, 0))
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.facts is not None and page.facts.household_id == other)
    assert page.search_hint.isHidden() and page.search.text() == "3703050020010001"


def test_no_suggestion_before_any_income_is_entered(qtbot, page, ctx, township):
    """Issue 19 problem 10: a 脱贫户 with unsafe housing and no income record got a red 建议纳入 on 0.00 元."""
    hid = add_household(ctx, township["villages"]["东村"], a4_poverty_alleviated=True, a23_housing_unsafe=True)
    assert page.open_household(hid)
    assert page.category_label.text() == "尚未录入收入，不作建议"
    assert "建议纳入" not in page.category_label.text() + page.reasons_label.text()
    page.lines.amount_edit("A28", "务工收入").setText("1000")
    page.recompute()
    assert page.category_label.text().startswith("建议纳入")  # once an amount is typed the rules speak


def test_results_stay_in_view_after_saving(qtbot, page, ctx, hid):
    page.resize(1200, 560)
    page.show()
    qtbot.waitExposed(page)
    page.open_household(hid)
    page.lines.amount_edit("A28", "务工收入").setText("8000")
    page.recompute()
    assert page.save()
    qtbot.wait(50)
    label = page.result_labels["A33"]
    top_left = label.mapTo(page, label.rect().topLeft())
    assert label.isVisible() and 0 <= top_left.y() < page.height() and label.visibleRegion().boundingRect().height() > 0
