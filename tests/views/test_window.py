"""The main window as a whole (issue 19): keys that work wherever the focus is, pages that follow every write
(no stale 未纳入 after an identification), remembered window size, splitters and column widths, dialogs kept
inside the screen."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import QRect, QSettings, QSize, Qt
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QSplitter

from desktop import app as desktop_app
from desktop.services import register, workflow
from desktop.views import window_state
from desktop.views.cases_page import CasesPage
from desktop.views.export_dialog import ExportDialog
from desktop.views.household_editor import HouseholdEditor
from desktop.views.models.household_table import COL_NO, COL_STATUS
from desktop.views.operations import operations
from desktop.views.register_page import RegisterPage

from ..conftest import TODAY, family


@pytest.fixture
def hid(ctx, township):
    data, members = family(township["villages"]["东村"], no="3703050010010001")
    return ctx.run(register.save_household, data, members, TODAY, ctx.user)


@pytest.fixture
def window(qtbot, ctx, hid):
    w = desktop_app.create_main_window(ctx)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    assert operations().wait()
    return w


def status_shown(page: RegisterPage, household_no: str) -> str | None:
    for r in range(page.proxy.rowCount() if hasattr(page, "proxy") else page.model.rowCount()):
        model = page.table.model()
        if model.index(r, COL_NO).data() == household_no:
            return model.index(r, COL_STATUS).data()
    return None


def identify(ctx, hid) -> int:
    """An identification opened on 认定流程 (through the services: a commit like the page's own)."""
    clue = ctx.run(workflow.record_clue, "01", date(2024, 11, 18), household_id=hid, as_of=TODAY)
    return ctx.run(workflow.open_identification, clue, user=ctx.user, as_of=TODAY)


# ---------------------------------------------------------------- problem 4: nothing stale

def test_register_on_screen_follows_an_identification_without_f5(qtbot, window, ctx, hid):
    page = window.show_page("register")
    assert operations().wait()
    assert status_shown(page, "3703050010010001") == "未纳入"
    identify(ctx, hid)
    qtbot.waitUntil(lambda: status_shown(page, "3703050010010001") == "认定中", timeout=5000)


def test_register_shown_later_shows_what_another_page_wrote(qtbot, window, ctx, hid):
    register_page = window.show_page("register")
    assert status_shown(register_page, "3703050010010001") == "未纳入"
    cases = window.show_page("cases")
    assert isinstance(cases, CasesPage)
    identify(ctx, hid)
    qtbot.waitUntil(lambda: "register" in window._stale, timeout=5000)
    assert operations().wait()
    assert cases.model.rowCount() == 1  # the page on screen read its list again
    window.show_page("register")
    assert operations().wait()
    assert status_shown(register_page, "3703050010010001") == "认定中"


# ---------------------------------------------------------------- problem 5: keys wherever the focus is

def test_ctrl_f_and_ctrl_n_work_with_the_focus_in_the_navigation(qtbot, window):
    page = window.show_page("register")
    window.nav.setFocus()
    qtbot.waitUntil(window.nav.hasFocus)
    qtbot.keyClick(window.nav, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(page.search.hasFocus)
    window.nav.setFocus()
    qtbot.keyClick(window.nav, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: isinstance(page.editor, HouseholdEditor) and page.editor.isVisible())
    assert page.editor.household_id is None  # a new household
    page.editor.reject()


def test_f5_refreshes_the_page_shown_from_the_navigation(qtbot, window, monkeypatch):
    page = window.show_page("warnings")
    assert operations().wait()
    calls = []
    monkeypatch.setattr(type(page), "refresh", lambda self: calls.append(self))
    window.nav.setFocus()
    qtbot.keyClick(window.nav, Qt.Key.Key_F5)
    assert calls == [page]


def test_ctrl_e_exports_even_from_a_text_field(qtbot, window, monkeypatch):
    opened = []
    monkeypatch.setattr(ExportDialog, "open", lambda self: opened.append(self))
    page = window.show_page("register")
    page.search.setFocus()
    qtbot.waitUntil(page.search.hasFocus)
    assert isinstance(QApplication.focusWidget(), QLineEdit)
    qtbot.keyClick(page.search, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert len(opened) == 1


def test_ctrl_s_saves_the_income_page_with_the_focus_anywhere(qtbot, window, monkeypatch):
    from desktop.views.income_page import IncomePage
    saved = []
    monkeypatch.setattr(IncomePage, "save", lambda self: saved.append(self) or True)
    page = window.show_page("income")
    window.nav.setFocus()
    qtbot.keyClick(window.nav, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert saved == [page]


# ---------------------------------------------------------------- problem 1: remembered layout, dialogs fit

def test_window_size_splitters_and_columns_are_remembered_in_the_data_folder(qtbot, ctx, hid, tmp_path,
                                                                               monkeypatch):
    first = desktop_app.create_main_window(ctx)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    qtbot.wait(20)
    first.resize(1150, 560)  # the user makes it smaller
    register_page = first.show_page("register")
    splitter = register_page.findChildren(QSplitter)[0]
    splitter.setSizes([233, first.width() - 233])
    qtbot.waitUntil(lambda: splitter.sizes()[0] > 0)
    splitter.splitterMoved.emit(splitter.sizes()[0], 1)
    state = splitter.saveState()
    header = register_page.table.horizontalHeader()
    with monkeypatch.context() as m:  # a drag with the mouse (a page's own sizing is not remembered)
        m.setattr(window_state.QApplication, "mouseButtons", staticmethod(lambda: Qt.MouseButton.LeftButton))
        header.resizeSection(COL_NO, 251)
    first.close()
    qtbot.waitUntil(lambda: window_state.settings().contains("columns/register/0"))  # a moment after the change

    ini = tmp_path / "data" / "window.ini"
    assert ini.is_file()  # under the data folder of the test, never the user's own settings
    assert QSettings(str(ini), QSettings.Format.IniFormat).contains("main/geometry")

    second = desktop_app.create_main_window(ctx)
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    assert second.height() == 560  # (the offscreen screen is 800 px wide: the width is clamped to the minimum)
    page = second.show_page("register")
    qtbot.wait(50)
    assert page.findChildren(QSplitter)[0].saveState() == state  # (sizes follow the clamped width)
    assert page.table.horizontalHeader().sectionSize(COL_NO) == 251


def test_fit_rect_keeps_a_tall_dialog_inside_the_available_area():
    area = QRect(0, 0, 1366, 728)
    fitted = window_state.fit_rect(QRect(40, 0, 1280, 820), area)
    assert area.contains(fitted) and fitted.height() <= 728 - 2 * window_state.MARGIN


def test_a_window_opened_and_closed_untouched_writes_no_settings(qtbot, ctx, hid, tmp_path):
    w = desktop_app.create_main_window(ctx)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.show_page("warnings")
    assert operations().wait()
    w.close()
    qtbot.wait(400)
    window_state.settings().sync()
    assert not (tmp_path / "data" / "window.ini").exists()


def test_dialog_sizes_are_remembered(qtbot, window, hid):
    page = window.show_page("register")
    editor = page.open_household(hid)
    qtbot.waitExposed(editor)
    smallest = editor.minimumSizeHint()
    chosen = QSize(max(700, smallest.width()) + 10, max(450, smallest.height()) + 10)  # inside the 800×600 screen
    editor.resize(chosen)
    editor.reject()
    editor = page.open_household(hid)
    qtbot.waitExposed(editor)
    assert editor.size() == chosen
    editor.reject()
    assert isinstance(editor, QDialog)


def test_file_dialogs_are_all_chinese_and_open_in_the_documents_folder(qtbot):
    import re

    from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton

    from desktop.app import install_translations
    from desktop.views.file_dialogs import documents_dir, install_file_dialogs

    app = QApplication.instance()
    install_translations(app)
    install_file_dialogs(app)
    dialog = QFileDialog(None, "导出到", str(documents_dir()), "Excel 工作簿 (*.xlsx)")
    qtbot.addWidget(dialog)
    dialog.show()
    texts = [w.text() for w in dialog.findChildren(QLabel) + dialog.findChildren(QPushButton) if w.text()]
    assert len(texts) >= 4
    english = [t for t in texts if re.search(r"[A-Za-z]{2,}", t.replace("&", ""))]
    assert not english, english  # "Look in:", "Files of type:" were left in English by qtbase_zh_CN
    assert QApplication.testAttribute(Qt.ApplicationAttribute.AA_DontUseNativeDialogs)
    assert documents_dir().is_dir()


# ---------------------------------------------------------------- problem 8: F1, the manual

def test_f1_opens_the_manual_on_the_page_of_the_current_screen(qtbot, window):
    window.show_page("warnings")
    window.nav.setFocus()
    qtbot.keyClick(window.nav, Qt.Key.Key_F1)
    manual = window.manual
    assert manual is not None and manual.isVisible()
    assert manual.current_key() == "warnings" and "2%" in manual.browser.toPlainText()
    manual.hide()
    window.show_page("cases")
    qtbot.keyClick(window.nav, Qt.Key.Key_F1)
    assert manual.current_key() == "cases" and "D+15" in manual.browser.toPlainText()


def test_every_screen_has_a_manual_page_and_the_manual_is_searchable(qtbot, window):
    from desktop.views.manual import manual_pages
    from desktop.views.pages import PAGES

    keys = [spec.manual for spec in PAGES]
    assert all(keys) and [p.key for p in manual_pages(keys)] == ["index", *keys]  # a page per screen
    manual = window.open_manual("home")
    manual.search.setText("绿色通道")
    shown = [manual.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(manual.list.count())
             if not manual.list.item(i).isHidden()]
    assert "cases" in shown and "villages" not in shown
    assert manual.current_key() in shown and "绿色通道" in manual.browser.toPlainText()
    assert manual.browser.textCursor().selectedText() == "绿色通道"  # found in the page shown
