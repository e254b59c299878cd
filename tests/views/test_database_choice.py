"""The first start's choice 单机 / 县级数据库 (issue 21): remembered without any password; a server that cannot be
reached is said in the dialog, which stays open."""

from __future__ import annotations

from desktop import paths
from desktop.views.database_choice import DatabaseChoiceDialog


def test_single_seat_remembers_the_file(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("FANPIN_DATA_DIR", str(tmp_path / "data"))
    dialog = DatabaseChoiceDialog(tmp_path / "data" / "workbench.sqlite3")
    qtbot.addWidget(dialog)
    assert dialog.single.isChecked() and not dialog.server.isEnabled()
    dialog.choose()
    assert dialog.result() == DatabaseChoiceDialog.DialogCode.Accepted
    assert paths.saved_database() == str(tmp_path / "data" / "workbench.sqlite3")


def test_county_database_needs_its_fields_and_a_reachable_server(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("FANPIN_DATA_DIR", str(tmp_path / "data"))
    dialog = DatabaseChoiceDialog(tmp_path / "data" / "workbench.sqlite3")
    qtbot.addWidget(dialog)
    dialog.county.setChecked(True)
    assert dialog.server.isEnabled()
    dialog.choose()
    assert "请填写服务器地址、数据库名、数据库用户" in dialog.error.text()
    dialog.host.setText("127.0.0.1")
    dialog.port.setValue(1)  # nothing listens there
    dialog.database.setText("fanpin_jixia")
    dialog.user.setText("fanpin_jixia")
    dialog.choose()
    assert "无法连接数据库" in dialog.error.text() and dialog.target is None
    assert paths.saved_database() is None  # nothing remembered


def test_a_url_with_a_password_is_never_remembered(tmp_path, monkeypatch):
    import pytest
    monkeypatch.setenv("FANPIN_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(ValueError, match="不能包含密码"):
        paths.save_database("postgresql+psycopg://u:secret@host/db")
    paths.save_database("postgresql+psycopg://u@host/db")
    assert paths.saved_database() == "postgresql+psycopg://u@host/db"
    assert "secret" not in paths.connection_file().read_text(encoding="utf-8")


def test_the_backup_page_says_who_backs_up_the_database_of_the_run(qtbot, ctx):
    """On a file: the file and its backups; on the county database: pg_dump by its administrator, nothing to press."""
    from desktop.views.backup_page import BackupPage
    page = BackupPage(ctx)
    qtbot.addWidget(page)
    if ctx.db.sqlite_path is None:
        assert "pg_dump" in page.info.text() and "县级数据库" in page.info.text()
        assert not any(b.isEnabled() for b in (page.backup_button, page.restore_button, page.folder_button))
    else:
        assert str(ctx.db.sqlite_path) in page.info.text() and page.backup_button.isEnabled()
