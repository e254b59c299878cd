"""Showing service errors to a person: inline red labels and message boxes, always in Chinese.

Views catch ServiceError only. Anything else is a fault in the program: it reaches sys.excepthook (logged, and the
dialog of crash_dialog.py), or, where a view must carry on after it, goes there through report_fault()."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QLabel, QMessageBox, QWidget

from ..services import failures
from ..services.errors import ServiceError

log = logging.getLogger(__name__)

ERROR_STYLE = "color: #c62828;"
TITLE = "防止返贫监测帮扶工作台"


def error_text(exc: BaseException | str) -> str:
    """What to tell the user. A ServiceError already carries Chinese text; anything else is a program fault:
    logged with its traceback and said to be one."""
    if isinstance(exc, str):
        return exc
    text = str(exc).strip()
    if isinstance(exc, ServiceError):
        return text or "操作未能完成"
    failure = failures.translate(exc)  # a full disk, a locked, read-only or missing file: what to do
    if failure is not None:
        return str(failure)
    if isinstance(exc, OSError):  # another file error: the computer's state, not a fault
        log.warning("file error: %s", exc)
        where = f"“{exc.filename}”" if exc.filename else "文件"
        return f"无法读写{where}：{exc.strerror or text or type(exc).__name__}"
    log.error("unexpected error", exc_info=exc)
    return f"程序内部错误（{type(exc).__name__}）：{text or '无详细信息'}。详细信息已写入日志文件"


def report_fault(exc: BaseException) -> None:
    """A fault caught where the view must carry on (keep the person's edits, stay on the page): logged and shown
    exactly like one nobody caught. A full disk, a lock or a read-only or vanished file is no fault: it is said
    in Chinese with what to do."""
    if isinstance(exc, ServiceError) or failures.translate(exc) is not None:
        QMessageBox.warning(QApplication.activeWindow(), "操作未完成", error_text(exc))
        return
    sys.excepthook(type(exc), exc, exc.__traceback__)


def error_label(parent: QWidget | None = None) -> QLabel:
    """A red label for inline errors, hidden until it has text."""
    label = QLabel(parent)
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.setVisible(False)
    label.setObjectName("errorLabel")
    return label


def set_error(label: QLabel, message: BaseException | str | None) -> None:
    """Show a message in an error label, or hide it when message is empty."""
    text = error_text(message) if message else ""
    label.setText(text)
    label.setVisible(bool(text))


def show_error(parent: QWidget | None, exc: BaseException | str, title: str = "操作未完成") -> None:
    """A refusal (or a file the computer cannot read or write) in a message box; a fault goes to report_fault
    (the log and the "程序内部错误" dialog)."""
    if isinstance(exc, BaseException) and not isinstance(exc, (ServiceError, OSError)) \
            and failures.translate(exc) is None:
        report_fault(exc)
        return
    QMessageBox.warning(parent, title, error_text(exc))


def offer_reload(parent: QWidget | None, exc: BaseException) -> bool:
    """Another seat saved this record first (services.concurrency.Conflict): say who changed what and when, and
    offer to reload it. True when the person chose to reload (their own edits are then dropped)."""
    box = QMessageBox(QMessageBox.Icon.Warning, "其他用户已修改", error_text(exc), QMessageBox.StandardButton.NoButton,
                      parent)
    reload = box.addButton("重新载入", QMessageBox.ButtonRole.AcceptRole)
    keep = box.addButton("保留我的修改", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(reload)
    box.setEscapeButton(keep)
    box.exec()
    return box.clickedButton() is reload


def show_info(parent: QWidget | None, text: str, title: str = TITLE) -> None:
    QMessageBox.information(parent, title, text)


def confirm(parent: QWidget | None, text: str, title: str = "请确认") -> bool:
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


_BUTTON_TEXT = {
    QDialogButtonBox.StandardButton.Ok: "确定",
    QDialogButtonBox.StandardButton.Cancel: "取消",
    QDialogButtonBox.StandardButton.Save: "保存",
    QDialogButtonBox.StandardButton.Close: "关闭",
}


def ok_cancel(dialog: QDialog, on_ok: Callable[[], object], ok_text: str | None = None,
              save: bool = False) -> QDialogButtonBox:
    """确定 (or 保存) and 取消 under a dialog's form: the first runs `on_ok`, 取消 closes the dialog."""
    which = QDialogButtonBox.StandardButton.Save if save else QDialogButtonBox.StandardButton.Ok
    box = chinese_buttons(QDialogButtonBox(which | QDialogButtonBox.StandardButton.Cancel))
    if ok_text:
        box.button(which).setText(ok_text)
    box.accepted.connect(on_ok)
    box.rejected.connect(dialog.reject)
    return box


def chinese_buttons(box: QDialogButtonBox) -> QDialogButtonBox:
    """Chinese texts on standard buttons even when Qt's own translations are not loaded."""
    for which, text in _BUTTON_TEXT.items():
        button = box.button(which)
        if button is not None:
            button.setText(text)
    return box
