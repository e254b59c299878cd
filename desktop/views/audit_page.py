"""操作日志: the audit log, read-only, newest first, loaded 500 entries at a time.

Times are stored in UTC and shown in Beijing time (a fixed UTC+8): nothing depends on the machine's time zone.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..services import audit
from ..services.context import AppContext
from ..services.dates import beijing_text
from ..services.errors import ServiceError
from .errors import error_label, set_error

_ROOT = QModelIndex()  # the invisible root: a flat table's rows have no parent

PAGE_SIZE = 500
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2


class AuditModel(QAbstractTableModel):
    COL_AT, COL_USER, COL_ACTION, COL_WHAT, COL_FIELD, COL_OLD, COL_NEW = range(7)
    HEADERS = ("时间（北京时间）", "用户", "操作", "对象", "字段", "原值", "新值")
    _ATTRS = ("at", "user", "action", "what", "field", "old", "new")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[audit.HistoryRow] = []

    def set_rows(self, rows: list[audit.HistoryRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def append_rows(self, rows: list[audit.HistoryRow]) -> None:
        if not rows:
            return
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self.rows.extend(rows)
        self.endInsertRows()

    def rowCount(self, parent=_ROOT) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=_ROOT) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == ROW_ROLE:
            return row
        value = getattr(row, self._ATTRS[index.column()])
        if role == SORT_ROLE:
            return value
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if index.column() == self.COL_AT:
                return beijing_text(value)
            return value or ""
        return None


class AuditPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.model = AuditModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        widths = (150, 90, 80, 170, 200, 180)
        for col, width in enumerate(widths):
            self.table.setColumnWidth(col, width)

        self.more_button = QPushButton("加载更多")
        self.refresh_button = QPushButton("刷新")
        self.count_label = QLabel()
        self.error = error_label(self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.count_label, 1)
        buttons.addWidget(self.more_button)
        buttons.addWidget(self.refresh_button)

        note = QLabel("操作日志由程序自动记录，不能修改或删除。时间为北京时间。")
        note.setStyleSheet("color: #555;")
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<h3>操作日志</h3>"))
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)
        layout.addLayout(buttons)

        self.more_button.clicked.connect(self.load_more)
        self.refresh_button.clicked.connect(self.refresh)
        self.refresh()

    def _fetch(self, offset: int) -> list[audit.HistoryRow] | None:
        try:
            rows = self.ctx.read(audit.recent, PAGE_SIZE, offset)
        except ServiceError as exc:
            set_error(self.error, exc)
            return None
        set_error(self.error, None)
        return rows

    def refresh(self) -> None:
        rows = self._fetch(0)
        if rows is not None:
            self.model.set_rows(rows)
            self._update(len(rows))

    def load_more(self) -> None:
        rows = self._fetch(len(self.model.rows))
        if rows is not None:
            self.model.append_rows(rows)
            self._update(len(rows))

    def _update(self, fetched: int) -> None:
        more = fetched == PAGE_SIZE
        self.more_button.setEnabled(more)
        shown = len(self.model.rows)
        self.count_label.setText(f"已显示 {shown} 条" + ("，还有更早的记录" if more else "，已全部显示"))
