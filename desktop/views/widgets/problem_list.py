"""The list of validation problems under a form: red, in Chinese; activating one jumps to its field."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ...services.register import Problem

PROBLEM_ROLE = Qt.ItemDataRole.UserRole
RED = QColor("#c62828")


class ProblemList(QWidget):
    problemActivated = Signal(object)  # the Problem

    def __init__(self, parent: QWidget | None = None, visible_lines: int = 5):
        super().__init__(parent)
        self.heading = QLabel()
        self.heading.setStyleSheet("color: #c62828; font-weight: bold;")
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.list.setMaximumHeight(self.fontMetrics().lineSpacing() * visible_lines + 12)
        self.list.itemActivated.connect(lambda item: self.problemActivated.emit(item.data(PROBLEM_ROLE)))
        self.list.itemClicked.connect(lambda item: self.problemActivated.emit(item.data(PROBLEM_ROLE)))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.heading)
        layout.addWidget(self.list)
        self._problems: list[Problem] = []
        self.setVisible(False)

    def set_problems(self, problems: list[Problem]) -> None:
        if problems == self._problems:
            return
        self._problems = list(problems)
        self.list.clear()
        for p in problems:
            item = QListWidgetItem(p.message)
            item.setForeground(RED)
            item.setData(PROBLEM_ROLE, p)
            self.list.addItem(item)
        self.heading.setText(f"请先修正以下 {len(problems)} 个问题，才能保存：" if problems else "")
        self.setVisible(bool(problems))

    def problems(self) -> list[Problem]:
        return list(self._problems)

    def messages(self) -> list[str]:
        return [p.message for p in self._problems]
