
from datetime import datetime

import pytest
from PySide6.QtWidgets import QMessageBox

from desktop.services import backup, settings
from desktop.views.backup_page import BackupPage
from tests.conftest import raw_connect

pytestmark = pytest.mark.sqlite_only("“数据备份”页只管 SQLite 文件；县级数据库由管理员 pg_dump")


def test_backup_now_lists_it_and_restore_brings_it_back(qtbot, ctx, monkeypatch):
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: QMessageBox.StandardButton.Ok)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    ctx.run(settings.set_app, "marker", "kept")
    clock = iter([datetime(2024, 11, 20, 9, 0), datetime(2024, 11, 20, 10, 0)])
    page = BackupPage(ctx, now=lambda: next(clock))
    qtbot.addWidget(page)
    page.backup_now()
    assert page.model.rowCount() == 1 and page.model.index(0, 1).data() == "手动备份"
    ctx.run(settings.set_app, "marker", "changed")
    page.table.selectRow(0)
    with qtbot.waitSignal(page.restored):
        page.restore_selected()
    with raw_connect(ctx.db.sqlite_path) as c:
        assert c.execute("SELECT value FROM app_setting WHERE key='marker'").fetchone() == ("kept",)
    reasons = [b.reason for b in backup.list_backups(ctx.db.sqlite_path)]
    assert sorted(reasons) == ["manual", "prerestore"]


def test_restore_needs_a_selection_and_confirmation(qtbot, ctx, monkeypatch):
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warned.append(a[2]))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    page = BackupPage(ctx)
    qtbot.addWidget(page)
    page.restore_selected()
    assert warned == ["请先在列表中选择一个备份"]
    backup.backup_sqlite(ctx.db.sqlite_path, "manual")
    page.refresh()
    page.table.selectRow(0)
    page.restore_selected()  # answered No: nothing happens
    assert [b.reason for b in backup.list_backups(ctx.db.sqlite_path)] == ["manual"]


def test_keep_days_saved(qtbot, ctx, monkeypatch):
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: QMessageBox.StandardButton.Ok)
    page = BackupPage(ctx)
    qtbot.addWidget(page)
    page.keep.setValue(90)
    page.save_keep_days()
    assert ctx.read(settings.get_app, "backup_keep_days") == "90"
