"""What the window does with a fault nobody caught: the traceback goes to the log file (desktop/logs.py) and a
dialog "程序内部错误" names that file and copies the details for technical support. Qt's own warnings go to the
log too."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QtMsgType, Signal, qInstallMessageHandler
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout

from .. import APP_NAME, logs
from ..services.access import AccountDisabled

TITLE = "程序内部错误"
_QT_LEVELS = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}
qt_log = logging.getLogger("desktop.qt")


class CrashDialog(QDialog):
    """The fault in Chinese, where the log file is, and the details to copy."""

    def __init__(self, details: str, log_path: Path | None, parent=None):
        super().__init__(parent)
        self.details = details
        self.setWindowTitle(f"{TITLE} — {APP_NAME}")
        where = f"详细信息已写入日志文件：\n{log_path}" if log_path else "日志文件未能建立，请复制详细信息。"
        message = QLabel(f"程序发生内部错误，刚才的操作可能没有完成；已经保存的数据不受影响。\n\n{where}\n\n"
                         "请把日志文件，或点“复制详细信息”后粘贴的内容，发给技术支持。")
        message.setWordWrap(True)
        message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        message.setObjectName("crashMessage")
        text = QPlainTextEdit(details)
        text.setReadOnly(True)
        text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        text.setMinimumSize(560, 160)
        self.copy_button = QPushButton("复制详细信息")
        self.copy_button.setAutoDefault(False)
        self.copy_button.clicked.connect(self.copy_details)
        close = QPushButton("关闭")
        close.setDefault(True)
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(message)
        layout.addWidget(text, 1)
        layout.addLayout(buttons)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details)
        self.copy_button.setText("已复制")


class CrashReporter(QObject):
    """Receives faults from any thread; shows the dialog on the GUI thread, one at a time (a fault while the
    dialog is open is only logged, so a fault in painting cannot open dialogs without end)."""

    crashed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.showing = False
        self.crashed.connect(self.show_dialog, Qt.ConnectionType.QueuedConnection)

    def report(self, details: str) -> None:
        self.crashed.emit(details)

    def show_dialog(self, details: str) -> None:
        if self.showing:
            return
        self.showing = True
        try:
            CrashDialog(details, logs.log_file(), QApplication.activeWindow()).exec()
        finally:
            self.showing = False


def _qt_message(mode: QtMsgType, context, message: str) -> None:
    qt_log.log(_QT_LEVELS.get(mode, logging.WARNING), "%s", message)


_reporter: CrashReporter | None = None


def install_crash_reporter(app: QApplication) -> CrashReporter:
    """Once, at the window's start: the log file, the hooks with the dialog, Qt's messages to the log."""
    global _reporter
    logs.setup_logging()
    if _reporter is None:
        _reporter = CrashReporter(app)
    logs.install_hooks(report=_reporter.report)
    logged = sys.excepthook

    def excepthook(exc_type, exc, tb) -> None:
        if isinstance(exc, AccountDisabled):  # not a fault: the main window logs out and the log-in dialog says why
            logging.getLogger(__name__).info("account disabled: %s", exc)
            return
        logged(exc_type, exc, tb)
    sys.excepthook = excepthook
    qInstallMessageHandler(_qt_message)
    return _reporter
