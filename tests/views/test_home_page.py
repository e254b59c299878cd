"""首页 and the 建议纳入 list, driven as a clerk would: the tile count, the list behind it, export, one-click clue."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from PySide6.QtCore import Qt

from desktop.services import income, overview, register, workflow
from desktop.services.income import LineData, RecordData
from desktop.views.home_page import HomePage
from desktop.views.household_editor import TAB_HISTORY
from desktop.views.suggested_page import SuggestedPage

from ..conftest import TODAY, YEAR, family


def _household(ctx, township, no, serial, village="东村", risks=("03",), wage="3100"):
    data, members = family(township["villages"][village], no=no, serial=serial)
    data.a27_risk_types = list(risks)
    hid = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    ctx.run(income.save_record, RecordData(hid, YEAR, collected_on=date(2024, 10, 10), collected_by="王会计",
                                           lines=[LineData("A28", "务工收入", Decimal(wage))]), TODAY)
    return hid


@pytest.fixture
def town(ctx, township):
    """H1 东村 and H2 西村 below the line with 因残 (suggested); H3 above the line (not)."""
    return {"h1": _household(ctx, township, "H1", 1), "h2": _household(ctx, township, "H2", 11, "西村"),
            "h3": _household(ctx, township, "H3", 21, wage="90000")}


def test_home_tile_shows_the_suggested_count(qtbot, ctx, town):
    page = HomePage(ctx)
    qtbot.addWidget(page)
    opened = []
    page.go.connect(opened.append)
    page.show()
    qtbot.waitUntil(lambda: page.data is not None, timeout=20000)
    assert ">2<" in page.tile_count("suggested") and ">3<" in page.tile_count("households")
    page.tiles["suggested"].clicked.emit()
    assert opened == ["suggested"]


def test_the_list_is_what_assess_suggests_and_exports_the_same_rows(qtbot, ctx, town, tmp_path):
    page = SuggestedPage(ctx)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page._job is None and page.model.rowCount() > 0, timeout=20000)
    expected = [r.household_no for r in ctx.read(overview.suggested_not_monitored, YEAR, TODAY)]
    assert [r.household_no for r in page.shown_rows()] == expected == ["H1", "H2"]
    page.village.setCurrentIndex(page.village.findData("西村"))
    assert [r.household_no for r in page.shown_rows()] == ["H2"]
    out = page.export_xlsx(tmp_path / "list.xlsx")
    ws = load_workbook(out).active
    assert [c.value for c in ws[4]][1] == "H2" and ws.max_row == 4
    assert "因残" in ws.cell(row=4, column=9).value


def test_one_click_registers_a_clue_with_the_reasons(qtbot, ctx, town, monkeypatch):
    monkeypatch.setattr("desktop.views.suggested_page.show_info", lambda *a, **k: None)
    page = SuggestedPage(ctx)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page._job is None and page.model.rowCount() == 2, timeout=20000)
    assert page.select_household(town["h1"])
    clue_id = page.register_clue()
    assert clue_id is not None
    clue = [c for c in ctx.read(workflow.clues, household_id=town["h1"]) if c.id == clue_id][0]
    assert "因残" in clue.description and "7,100" in clue.description
    qtbot.waitUntil(lambda: page._job is None, timeout=20000)
    page.select_household(town["h1"])
    assert not page.clue_button.isEnabled()  # a second clue for the same household is not offered


def test_warnings_centre_has_a_suggested_tile_with_the_same_households(ctx, town):
    from desktop.services import warnings

    d = ctx.read(warnings.dashboard, YEAR, TODAY)
    assert [r.household_no for r in d.of("suggested")] == ["H1", "H2"]
    assert all("因残" in r.what for r in d.of("suggested"))
    clerk_view = ctx.read(warnings.dashboard, YEAR, TODAY, village_ids=frozenset({town_village(ctx, "西村")}))
    assert [r.household_no for r in clerk_view.of("suggested")] == ["H2"]


def town_village(ctx, name):
    from desktop.services import regions

    return ctx.read(regions.village_by_name, name)


def test_register_filter_shows_the_suggested_households(qtbot, ctx, town):
    from desktop.views.register_page import RegisterPage

    page = RegisterPage(ctx)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.model.count() == 3, timeout=20000)
    page.show_suggested()
    qtbot.waitUntil(lambda: page.model.count() == 2, timeout=20000)
    shown = {page.model.household_id(r) for r in range(page.model.count())}
    assert shown == {town["h1"], town["h2"]}
    page.suggested_combo.set_value(None)
    qtbot.waitUntil(lambda: page.model.count() == 3, timeout=20000)


def test_from_log_in_two_clicks_reach_who_to_visit_and_why(qtbot, db, ctx, town):
    """Issue 18: log in, the window opens on 首页; its 建议纳入 tile, then the list with the reasons."""
    from desktop import app as desktop_app
    from desktop.services.context import AppContext
    from desktop.views.login import LoginDialog

    login = LoginDialog(AppContext(db))
    qtbot.addWidget(login)
    qtbot.keyClicks(login.username, "admin")
    qtbot.keyClicks(login.password, "Jx-adm-2024")
    login.try_login()
    assert login.user is not None
    window = desktop_app.create_main_window(AppContext(db, login.user, year=YEAR, today=ctx.today))
    qtbot.addWidget(window)
    window.show()
    assert window.current_key() == "home"
    home = window.pages["home"]
    qtbot.waitUntil(lambda: home.data is not None, timeout=20000)
    qtbot.mouseClick(home.tiles["suggested"], Qt.MouseButton.LeftButton)  # click 1
    assert window.current_key() == "suggested"
    listing = window.pages["suggested"]
    qtbot.waitUntil(lambda: listing.model.rowCount() == 2, timeout=20000)
    first = listing.table.model().index(0, 8)  # click 2: the row, its reasons in full
    qtbot.mouseClick(listing.table.viewport(), Qt.MouseButton.LeftButton,
                     pos=listing.table.visualRect(first).center())
    assert listing.current_row().household_no == "H1"
    assert "因残" in first.data() and "7,100" in first.data()


def test_the_quality_tile_opens_the_list_of_the_findings_it_counts(qtbot, ctx, town):
    """首页 counts the findings of a check of today's data; its tile opens 数据质量 with those findings, also when
    nobody has pressed 检查 there yet (an empty ledger said 尚未检查 under a figure of 5)."""
    from desktop import app as desktop_app
    from desktop.views.operations import operations

    window = desktop_app.create_main_window(ctx)
    qtbot.addWidget(window)
    window.show()
    home = window.pages["home"]
    qtbot.waitUntil(lambda: home.data is not None, timeout=20000)
    counted = home.data.quality_findings
    assert counted > 0
    qtbot.mouseClick(home.tiles["quality"], Qt.MouseButton.LeftButton)
    assert window.current_key() == "quality"
    page = window.pages["quality"]
    qtbot.waitUntil(lambda: len(page.entries) == counted, timeout=20000)
    assert operations().wait()
    assert "尚未检查" not in page.summary.text() and page.model.rowCount() == counted


def test_a_list_rows_menu_reaches_everything_about_the_household(qtbot, ctx, town, tmp_path):
    """One place per household: from any list row, its editor, income, cases, documents and history."""
    from desktop import app as desktop_app
    from desktop.views.widgets.list_actions import HOUSEHOLD_ACTIONS, ListActions

    window = desktop_app.create_main_window(ctx)
    qtbot.addWidget(window)
    window.show()
    warnings_page = window.show_page("warnings")
    qtbot.waitUntil(lambda: warnings_page.dashboard is not None, timeout=20000)
    actions = warnings_page.findChildren(ListActions)[0]
    warnings_page.set_kind("suggested")
    index = warnings_page.table.model().index(0, 0)
    menu = actions.menu_for(index)
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts[:5] == [t for _k, t in HOUSEHOLD_ACTIONS]
    exports = texts[texts.index("导出本列表到 Excel…"):]
    assert exports[:2] == ["导出本列表到 Excel…", "打印本列表（PDF）…"]
    assert exports[2:] in ([], ["按村导出到 Excel", "按村打印（PDF）"])  # per village when the list has several
    hid = town["h1"]
    menu.actions()[1].trigger()  # 收入测算
    assert window.current_key() == "income"
    actions.household_action.emit("documents", hid)
    assert window.current_key() == "reports" and window.pages["reports"].household_edit.text() == "H1"
    actions.household_action.emit("cases", hid)
    assert window.current_key() == "cases"
    actions.household_action.emit("history", hid)
    editor = window.pages["register"].editor
    assert window.current_key() == "register" and editor.tabs.currentIndex() == TAB_HISTORY
    editor.reject()
    out = actions.export_xlsx(tmp_path / "w.xlsx")
    from openpyxl import load_workbook
    ws = load_workbook(out).active
    shown = warnings_page.table.model()
    assert ws.max_row - 3 == shown.rowCount() and ws.cell(row=4, column=2).value == shown.index(0, 1).data()
