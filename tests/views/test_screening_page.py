"""集中排查 page (SPEC §6.3): the key-check list with its reasons, filters and counts; visits are
recorded through services.screening.mark_visited; a household opens in 收入测算."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from desktop import app as desktop_app
from desktop.services import register, screening
from desktop.views import screening_page as screening_module
from desktop.views.income_page import IncomePage
from desktop.views.models.keycheck_table import (
    COL_HEAD,
    COL_NO,
    COL_OUTCOME,
    COL_REASONS,
    COL_VILLAGE,
    COL_VISITED,
    KeyCheckTableModel,
)
from desktop.views.operations import operations
from desktop.views.screening_page import ScreeningPage

from ..conftest import TODAY, YEAR, family


@pytest.fixture
def households(ctx, township):
    """东村: a household with a disabled member; 西村: one with 因务工就业不稳; 东村: one with no reason."""
    data, members = family(township["villages"]["东村"])
    members[1].health = "04"  # 残疾
    disabled = ctx.run(register.save_household, data, members, TODAY)
    data, members = family(township["villages"]["西村"], no="3703050020010001", serial=11)
    members[0].name = "王五"
    data.a27_risk_types = ["07"]
    risky = ctx.run(register.save_household, data, members, TODAY)
    data, members = family(township["villages"]["东村"], no="3703050010010002", serial=21)
    quiet = ctx.run(register.save_household, data, members, TODAY)
    return {"disabled": disabled, "risky": risky, "quiet": quiet}


@pytest.fixture
def page(qtbot, ctx, households):
    p = ScreeningPage(ctx)
    qtbot.addWidget(p)
    p.refresh()
    assert operations().wait()
    return p


def shown(page) -> list[list[str]]:
    return [[page.proxy.index(r, c).data() for c in range(page.proxy.columnCount())]
            for r in range(page.proxy.rowCount())]


def test_lists_a_household_with_a_disabled_member_with_its_reason(page):
    rows = {r[COL_NO]: r for r in shown(page)}
    assert set(rows) == {"3703050010010001", "3703050020010001"}  # the quiet household is not listed
    row = rows["3703050010010001"]
    assert row[COL_HEAD] == "张三" and row[COL_VILLAGE] == "东村"
    assert row[COL_REASONS] == "有残疾家庭成员：李四"
    assert row[COL_VISITED] == "未走访" and row[COL_OUTCOME] == ""
    assert rows["3703050020010001"][COL_REASONS] == "存在务工不稳、产业失败或意外事故风险：因务工就业不稳"
    assert page.count_buttons["disabled_member"].text() == "有残疾家庭成员：1 户"
    assert page.count_buttons["income_fell"].text() == "人均纯收入较上年下降：0 户"
    assert page.summary.text() == "须排查 2 户，已走访 0 户，未走访 2 户"
    assert "2024 年" in page.title.text()


def test_filter_by_reason_and_village(qtbot, page, township):
    combo = page.reason_combo
    assert combo.itemText(combo.findData("disabled_member")) == "有残疾家庭成员（1）"
    combo.setCurrentIndex(combo.findData("disabled_member"))
    assert [r[COL_NO] for r in shown(page)] == ["3703050010010001"]
    assert page.shown_label.text() == "显示 1 户"
    combo.setCurrentIndex(0)
    page.village_combo.setCurrentIndex(page.village_combo.findData(township["villages"]["西村"]))
    assert [r[COL_NO] for r in shown(page)] == ["3703050020010001"]
    combo.setCurrentIndex(combo.findData("disabled_member"))
    assert shown(page) == []
    page.village_combo.setCurrentIndex(0)
    qtbot.mouseClick(page.count_buttons["risk_type"], Qt.MouseButton.LeftButton)  # a count is a shortcut
    assert combo.currentData() == "risk_type"
    assert [r[COL_NO] for r in shown(page)] == ["3703050020010001"]


def test_mark_visited_persists_and_shows_in_the_table(qtbot, page, ctx, households, monkeypatch):
    def fill(dialog):
        dialog.visited_on.setDate(dialog.visited_on.date().addDays(-2))
        dialog.outcome.setCurrentIndex(dialog.outcome.findData("no_risk"))
        dialog.note.setText("已入户核实")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(screening_module.VisitDialog, "exec", fill)
    assert not page.visit_button.isEnabled()
    assert page.select_household(households["disabled"])
    assert page.visit_button.isEnabled()
    qtbot.mouseClick(page.visit_button, Qt.MouseButton.LeftButton)
    assert operations().wait()
    listed = {k.household_id: k for k in ctx.read(screening.key_checks, YEAR, TODAY)}
    k = listed[households["disabled"]]
    assert (k.visited_on, k.outcome, k.note) == (date(2024, 11, 18), "no_risk", "已入户核实")
    assert listed[households["risky"]].visited_on is None
    rows = {r[COL_NO]: r for r in shown(page)}
    assert rows["3703050010010001"][COL_VISITED] == "2024-11-18"
    assert rows["3703050010010001"][COL_OUTCOME] == "无风险（已入户核实）"
    assert page.summary.text() == "须排查 2 户，已走访 1 户，未走访 1 户"
    assert page.selected_household_ids() == [households["disabled"]]  # the selection survives the reload
    page.visited_combo.setCurrentIndex(page.visited_combo.findData(False))
    assert [r[COL_NO] for r in shown(page)] == ["3703050020010001"]


def test_cancelled_visit_dialog_changes_nothing(page, ctx, households, monkeypatch):
    monkeypatch.setattr(screening_module.VisitDialog, "exec", lambda dialog: QDialog.DialogCode.Rejected)
    page.select_household(households["risky"])
    assert not page.mark_selected()
    assert all(k.visited_on is None for k in ctx.read(screening.key_checks, YEAR, TODAY))


def test_visit_dialog_offers_the_outcomes_and_defaults_to_today(qtbot):
    dialog = screening_module.VisitDialog(3, TODAY)
    qtbot.addWidget(dialog)
    assert [dialog.outcome.itemText(i) for i in range(dialog.outcome.count())] == list(screening.OUTCOMES.values())
    assert dialog.values() == (TODAY, "no_risk", None)


def test_double_click_opens_the_household_in_the_income_page(qtbot, ctx, households):
    window = desktop_app.create_main_window(ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    page = window.show_page("screening")
    assert operations().wait()
    assert isinstance(page, ScreeningPage) and page.model.rowCount() == 2  # loaded when shown
    row = next(r for r in range(page.proxy.rowCount())
               if page.proxy.index(r, COL_NO).data() == "3703050020010001")
    rect = page.table.visualRect(page.proxy.index(row, COL_HEAD))
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(page.open_household, timeout=2000) as signal:
        qtbot.mouseDClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert signal.args == [households["risky"]]
    assert window.current_key() == "income"
    income = window.pages["income"]
    assert isinstance(income, IncomePage) and income.facts.household_id == households["risky"]
    assert "王五" in income.header.text()


def test_clerk_sees_only_the_villages_of_the_clerk(qtbot, db, households):
    from desktop.services import auth
    from desktop.services.context import AppContext
    with db.session() as s:
        user = auth.authenticate(s, "clerk", "Xc-cun-2024")  # 西村 only
        s.commit()
    p = ScreeningPage(AppContext(db=db, user=user, year=YEAR, today=lambda: TODAY))
    qtbot.addWidget(p)
    p.refresh()
    assert operations().wait()
    assert [r[COL_NO] for r in shown(p)] == ["3703050020010001"]


def test_keycheck_model_passes_the_model_tester(qtmodeltester, ctx, households):
    model = KeyCheckTableModel()
    model.set_rows(ctx.read(screening.key_checks, YEAR, TODAY), {})
    qtmodeltester.check(model)
    assert model.rowCount() == 2


def test_thresholds_are_edited_in_the_settings_page_and_the_list_follows(qtbot, ctx, township, monkeypatch):
    from decimal import Decimal

    from desktop.services import income, settings
    from desktop.services.income import LineData, RecordData
    from desktop.views.settings_page import SettingsPage

    data, members = family(township["villages"]["东村"])
    members[0].work_months = 7  # stable under the default (below 6 months is unstable)
    hid = ctx.run(register.save_household, data, members, TODAY)
    ctx.run(income.save_record, RecordData(hid, YEAR, collected_on=TODAY,
                                           lines=[LineData("A28", "务工收入", Decimal("20000"))],
                                           collected_by="采集员"), TODAY)
    page = ScreeningPage(ctx)
    qtbot.addWidget(page)
    page.refresh()
    assert operations().wait()
    assert page.model.rowCount() == 0

    settings_page = SettingsPage(ctx)
    qtbot.addWidget(settings_page)
    edits = settings_page.threshold_edits
    assert set(edits) == set(settings.DEFAULT_THRESHOLDS)
    assert {k: e.text() for k, e in edits.items()} == {
        "income_drop_ratio": "0", "quarter_drop_ratio": "20", "unstable_work_months": "6", "wage_share": "70",
        "rigid_expense_ratio": "50", "new_identified_income_bound": "30000", "national_low_income": "4000",
        "policy_large_self_pay": ""}
    assert not settings_page.save_button.isEnabled()
    edits["unstable_work_months"].setText("13")
    edits["wage_share"].setText("0")
    assert not settings_page.save()
    assert "应为 1–12 之间的整数月数" in settings_page.error.text()
    assert "大于 0、小于 100 的百分数" in settings_page.error.text()
    edits["unstable_work_months"].clear()
    qtbot.keyClicks(edits["unstable_work_months"], "8")
    edits["wage_share"].setText("70")
    edits["income_drop_ratio"].setText("15%")
    assert settings_page.save_button.isEnabled()
    assert settings_page.save()
    th = ctx.read(settings.get_year, YEAR).thresholds
    assert th["unstable_work_months"] == 8 and th["income_drop_ratio"] == "0.15"
    assert th["wage_share"] == settings.DEFAULT_THRESHOLDS["wage_share"]
    assert edits["income_drop_ratio"].text() == "15"

    page.refresh()

    assert operations().wait()
    assert [k.household_id for k in page.model.rows()] == [hid]
    assert "unstable_wage" in page.model.rows()[0].reasons


def test_selected_household_shows_all_its_reasons_below_the_table(page, households):
    page.select_household(households["disabled"])
    assert page.detail.text() == "户 3703050010010001（张三）排查原因：有残疾家庭成员：李四；尚未走访"
