"""A fault nobody caught in the window (STYLE: one ServiceError for the user, everything else to the log): the
traceback goes to the rotating log file in the data folder and a dialog "程序内部错误" names that file and copies
the details."""

from __future__ import annotations

import logging
import sys
import threading

import pytest
from PySide6.QtCore import Qt, qWarning
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel, QPushButton

from desktop import logs
from desktop.views.crash_dialog import CrashDialog, install_crash_reporter


@pytest.fixture
def crash_log(tmp_path, monkeypatch):
    """The window's crash handling installed as at start, with the log in tmp_path; the dialogs it would show."""
    for module, name in ((sys, "excepthook"), (threading, "excepthook"), (sys, "unraisablehook")):
        monkeypatch.setattr(module, name, getattr(module, name))  # restored after the test
    shown: list[CrashDialog] = []
    monkeypatch.setattr(CrashDialog, "exec", lambda self: shown.append(self) or 0)
    logs.stop_logging()
    path = logs.setup_logging(tmp_path / "logs" / logs.LOG_NAME)
    install_crash_reporter(QApplication.instance())
    yield path, shown
    logs.stop_logging()


def _broken_slot():
    return {}["监测线"]  # a bug: a KeyError, not a ServiceError


@pytest.mark.qt_no_exception_capture
def test_a_slot_that_raises_leaves_a_log_entry_and_shows_the_dialog(qtbot, crash_log):
    path, shown = crash_log
    button = QPushButton("保存")
    qtbot.addWidget(button)
    button.clicked.connect(_broken_slot)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(shown) == 1)

    text = path.read_text("utf-8")
    assert "CRITICAL" in text and "KeyError: '监测线'" in text and "_broken_slot" in text
    dialog = shown[0]
    assert dialog.windowTitle().startswith("程序内部错误")
    assert str(path) in dialog.findChild(QLabel, "crashMessage").text()
    assert "KeyError" in dialog.details and "_broken_slot" in dialog.details
    assert dialog.copy_button.text() == "复制详细信息"
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == dialog.details


@pytest.mark.qt_no_exception_capture
def test_a_fault_in_another_thread_is_logged_and_shown_on_the_gui_thread(qtbot, crash_log):
    path, shown = crash_log

    def work():
        raise RuntimeError("后台任务出错")

    worker = threading.Thread(target=work, name="worker-1")
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(shown) == 1)
    text = path.read_text("utf-8")
    assert "（线程 worker-1）" in text and "RuntimeError: 后台任务出错" in text
    assert "RuntimeError" in shown[0].details


@pytest.mark.qt_no_exception_capture
def test_a_second_fault_while_the_dialog_is_open_is_only_logged(qtbot, crash_log, monkeypatch):
    path, shown = crash_log
    reporter = install_crash_reporter(QApplication.instance())
    reporter.showing = True  # a dialog is open
    try:
        sys.excepthook(ValueError, ValueError("第二个故障"), None)
        qtbot.wait(50)
    finally:
        reporter.showing = False
    assert shown == [] and "ValueError: 第二个故障" in path.read_text("utf-8")


def test_qt_warnings_go_to_the_log(qtbot, crash_log):
    path, _ = crash_log
    qWarning("Qt 自己的警告")
    logging.getLogger().handlers[-1].flush()
    assert "WARNING" in path.read_text("utf-8") and "Qt 自己的警告" in path.read_text("utf-8")


def test_the_log_file_is_in_the_data_folder_and_rotates(tmp_path, monkeypatch):
    monkeypatch.setenv("FANPIN_DATA_DIR", str(tmp_path / "data"))
    logs.stop_logging()
    try:
        path = logs.setup_logging()
        assert path == tmp_path / "data" / "logs" / "workbench.log"
        assert logs.setup_logging() == path  # once: a second call keeps the same file
        handler = next(h for h in logging.getLogger().handlers if getattr(h, "baseFilename", None) == str(path))
        assert handler.maxBytes == logs.MAX_BYTES and handler.backupCount == logs.BACKUPS
        for i in range(3):
            logs.log.warning("第 %d 条 %s", i, "x" * (logs.MAX_BYTES // 2))
        assert (path.parent / "workbench.log.1").exists()
    finally:
        logs.stop_logging()
