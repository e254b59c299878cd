"""帮扶计划 (SPEC §3, §6.2, §7): measures added, edited and ended in the window; an override of the
developmental flag needs a note; the plan's state is shown at the top."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from PySide6.QtCore import QDate, Qt

from desktop.services import measures, register, workflow
from desktop.views.models.measure_table import COL_AMOUNT, COL_DEVELOPMENTAL, COL_ITEM, COL_STATE, MeasureTableModel
from desktop.views.plan_editor import PlanEditor

from ..conftest import TODAY, family
from .test_cases_page import click, walk_identify_by_services

RED = "#c62828"


@pytest.fixture
def hid(ctx, township):
    data, members = family(township["villages"]["东村"], no="H1")
    data.a27_risk_types = ["01"]
    h = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    walk_identify_by_services(ctx, h, date(2024, 4, 1))  # identified 2024-04-08: plan due 04-18
    return h


@pytest.fixture
def editor(qtbot, ctx, hid):
    e = PlanEditor(ctx, hid)
    qtbot.addWidget(e)
    e.show()
    qtbot.waitExposed(e)
    return e


def test_plan_status_is_red_while_overdue_and_without_developmental_measure(editor):
    text = editor.status.text()
    assert "帮扶计划应于 2024-04-18 前制定，已逾期" in text
    assert "开发式帮扶" in text
    assert RED in editor.status.styleSheet()
    assert "H1" in editor.windowTitle() and "张三" in editor.windowTitle()


def test_add_a_developmental_measure(qtbot, editor, ctx, hid):
    dialog = editor.add_measure()
    dialog.category.set_value("A40")  # 就业帮扶
    assert [dialog.item.itemText(i) for i in range(dialog.item.count())][:3] == ["（请选择）", "技能培训", "劳务输出"]
    dialog.item.set_value("技能培训")
    assert dialog.raises.isEnabled() and "默认判断：否" in dialog.default_label.text()
    dialog.raises.setChecked(True)
    assert "默认判断：是" in dialog.default_label.text()
    dialog.member.set_value(next(m.id for m in ctx.read(register.get_household, hid)[1] if m.name == "张三"))
    dialog.start.setDate(QDate(2024, 11, 1))
    dialog.amount.setText("1,200")
    dialog.unit.setText("区人社局")
    click(qtbot, dialog.save_button)
    assert not dialog.error.text() and dialog.result() == dialog.DialogCode.Accepted
    [row] = editor.model.rows()
    assert (row.item, row.member_name, row.amount, row.responsible_unit) == ("技能培训", "张三", D("1200.00"),
                                                                             "区人社局")
    assert editor.model.index(0, COL_DEVELOPMENTAL).data() == "是"
    assert editor.model.index(0, COL_AMOUNT).data() == "1,200.00"
    assert editor.model.index(0, COL_STATE).data() == "实施中"
    assert "开发式" not in editor.status.text() and RED not in editor.status.styleSheet()
    assert "共 1 项措施，其中 1 项正在实施" in editor.status.text()


def test_override_without_a_note_is_refused(qtbot, editor, ctx, hid):
    dialog = editor.add_measure()
    dialog.category.set_value("A48")  # 综合保障
    dialog.item.set_value("低保")
    assert "默认判断：否" in dialog.default_label.text()
    dialog.override.set_value(True)
    click(qtbot, dialog.save_button)
    assert "写明理由" in dialog.error.text() and dialog.error.isVisible()
    assert dialog.isVisible() and editor.model.rowCount() == 0
    assert ctx.read(measures.measures, hid, TODAY) == []
    dialog.note.setText("低保户同时安排了种植项目，按开发式统计")
    click(qtbot, dialog.save_button)
    assert not dialog.error.text()
    assert editor.model.index(0, COL_DEVELOPMENTAL).data() == "是（调整）"
    assert "种植项目" in editor.model.index(0, COL_DEVELOPMENTAL).data(Qt.ItemDataRole.ToolTipRole)


def test_edit_loads_the_measure_and_end_needs_a_reason(qtbot, editor, ctx, hid):
    mid = ctx.run(measures.save_measure, measures.MeasureData(hid, "A42", "保洁员", start_date=date(2024, 5, 1),
                                                              responsible_unit="镇环卫所"))
    editor.refresh()
    editor.select(mid)
    dialog = editor.edit_measure()
    assert (dialog.category.value(), dialog.item.value(), dialog.unit.text()) == ("A42", "保洁员", "镇环卫所")
    dialog.unit.setText("镇综合执法办")
    click(qtbot, dialog.save_button)
    assert ctx.read(measures.get_measure, mid).responsible_unit == "镇综合执法办"
    assert editor.current().id == mid

    end = editor.end_measure()
    end.date.setDate(QDate(2024, 11, 15))
    assert not end.end()
    assert "中止原因" in end.error.text()
    end.reason.setText("已外出务工")
    assert end.end()
    assert editor.model.index(0, COL_STATE).data() == "已中止"
    assert not editor.end_button.isEnabled()


def test_plan_from_a_case_links_its_measures(qtbot, ctx, township):
    data, members = family(township["villages"]["西村"], no="H2", serial=21)
    h = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    gid = ctx.run(workflow.open_green_channel, h, date(2024, 11, 18), confirmed=True, reason="房屋火灾")
    editor = PlanEditor(ctx, h, gid)
    qtbot.addWidget(editor)
    dialog = editor.add_measure()
    dialog.category.set_value("A48")
    dialog.item.set_value("临时救助")
    assert dialog.save() is not None
    [row] = ctx.read(measures.measures, h, TODAY)
    assert ctx.read(measures.get_measure, row.id).case_id == gid


def test_measure_model_passes_the_model_tester(qtmodeltester, ctx, hid):
    ctx.run(measures.save_measure, measures.MeasureData(hid, "A41", "小额信贷", start_date=date(2024, 5, 1),
                                                        end_date=date(2026, 5, 1), amount="50,000元"))
    model = MeasureTableModel()
    model.set_rows(ctx.read(measures.measures, hid, TODAY), TODAY)
    qtmodeltester.check(model)
    assert model.index(0, COL_ITEM).data() == "小额信贷"
    assert "风险消除后继续" in model.index(0, COL_STATE).data(Qt.ItemDataRole.ToolTipRole)

