"""The shell: log-in, main window navigation and status bar, database opening at start (SPEC §12)."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QMessageBox, QWidget

from desktop import app as desktop_app
from desktop.services import audit, auth, backup, register, workflow
from desktop.services.context import AppContext
from desktop.views import main_window as mw
from desktop.views.audit_page import AuditPage
from desktop.views.login import ChangePasswordDialog, LoginDialog
from desktop.views.main_window import MainWindow
from desktop.views.operations import operations
from desktop.views.pages import PAGES, PageSpec, pages_for
from desktop.views.register_page import RegisterPage
from desktop.views.screening_page import ScreeningPage
from desktop.views.settings_page import SettingsPage
from desktop.views.widgets.list_actions import ListActions

from ..conftest import TODAY, YEAR, family


@pytest.fixture
def login(qtbot, db, township):
    dialog = LoginDialog(AppContext(db))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


@pytest.fixture
def clerk_ctx(db, township, admin):
    with db.session(admin) as s:
        user = auth.authenticate(s, "clerk", "Xc-cun-2024")
        s.commit()
    return AppContext(db=db, user=user, year=YEAR, today=lambda: TODAY)


def _window(qtbot, ctx) -> MainWindow:
    window = desktop_app.create_main_window(ctx)
    qtbot.addWidget(window)
    return window


def _nav_texts(window: MainWindow) -> list[str]:
    return [window.nav.item(i).text() for i in range(window.nav.count())]


# ---------------------------------------------------------------- log-in

def test_login_with_enter_returns_the_current_user(qtbot, login, db):
    qtbot.keyClicks(login.username, "admin")
    qtbot.keyClick(login.username, Qt.Key.Key_Return)  # Enter in the name field moves on to the password
    assert login.focusWidget() is login.password
    assert login.user is None and not login.error.isVisible()
    qtbot.keyClicks(login.password, "Jx-adm-2024")
    with qtbot.waitSignal(login.accepted, timeout=5000):
        qtbot.keyClick(login.password, Qt.Key.Key_Return)
    assert login.result() == QDialog.DialogCode.Accepted
    assert isinstance(login.user, auth.CurrentUser)
    assert (login.user.username, login.user.role) == ("admin", "admin")
    logins = [e for e in AppContext(db, login.user).read(audit.recent) if e.action == "登录"]
    assert len(logins) == 1 and logins[0].user == "管理员"  # one Enter, one log-in


def test_login_failure_shows_chinese_message_inline_and_stays_open(qtbot, login):
    qtbot.keyClicks(login.username, "admin")
    qtbot.keyClicks(login.password, "wrong-password")
    qtbot.keyClick(login.password, Qt.Key.Key_Return)
    assert login.isVisible()
    assert login.result() != QDialog.DialogCode.Accepted
    assert login.user is None
    assert login.error.isVisible()
    assert login.error.text() == "用户名或密码不正确（再错 4 次将锁定 15 分钟）"
    assert login.password.text() == ""  # cleared for the next try
    qtbot.keyClicks(login.password, "Jx-adm-2024")
    assert not login.error.isVisible()  # typing clears the message


def test_login_with_empty_fields_asks_for_them(qtbot, login):
    qtbot.mouseClick(login.login_button, Qt.MouseButton.LeftButton)
    assert login.error.text() == "请输入用户名和密码"
    assert login.user is None


def test_change_password_dialog_checks_old_password_and_confirmation(qtbot, ctx, db):
    dialog = ChangePasswordDialog(ctx)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.old, "Jx-adm-2024")
    qtbot.keyClicks(dialog.new, "New-pass-2024")
    qtbot.keyClicks(dialog.confirm, "newpass2")
    dialog.save()
    assert "不一致" in dialog.error.text()
    dialog.confirm.clear()
    qtbot.keyClicks(dialog.confirm, "New-pass-2024")
    dialog.save()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert AppContext(db).run(auth.authenticate, "admin", "New-pass-2024").username == "admin"


# ---------------------------------------------------------------- main window

def test_main_window_for_admin_lists_working_pages_and_status(qtbot, ctx):
    window = _window(qtbot, ctx)
    assert not window.isVisible()  # create_main_window shows nothing (benchmarks use it)
    assert window.windowTitle() == "防止返贫监测帮扶工作台 — 稷下街道"
    assert _nav_texts(window) == ["首页", "户籍登记", "收入测算", "认定流程", "预警中心", "建议纳入", "集中排查",
                                  "数据质量", "报表打印", "村组管理", "年度设置", "用户管理", "数据备份", "操作日志"]
    assert set(window.pages) == {"home", "register", "income", "cases", "warnings", "suggested", "screening",
                                 "quality", "reports", "villages", "settings", "users", "backup", "audit"}
    status = window.status.text()
    assert "乡镇：稷下街道" in status and f"年度：{YEAR}" in status and "用户：管理员（管理员）" in status
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["文件(&F)", "帮助(&H)"]
    from PySide6.QtWidgets import QGroupBox
    assert "本乡镇" in [b.title() for b in window.pages["home"].findChildren(QGroupBox)]


def test_main_window_for_clerk_has_no_user_management(qtbot, clerk_ctx):
    window = _window(qtbot, clerk_ctx)
    # settings, villages and backups are not theirs: the services refuse them, the window does not offer them
    assert _nav_texts(window) == ["首页", "户籍登记", "收入测算", "认定流程", "预警中心", "建议纳入", "集中排查",
                                  "数据质量", "报表打印", "操作日志"]
    assert "users" not in window.pages
    with pytest.raises(KeyError):
        window.show_page("users")
    assert "用户：村录入员（村级录入员）" in window.status.text()
    # 首页's figures are the clerk's villages', and the box says so (an administrator's says 本乡镇)
    from PySide6.QtWidgets import QGroupBox
    boxes = [b.title() for b in window.pages["home"].findChildren(QGroupBox)]
    assert "本村" in boxes and "本乡镇" not in boxes


def test_show_page_and_shortcuts_switch_pages(qtbot, ctx):
    window = _window(qtbot, ctx)
    window.show()
    qtbot.waitExposed(window)
    for key in ("home", "income", "cases", "warnings", "suggested", "screening", "quality", "reports", "villages",
                "settings", "users",
                "backup", "audit", "register"):
        page = window.show_page(key)
        assert window.stack.currentWidget() is page
        assert window.current_key() == key
    shortcuts = {a.shortcut().toString(): a for a in window.actions()}
    shortcuts["Ctrl+2"].trigger()
    assert window.current_key() == "income"
    shortcuts["Ctrl+3"].trigger()
    assert window.current_key() == "cases"
    shortcuts["Ctrl+9"].trigger()
    assert window.current_key() == "settings"
    quit_action = next(a for a in window.menuBar().actions()[0].menu().actions() if a.text() == "退出(&X)")
    assert quit_action.shortcut().toString() == "Ctrl+Q"


def test_file_menu_offers_excel_exchange(qtbot, ctx):
    window = _window(qtbot, ctx)
    texts = [a.text() for a in window.menuBar().actions()[0].menu().actions() if a.text()]
    assert texts[:3] == ["导入 Excel…", "导出 Excel…", "保存下发模板…"]
    wizard = window.import_workbook()  # a child of the window, deleted when closed
    assert wizard.isVisible()
    wizard.close()
    dialog = window.export_workbook()
    assert dialog.isVisible()
    dialog.close()


def test_the_pages_are_registered_explicitly_in_navigation_order():
    assert [(s.key, s.title, s.page_class.__name__, s.shortcut) for s in PAGES] == [
        ("home", "首页", "HomePage", "Ctrl+0"),
        ("register", "户籍登记", "RegisterPage", "Ctrl+1"),
        ("income", "收入测算", "IncomePage", "Ctrl+2"),
        ("cases", "认定流程", "CasesPage", "Ctrl+3"),
        ("warnings", "预警中心", "WarningsPage", "Ctrl+4"),
        ("suggested", "建议纳入", "SuggestedPage", None),
        ("screening", "集中排查", "ScreeningPage", "Ctrl+5"),
        ("quality", "数据质量", "QualityPage", "Ctrl+6"),
        ("reports", "报表打印", "ReportsPage", "Ctrl+7"),
        ("villages", "村组管理", "VillagesPage", "Ctrl+8"),
        ("settings", "年度设置", "SettingsPage", "Ctrl+9"),
        ("users", "用户管理", "UsersPage", None),
        ("backup", "数据备份", "BackupPage", None),
        ("audit", "操作日志", "AuditPage", None)]
    assert [s.key for s in PAGES if s.roles == ("admin",)] == ["users", "backup"]
    assert [s.key for s in PAGES if s.refresh_when_shown] == ["villages", "users", "backup", "audit"]
    assert [s.key for s in PAGES if s.refresh_after_import] == ["home", "register", "suggested", "villages"]
    for spec in PAGES:  # what a spec declares, its class has
        if spec.refresh_when_shown or spec.refresh_after_import:
            assert callable(getattr(spec.page_class, "refresh", None)), spec.key
    assert [s.key for s in pages_for("admin")] == [s.key for s in PAGES]
    assert [s.key for s in pages_for("auditor")] == [s.key for s in PAGES if s.key not in ("users", "backup")]
    assert [s.key for s in pages_for("clerk")] == [s.key for s in PAGES
                                                   if s.key not in ("users", "backup", "villages", "settings")]


def test_showing_a_page_that_shows_others_changes_reloads_it(qtbot, ctx, monkeypatch):
    window = _window(qtbot, ctx)
    reloaded = []
    for cls in (AuditPage, RegisterPage):
        monkeypatch.setattr(cls, "refresh", lambda self, *_a, **_k: reloaded.append(type(self).__name__))
    window.show_page("audit")  # built now: it loads itself once, the window does not load it a second time
    assert reloaded == ["AuditPage"]
    window.show_page("register")  # loads itself: not reloaded by the window
    assert reloaded == ["AuditPage"]
    window.show_page("audit")  # shown again: others may have written since
    assert reloaded == ["AuditPage", "AuditPage"]
    window._data_changed()  # after an import
    assert reloaded == ["AuditPage", "AuditPage", "RegisterPage"]


def test_pages_are_built_once_when_first_reached_by_mouse_keys_or_another_page(qtbot, ctx, township, monkeypatch):
    """The window opens with 首页 only; every other page is built the first time it is reached — the navigation
    list by keyboard, a page shortcut, another page's request — and then works as if built at the start: its
    signals reach the window, and it shows what was written before it existed. (On 20,000 households the slowest
    first switch stays under 200 ms of the GUI thread with the build: tests/views/test_no_freeze.py.)"""
    built = []
    build = mw.build_page
    monkeypatch.setattr(mw, "build_page", lambda spec, *a: built.append(spec.key) or build(spec, *a))
    data, members = family(township["villages"]["东村"])
    hid = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    window = _window(qtbot, ctx)
    assert built == ["home"]
    assert "warnings" in window.pages and "nothing" not in window.pages and len(window.pages) == 14
    assert list(window.pages) == [s.key for s in PAGES] and built == ["home"]  # asking builds nothing
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    window.nav.setFocus()
    qtbot.waitUntil(window.nav.hasFocus)
    qtbot.keyClick(window.nav, Qt.Key.Key_Down)  # the navigation by keyboard
    assert window.current_key() == "register" and built == ["home", "register"]
    register_page = window.pages["register"]
    assert isinstance(register_page, RegisterPage) and window.stack.currentWidget() is register_page
    shortcuts = {a.shortcut().toString(): a for a in window.actions()}
    clue = ctx.run(workflow.record_clue, "01", date(2024, 11, 18), household_id=hid, as_of=TODAY)
    ctx.run(workflow.open_identification, clue, user=ctx.user, as_of=TODAY)  # written before 认定流程 exists
    assert operations().wait()
    shortcuts["Ctrl+3"].trigger()
    assert window.current_key() == "cases" and built == ["home", "register", "cases"]
    assert operations().wait()
    qtbot.waitUntil(lambda: window.pages["cases"].model.rowCount() == 1)
    qtbot.keyClick(window.nav, Qt.Key.Key_Home)
    qtbot.keyClick(window.nav, Qt.Key.Key_Down)
    assert window.stack.currentWidget() is register_page and built.count("register") == 1  # built once
    window.pages["warnings"].open_household.emit(hid)  # a page built by being asked for: its signals connected
    assert window.current_key() == "register" and built[-1] == "warnings"
    qtbot.waitUntil(lambda: register_page.editor is not None and register_page.editor.isVisible())
    register_page.editor.reject()
    screening = window.page(ScreeningPage)
    [actions] = screening.findChildren(ListActions)
    actions.household_action.emit("income", hid)  # its list's right-click menu reaches the window
    assert window.current_key() == "income"
    assert built == ["home", "register", "cases", "warnings", "screening", "income"]
    for spec in PAGES:  # every page reached by its place in the navigation, each built once
        window.nav.setCurrentRow(window._keys.index(spec.key))
        assert window.stack.currentWidget() is window.pages[spec.key]
    assert sorted(built) == sorted(s.key for s in PAGES)


def test_a_page_that_fails_to_build_is_reported_and_shown_as_a_message(qtbot, ctx, monkeypatch):
    reported = []
    monkeypatch.setattr(mw, "report_fault", reported.append)

    class BrokenPage(QWidget):
        def __init__(self, ctx, parent=None):
            raise KeyError("A34")

    page = mw.build_page(PageSpec("broken", "户籍登记", BrokenPage), ctx, None)
    qtbot.addWidget(page)
    assert isinstance(page, QLabel)
    assert page.text() == "户籍登记页面加载失败：KeyError: 'A34'"
    assert [type(e) for e in reported] == [KeyError]


def test_setting_the_current_year_updates_the_status_bar(qtbot, ctx, monkeypatch):
    window = _window(qtbot, ctx)
    page = window.show_page("settings")
    assert isinstance(page, SettingsPage)
    page.add_year(2025)
    page.line.setText("7300")
    assert page.save()
    page.make_current()
    assert ctx.year == 2025
    assert "年度：2025" in window.status.text()


def test_about_box_names_the_program(qtbot, ctx, monkeypatch):
    seen = {}
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: seen.update(title=title, text=text))
    window = _window(qtbot, ctx)
    window.about()
    assert "防止返贫监测帮扶工作台" in seen["title"] and "稷下街道" in seen["text"]


# ---------------------------------------------------------------- start-up

def test_open_database_creates_a_new_file(tmp_path):
    db = desktop_app.open_database(tmp_path / "new" / "workbench.sqlite3")
    try:
        assert db.sqlite_path.exists()
    finally:
        db.dispose()


def test_open_database_uses_the_data_folder_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("FANPIN_DATA_DIR", str(tmp_path / "userdata"))
    db = desktop_app.open_database()
    try:
        assert db.sqlite_path == (tmp_path / "userdata" / "workbench.sqlite3").resolve()
    finally:
        db.dispose()


@pytest.mark.sqlite_only("损坏检查与备份针对 SQLite 文件")
def test_damaged_database_is_refused_before_migration_and_names_the_backups(tmp_path, db, township):
    path = db.sqlite_path
    backup.backup_sqlite(path, "daily")
    db.dispose()
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"\x00garbage" * 1000)
    (backup.backup_dir_for(damaged)).mkdir(exist_ok=True)
    with pytest.raises(desktop_app.DatabaseDamaged) as caught:
        desktop_app.open_database(damaged)
    assert damaged.read_bytes() == b"\x00garbage" * 1000  # untouched
    message = desktop_app.damaged_message(caught.value, backup.latest_good(damaged))
    assert "数据库文件检查未通过" in message and str(backup.backup_dir_for(damaged)) in message
    assert "没有找到完好的备份" in message

    caught.value.path = path  # a file with a good backup names it
    assert "最新的完好备份" in desktop_app.damaged_message(caught.value, backup.latest_good(path))


def test_run_gui_exits_non_zero_on_a_damaged_database_when_not_restored(qtbot, tmp_path, monkeypatch):
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"not a database" * 100)
    shown = {}
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.update(title=self.windowTitle(), text=self.text()))
    assert desktop_app.run_gui(damaged) == 1
    assert "数据库损坏" in shown["title"] and "备份文件夹" in shown["text"]
    assert damaged.read_bytes() == b"not a database" * 100


@pytest.mark.sqlite_only("损坏检查与备份针对 SQLite 文件")
def test_latest_good_backup_is_offered_and_restored(qtbot, tmp_path, db, township, monkeypatch):
    path = db.sqlite_path
    backup.backup_sqlite(path, "daily")
    db.dispose()
    path.write_bytes(b"SQLite format 3\x00" + b"\x01" * 5000)
    with pytest.raises(desktop_app.DatabaseDamaged) as caught:
        desktop_app.open_database(path)
    accept = QMessageBox.ButtonRole.AcceptRole
    monkeypatch.setattr(QMessageBox, "exec", lambda self: None)
    monkeypatch.setattr(QMessageBox, "clickedButton",
                        lambda self: next(b for b in self.buttons() if self.buttonRole(b) == accept))
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: None)
    assert desktop_app.offer_backup(caught.value)
    reopened = desktop_app.open_database(path)  # sound again, with the township of the backup
    try:
        from desktop.services import setup
        with reopened.session() as s:
            assert setup.township_name(s) == "稷下街道"
    finally:
        reopened.dispose()
    assert list(path.parent.glob("test-damaged-*.sqlite3"))  # the damaged file is kept


def test_cjk_font_is_preferred_and_missing_font_is_detected():
    assert desktop_app.cjk_font_family(["DejaVu Sans", "Noto Sans CJK JP", "Noto Sans CJK SC"]) == "Noto Sans CJK SC"
    assert desktop_app.cjk_font_family(["DejaVu Sans", "AR PL UMing CN", "Droid Sans Fallback CJK"]) == \
        "Droid Sans Fallback CJK"
    assert desktop_app.cjk_font_family(["DejaVu Sans", "Liberation Serif"]) is None
    assert "fonts-noto-cjk" in desktop_app.FONT_HINT


def test_daily_full_integrity_check_runs_off_the_gui_thread_and_warns(qtbot, tmp_path, db, monkeypatch):
    """The database of the run (a file, or on PostgreSQL the server's count of damaged pages) is sound; a damaged
    SQLite file is warned about."""
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warned.append(text))
    sound = desktop_app.IntegrityWatch(db)
    with qtbot.waitSignal(sound.finished, timeout=10000) as blocker:
        sound.start()
    assert blocker.args == [None]
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\x01" * 5000)
    watch = desktop_app.IntegrityWatch(damaged)
    watch.finished.connect(lambda problem: desktop_app.warn_if_damaged(None, damaged, problem))
    with qtbot.waitSignal(watch.finished, timeout=10000):
        watch.start()
    qtbot.waitUntil(lambda: bool(warned))
    assert "每日完整检查发现数据库文件有问题" in warned[0]


def test_on_postgresql_the_daily_check_asks_the_server_and_says_what_it_found(qtbot, monkeypatch):
    """No file on PostgreSQL: the check reads the server's count of data page checksum failures of the database
    (pg_stat_database); a count above zero is said in Chinese with what to do, a server that does not answer is
    not called damaged."""
    from sqlalchemy import create_engine

    from desktop.services import integrity
    from desktop.services.errors import ServiceError

    said = integrity.checksum_problem("fanpin_county", 3, None)
    assert "3 处数据页校验失败" in said and "pg_amcheck" in said and "pg_dump" in said
    assert integrity.checksum_problem("fanpin_county", 0, None) is None
    assert integrity.checksum_problem("fanpin_county", None, None) is None  # a cluster without checksums
    nobody = create_engine("postgresql+psycopg://fanpin@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    with pytest.raises(ServiceError, match="无法向数据库服务器查询"):
        integrity.server_check(nobody)
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warned.append(text))
    desktop_app.warn_if_damaged(None, "postgresql+psycopg://fanpin@county-db/fanpin", said)
    assert "每日检查发现数据库有问题" in warned[0] and "county-db" in warned[0]
