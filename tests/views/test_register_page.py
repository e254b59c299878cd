"""The register page: search as you type, tree and filters, opening and saving households."""

from dataclasses import replace
from datetime import date

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.services import auth, register
from desktop.services.context import AppContext
from desktop.views.household_editor import HouseholdEditor
from desktop.views.models.household_table import COL_HEAD, COL_NO
from desktop.views.models.member_table import COL
from desktop.views.register_page import RegisterPage
from tests.conftest import TODAY, YEAR, family, person

HEADS = [("东村", "一组", "张三"), ("东村", "一组", "王五"), ("东村", "二组", "赵六"), ("西村", "一组", "钱七"),
         ("西村", "一组", "孙八")]


@pytest.fixture
def households(ctx, township):
    ids = []
    for i, (village, group, head) in enumerate(HEADS):
        data, members = family(township["villages"][village], township["groups"][(village, group)],
                               no=f"37030500100100{i + 1:02d}", serial=10 + 3 * i)
        members[0] = replace(members[0], name=head)
        data = replace(data, a4_poverty_alleviated=(i == 1), a3_category="02" if i == 3 else None)
        ids.append(ctx.run(register.save_household, data, members, TODAY, ctx.user))
    return ids


@pytest.fixture(autouse=True)
def never_block_on_close(monkeypatch):
    """An editor left with unsaved edits at teardown would ask (modally); tests that care set their own answer."""
    monkeypatch.setattr(HouseholdEditor, "ask_unsaved", lambda self, text, discard=True: "discard")


@pytest.fixture
def messages(monkeypatch):
    shown = []
    for kind in ("warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, kind, lambda parent, title, text, *a, _k=kind, **kw: shown.append((_k, text)))
    return shown


def page_for(qtbot, ctx) -> RegisterPage:
    page = RegisterPage(ctx)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    qtbot.waitExposed(page)
    return page


def type_text(widget, text):
    """Type characters one key at a time, as an input method delivers them (qtbot.keyClicks is Latin-1 only)."""
    for ch in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, ch))


def heads(page):
    return [page.model.index(r, COL_HEAD).data() for r in range(page.model.rowCount())]


def test_page_lists_households_with_count(qtbot, ctx, households):
    page = page_for(qtbot, ctx)
    assert page.model.rowCount() == 5
    assert page.count_label.text() == "共 5 户"
    assert page.search.placeholderText() == "输入姓名、身份证号、户编号或电话搜索"
    top = page.tree.topLevelItem(0)
    assert top.text(0) == "全部（5）"
    assert [top.child(i).text(0) for i in range(top.childCount())] == ["东村（3）", "西村（2）"]
    assert top.child(0).child(0).text(0) == "一组（2）"


def test_search_filters_as_you_type(qtbot, ctx, households):
    page = page_for(qtbot, ctx)
    type_text(page.search, "王五")
    assert page.model.rowCount() == 5  # not yet: the search waits for a pause in typing
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    assert heads(page) == ["王五"]
    assert page.count_label.text() == "共 1 户"
    page.search.clear()
    qtbot.waitUntil(lambda: page.model.rowCount() == 5)
    type_text(page.search, "张小堃")  # a member who is not the head: found through members
    qtbot.waitUntil(lambda: not page.search_timer.isActive())
    assert page.model.rowCount() == 5 and page.count_label.text() == "共 5 户"
    page.search.clear()
    qtbot.keyClicks(page.search, "0010010004")  # a household number
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    assert heads(page) == ["钱七"]


def test_village_and_group_filter_through_the_tree(qtbot, ctx, township, households):
    page = page_for(qtbot, ctx)
    west = page.tree.topLevelItem(0).child(1)
    page.tree.setCurrentItem(west)
    assert heads(page) == ["钱七", "孙八"]
    assert page.count_label.text() == "共 2 户"
    group2 = page.tree.topLevelItem(0).child(0).child(1)
    page.tree.setCurrentItem(group2)
    assert heads(page) == ["赵六"]
    page.tree.setCurrentItem(page.tree.topLevelItem(0))
    assert page.model.rowCount() == 5


def test_combo_filters(qtbot, ctx, households):
    page = page_for(qtbot, ctx)
    page.alleviated_combo.set_value(True)
    assert heads(page) == ["王五"]
    page.alleviated_combo.set_value(None)
    page.category_combo.set_value("02")
    assert heads(page) == ["钱七"]
    page.category_combo.set_value(None)
    page.status_combo.set_value("monitoring")
    assert page.model.rowCount() == 0 and page.count_label.text() == "共 0 户"


def test_clicking_a_header_sorts_in_sql_and_keeps_the_selection(qtbot, ctx, households):
    page = page_for(qtbot, ctx)
    page.select_household(households[2])
    header = page.table.horizontalHeader()
    pos = header.sectionViewportPosition(COL_HEAD) + 10
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(pos, 5))
    assert heads(page) == sorted(h for _, _, h in HEADS)
    assert page.current_household_id() == households[2]


def test_new_household_appears_in_the_table_and_is_selected(qtbot, ctx, township, households):
    page = page_for(qtbot, ctx)
    page.tree.setCurrentItem(page.tree.topLevelItem(0).child(0))  # 东村
    editor = page.new_household()
    assert isinstance(editor, HouseholdEditor)
    assert editor.basic.village.value() == township["villages"]["东村"]  # from the tree
    qtbot.keyClicks(editor.basic.household_no, "3703050010019999")
    editor.add_button.click()
    model = editor.members_model
    editor.members_view.closePersistentEditor(model.index(0, COL["name"]))
    head = person("欧阳䶮", date(1980, 2, 3), "1", "01", 50)
    for fld in ("name", "id_number", "relation", "a17_medical", "labor"):
        model.setData(model.index(0, COL[fld]), getattr(head, fld))
    assert editor.save_button.isEnabled(), editor.problems.messages()
    editor.save_button.click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 4)
    assert "欧阳䶮" in heads(page)
    assert page.model.index(page.table.currentIndex().row(), COL_NO).data() == "3703050010019999"
    assert page.tree.topLevelItem(0).child(0).text(0) == "东村（4）"


def test_editing_keeps_the_selection_after_saving(qtbot, ctx, households):
    page = page_for(qtbot, ctx)
    page.select_household(households[3])
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_Return)
    editor = page.editor
    assert editor is not None and editor.household_id == households[3]
    editor.members_model.setData(editor.members_model.index(0, COL["name"]), "钱七七")
    assert editor.save()
    assert page.current_household_id() == households[3]
    assert page.model.index(page.table.currentIndex().row(), COL_HEAD).data() == "钱七七"


def test_double_click_opens_the_household(qtbot, ctx, households):
    page = page_for(qtbot, ctx)
    rect = page.table.visualRect(page.model.index(1, COL_HEAD))
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # the press a
    qtbot.mouseDClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # person makes first
    assert page.editor is not None and page.editor.household_id == households[1]


def test_clerk_sees_only_their_village_and_cannot_save_another(qtbot, db, township, households, messages, admin):
    with db.session(admin) as s:
        clerk = auth.authenticate(s, "clerk", "Xc-cun-2024")
        s.commit()
    clerk_ctx = AppContext(db=db, user=clerk, year=YEAR, today=lambda: TODAY)
    page = page_for(qtbot, clerk_ctx)
    assert heads(page) == ["钱七", "孙八"]
    top = page.tree.topLevelItem(0)
    assert top.text(0) == "全部（2）" and top.childCount() == 1 and top.child(0).text(0) == "西村（2）"
    type_text(page.search, "张三")
    qtbot.waitUntil(lambda: not page.search_timer.isActive())
    assert page.model.rowCount() == 0  # 东村's household is not theirs to see
    # Asked for some other way, another village's household is not even shown: the service refuses.
    assert page.open_household(households[0]) is None
    assert messages and "没有“东村”的查看权限" in messages[-1][1]
