"""Issue 18: one search-as-you-type household picker wherever a household is chosen (户编号, 户主, any member's name or
ID number, phone; ↑/↓ and Enter), backed by one service search that keeps to the user's villages and leaves closed
households out."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop.services import corrections, register
from desktop.services.context import AppContext
from desktop.views.clue_dialog import ClueDialog
from desktop.views.member_dialogs import MoveMemberDialog
from desktop.views.widgets.household_picker import HouseholdPicker

from ..conftest import CLERK_PASSWORD, TODAY, YEAR, family, login


@pytest.fixture
def town(ctx, township):
    east, west = township["villages"]["东村"], township["villages"]["西村"]
    d1, m1 = family(east, no="3703050010010001", serial=1)
    d1.phone = "13912345678"
    d2, m2 = family(east, no="3703050010010002", serial=10)
    m2[0].name, m2[1].name, m2[2].name = "王五", "赵六", "王小明"
    d3, m3 = family(west, no="3703050020010001", serial=20)
    m3[0].name, m3[1].name, m3[2].name = "刘一", "陈二", "刘小二"
    ids = [ctx.run(register.save_household, d, m, TODAY) for d, m in ((d1, m1), (d2, m2), (d3, m3))]
    return {"h1": ids[0], "h2": ids[1], "h3": ids[2], "members": (m1, m2, m3)}


def nos(rows):
    return [r.household_no for r in rows]


def test_one_search_by_number_head_member_id_and_phone(ctx, town):
    assert nos(ctx.read(register.search_households, "3703050010010002")) == ["3703050010010002"]
    assert nos(ctx.read(register.search_households, "王五")) == ["3703050010010002"]
    [by_member] = ctx.read(register.search_households, "赵六")  # not the head: the match says who
    assert by_member.household_no == "3703050010010002" and by_member.matched == "成员 赵六"
    child_id = town["members"][2][2].id_number
    [by_id] = ctx.read(register.search_households, child_id)
    assert by_id.household_no == "3703050020010001" and "刘小二" in by_id.matched
    [by_phone] = ctx.read(register.search_households, "12345678")
    assert by_phone.household_no == "3703050010010001"
    assert nos(ctx.read(register.search_households, "370305001")) == ["3703050010010001", "3703050010010002"]


def test_the_search_keeps_to_the_clerks_villages_and_leaves_closed_households_out(db, ctx, town):
    clerk = AppContext(db, login(db, "clerk", CLERK_PASSWORD), year=YEAR, today=lambda: TODAY)
    assert nos(clerk.read(register.search_households, "3703050")) == ["3703050020010001"]
    assert clerk.read(register.search_households, "王五") == []
    ctx.run(corrections.close_household, town["h2"], TODAY, "重复登记", as_of=TODAY)
    assert ctx.read(register.search_households, "王五") == []


def test_typing_a_name_drops_down_matches_and_enter_chooses(qtbot, ctx, town):
    picker = HouseholdPicker(ctx)
    qtbot.addWidget(picker)
    picker.show()
    qtbot.waitExposed(picker)
    picker.number.setFocus()
    chosen = []
    picker.changed.connect(chosen.append)
    picker.number.setText("王")  # 王五 (head) and 王小明 (member) of one household
    popup = picker.completer.popup()
    qtbot.waitUntil(popup.isVisible, timeout=3000)
    assert picker.matches.rowCount() == 1
    assert "王五（东村）" in picker.matches.item(0).text() and "未纳入" in picker.matches.item(0).text()
    popup.setCurrentIndex(picker.completer.completionModel().index(0, 0))
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: picker.household_id() == town["h2"], timeout=3000)
    assert chosen == [town["h2"]]
    assert picker.number.text() == "3703050010010002" and "王五" in picker.info.text()
    assert picker.household_no() == "3703050010010002"


def test_enter_chooses_the_only_match_and_nothing_found_is_said(qtbot, ctx, town):
    picker = HouseholdPicker(ctx)
    qtbot.addWidget(picker)
    picker.number.setText("刘小二")
    qtbot.keyClick(picker.number, Qt.Key.Key_Return)
    assert picker.household_id() == town["h3"]
    picker.set_number("不存在的人")
    assert picker.household_id() is None and "未找到" in picker.info.text()


def test_the_clue_dialog_finds_a_household_by_a_members_name(qtbot, ctx, town):
    dialog = ClueDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.household.number.setText("赵六")
    qtbot.keyClick(dialog.household.number, Qt.Key.Key_Return)
    assert dialog.household.household_id() == town["h2"]
    assert dialog.request().household_no == "3703050010010002"


def test_moving_a_member_chooses_the_other_household_by_name_never_its_own(qtbot, ctx, town):
    _data, members = ctx.read(register.get_household, town["h1"])
    dialog = MoveMemberDialog(ctx, members[2], town["h1"])
    qtbot.addWidget(dialog)
    dialog.target.set_number("3703050010010001")
    assert dialog.target_id is None and "本户" in dialog.target_info.text()
    dialog.target.number.setText("刘一")
    qtbot.keyClick(dialog.target.number, Qt.Key.Key_Return)
    assert dialog.target_id == town["h3"]
