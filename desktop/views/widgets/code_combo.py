"""A combo box that shows names and holds values: codes of a code list, region ids, yes/no."""

from __future__ import annotations

from typing import Iterable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QWidget

from ...services.codes import codes

YES_NO = (("是", True), ("否", False))
BLANK_BOOL = "未填"


class ValueCombo(QComboBox):
    """Items are (name, value); `value()` gives the value of the current item, `set_value()` selects it.

    A value that is not in the list (an unknown code in old data) is shown as such rather than lost."""

    valueChanged = Signal(object)

    def __init__(self, items: Iterable[tuple[str, object]] = (), blank: str | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._blank = blank
        self.set_items(items, blank)
        self.currentIndexChanged.connect(lambda _i: self.valueChanged.emit(self.value()))

    def set_items(self, items: Iterable[tuple[str, object]], blank: str | None = None) -> None:
        current = self.value() if self.count() else None
        self.blockSignals(True)
        self.clear()
        self._blank = blank
        if blank is not None:
            self.addItem(blank, None)
        for name, value in items:
            self.addItem(name, value)
        self.blockSignals(False)
        self.set_value(current)

    def value(self):
        return self.currentData() if self.currentIndex() >= 0 else None

    def set_value(self, value) -> None:
        # Without an empty choice, None means "the first item".
        index = self.findData(value) if value is not None else (0 if self.count() else -1)
        if index < 0 and value is not None:
            self.addItem(f"{value}（不在代码表中）", value)
            index = self.count() - 1
        self.setCurrentIndex(index)


def code_items(key: str) -> list[tuple[str, str]]:
    return [(c.name, c.code) for c in codes(key)]


def code_combo(key: str, blank: str | None = "", parent: QWidget | None = None) -> ValueCombo:
    """Names of code list `key`, storing codes; `blank` is the text of the empty choice (None: no empty choice)."""
    return ValueCombo(code_items(key), blank, parent)


def bool_combo(blank: str | None = BLANK_BOOL, parent: QWidget | None = None) -> ValueCombo:
    """是 / 否, and the empty choice for a question not yet answered."""
    return ValueCombo(YES_NO, blank, parent)


def bool_text(value: bool | None, blank: str = "") -> str:
    if value is None:
        return blank
    return "是" if value else "否"
