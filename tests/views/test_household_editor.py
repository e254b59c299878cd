"""The household editor: live validation, saving, member events and moves, history."""

from dataclasses import replace
from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox

from desktop.services import audit, auth, register
from desktop.services.access import AccessDenied
from desktop.services.context import AppContext
from desktop.services.idnumber import make_id
from desktop.views.household_editor import TAB_HISTORY, HouseholdEditor
from desktop.views.member_dialogs import MemberEventDialog, MoveMemberDialog
from desktop.views.models.member_table import COL
from tests.conftest import TODAY, YEAR, family


@pytest.fixture(autouse=True)
def never_block_on_close(monkeypatch):
    """An editor left with unsaved edits at teardown would ask (modally); tests that care set their own answer."""
    monkeypatch.setattr(HouseholdEditor, "ask_unsaved", lambda self, text, discard=True: "discard")


@pytest.fixture
def messages(monkeypatch):
    """Message boxes never block: each shown text is recorded."""
    shown = []

    def fake(kind):
        def show(parent, title, text, *args, **kwargs):
            shown.append((kind, title, text))
            return QMessageBox.StandardButton.Ok
        return show

    for kind in ("warning", "information", "critical", "question"):
        monkeypatch.setattr(QMessageBox, kind, fake(kind))
    return shown


@pytest.fixture
def saved(ctx, township):
    data, members = family(township["villages"]["东村"], township["groups"][("东村", "一组")])
    return ctx.run(register.save_household, data, members, TODAY, ctx.user)


def editor(qtbot, ctx, household_id=None, **kw) -> HouseholdEditor:
    ed = HouseholdEditor(ctx, household_id, **kw)
    qtbot.addWidget(ed)
    return ed


def set_cell(ed, row, field, value):
    model = ed.members_model
    assert model.setData(model.index(row, COL[field]), value)


def add_row(ed, name, born, sex, relation, serial):
    ed.add_button.click()
    row = ed.members_model.rowCount() - 1
    ed.members_view.closePersistentEditor(ed.members_model.index(row, COL["name"]))
    set_cell(ed, row, "name", name)
    set_cell(ed, row, "id_number", make_id("370305", born, serial, sex))
    set_cell(ed, row, "relation", relation)
    set_cell(ed, row, "a17_medical", True)
    return row


def fill_new_household(qtbot, ed, township, no="3703050010029999"):
    qtbot.keyClicks(ed.basic.household_no, no)
    ed.basic.village.set_value(township["villages"]["东村"])
    ed.basic.group.set_value(township["groups"][("东村", "二组")])
    qtbot.keyClicks(ed.basic.phone, "13912345678")
    add_row(ed, "周大𠮷", date(1968, 5, 6), "1", "01", 31)
    add_row(ed, "吴䶮", date(1970, 7, 8), "2", "02", 32)


def test_new_household_with_members_is_saved(qtbot, ctx, township):
    ed = editor(qtbot, ctx)
    assert ed.windowTitle() == "新增户"
    fill_new_household(qtbot, ed, township)
    assert ed.members_model.member(0).relation == "01"  # the first row is the head
    assert ed.problems.messages() == []
    assert ed.save_button.isEnabled() and ed.is_dirty()
    with qtbot.waitSignal(ed.saved) as blocker:
        ed.save_button.click()
    hid = blocker.args[0]
    data, members = ctx.read(register.get_household, hid)
    assert data.household_no == "3703050010029999" and data.group_id == township["groups"][("东村", "二组")]
    assert [m.name for m in members] == ["周大𠮷", "吴䶮"]
    assert members[1].sex == "2"  # taken from the ID number
    assert ed.household_id == hid and not ed.is_dirty()
    assert "周大𠮷" in ed.windowTitle()


def test_invalid_id_number_is_shown_and_save_disabled(qtbot, ctx, saved):
    ed = editor(qtbot, ctx, saved)
    assert ed.save_button.isEnabled()
    good = ed.members_model.member(1).id_number
    set_cell(ed, 1, "id_number", good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert any("校验位错误" in m for m in ed.problems.messages())
    assert ed.problems.isVisibleTo(ed)
    assert not ed.save_button.isEnabled()
    cell = ed.members_model.index(1, COL["id_number"])
    assert cell.data(Qt.ItemDataRole.BackgroundRole) is not None
    assert "校验位错误" in cell.data(Qt.ItemDataRole.ToolTipRole)
    set_cell(ed, 1, "id_number", good)
    assert ed.problems.messages() == [] and ed.save_button.isEnabled()


def test_two_heads_are_refused_live(qtbot, ctx, saved):
    ed = editor(qtbot, ctx, saved)
    set_cell(ed, 1, "relation", "01")
    assert any("一户只能有一名户主" in m for m in ed.problems.messages())
    assert not ed.save_button.isEnabled()
    assert ed.members_model.index(1, COL["relation"]).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert not ed.save()  # even when called directly nothing is written
    assert ctx.read(register.get_household, saved)[1][1].relation == "02"


def test_household_field_problem_marks_the_field(qtbot, ctx, saved):
    ed = editor(qtbot, ctx, saved)
    ed.basic.household_no.clear()
    assert "户编号不能为空" in ed.problems.messages()
    assert ed.basic.household_no.styleSheet() != ""
    ed.go_to_problem(ed.problems.problems()[0])
    assert ed.tabs.currentIndex() == 0


def test_service_validation_error_is_shown_the_same_way(qtbot, ctx, township, saved, messages):
    ed = editor(qtbot, ctx)
    fill_new_household(qtbot, ed, township, no="3703050010010001")  # the number of `saved`
    assert ed.save_button.isEnabled()
    assert not ed.save()
    assert any("已被其他户使用" in m for m in ed.problems.messages())
    assert not ed.save_button.isEnabled()
    assert messages == []
    qtbot.keyClicks(ed.basic.household_no, "9")  # the next edit clears the service's finding
    assert ed.problems.messages() == [] and ed.save_button.isEnabled()


def test_id_living_in_another_household_is_refused(qtbot, ctx, township, saved):
    ed = editor(qtbot, ctx)
    fill_new_household(qtbot, ed, township)
    other = ctx.read(register.get_household, saved)[1][0].id_number
    set_cell(ed, 0, "id_number", other)
    set_cell(ed, 0, "sex", "1")
    assert not ed.save()
    assert any("已登记在户 3703050010010001" in m for m in ed.problems.messages())


def test_a26_is_derived_from_members(qtbot, ctx, saved):
    ed = editor(qtbot, ctx, saved)
    assert ed.guarantee.a26.text() == "否"
    set_cell(ed, 2, "a17_medical", False)
    assert ed.guarantee.a26.text().startswith("是") and "张小堃" in ed.guarantee.a26.text()
    set_cell(ed, 2, "a17_medical", None)  # blank: not 否, but asked for
    assert ed.guarantee.a26.text().startswith("否") and "A17 尚未填写" in ed.guarantee.a26.text()


def test_disaster_types_show_with_natural_disaster_risk(qtbot, ctx, saved):
    ed = editor(qtbot, ctx, saved)
    ed.show()
    assert not ed.risk.disaster_box.isVisible()
    ed.tabs.setCurrentIndex(2)  # 风险类型
    ed.risk.risks["04"].setChecked(True)
    assert ed.risk.disaster_box.isVisible()
    ed.risk.disasters["01"].setChecked(True)
    assert ed.save()
    data, _ = ctx.read(register.get_household, saved)
    assert data.a27_risk_types == ["04"] and data.a27a_disaster_types == ["01"]


def test_changes_are_audited_and_shown_in_history(qtbot, ctx, saved):
    ed = editor(qtbot, ctx, saved)
    ed.show()
    ed.activateWindow()
    qtbot.waitUntil(ed.isActiveWindow)
    ed.basic.phone.setFocus()
    ed.basic.phone.setText("13700000001")
    with qtbot.waitSignal(ed.saved):
        qtbot.keyClick(ed, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    entries = [e for e in ctx.read(audit.history, saved) if e.field == "联系电话"]
    assert entries and entries[0].old == "13800000000" and entries[0].new == "13700000001"
    ed.tabs.setCurrentIndex(TAB_HISTORY)
    rows = ed.history_table.records.rows()
    assert any(r.field == "联系电话" and r.new == "13700000001" and r.user == "管理员" for r in rows)
    model = ed.history_table.records
    shown = [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(model.rowCount())]
    assert any(row[3].startswith("户信息") and row[4] == "联系电话" and row[6] == "13700000001" for row in shown)
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(7)] == \
        ["时间", "用户", "操作", "对象", "字段", "原值", "新值"]


def test_recording_a_death_changes_status_and_writes_an_event(qtbot, ctx, saved):
    ed = editor(qtbot, ctx, saved)
    ed.members_view.setCurrentIndex(ed.members_model.index(1, COL["name"]))
    assert ed.event_button.isEnabled()

    def fill(dialog):
        assert isinstance(dialog, MemberEventDialog)
        assert dialog.kind.findData("death") >= 0 and dialog.kind.findData("birth") < 0
        dialog.kind.set_value("death")
        dialog.date.setDate(dialog.date.date().addDays(-3))
        dialog.note.setText("病故")
        dialog.accept()
        return dialog.result() == QDialog.DialogCode.Accepted

    ed.run_dialog = fill
    with qtbot.waitSignal(ed.saved):
        ed.event_button.click()
    _, members = ctx.read(register.get_household, saved)
    assert members[1].status == "dead" and members[1].status_date == date(2024, 11, 17)
    assert ed.members_model.index(1, COL["status"]).data() == "死亡"
    assert ed.members_model.index(1, COL["name"]).data(Qt.ItemDataRole.ForegroundRole) is not None
    events = ctx.read(register.events, saved)
    assert [(e.kind, e.member_name, e.note) for e in events] == [("死亡", "李四", "病故")]
    assert ed.events_table.records.rowCount() == 1
    assert ed.events_table.records.index(0, 1).data() == "死亡"
    assert ed.tabs.tabText(3) == "家庭成员（2 人）"


def test_adding_a_newborn_to_a_saved_household_goes_through_the_event_dialog(qtbot, ctx, saved):
    ed = editor(qtbot, ctx, saved)
    baby_id = next(i for s in range(50, 99) if (i := make_id("370305", date(2024, 10, 1), s, "2")).endswith("X"))

    def fill(dialog):
        assert [dialog.kind.itemText(i) for i in range(dialog.kind.count())] == ["（请选择）", "新生儿", "嫁入", "迁入"]
        dialog.accept()
        assert dialog.result() != QDialog.DialogCode.Accepted and "请选择变更类型" in dialog.error.text()
        dialog.kind.set_value("birth")
        assert dialog.form.widgets["ethnicity"].value() == "01"  # the defaults of a new member
        dialog.form.widgets["name"].setText("张小宝")
        dialog.form.widgets["id_number"].setText(baby_id[:-1] + "0")
        dialog.form.widgets["relation"].set_value("08")
        dialog.accept()  # invalid check digit: stays open with the reason
        assert dialog.result() != QDialog.DialogCode.Accepted
        assert "校验位错误" in dialog.error.text()
        dialog.form.widgets["id_number"].clear()
        qtbot.keyClicks(dialog.form.widgets["id_number"], baby_id.lower())
        assert dialog.form.widgets["id_number"].text() == baby_id  # x is upper-cased as typed
        assert dialog.form.widgets["sex"].value() == "2"  # follows the ID number
        dialog.accept()
        return dialog.result() == QDialog.DialogCode.Accepted

    ed.run_dialog = fill
    ed.add_button.click()
    _, members = ctx.read(register.get_household, saved)
    assert [m.name for m in members][-1] == "张小宝" and members[-1].status == "normal"
    assert ctx.read(register.events, saved)[0].kind == "新生儿"
    assert ed.members_model.rowCount() == 4


def test_pending_edits_are_saved_before_an_event(qtbot, ctx, saved, messages):
    ed = editor(qtbot, ctx, saved)
    ed.basic.address.setText("幸福路 8 号")
    ed.members_view.setCurrentIndex(ed.members_model.index(0, COL["name"]))
    asked = []
    ed.ask_unsaved = lambda text, discard=True: asked.append(text) or "cancel"
    ed.run_dialog = lambda dialog: pytest.fail("no dialog when the user cancels")
    ed.event_button.click()
    assert asked and ed.is_dirty()
    ed.ask_unsaved = lambda text, discard=True: "save"
    ed.run_dialog = lambda dialog: False
    ed.event_button.click()
    assert ctx.read(register.get_household, saved)[0].address == "幸福路 8 号"


def test_moving_a_member_to_another_household(qtbot, ctx, township, saved):
    data, members = family(township["villages"]["东村"], no="3703050010010002", serial=40)
    members[0] = replace(members[0], name="刘一")
    target = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    ed = editor(qtbot, ctx, saved)
    ed.members_view.setCurrentIndex(ed.members_model.index(2, COL["name"]))

    def fill(dialog):
        assert isinstance(dialog, MoveMemberDialog)
        qtbot.keyClicks(dialog.target_no, "3703050010010001")
        assert "本户" in dialog.target_info.text()
        dialog.target_no.setText("3703050010010002")
        assert "刘一" in dialog.target_info.text()
        dialog.accept()
        assert "请选择" in dialog.error.text()
        dialog.relation.set_value("07")
        dialog.accept()
        return dialog.result() == QDialog.DialogCode.Accepted

    ed.run_dialog = fill
    ed.move_button.click()
    assert ed.members_model.member(2).status == "moved_out"
    _, moved = ctx.read(register.get_household, target)
    assert moved[-1].name == "张小堃" and moved[-1].relation == "07"


def test_closing_with_unsaved_changes_asks(qtbot, ctx, saved):
    ed = editor(qtbot, ctx, saved)
    ed.show()
    ed.basic.phone.setText("13700000002")
    answers = ["cancel"]
    ed.ask_unsaved = lambda text, discard=True: answers.pop(0)
    ed.close_button.click()
    assert ed.isVisible()  # 取消 keeps the dialog open
    answers.append("save")
    ed.close_button.click()
    assert not ed.isVisible()
    assert ctx.read(register.get_household, saved)[0].phone == "13700000002"


def test_closing_and_discarding_leaves_the_household_unchanged(qtbot, ctx, saved):
    ed = editor(qtbot, ctx, saved)
    ed.show()
    ed.basic.phone.setText("13700000003")
    ed.ask_unsaved = lambda text, discard=True: "discard"
    ed.reject()
    assert not ed.isVisible()
    assert ctx.read(register.get_household, saved)[0].phone == "13800000000"


def test_closing_without_changes_does_not_ask(qtbot, ctx, saved):
    ed = editor(qtbot, ctx, saved)
    ed.show()
    ed.ask_unsaved = lambda *a, **k: pytest.fail("nothing to save")
    ed.reject()
    assert not ed.isVisible()


def test_clerk_cannot_save_another_villages_household(qtbot, db, township, saved, messages, admin):
    with db.session(admin) as s:
        clerk = auth.authenticate(s, "clerk", "Xc-cun-2024")
        s.commit()
    clerk_ctx = AppContext(db=db, user=clerk, year=YEAR, today=lambda: TODAY)
    with pytest.raises(AccessDenied, match="没有“东村”的查看权限"):  # the register never lists it for them
        editor(qtbot, clerk_ctx, saved)
    # Their own village can be chosen for a new household; others cannot.
    new = editor(qtbot, clerk_ctx)
    assert new.basic.village.value() == township["villages"]["西村"]
    assert new.basic.village.findData(township["villages"]["东村"]) == -1  # not even offered


def test_member_cells_edit_on_typing_and_tab_moves_on(qtbot, ctx, saved):
    ed = editor(qtbot, ctx, saved)
    ed.show()
    ed.activateWindow()
    qtbot.waitUntil(ed.isActiveWindow)
    ed.tabs.setCurrentIndex(3)
    view, model = ed.members_view, ed.members_model
    view.setCurrentIndex(model.index(0, COL["phone"]))
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_1)  # typing starts the edit
    cell_editor = ed.focusWidget()
    assert cell_editor is not view and cell_editor.text() == "1"
    qtbot.keyClicks(cell_editor, "3912345678")
    qtbot.keyClick(cell_editor, Qt.Key.Key_Tab)  # commits and moves to the next cell
    assert model.member(0).phone == "13912345678"
    assert view.currentIndex().column() == COL["phone"] + 1
    view.setCurrentIndex(model.index(1, COL["work_months"]))
    qtbot.keyClick(view, Qt.Key.Key_F2)
    spin = ed.focusWidget()
    spin.setValue(6)
    qtbot.keyClick(spin, Qt.Key.Key_Return)  # the delegate commits on the next turn of the event loop
    qtbot.waitUntil(lambda: model.member(1).work_months == 6)
    assert ed.is_dirty() and ed.save()
    assert ctx.read(register.get_household, saved)[1][1].work_months == 6


def test_sex_is_filled_from_the_id_number(qtbot, ctx, township):
    """Issue 19: the ID says the sex (digit 17); a new member's sex is filled from it when not chosen."""
    ed = editor(qtbot, ctx)  # a new household: 添加成员 adds a row
    ed.add_button.click()
    row = ed.members_model.rowCount() - 1
    ed.members_view.closePersistentEditor(ed.members_model.index(row, COL["name"]))
    set_cell(ed, row, "name", "王小花")
    set_cell(ed, row, "id_number", make_id("370305", date(2001, 4, 5), 77, "2"))
    assert ed.members_model.index(row, COL["sex"]).data() == "女"
