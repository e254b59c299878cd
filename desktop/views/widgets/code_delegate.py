"""Item delegates for editable tables: code lists as combos (names shown, codes stored), yes/no,
small whole numbers, and ID numbers typed as text (a lower-case x becomes X)."""

from __future__ import annotations

from typing import Iterable

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, Qt
from PySide6.QtWidgets import QLineEdit, QSpinBox, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ...services.idnumber import normalize_id
from .code_combo import YES_NO, ValueCombo, code_items

EDIT = Qt.ItemDataRole.EditRole


class ComboDelegate(QStyledItemDelegate):
    """Edits a cell with a ValueCombo; the model's EditRole holds the value (a code, a bool…)."""

    def __init__(self, items: Iterable[tuple[str, object]], blank: str | None = "", parent: QObject | None = None):
        super().__init__(parent)
        self._items = list(items)
        self._blank = blank

    @classmethod
    def for_codes(cls, key: str, parent: QObject | None = None) -> "ComboDelegate":
        return cls(code_items(key), "", parent)

    @classmethod
    def for_bool(cls, parent: QObject | None = None) -> "ComboDelegate":
        return cls(YES_NO, "（空）", parent)

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex) -> QWidget:
        combo = ValueCombo(self._items, self._blank, parent)
        combo.setMaxVisibleItems(20)
        # Choosing an item with the mouse ends the edit, as in a spreadsheet.
        combo.activated.connect(lambda _i, c=combo: self._finish(c))
        return combo

    def _finish(self, combo: ValueCombo) -> None:
        self.commitData.emit(combo)
        self.closeEditor.emit(combo, QStyledItemDelegate.EndEditHint.NoHint)

    def setEditorData(self, editor: ValueCombo, index: QModelIndex) -> None:
        editor.blockSignals(True)
        editor.set_value(index.data(EDIT))
        editor.blockSignals(False)

    def setModelData(self, editor: ValueCombo, model: QAbstractItemModel, index: QModelIndex) -> None:
        model.setData(index, editor.value(), EDIT)


class MonthsDelegate(QStyledItemDelegate):
    """Work months 0–12; the lowest step means "not filled in"."""

    def __init__(self, maximum: int = 12, parent: QObject | None = None):
        super().__init__(parent)
        self._maximum = maximum

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex) -> QWidget:
        spin = QSpinBox(parent)
        spin.setRange(-1, self._maximum)
        spin.setSpecialValueText("（空）")
        spin.setSuffix(" 个月")
        return spin

    def setEditorData(self, editor: QSpinBox, index: QModelIndex) -> None:
        value = index.data(EDIT)
        editor.setValue(-1 if value is None else int(value))

    def setModelData(self, editor: QSpinBox, model: QAbstractItemModel, index: QModelIndex) -> None:
        editor.interpretText()
        value = editor.value()
        model.setData(index, None if value < 0 else value, EDIT)


class TextDelegate(QStyledItemDelegate):
    """Plain text; with `id_number=True` the text is normalized as an ID number (X upper-case)."""

    def __init__(self, id_number: bool = False, max_length: int = 64, parent: QObject | None = None):
        super().__init__(parent)
        self._id_number = id_number
        self._max_length = max_length

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex) -> QWidget:
        edit = QLineEdit(parent)
        edit.setMaxLength(self._max_length)
        if self._id_number:
            edit.textEdited.connect(lambda text, e=edit: self._upper(e, text))
        return edit

    @staticmethod
    def _upper(edit: QLineEdit, text: str) -> None:
        if text != text.upper():
            pos = edit.cursorPosition()
            edit.setText(text.upper())
            edit.setCursorPosition(pos)

    def setEditorData(self, editor: QLineEdit, index: QModelIndex) -> None:
        editor.setText(index.data(EDIT) or "")

    def setModelData(self, editor: QLineEdit, model: QAbstractItemModel, index: QModelIndex) -> None:
        text = editor.text()
        model.setData(index, normalize_id(text) if self._id_number else text, EDIT)


def delegate_for(kind: str | None, fld: str, parent: QObject | None = None) -> QStyledItemDelegate:
    """The delegate for a member field of the given kind (see services.labels)."""
    if kind == "bool":
        return ComboDelegate.for_bool(parent)
    if kind == "int":
        return MonthsDelegate(12, parent)
    if kind in (None, "date"):
        if fld == "id_number":
            return TextDelegate(True, 22, parent)
        return TextDelegate(False, 32 if fld == "phone" else 64, parent)
    return ComboDelegate.for_codes(kind, parent)
