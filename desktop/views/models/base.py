"""The read-only list table every result page shows: a list of service rows, headers as data."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

_ROOT = QModelIndex()  # the invisible root: a flat table's rows have no parent

Index = QModelIndex | QPersistentModelIndex


class ListTableModel(QAbstractTableModel):
    """Rows are plain service objects; subclasses set HEADERS and implement data()."""

    HEADERS: tuple[str, ...] = ()
    ROW_NUMBERS = False  # vertical header shows 1, 2, 3…
    SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # the native value of a cell, what sorting compares

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list = []
        self._sort: tuple[int, Qt.SortOrder] | None = None

    def set_rows(self, rows: list) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._apply_sort()
        self.endResetModel()

    # Sorting here, once per click, with one key per row (a C-level list sort): QSortFilterProxyModel's own sort
    # asks data() twice per comparison, seconds of GUI-thread time for thousands of rows (issue 19, problem 6).

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        if not self._rows:
            return
        self.layoutAboutToBeChanged.emit()
        before = list(self._rows)
        persistent = self.persistentIndexList()
        self._apply_sort()
        if persistent:
            where = {id(row): i for i, row in enumerate(self._rows)}
            self.changePersistentIndexList(
                persistent, [self.index(where[id(before[p.row()])], p.column()) if 0 <= p.row() < len(before)
                             else QModelIndex() for p in persistent])
        self.layoutChanged.emit()

    def _apply_sort(self) -> None:
        if self._sort is None or not self._rows or not 0 <= self._sort[0] < len(self.HEADERS):
            return
        column, order = self._sort
        if type(self).sort_value is not ListTableModel.sort_value:  # straight from the rows, no index per row
            keys = [self.sort_value(row, column) for row in self._rows]
        else:
            keys = [self.data(self.index(i, column), self.SORT_ROLE) for i in range(len(self._rows))]
        pairs = list(zip(keys, range(len(keys)), strict=True))
        descending = order == Qt.SortOrder.DescendingOrder
        try:
            pairs.sort(key=lambda p: (p[0] is None, p[0] if p[0] is not None else 0), reverse=descending)
        except TypeError:  # mixed types in one column: compare as text
            pairs.sort(key=lambda p: (p[0] is None, str(p[0])), reverse=descending)
        self._rows = [self._rows[i] for _key, i in pairs]

    def sort_value(self, row, column: int):
        """The SORT_ROLE value of a row's cell without a model index: a model of many rows overrides it so that a
        sort (and set_rows on a sorted table) costs one plain call per row on the GUI thread."""
        return None

    def row_at(self, row: int):
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rows(self) -> list:
        return list(self._rows)

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section] if 0 <= section < len(self.HEADERS) else None
        return str(section + 1) if self.ROW_NUMBERS else None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def _row(self, index: Index):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return self._rows[index.row()]


class ListProxy(QSortFilterProxyModel):
    """Filters a ListTableModel; sorting is left to the model (ListTableModel.sort), so the proxy keeps the
    model's order. Subclasses filter in filterAcceptsRow, reading rows with `self.row(source_row)`."""

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if isinstance(source, ListTableModel):
            source.sort(column, order)
        else:
            super().sort(column, order)

    def row(self, source_row: int):
        source = self.sourceModel()
        return source.row_at(source_row) if isinstance(source, ListTableModel) else None
