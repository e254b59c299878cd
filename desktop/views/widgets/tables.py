"""How every read-only list looks: whole rows selected, no editing, alternating rows, one line per
row with a comfortable height, no row numbers."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QTableView


def setup_list_table(table: QTableView, *, multi: bool = False) -> QTableView:
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection if multi
                           else QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 10)
    table.horizontalHeader().setHighlightSections(False)
    return table
