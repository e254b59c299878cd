"""Issue 19, problem 9 in the window: a wrong clue date or step date is corrected with a reason (the old value shown
in the case), a duplicate case is voided, a household is closed (户注销) from the register's menu."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from PySide6.QtCore import QDate, Qt

from desktop.services import income, register, workflow
from desktop.services.income import LineData, RecordData
from desktop.views.cases_page import CasesPage
from desktop.views.correction_dialogs import CaseDateDialog, StepCorrectionDialog, VoidCaseDialog
from desktop.views.models.case_table import STEP_NOTES
from desktop.views.operations import operations

from ..conftest import TODAY, YEAR, family


@pytest.fixture
def hid(ctx, township):
    data, members = family(township["villages"]["东村"], no="H1")
    data.a27_risk_types = ["01"]
    h = ctx.run(register.save_household, data, members, TODAY)
    ctx.run(income.save_record, RecordData(h, YEAR, collected_on=date(2024, 3, 1),
                                           lines=[LineData("A28", "务工收入", D("12000"))],
                                           collected_by="采集员"), TODAY)
    return h


@pytest.fixture
def page(qtbot, ctx, hid):
    p = CasesPage(ctx)
    qtbot.addWidget(p)
    p.resize(1300, 760)
    p.show()
    qtbot.waitExposed(p)
    assert operations().wait()
    return p


def qdate(d: date) -> QDate:
    return QDate(d.year, d.month, d.day)


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.waitUntil(lambda: button.isVisible() and not button.rect().isEmpty(), timeout=3000)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def save(qtbot, dialog) -> None:
    click(qtbot, dialog.buttons.button(dialog.buttons.StandardButton.Save))


def open_case(ctx, hid, d: date) -> int:
    clue = ctx.run(workflow.record_clue, "01", d, household_id=hid, as_of=TODAY)
    return ctx.run(workflow.open_identification, clue, as_of=TODAY)


def test_a_wrong_clue_date_is_corrected_in_the_case_and_the_old_date_stays_visible(qtbot, page, ctx, hid):
    cid = open_case(ctx, hid, date(2024, 11, 14))  # typed 14 for 4
    page.open_case(cid)
    view = page.case_view
    assert view.form.heading.text().count("2024-11-17")  # D+3 from the wrong date
    dialog = view.correct_date()
    assert isinstance(dialog, CaseDateDialog)
    dialog.date.setDate(qdate(date(2024, 11, 4)))
    save(qtbot, dialog)  # no reason: refused, inline
    assert "更正原因" in dialog.error.text() and dialog.isVisible()
    dialog.reason.setPlainText("线索登记簿上为 11 月 4 日")
    save(qtbot, dialog)
    assert dialog.result() == dialog.DialogCode.Accepted, dialog.error.text()
    assert operations().wait()
    assert view.case.opened_on == date(2024, 11, 4)
    assert "2024-11-07" in view.form.heading.text()  # the deadline follows: D+3
    assert view.corrections.isVisible()
    text = view.corrections.text()
    assert "2024-11-14 → 2024-11-04" in text and "线索登记簿上为 11 月 4 日" in text and "管理员" in text


def test_a_recorded_step_is_corrected_with_a_reason_and_marked_in_the_timeline(qtbot, page, ctx, hid):
    cid = open_case(ctx, hid, date(2024, 11, 4))
    ctx.run(workflow.complete_step, cid, "verify", date(2024, 11, 6), data={"authorized": True}, as_of=TODAY)
    page.open_case(cid)
    view = page.case_view
    view.select_step(0)
    assert view.correct_button.isEnabled()
    view.select_step(1)  # the pending step: nothing to correct
    assert not view.correct_button.isEnabled()
    view.select_step(0)
    click(qtbot, view.correct_button)
    dialog = view.dialog
    assert isinstance(dialog, StepCorrectionDialog)
    dialog.date.setDate(qdate(date(2024, 11, 5)))
    dialog.reason.setPlainText("入户日期记错")
    save(qtbot, dialog)
    assert dialog.result() == dialog.DialogCode.Accepted, dialog.error.text()
    assert view.case.steps[0].done_on == date(2024, 11, 5)
    notes = view.steps.index(0, STEP_NOTES)
    assert "〔已更正〕" in notes.data()
    assert "2024-11-06 → 2024-11-05" in notes.data(Qt.ItemDataRole.ToolTipRole)
    assert "入户日期记错" in view.corrections.text()


def test_a_duplicate_case_is_voided_shown_as_voided_and_leaves_the_list(qtbot, page, ctx, hid):
    cid = open_case(ctx, hid, date(2024, 11, 4))
    page.load_cases()
    assert operations().wait()
    assert page.model.row_of(cid) is not None
    page.open_case(cid)
    view = page.case_view
    assert view.void_button.isVisible()
    click(qtbot, view.void_button)
    dialog = view.dialog
    assert isinstance(dialog, VoidCaseDialog)
    dialog.reason.setPlainText("与纸质台账重复登记")
    save(qtbot, dialog)
    assert dialog.result() == dialog.DialogCode.Accepted, dialog.error.text()
    assert operations().wait()
    assert "已作废" in view.title.text() and not view.void_button.isVisible() and not view.form.isVisible()
    assert "与纸质台账重复登记" in view.corrections.text()
    assert page.model.row_of(cid) is None  # out of the list of open cases
    assert ctx.read(register.get_household, hid)[0].monitoring_status == "none"


def test_a_void_dialog_left_open_while_another_seat_did_a_step_is_refused_inline(qtbot, page, ctx, db, hid):
    """Issue 21: the dialog saves what it showed; another seat's step since then makes the case newer."""
    from desktop.services import auth
    from desktop.services.context import AppContext
    from tests.conftest import login
    cid = open_case(ctx, hid, date(2024, 11, 4))
    page.open_case(cid)
    view = page.case_view
    click(qtbot, view.void_button)
    dialog = view.dialog
    assert isinstance(dialog, VoidCaseDialog)
    with db.session(ctx.user) as s:
        auth.create_user(s, "wang", "王审核", "auditor", "Shen-he-2024x")
        s.commit()
    other = AppContext(db, login(db, "wang", "Shen-he-2024x"), year=YEAR, today=lambda: TODAY)
    other.run(workflow.complete_step, cid, "verify", date(2024, 11, 6), data={"authorized": True}, as_of=TODAY)
    dialog.reason.setPlainText("与纸质台账重复登记")
    save(qtbot, dialog)
    assert dialog.result() != dialog.DialogCode.Accepted
    assert "王审核" in dialog.error.text() or "wang" in dialog.error.text()
    assert "重新载入" in dialog.error.text()
    assert ctx.read(workflow.view, cid, TODAY).state == "open"


def test_a_village_clerk_is_not_offered_voiding(qtbot, db, township):
    from desktop.services.context import AppContext
    from tests.conftest import ADMIN_PASSWORD, CLERK_PASSWORD, login
    admin_ctx = AppContext(db, login(db, "admin", ADMIN_PASSWORD), year=YEAR, today=lambda: TODAY)
    data, members = family(township["villages"]["西村"], no="W1", serial=30)
    h = admin_ctx.run(register.save_household, data, members, TODAY)
    cid = open_case(admin_ctx, h, date(2024, 11, 4))
    clerk_ctx = AppContext(db, login(db, "clerk", CLERK_PASSWORD), year=YEAR, today=lambda: TODAY)
    p = CasesPage(clerk_ctx)
    qtbot.addWidget(p)
    p.show()
    assert operations().wait()
    p.open_case(cid)
    assert p.case_view.case.id == cid and not p.case_view.void_button.isVisible()


def test_a_household_is_closed_from_the_register_menu_and_found_again_by_a_search(qtbot, ctx, hid, township):
    from desktop.views.register_page import RegisterPage

    data, members = family(township["villages"]["东村"], no="H2", serial=10)
    other = ctx.run(register.save_household, data, members, TODAY)
    page = RegisterPage(ctx)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    qtbot.waitExposed(page)
    assert page.model.rowCount() == 2
    menu = page.list_actions.menu_for(page.model.index(page.model.row_of(hid), 0))
    [close] = [a for a in menu.actions() if a.text() == "户注销…"]
    close.trigger()
    dialog = page.dialog
    save(qtbot, dialog)  # no reason: refused inline
    assert "注销原因" in dialog.error.text()
    dialog.reason.setPlainText("全户迁出本乡镇")
    save(qtbot, dialog)
    assert dialog.result() == dialog.DialogCode.Accepted, dialog.error.text()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=3000)
    assert page.model.household_id(0) == other
    assert page.tree.topLevelItem(0).text(0) == "全部（1）"
    page.search.setText("H1")
    page.apply_filter()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and page.model.household_id(0) == hid, timeout=3000)
    row = page.model.row(0)
    assert row.status == "已注销"
    # an administrator may take it back
    menu = page.list_actions.menu_for(page.model.index(0, 0))
    assert [a.text() for a in menu.actions() if a.text() == "恢复已注销的户…"]
    editor = page.open_household(hid)
    assert "注销" in editor.access_hint.text() and not editor.save_button.isEnabled()
    editor.reject()
