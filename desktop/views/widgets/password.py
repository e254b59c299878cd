"""A password field: characters hidden, optionally with a hint."""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit


def password_edit(placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText(placeholder)
    if placeholder:  # the whole hint readable, not cut off in a narrow dialog
        edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance(placeholder) + 24)
    return edit
