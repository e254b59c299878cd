"""Item models of the register: the lazily paged household table and the editable member table."""

from dataclasses import replace
from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView

from desktop.services import register
from desktop.services.register import HouseholdFilter, Problem
from desktop.views.models import household_table
from desktop.views.models.household_table import (
    COL_ALLEVIATED,
    COL_HEAD,
    COL_NO,
    COL_SIZE,
    COL_VILLAGE,
    HEADERS,
    HouseholdTableModel,
)
from desktop.views.models.member_table import COL, FIELDS, MemberTableModel
from desktop.views.widgets.code_delegate import ComboDelegate, MonthsDelegate, TextDelegate
from tests.conftest import TODAY, family, person

HEADS = ["张三", "王五", "赵六", "钱七", "孙八"]


@pytest.fixture
def households(ctx, township):
    """Five households: 东村 has the first three, 西村 the others; the second is a 脱贫户, of the third nobody said."""
    ids = []
    for i, head in enumerate(HEADS):
        village = "东村" if i < 3 else "西村"
        data, members = family(township["villages"][village], no=f"37030500100100{i + 1:02d}", serial=10 + 3 * i)
        members[0] = replace(members[0], name=head)
        data = replace(data, a4_poverty_alleviated={1: True, 2: None}.get(i, False), phone=f"1380000000{i}")
        if i == 4:
            members = members[:2]
        ids.append(ctx.run(register.save_household, data, members, TODAY, ctx.user))
    return ids


class CountingContext:
    """Wraps the real context and records every call to household_rows."""

    def __init__(self, ctx):
        self.ctx, self.pages = ctx, []

    def read(self, fn, *args):
        if fn is register.household_rows:
            self.pages.append(list(args[0]))
        return self.ctx.read(fn, *args)


def column(model, col, role=Qt.ItemDataRole.DisplayRole):
    return [model.index(r, col).data(role) for r in range(model.rowCount())]


def test_household_model_passes_qt_model_tester(qtmodeltester, ctx, households):
    model = HouseholdTableModel(ctx)
    assert model.rowCount() == 5
    qtmodeltester.check(model)


def test_household_model_shows_rows_in_chinese(ctx, households):
    model = HouseholdTableModel(ctx)
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())] == list(HEADERS)
    assert column(model, COL_HEAD) == HEADS
    assert column(model, COL_VILLAGE) == ["东村"] * 3 + ["西村"] * 2
    assert column(model, COL_ALLEVIATED) == ["否", "是", "不详", "否", "否"]
    assert column(model, COL_SIZE) == ["3", "3", "3", "3", "2"]
    assert column(model, COL_NO, household_table.ROW_ROLE) == households
    assert column(model, COL_SIZE, household_table.SORT_ROLE) == [3, 3, 3, 3, 2]  # native values


def test_rows_are_read_lazily_one_page_at_a_time(ctx, households, monkeypatch):
    monkeypatch.setattr(household_table, "PAGE_SIZE", 2)
    counting = CountingContext(ctx)
    model = HouseholdTableModel(counting)
    assert counting.pages == []  # only ids so far
    assert model.index(4, COL_HEAD).data() == "孙八"
    assert counting.pages == [[households[4]]]  # the last page only
    model.index(0, COL_HEAD).data()
    model.index(1, COL_NO).data()
    assert counting.pages == [[households[4]], households[0:2]]  # page 0 read once, then cached
    model.refresh()
    model.index(0, COL_HEAD).data()
    assert counting.pages[-1] == households[0:2]  # the cache is cleared on refresh


def test_sort_asks_sql_for_a_new_order(ctx, households):
    model = HouseholdTableModel(ctx)
    model.sort(COL_HEAD, Qt.SortOrder.DescendingOrder)
    expected = ctx.read(register.household_ids, HouseholdFilter(), "head_name", True)
    assert column(model, COL_NO, household_table.ROW_ROLE) == expected
    assert column(model, COL_HEAD) == sorted(HEADS, reverse=True)
    model.sort(COL_SIZE, Qt.SortOrder.AscendingOrder)
    assert column(model, COL_HEAD)[0] == "孙八"  # 2 persons


def test_filter_and_refresh(ctx, township, households, qtbot):
    model = HouseholdTableModel(ctx)
    with qtbot.waitSignal(model.countChanged) as blocker:
        model.set_filter(HouseholdFilter(village_id=township["villages"]["西村"]))
    assert blocker.args == [2]
    assert column(model, COL_HEAD) == ["钱七", "孙八"]
    model.set_filter(HouseholdFilter(text="王五"))
    assert column(model, COL_HEAD) == ["王五"]
    assert model.row_of(households[1]) == 0 and model.row_of(households[0]) is None
    data, members = family(township["villages"]["东村"], no="3703050010010099", serial=60)
    members[0] = replace(members[0], name="王五六")
    new_id = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    model.refresh()
    assert model.row_of(new_id) is not None and model.rowCount() == 2


def test_clerk_filter_keeps_to_their_villages(ctx, township, households):
    model = HouseholdTableModel(ctx, HouseholdFilter(village_ids=frozenset({township["villages"]["西村"]})))
    assert column(model, COL_HEAD) == ["钱七", "孙八"]


# ---------------------------------------------------------------- member table

def members_with_a_dead_one():
    _, members = family(1)
    dead = replace(person("王故", date(1930, 1, 1), "1", "11", 9), id=99, status="dead", status_date=date(2024, 3, 1))
    return members + [dead]


def test_member_model_passes_qt_model_tester(qtmodeltester):
    model = MemberTableModel(members_with_a_dead_one())
    qtmodeltester.check(model)
    model.add_blank()
    model.move_row(3, -1)
    qtmodeltester.check(model)


def test_member_model_has_every_field_with_chinese_headers():
    model = MemberTableModel(members_with_a_dead_one())
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    # 出生日期 beside the ID number, as the national list has it: derived from the ID, read-only (issue 19)
    assert headers[:5] == ["A5 姓名", "A6 性别", "A7 证件号码", "出生日期", "A8 与户主关系"]
    for label in ("A9 民族", "A12 在校生状况", "残疾等级", "A16 务工时间（月）", "A17 参加基本医疗保险",
                  "A22 易地扶贫搬迁", "联系电话", "成员状态", "状态变化日期"):
        assert label in headers
    for label in ("务工所在地", "参加城乡居民基本医疗保险", "参加城镇职工基本医疗保险", "公益性岗位（月数）",
                  "义务教育阶段未上学原因", "参加城镇职工基本养老保险"):  # the national system's facts (SPEC §9.1)
        assert label in headers
    for label in ("享受低保起始时间", "享受特困供养起始时间", "大病或残疾发生日期", "失业", "失能", "在外就读"):
        assert label in headers  # the key-group facts of §6.3
    assert len(FIELDS) == 35  # A5–A22, 出生日期, the national facts (§9.1) and the key-group facts (§6.3)
    born = model.index(0, COL["birth_date"])
    assert born.data() == model.member(0).id_number[6:10] + "-" + model.member(0).id_number[10:12] + "-" \
        + model.member(0).id_number[12:14]
    assert not model.flags(born) & Qt.ItemFlag.ItemIsEditable
    assert model.index(0, COL["relation"]).data() == "户主"
    assert model.index(0, COL["relation"]).data(Qt.ItemDataRole.EditRole) == "01"
    assert model.index(0, COL["a17_medical"]).data() == "是"
    assert model.index(2, COL["school"]).data() == "八年级"
    assert model.index(3, COL["status"]).data() == "死亡"
    assert model.index(3, COL["status_date"]).data() == "2024-03-01"


def test_status_columns_are_read_only_and_inactive_members_grey():
    model = MemberTableModel(members_with_a_dead_one())
    assert not model.flags(model.index(0, COL["status"])) & Qt.ItemFlag.ItemIsEditable
    assert model.flags(model.index(0, COL["name"])) & Qt.ItemFlag.ItemIsEditable
    assert not model.setData(model.index(0, COL["status"]), "dead")
    assert model.index(3, COL["name"]).data(Qt.ItemDataRole.ForegroundRole) is not None
    assert model.index(0, COL["name"]).data(Qt.ItemDataRole.ForegroundRole) is None


def test_set_data_converts_values(qtbot):
    model = MemberTableModel(members_with_a_dead_one())
    with qtbot.waitSignal(model.membersEdited):
        assert model.setData(model.index(0, COL["id_number"]), " 11010519491231002x ")
    assert model.member(0).id_number == "11010519491231002X"
    model.setData(model.index(0, COL["ethnicity"]), "回族")  # a typed name becomes its code
    assert model.member(0).ethnicity == "03"
    model.setData(model.index(0, COL["a18_serious_illness"]), "否")
    assert model.member(0).a18_serious_illness is False
    model.setData(model.index(0, COL["work_months"]), "")
    assert model.member(0).work_months is None


def test_problem_cells_are_red_with_the_message_as_tooltip():
    model = MemberTableModel(members_with_a_dead_one())
    model.set_problems([Problem("id_number", "第 2 行成员“李四”：身份证号校验位错误", 1),
                        Problem("household_no", "户编号不能为空")])
    cell = model.index(1, COL["id_number"])
    assert cell.data(Qt.ItemDataRole.BackgroundRole) is not None
    assert "校验位错误" in cell.data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(0, COL["id_number"]).data(Qt.ItemDataRole.BackgroundRole) is None
    model.set_problems([])
    assert cell.data(Qt.ItemDataRole.BackgroundRole) is None


def test_delegates_show_names_and_store_codes(qtbot):
    model = MemberTableModel(members_with_a_dead_one())
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    index = model.index(0, COL["education"])
    delegate = ComboDelegate.for_codes("education", view)
    editor = delegate.createEditor(view.viewport(), None, index)
    delegate.setEditorData(editor, index)
    editor.setCurrentIndex(editor.findText("初中"))
    delegate.setModelData(editor, model, index)
    assert model.member(0).education == "03" and index.data() == "初中"

    index = model.index(0, COL["a19_pension"])
    delegate = ComboDelegate.for_bool(view)
    editor = delegate.createEditor(view.viewport(), None, index)
    assert [editor.itemText(i) for i in range(editor.count())] == ["（空）", "是", "否"]
    editor.setCurrentIndex(2)
    delegate.setModelData(editor, model, index)
    assert model.member(0).a19_pension is False

    index = model.index(0, COL["work_months"])
    delegate = MonthsDelegate(12, view)
    editor = delegate.createEditor(view.viewport(), None, index)
    assert (editor.minimum(), editor.maximum()) == (-1, 12)
    editor.setValue(7)
    delegate.setModelData(editor, model, index)
    assert model.member(0).work_months == 7

    index = model.index(0, COL["id_number"])
    delegate = TextDelegate(True, 22, view)
    editor = delegate.createEditor(view.viewport(), None, index)
    qtbot.keyClicks(editor, "11010519491231002x")
    assert editor.text().endswith("X")
    delegate.setModelData(editor, model, index)
    assert model.member(0).id_number == "11010519491231002X"
