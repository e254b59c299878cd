"""认定流程 page (SPEC §7): a case walked in the window from a clue to 监测中 and from 监测中 to 已消除风险,
send-back in the timeline, the frozen assessment of a decision, refusals shown inline."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QMessageBox

from desktop.services import income, register, workflow
from desktop.services.income import LineData, RecordData
from desktop.views.case_view import SNAPSHOT_TITLE
from desktop.views.cases_page import CasesPage
from desktop.views.models.case_table import (
    COL_DUE,
    COL_STEP,
    STEP_DUE,
    STEP_NOTES,
    STEP_RESULT,
    CaseTableModel,
    ClueTableModel,
    StepTableModel,
)
from desktop.views.operations import operations

from ..conftest import TODAY, YEAR, family

RED = "#c62828"


@pytest.fixture
def hid(ctx, township):
    """A household of 东村 with a risk (因病) and a wage income of 12,000 for 3 persons (4,000 each)."""
    data, members = family(township["villages"]["东村"], no="H1")
    data.a27_risk_types = ["01"]
    h = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    ctx.run(income.save_record, RecordData(h, YEAR, collected_on=date(2024, 3, 1),
                                           lines=[LineData("A28", "务工收入", D("12000"))],
                                           collected_by="采集员"), TODAY)
    return h


@pytest.fixture
def page(qtbot, ctx, hid):
    p = CasesPage(ctx)
    qtbot.addWidget(p)
    p.resize(1300, 800)
    p.show()
    qtbot.waitExposed(p)
    assert operations().wait()  # the lists are read off the GUI thread
    return p


def status(ctx, hid) -> str:
    return ctx.read(register.get_household, hid)[0].monitoring_status


def qdate(d: date) -> QDate:
    return QDate(d.year, d.month, d.day)


def click(qtbot, button) -> None:
    """A real mouse click, once the button is laid out on screen."""
    assert button.isEnabled(), button.text()
    qtbot.waitUntil(lambda: button.isVisible() and not button.rect().isEmpty(), timeout=3000)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def do_step(qtbot, page, on: date, notes: str = "", **fields) -> None:
    """Fill the next step's form and press 通过; the form must not show an error."""
    form = page.case_view.form
    form.set_done_on(on)
    for key, value in fields.items():
        w = form.fields[key]
        if hasattr(w, "setChecked"):
            w.setChecked(value)
        elif hasattr(w, "set_value"):
            w.set_value(value)
        else:
            w.setText(value)
    form.notes.setPlainText(notes)
    click(qtbot, form.pass_button)
    assert not form.error.text(), form.error.text()
    assert operations().wait()  # the list, read again off the GUI thread, has arrived


def open_by_clue(qtbot, page, d: date) -> int:
    dialog = page.new_clue()
    dialog.source.set_value("01")
    dialog.date.setDate(qdate(d))
    dialog.household.set_number("H1")
    assert "张三" in dialog.household.info.text() and "东村" in dialog.household.info.text()
    dialog.description.setPlainText("户主住院，自付医疗费用高")
    assert dialog.open_case.isChecked()
    click(qtbot, dialog.ok_button)
    assert dialog.result() == dialog.DialogCode.Accepted, dialog.error.text()
    case_id = dialog.case_id
    assert operations().wait()  # the list, read again off the GUI thread, has arrived
    return case_id


def walk_identify_by_services(ctx, hid, d: date) -> int:
    clue = ctx.run(workflow.record_clue, "02", d, household_id=hid, as_of=TODAY)
    cid = ctx.run(workflow.open_identification, clue, user=ctx.user, as_of=TODAY)
    for key, on, data in (("verify", d, {"authorized": True}), ("county_compare", d, {}),
                          ("village_review", d, {"meeting_form": "村民会议"}), ("township_review", d, {}),
                          ("publicity", d + timedelta(days=6),
                           {"publicity_start": (d + timedelta(days=1)).isoformat()}),
                          ("county_approve", d + timedelta(days=7), {"category": "02"}),
                          ("announce", d + timedelta(days=8), {})):
        ctx.run(workflow.complete_step, cid, key, on, data=data, year=YEAR, user=ctx.user, as_of=TODAY)
    return cid


# ---------------------------------------------------------------- clue → 监测中

def test_walk_from_clue_to_monitoring_in_the_window(qtbot, page, ctx, hid):
    d = date(2024, 11, 4)
    cid = open_by_clue(qtbot, page, d)
    view = page.case_view
    assert view.case.id == cid and view.case.kind == "identify"
    assert status(ctx, hid) == "identifying"
    assert page.model.row_of(cid) is not None  # the list shows the new case, selected
    assert page.table.currentIndex().data() is not None
    form = view.form
    assert "入户核实和农户授权承诺" in form.heading.text() and "期限 2024-11-07" in form.heading.text()
    assert form.date.date() == qdate(TODAY)

    # The authorization is required: the service refuses, the form says why in red.
    form.set_done_on(d + timedelta(days=1))
    click(qtbot, form.pass_button)
    assert "授权承诺" in form.error.text() and form.error.isVisible() and RED in form.error.styleSheet()
    assert view.case.pending.key == "verify"

    do_step(qtbot, page, d + timedelta(days=1), authorized=True)
    # Ctrl+Enter in the form is 通过.
    form = view.form
    form.set_done_on(d + timedelta(days=2))
    page.activateWindow()  # shortcuts work in the active window (the clue dialog was)
    qtbot.waitUntil(page.isActiveWindow)
    form.notes.setFocus()
    qtbot.waitUntil(form.notes.hasFocus)
    qtbot.keyClick(form.notes, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert view.case.pending.key == "village_review", form.error.text()
    assert form.notes.toPlainText() == ""  # the key did not go into the text
    form = view.form
    assert set(form.fields) == {"meeting_form"}
    do_step(qtbot, page, d + timedelta(days=2), meeting_form="村民代表会议", notes="到会 32 人，一致同意")
    do_step(qtbot, page, d + timedelta(days=3))

    # Publicity: the period is shown as the start date changes; finishing early is refused inline.
    form = view.form
    assert view.case.pending.key == "publicity"
    form.publicity_start.setDate(qdate(date(2024, 11, 8)))
    assert form.period.text() == "公示期 2024-11-08 至 2024-11-12，2024-11-13 起可办结"
    form.fields["objections"].setText("无异议")
    form.set_done_on(date(2024, 11, 12))
    click(qtbot, form.pass_button)
    assert "公示期 2024-11-08 至 2024-11-12" in form.error.text() and "2024-11-13 起方可办结" in form.error.text()
    assert view.case.pending.key == "publicity"
    form.set_done_on(date(2024, 11, 13))
    click(qtbot, form.pass_button)
    assert not form.error.text()

    # County approval: the category defaults to the suggestion frozen by the last decision.
    form = view.form
    assert view.case.pending.key == "county_approve"
    assert form.fields["category"].value() == "02"  # 边缘易致贫户
    do_step(qtbot, page, date(2024, 11, 14))
    assert status(ctx, hid) == "monitoring"
    data = ctx.read(register.get_household, hid)[0]
    assert data.identified_on == date(2024, 11, 14) and data.a3_category == "02"

    assert view.case.pending.key == "announce" and view.case.pending.due_on == date(2024, 11, 24)
    assert not view.form.back_button.isEnabled() and "已作出决定" in view.form.back_button.toolTip()
    do_step(qtbot, page, date(2024, 11, 15))
    assert view.case.state == "done" and view.form.isHidden()
    assert "已完成" in view.title.text() and "办结日期 2024-11-15" in view.header.text()
    results = [view.steps.index(r, STEP_RESULT).data() for r in range(view.steps.rowCount())]
    assert results == ["通过"] * 7
    # The list follows: the case left 进行中, the filter 全部 shows it as 已完成.
    assert page.model.row_of(cid) is None
    page.state_combo.set_value(None)
    assert operations().wait()
    assert page.model.rows()[page.model.row_of(cid)].state_name == "已完成"


def test_publicity_start_is_recorded_before_the_period_ends(qtbot, page, ctx, hid):
    d = date(2024, 11, 4)
    open_by_clue(qtbot, page, d)
    for on, fields in ((d + timedelta(days=1), {"authorized": True}), (d + timedelta(days=1), {}),
                       (d + timedelta(days=2), {"meeting_form": "村民会议"}), (d + timedelta(days=3), {})):
        do_step(qtbot, page, on, **fields)
    form = page.case_view.form
    form.publicity_start.setDate(qdate(date(2024, 11, 18)))
    click(qtbot, next(b for b in form.findChildren(type(form.pass_button)) if b.text() == "登记公示开始"))
    view = page.case_view
    assert view.case.pending.data["publicity_start"] == "2024-11-18"
    assert view.case.pending.due_on == date(2024, 11, 23)  # the first day it may be completed
    assert view.form.publicity_start.date() == qdate(date(2024, 11, 18))  # the form keeps the recorded start
    assert "公示期 2024-11-18 至 2024-11-22" in view.steps.index(view.steps.pending_row(), STEP_NOTES).data()


def test_failing_a_step_needs_a_reason_and_a_confirmation(qtbot, page, ctx, hid, monkeypatch):
    open_by_clue(qtbot, page, date(2024, 11, 4))
    form = page.case_view.form
    form.set_done_on(date(2024, 11, 5))
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.Yes)
    click(qtbot, form.fail_button)
    assert "须在“说明”中填写原因" in form.error.text() and not asked
    form.notes.setPlainText("收入稳定，无返贫风险")
    click(qtbot, form.fail_button)
    assert len(asked) == 1
    case = page.case_view.case
    assert case.state == "failed" and "收入稳定" in case.end_reason
    assert "终止原因" in page.case_view.header.text()
    assert status(ctx, hid) == "none"


def test_send_back_is_shown_in_the_timeline(qtbot, page, ctx, hid):
    d = date(2024, 11, 4)
    open_by_clue(qtbot, page, d)
    view = page.case_view
    assert not view.form.back_button.isEnabled()  # the first step cannot be sent back
    assert view.form.back_button.toolTip() == "第一步不能退回"
    do_step(qtbot, page, d + timedelta(days=1), authorized=True)
    do_step(qtbot, page, d + timedelta(days=2))
    form = view.form
    form.set_done_on(d + timedelta(days=3))
    click(qtbot, form.back_button)
    assert "修改意见" in form.error.text()
    form.notes.setPlainText("比对结果缺少车辆信息")
    click(qtbot, form.back_button)
    assert not form.error.text()
    steps = view.steps
    # Recorded steps, the pending one, then the steps still to come (greyed) with the deadlines known.
    assert [steps.index(r, STEP_RESULT).data() for r in range(steps.rowCount())] == \
        ["通过", "通过", "退回修改", "待办"] + ["未开始"] * 5
    approve = next(r for r in range(steps.rowCount()) if steps.index(r, 1).data() == "县级批准")
    assert steps.index(approve, STEP_DUE).data() == "2024-11-19"  # D+15, shown from the start
    assert steps.index(approve, 0).data() == ""
    assert steps.index(2, STEP_NOTES).data() == "比对结果缺少车辆信息"
    assert view.case.pending.key == "county_compare"
    assert "县级信息比对" in view.form.heading.text()
    # The pending row is highlighted.
    assert steps.index(3, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert steps.index(0, 0).data(Qt.ItemDataRole.BackgroundRole) is None


def test_overdue_deadlines_are_red_in_the_list_and_the_timeline(qtbot, page, ctx, hid):
    cid = open_by_clue(qtbot, page, date(2024, 11, 1))  # 入户核实 due 11-04, today 11-20
    row = page.model.row_of(cid)
    due = page.model.index(row, COL_DUE)
    assert due.data() == "2024-11-04"
    assert due.data(Qt.ItemDataRole.ForegroundRole).color().name() == RED
    assert page.model.index(row, COL_STEP).data() == "入户核实和农户授权承诺"
    assert due.data(Qt.ItemDataRole.ToolTipRole) == "已逾期 16 天"
    steps = page.case_view.steps
    assert steps.index(0, STEP_DUE).data(Qt.ItemDataRole.ForegroundRole).color().name() == RED
    assert "已逾期 16 天" in page.case_view.form.heading.text()
    page.overdue_check.setChecked(True)
    assert operations().wait()
    assert [r.id for r in page.model.rows()] == [cid]
    assert "逾期 1 件" in page.count_label.text()


def test_frozen_assessment_panel_shows_the_snapshot_not_later_edits(qtbot, page, ctx, hid):
    d = date(2024, 11, 4)
    open_by_clue(qtbot, page, d)
    do_step(qtbot, page, d + timedelta(days=1), authorized=True)
    do_step(qtbot, page, d + timedelta(days=2))
    do_step(qtbot, page, d + timedelta(days=2), meeting_form="村民会议")
    # Later the income changes; the decision keeps what it was based on.
    ctx.run(income.save_record, RecordData(hid, YEAR, collected_on=date(2024, 11, 10),
                                           lines=[LineData("A28", "务工收入", D("90000"))],
                                           collected_by="采集员"), TODAY)
    view = page.case_view
    view.reload()
    view.select_step(0)  # 入户核实: no snapshot
    assert view.snapshot_box.title() == SNAPSHOT_TITLE
    assert "不冻结测算" in view.snapshot.toPlainText()
    view.select_step(2)  # 村级民主评议
    text = view.snapshot.toPlainText()
    assert "村级民主评议" in text and "2024-11-06" in text
    assert "4,000.00" in text and "12,000.00" in text and "7,100.00" in text
    assert "边缘易致贫户" in text and "A38 人均收入参考范围" in text
    assert "30,000.00" not in text and "90,000.00" not in text
    assert "人均收入参考值 4,000.00 元低于" in text  # the reasons are listed


# ---------------------------------------------------------------- 监测中 → 已消除风险

def test_risk_removal_from_monitoring_to_removed(qtbot, page, ctx, hid):
    walk_identify_by_services(ctx, hid, date(2024, 4, 1))
    assert status(ctx, hid) == "monitoring"
    page.refresh()
    assert operations().wait()
    dialog = page.new_removal()
    dialog.household.set_number("H1")
    dialog.way.set_value("01")  # 帮扶消除
    assert not dialog.eligibility.eligible
    assert "不符合风险消除条件" in dialog.check.text() and "监测线" in dialog.check.text()
    assert not dialog.ok_button.isEnabled()
    dialog.confirm()  # even when forced, nothing is opened
    assert dialog.result() != dialog.DialogCode.Accepted and dialog.case_id is None
    assert status(ctx, hid) == "monitoring"

    # The year's annual record above the line, identified more than six months ago (SPEC §7).
    for on in (date(2024, 5, 1), date(2024, 8, 1)):
        ctx.run(income.save_record, RecordData(hid, YEAR, collected_on=on,
                                               lines=[LineData("A28", "务工收入", D("30000"))],
                                               collected_by="采集员"), TODAY)
    dialog.recheck()
    assert dialog.eligibility.eligible and "符合风险消除条件" in dialog.check.text()
    assert "10,000.00" in dialog.check.text() and "已满 6 个月" in dialog.check.text()
    dialog.date.setDate(qdate(date(2024, 11, 1)))
    click(qtbot, dialog.ok_button)
    assert dialog.result() == dialog.DialogCode.Accepted, dialog.error.text()
    view = page.case_view
    assert view.case.kind == "removal" and status(ctx, hid) == "removing"
    assert "消除方式：帮扶消除" in view.header.text()

    do_step(qtbot, page, date(2024, 11, 2))
    do_step(qtbot, page, date(2024, 11, 3), meeting_form="村“两委”扩大会议")
    do_step(qtbot, page, date(2024, 11, 4))
    view.form.publicity_start.setDate(qdate(date(2024, 11, 5)))
    do_step(qtbot, page, date(2024, 11, 10), objections="无异议")
    do_step(qtbot, page, date(2024, 11, 11))
    data = ctx.read(register.get_household, hid)[0]
    assert (data.monitoring_status, data.a53_removal_way, data.a54_removed_on) == ("removed", "01",
                                                                                    date(2024, 11, 11))
    # The revisit half a year later is listed among the household's other cases.
    assert "风险消除回访" in view.others.text()


def test_removal_dialog_refuses_a_household_not_monitored(qtbot, page, ctx, hid):
    dialog = page.new_removal()
    dialog.household.set_number("H1")
    dialog.way.set_value("02")  # 自然消除: no income period, but the household is not monitored
    dialog.recheck()
    dialog.confirm()
    assert dialog.case_id is None and status(ctx, hid) == "none"
    dialog.household.set_number("NOPE")
    assert "未找到" in dialog.household.info.text() and not dialog.ok_button.isEnabled()


def test_green_channel_and_applications(qtbot, page, ctx, hid):
    dialog = page.new_green_channel()
    dialog.household.set_number("H1")
    dialog.reason.setPlainText("房屋火灾")
    click(qtbot, dialog.ok_button)
    assert "镇村两级确认" in dialog.error.text() and dialog.case_id is None
    dialog.confirmed.setChecked(True)
    click(qtbot, dialog.ok_button)
    assert dialog.case_id is not None and status(ctx, hid) == "green"
    assert page.case_view.case.kind == "green"
    assert "纳入原因：房屋火灾" in page.case_view.header.text()

    dialog = page.new_application("rollback")
    dialog.household.set_number("H1")
    dialog.reason.setPlainText("消除有误")
    click(qtbot, dialog.ok_button)
    assert "不能发起风险消除回退" in dialog.error.text()


def test_clue_without_identification_is_listed_and_identified_later(qtbot, page, ctx, hid):
    dialog = page.new_clue()
    dialog.source.set_value("04")  # 12317平台
    dialog.date.setDate(qdate(date(2024, 11, 18)))
    dialog.household.set_number("H1")
    dialog.open_case.setChecked(False)
    click(qtbot, dialog.ok_button)
    assert dialog.clue_id is not None and dialog.case_id is None
    assert operations().wait()
    assert page.tabs.currentIndex() == 1 and "待处理 1" in page.tabs.tabText(1)
    [clue] = page.clues.rows()
    assert clue.source_name == "12317平台" and clue.head_name == "张三"
    page.clue_table.setCurrentIndex(page.clue_proxy.index(0, 0))
    assert page.identify_button.isEnabled()
    cid = page.identify_clue()
    assert operations().wait()
    assert cid is not None and page.case_view.case.id == cid and status(ctx, hid) == "identifying"
    assert page.clues.rowCount() == 0  # no pending clue left


def test_clue_checked_without_identification_is_closed(qtbot, page, ctx, hid):
    from desktop.services import workflow
    ctx.run(workflow.record_clue, "02", date(2024, 11, 18), household_id=hid, as_of=date(2024, 11, 20))
    page.refresh()
    assert operations().wait()
    page.tabs.setCurrentIndex(1)
    page.clue_table.setCurrentIndex(page.clue_proxy.index(0, 0))
    assert page.close_clue_button.isEnabled()
    assert not page.close_clue(" ")  # a result is required: shown inline
    assert "核实结果" in page.error.text()
    assert page.close_clue("经核实无返贫致贫风险")
    assert operations().wait()
    assert page.clues.rowCount() == 0 and status(ctx, hid) == "none"


def test_open_case_clears_filters_that_hide_it(qtbot, page, ctx, hid):
    cid = walk_identify_by_services(ctx, hid, date(2024, 4, 1))  # done: not in 进行中
    page.refresh()
    assert operations().wait()
    assert page.model.row_of(cid) is None
    page.open_case(cid)
    assert operations().wait()
    assert page.case_view.case.id == cid and page.state_combo.value() is None
    assert page.table.currentIndex().isValid()


def test_clerk_sees_only_their_villages(qtbot, db, township, ctx, hid, admin):
    from desktop.services import auth
    from desktop.services.context import AppContext
    walk_identify_by_services(ctx, hid, date(2024, 4, 1))  # a case in 东村
    with db.session(admin) as s:
        clerk = auth.authenticate(s, "clerk", "Xc-cun-2024")  # 西村 only
        s.commit()
    p = CasesPage(AppContext(db=db, user=clerk, year=YEAR, today=lambda: TODAY))
    qtbot.addWidget(p)
    p.state_combo.set_value(None)
    assert operations().wait()
    assert p.model.rowCount() == 0
    assert [p.village_combo.itemText(i) for i in range(p.village_combo.count())] == ["全部", "西村"]
    dialog = p.new_clue()
    dialog.household.set_number("H1")
    assert "不在您负责的村" in dialog.household.info.text()


def test_case_models_pass_the_model_tester(qtmodeltester, ctx, hid):
    cid = walk_identify_by_services(ctx, hid, date(2024, 4, 1))
    model = CaseTableModel()
    model.set_rows(ctx.read(workflow.cases, TODAY), TODAY)
    qtmodeltester.check(model)
    steps = StepTableModel()
    steps.set_steps(ctx.read(workflow.view, cid, TODAY).steps, TODAY, {"meeting_form": "评议形式"})
    qtmodeltester.check(steps)
    assert "评议形式：村民会议" in steps.index(2, STEP_NOTES).data()
    clues = ClueTableModel()
    clues.set_rows(ctx.read(workflow.clues))
    qtmodeltester.check(clues)


def test_shown_and_refreshed_in_one_turn_reads_each_list_once(qtbot, ctx, hid, monkeypatch):
    """Switching to the page shows it and, when data changed while it was hidden, refreshes it in the same turn
    of the event loop: each list is read once, not twice. A refresh in a later turn (F5) reads again."""
    p = CasesPage(ctx)
    qtbot.addWidget(p)
    assert operations().wait()
    reads = {"cases": 0, "clues": 0}
    real_cases, real_clues = workflow.cases, workflow.clues

    def cases(*a, **kw):
        reads["cases"] += 1
        return real_cases(*a, **kw)

    def clues(*a, **kw):
        reads["clues"] += 1
        return real_clues(*a, **kw)
    monkeypatch.setattr(workflow, "cases", cases)
    monkeypatch.setattr(workflow, "clues", clues)
    p.show()  # what the window's page switch does: show, then refresh the page it had marked stale
    p.refresh()
    assert operations().wait()
    assert reads == {"cases": 1, "clues": 1}
    qtbot.wait(1)  # the next turn
    p.refresh()
    assert operations().wait()
    assert reads == {"cases": 2, "clues": 2}
