"""Faults a township PC really has (issue 16): a full disk, a database locked by another window or program, a
read-only file or folder, a database file that vanishes while the program runs. Each test makes the fault for
real (see conftest.py), checks the Chinese message says what happened and what to do, and that nothing was
lost or half-written."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest

from desktop import app as desktop_app
from desktop import cli
from desktop.services import backup, failures, register, settings
from desktop.services.context import AppContext
from desktop.services.db import init_db, sqlite_url
from desktop.services.errors import ServiceError
from tests.conftest import ADMIN_PASSWORD, TEST_KEY, TODAY, copy_template, family, login, raw_connect
from tests.safety.conftest import fill, write_lock

pytestmark = pytest.mark.sqlite_only("磁盘已满、只读、被占用、被删除的都是 SQLite 数据库文件；服务器上的由服务器处理")


def moved(ctx: AppContext, folder: Path) -> AppContext:
    """The same township, user and dates, on a database file in `folder`."""
    ctx.db.dispose()
    path = folder / "workbench.sqlite3"
    copy_template(ctx.db.sqlite_path, path)  # with its key file
    return AppContext(init_db(sqlite_url(path), key=ctx.db.key), ctx.user, ctx.year, ctx.today)


def marker(path: Path) -> str | None:
    with closing(raw_connect(path)) as c, c:
        row = c.execute("SELECT value FROM app_setting WHERE key='marker'").fetchone()
    return row[0] if row else None


def sound(path: Path) -> bool:
    with closing(raw_connect(path)) as c, c:
        return c.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# ------------------------------------------------------------------ full disk

def test_daily_backup_on_a_full_disk_is_reported_never_counted_and_work_goes_on(ctx, small_disk):
    ctx = moved(ctx, small_disk(1024))
    path = ctx.db.sqlite_path
    ctx.run(settings.set_app, "marker", "before")
    filler = fill(path.parent, leave=64 * 1024)  # room for the edits' WAL, not for a copy of the file
    daily = backup.daily_backup(path, now=datetime(2024, 11, 20, 8, 0))
    assert daily.taken is None
    assert "磁盘空间已满" in daily.failure and "没有留下不完整的备份文件" in daily.failure
    assert backup.list_backups(path) == []
    assert [p.name for p in backup.backup_dir_for(path).iterdir()] == []  # no .part, no -journal
    ctx.run(settings.set_app, "marker", "after")  # the day's work goes on
    assert marker(path) == "after" and sound(path)
    filler.unlink()
    again = backup.daily_backup(path, now=datetime(2024, 11, 20, 9, 0))  # the failed one did not count
    assert again.taken is not None and backup.verify(again.taken, full=True) is None
    ctx.db.dispose()


def test_an_edit_on_a_full_disk_is_refused_in_chinese_and_nothing_is_half_saved(ctx, township, small_disk):
    ctx = moved(ctx, small_disk(1024))
    data, members = family(township["villages"]["东村"])
    hid = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    data, members = ctx.read(register.get_household, hid)
    ctx.db.dispose()  # the WAL is folded into the file: the next write needs new space
    filler = fill(ctx.db.sqlite_path.parent)
    data.note = "新的备注" * 2000
    with pytest.raises(failures.StorageError) as caught:
        ctx.run(register.save_household, data, members, TODAY, ctx.user)
    assert caught.value.kind == failures.FULL
    assert "磁盘空间已满" in str(caught.value) and "数据未改变" in str(caught.value)
    filler.unlink()
    assert ctx.read(register.get_household, hid)[0].note is None
    ctx.run(register.save_household, data, members, TODAY, ctx.user)  # room again: it saves
    assert ctx.read(register.get_household, hid)[0].note == data.note
    ctx.db.dispose()


def test_import_on_a_full_disk_stops_at_the_backup_in_chinese_and_imports_nothing(ctx, township, small_disk,
                                                                                    capsys, tmp_path, monkeypatch):
    from desktop.services import exchange
    data, members = family(township["villages"]["东村"])
    ctx.run(register.save_household, data, members, TODAY, ctx.user)
    book = tmp_path / "book.xlsx"
    ctx.read(exchange.export_workbook, book, 2024)
    ctx = moved(ctx, small_disk(1024))
    path = ctx.db.sqlite_path
    with ctx.db.engine.begin() as conn:  # the file's own households go, so that the import would add them
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for table in ("member", "household"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    ctx.db.dispose()
    fill(path.parent, leave=128 * 1024)  # room to open the file, not to copy it
    monkeypatch.setenv("FANPIN_PASSWORD", ADMIN_PASSWORD)
    code = cli.main(["import", "--db", str(path), str(book), "--year", "2024", "--user", "admin"])
    err = capsys.readouterr().err
    assert code == 1
    assert "备份没有完成" in err and "磁盘空间已满" in err and "Traceback" not in err
    assert backup.list_backups(path) == [] and list(backup.backup_dir_for(path).iterdir()) == []
    with closing(raw_connect(path)) as c, c:
        assert c.execute("SELECT count(*) FROM household").fetchone() == (0,)
    assert not Path(f"{path}-journal").exists()


# ------------------------------------------------------------------ locked by another window or program

def test_a_held_write_lock_is_named_in_the_window_and_the_edit_goes_through_after(ctx, short_lock_wait):
    ctx.db.dispose()  # new connections take the short wait
    with write_lock(ctx.db.sqlite_path):
        with pytest.raises(failures.StorageError) as caught:
            ctx.run(settings.set_app, "marker", "locked")
    assert caught.value.kind == failures.LOCKED
    assert "数据库正被另一个窗口或程序使用" in str(caught.value) and "然后重试" in str(caught.value)
    ctx.run(settings.set_app, "marker", "free")
    assert marker(ctx.db.sqlite_path) == "free"


def test_the_program_holding_the_lock_is_named(ctx, short_lock_wait):
    path = ctx.db.sqlite_path
    ctx.db.dispose()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys;import sqlcipher3.dbapi2 as d;c=d.connect(sys.argv[1],isolation_level=None);"
         "c.execute(f\"PRAGMA key=\\\"x'{sys.argv[2]}'\\\"\");"
         "c.execute('BEGIN IMMEDIATE');print('ready',flush=True);sys.stdin.read()", str(path), TEST_KEY.hex()],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(failures.StorageError) as caught:
            ctx.run(settings.set_app, "marker", "x")
        assert f"（进程 {holder.pid}）" in str(caught.value) and Path(sys.executable).name in str(caught.value)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def test_login_dialog_says_the_database_is_locked(qtbot, ctx, short_lock_wait):
    from desktop.views.login import LoginDialog
    ctx.db.dispose()
    dialog = LoginDialog(AppContext(ctx.db))
    qtbot.addWidget(dialog)
    dialog.username.setText("admin")
    dialog.password.setText(ADMIN_PASSWORD)
    with write_lock(ctx.db.sqlite_path):
        dialog.try_login()
    assert dialog.user is None and "数据库正被" in dialog.error.text() and dialog.error.isVisibleTo(dialog)


def test_command_line_on_a_locked_database_says_so_without_traceback(ctx, capsys, short_lock_wait, monkeypatch):
    monkeypatch.setenv("FANPIN_PASSWORD", ADMIN_PASSWORD)
    path = ctx.db.sqlite_path
    ctx.db.dispose()
    with write_lock(path):
        code = cli.main(["config", "--db", str(path), "--year", "2024", "--monitoring-line", "7200", "--user", "admin"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("错误：数据库正被") and "Traceback" not in err


# ------------------------------------------------------------------ read-only file or folder

def test_read_only_database_is_refused_at_start_with_what_to_do(ctx, immutable):
    path = ctx.db.sqlite_path
    ctx.db.dispose()
    before = path.read_bytes()
    immutable(path)
    with pytest.raises(failures.StorageError) as caught:
        desktop_app.open_database(path)
    assert caught.value.kind == failures.READONLY
    assert "数据库文件是只读的" in str(caught.value) and "取消“只读”" in str(caught.value)
    assert path.read_bytes() == before


def test_read_only_folder_is_not_called_a_damaged_database(ctx, immutable):
    path = ctx.db.sqlite_path
    ctx.db.dispose()
    immutable(path.parent)
    with pytest.raises(failures.StorageError) as caught:  # not DatabaseDamaged
        desktop_app.open_database(path)
    assert caught.value.kind == failures.READONLY_FOLDER
    assert "文件夹不允许写入" in str(caught.value) and str(path.parent) in str(caught.value)


def test_run_gui_shows_the_read_only_message_and_exits(qtbot, ctx, immutable, monkeypatch):
    from PySide6.QtWidgets import QMessageBox
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *a, **k: shown.append(a[2]))
    path = ctx.db.sqlite_path
    ctx.db.dispose()
    immutable(path)
    assert desktop_app.run_gui(path) == 1
    assert len(shown) == 1 and "数据库文件是只读的" in shown[0]


def test_command_line_on_a_read_only_database(ctx, immutable, capsys, monkeypatch):
    monkeypatch.setenv("FANPIN_PASSWORD", ADMIN_PASSWORD)
    path = ctx.db.sqlite_path
    ctx.db.dispose()
    immutable(path)
    code = cli.main(["config", "--db", str(path), "--year", "2024", "--monitoring-line", "7200", "--user", "admin"])
    err = capsys.readouterr().err
    assert code == 1 and "数据库文件是只读的" in err and "Traceback" not in err


def test_backup_into_a_read_only_folder_is_reported(ctx, immutable):
    path = ctx.db.sqlite_path
    folder = backup.backup_dir_for(path)
    folder.mkdir()
    immutable(folder)
    with pytest.raises(backup.BackupError, match="文件夹不允许写入"):
        backup.backup_sqlite(path, "manual")


# ------------------------------------------------------------------ the file vanishes while the program runs

@pytest.mark.parametrize("how", ["deleted", "folder deleted", "replaced"])
def test_database_removed_or_replaced_while_running_stops_writes(ctx, township, tmp_path, how):
    path = ctx.db.sqlite_path
    ctx.run(settings.set_app, "marker", "saved")
    if how == "deleted":
        path.unlink()
    elif how == "folder deleted":
        kept = tmp_path.parent / f"{tmp_path.name}-kept"
        shutil.copytree(path.parent, kept)  # what the user would find in the recycle bin
        shutil.rmtree(path.parent)
    else:
        other = path.with_name("other.sqlite3")
        shutil.copyfile(path, other)
        other.replace(path)
    with pytest.raises(failures.DatabaseGone) as caught:
        ctx.run(settings.set_app, "marker", "lost?")
    assert "已被删除、移动或替换" in str(caught.value) and "已停止保存" in str(caught.value)
    with pytest.raises(failures.DatabaseGone):  # and every later write too
        ctx.run(settings.set_app, "marker", "lost again?")
    if how == "replaced":
        assert marker(path) == "saved"  # the file now at the path was not written behind the user's back


def test_backup_now_after_the_file_vanished_writes_nothing(qtbot, ctx, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from desktop.views.backup_page import BackupPage
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warned.append(a[2]))
    page = BackupPage(ctx)
    qtbot.addWidget(page)
    path = ctx.db.sqlite_path
    path.unlink()
    page.backup_now()
    assert warned and "已被删除、移动或替换" in warned[0]
    assert not path.exists()  # no empty database made in its place
    assert backup.list_backups(path) == []


# ------------------------------------------------------------------ one translator

def test_errors_that_are_program_faults_are_not_translated():
    assert failures.translate(ValueError("bug")) is None
    assert failures.translate(sqlite3.OperationalError("no such column: x")) is None
    refused = ServiceError("户编号重复")
    assert failures.translate(refused) is None  # a service's own message stays as it is


def test_sqlalchemy_wrapped_errors_are_translated(ctx, short_lock_wait):
    from sqlalchemy import text
    ctx.db.dispose()
    with write_lock(ctx.db.sqlite_path):
        with pytest.raises(Exception) as caught:
            with ctx.db.session() as s:
                s.execute(text("INSERT INTO app_setting (key, value) VALUES ('k', 'v')"))
                s.commit()
    failure = failures.translate(caught.value, ctx.db.sqlite_path)
    assert failure is not None and failure.kind == failures.LOCKED


# ------------------------------------------------------------------ start-up

def test_start_of_day_on_a_full_disk_warns_and_the_day_goes_on(qtbot, ctx, small_disk, monkeypatch):
    from PySide6.QtWidgets import QMessageBox
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warned.append((a[1], a[2])))
    with closing(raw_connect(ctx.db.sqlite_path)) as c, c:  # the last edits: yesterday, by the test's clock
        c.execute("UPDATE audit_entry SET at='2024-11-19 09:00:00'")
    ctx = moved(ctx, small_disk(1024))
    fill(ctx.db.sqlite_path.parent, leave=64 * 1024)
    daily = desktop_app.start_of_day(ctx, now=lambda: datetime(2024, 11, 20, 8, 0))
    assert daily.taken is None and backup.list_backups(ctx.db.sqlite_path) == []
    assert len(warned) == 1 and "今天的自动备份没有完成" in warned[0][0] and "磁盘空间已满" in warned[0][1]
    assert "可以继续工作" in warned[0][1]
    ctx.db.dispose()


def test_start_of_day_with_the_clock_400_days_ahead_warns_and_deletes_nothing(qtbot, ctx, monkeypatch):
    from PySide6.QtWidgets import QMessageBox
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warned.append((a[1], a[2])))
    path = ctx.db.sqlite_path
    taken = [backup.backup_sqlite(path, "daily", now=datetime(2024, 11, 10 + i, 8, 0)) for i in range(6)]
    with closing(raw_connect(path)) as c, c:
        c.execute("UPDATE audit_entry SET at='2024-11-15 00:00:00'")
    daily = desktop_app.start_of_day(ctx, now=lambda: datetime(2025, 12, 20, 8, 0))
    assert all(p.exists() for p in taken) and daily.removed == []
    assert [t for t, _ in warned] == ["请检查电脑的日期时间 — 防止返贫监测帮扶工作台"]


def test_damaged_database_is_never_replaced_by_an_empty_backup(qtbot, ctx, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from desktop.services import regions
    path = ctx.db.sqlite_path
    good = backup.backup_sqlite(path, "daily", now=datetime(2024, 11, 19, 8, 0))
    raw_connect(backup.backup_dir_for(path) / f"{path.stem}-20241120-080000-daily.sqlite3").close()
    ctx.db.dispose()
    path.write_bytes(b"SQLite format 3\x00" + b"\x01" * 5000)
    with pytest.raises(desktop_app.DatabaseDamaged) as caught:
        desktop_app.open_database(path)
    shown = {}
    accept = QMessageBox.ButtonRole.AcceptRole
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.update(text=self.text()))
    monkeypatch.setattr(QMessageBox, "clickedButton",
                        lambda self: next(b for b in self.buttons() if self.buttonRole(b) == accept))
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: None)
    assert desktop_app.offer_backup(caught.value)
    assert good.name in shown["text"]
    reopened = desktop_app.open_database(path)
    try:
        with reopened.session(login(reopened, "admin", ADMIN_PASSWORD)) as s:
            assert regions.township(s).name == "稷下街道"
    finally:
        reopened.dispose()


def test_import_wizard_on_a_full_disk_says_so_and_imports_nothing(qtbot, ctx, small_disk, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from desktop.views import import_wizard as wizard_module
    from desktop.views.import_wizard import ImportWizard
    from tests.services.test_exchange_book import simple_book
    monkeypatch.setattr(wizard_module, "show_error", lambda *a, **k: None)
    ctx = moved(ctx, small_disk(1024))
    book = simple_book(tmp_path / "村.xlsx", households=3)
    wizard = ImportWizard(ctx)
    qtbot.addWidget(wizard)
    wizard.show()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(book), ""))
    wizard.file_page.browse_button.click()
    with qtbot.waitSignal(wizard.previewReady, timeout=20000):
        wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.preview_page, timeout=20000)
    wizard.next()
    fill(ctx.db.sqlite_path.parent, leave=128 * 1024)  # room to work in the file, not for the backup copy
    with qtbot.waitSignal(wizard.importFailed, timeout=20000) as blocker:
        wizard.next()
    assert "备份没有完成" in blocker.args[0] and "磁盘空间已满" in blocker.args[0]
    assert "Traceback" not in blocker.args[0] and "Error" not in blocker.args[0]
    assert backup.list_backups(ctx.db.sqlite_path) == []
    with closing(raw_connect(ctx.db.sqlite_path)) as c, c:
        assert c.execute("SELECT count(*) FROM household").fetchone() == (0,)
    ctx.db.dispose()


def test_household_editor_save_while_locked_says_so_and_keeps_the_edits(qtbot, ctx, township, short_lock_wait,
                                                                         monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from desktop.views.household_editor import HouseholdEditor
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    monkeypatch.setattr(HouseholdEditor, "ask_unsaved", lambda self, text, discard=True: "discard")
    monkeypatch.setattr("sys.excepthook", lambda *a: shown.append("crash dialog"))
    data, members = family(township["villages"]["东村"])
    hid = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    ctx.db.dispose()
    editor = HouseholdEditor(ctx, hid)
    qtbot.addWidget(editor)
    editor.basic.phone.setText("13912345678")
    with write_lock(ctx.db.sqlite_path):
        assert not editor.save()
    assert len(shown) == 1 and "数据库正被另一个窗口或程序使用" in shown[0]
    assert editor.basic.phone.text() == "13912345678"  # the edit is still on screen
    assert ctx.read(register.get_household, hid)[0].phone == "13800000000"
    assert editor.save()  # the lock gone, the same save goes through
    assert ctx.read(register.get_household, hid)[0].phone == "13912345678"
