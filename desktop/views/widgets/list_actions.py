"""What every list offers: a right-click menu from a household row to everything about that household, and the
whole list (as shown, after its filters) to Excel or to a printable PDF — for the whole township or, on a list with
a 行政村 column, for one village.

A page installs it on its table with a function that names a row's household (or None); the household actions
are emitted as `household_action(action, household_id)` and MainWindow carries them out, so a list needs to know
nothing about the other pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QModelIndex, QObject, QPoint, QStandardPaths, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QTableView, QWidget

from ...services import listing
from ...services.errors import ServiceError
from ..errors import show_error

# action key, menu text; MainWindow.household_action knows each key
HOUSEHOLD_ACTIONS = (
    ("editor", "户信息和家庭成员"),
    ("income", "收入测算"),
    ("cases", "认定流程"),
    ("documents", "打印文书"),
    ("history", "变更历史"),
)


VILLAGE_HEADERS = ("行政村", "村")  # the column that names a row's village


def village_column(table: QTableView) -> int | None:
    """The list's 行政村 column, if it has one."""
    model = table.model()
    if model is None:
        return None
    for c in range(model.columnCount()):
        if str(model.headerData(c, Qt.Orientation.Horizontal) or "") in VILLAGE_HEADERS:
            return c
    return None


SCAN_LIMIT = 5000  # rows read for their villages when the menu opens; a longer list names its villages itself


def villages_of(table: QTableView) -> list[str]:
    """The villages the list's rows belong to, in name order (none without a 行政村 column)."""
    col = village_column(table)
    if col is None or table.model().rowCount() > SCAN_LIMIT:
        return []
    model = table.model()
    names = {str(model.index(r, col).data(Qt.ItemDataRole.DisplayRole) or "") for r in range(model.rowCount())}
    return sorted(n for n in names if n)


def listing_of(table: QTableView, title: str, subtitle: str = "", village: str | None = None) -> listing.Listing:
    """What the table shows, in its order: the header texts and each visible row's display texts; with a village,
    only that village's rows (and the village in the title)."""
    model = table.model()
    columns = [c for c in range(model.columnCount()) if not table.isColumnHidden(c)]
    headers = [str(model.headerData(c, Qt.Orientation.Horizontal) or "") for c in columns]
    vcol = village_column(table) if village is not None else None
    rows = []
    for r in range(model.rowCount()):
        if vcol is not None and str(model.index(r, vcol).data(Qt.ItemDataRole.DisplayRole) or "") != village:
            continue
        rows.append([_text(model.index(r, c).data(Qt.ItemDataRole.DisplayRole)) for c in columns])
    return listing.Listing(f"{title}（{village}）" if village else title, headers, rows, subtitle=subtitle)


def _text(v) -> object:
    return "" if v is None else v


class ListActions(QObject):
    household_action = Signal(str, int)  # action key, household id

    def __init__(self, table: QTableView, title: Callable[[], str], household_of: Callable[[QModelIndex], int | None]
                 | None = None, township: Callable[[], str] | None = None, subtitle: Callable[[], str] | None = None,
                 more_actions: Callable[[int], list[tuple[str, str]]] | None = None,
                 villages: Callable[[], list[str]] | None = None):
        """more_actions: a list's own household actions for a row (key, text), emitted like the common ones;
        villages: the villages of the list's rows, for a list that can say so without reading every row (the
        lazily loaded register); otherwise they are read from the 行政村 column."""
        super().__init__(table)
        self.more_actions = more_actions
        self.villages = villages or (lambda: villages_of(table))
        self.table = table
        self.title = title
        self.subtitle = subtitle or (lambda: "")
        self.township = township or (lambda: "")
        self.household_of = household_of
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self.show_menu)

    def menu_for(self, index: QModelIndex) -> QMenu:
        menu = QMenu(self.table)
        hid = self.household_of(index) if (self.household_of is not None and index.isValid()) else None
        if hid is not None:
            for key, text in HOUSEHOLD_ACTIONS:
                action = QAction(text, menu)
                action.triggered.connect(lambda _checked=False, k=key, h=hid: self.household_action.emit(k, h))
                menu.addAction(action)
            more = self.more_actions(hid) if self.more_actions is not None else []
            if more:
                menu.addSeparator()
            for key, text in more:
                action = QAction(text, menu)
                action.triggered.connect(lambda _checked=False, k=key, h=hid: self.household_action.emit(k, h))
                menu.addAction(action)
            menu.addSeparator()
        export = QAction("导出本列表到 Excel…", menu)
        export.triggered.connect(lambda: self.export_xlsx())
        printing = QAction("打印本列表（PDF）…", menu)
        printing.triggered.connect(lambda: self.export_pdf())
        empty = self.table.model() is None or self.table.model().rowCount() == 0
        export.setEnabled(not empty)
        printing.setEnabled(not empty)
        menu.addAction(export)
        menu.addAction(printing)
        villages = self.villages()
        if len(villages) > 1:
            by_xlsx = menu.addMenu("按村导出到 Excel")
            by_pdf = menu.addMenu("按村打印（PDF）")
            for name in villages:
                by_xlsx.addAction(name).triggered.connect(lambda _c=False, v=name: self.export_xlsx(village=v))
                by_pdf.addAction(name).triggered.connect(lambda _c=False, v=name: self.export_pdf(village=v))
        return menu

    def show_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if index.isValid():
            self.table.selectRow(index.row())
        self.menu_for(index).exec(self.table.viewport().mapToGlobal(pos))

    def listing(self, village: str | None = None) -> listing.Listing:
        return listing_of(self.table, self.title(), self.subtitle(), village)

    def _ask(self, suffix: str, kind: str, village: str | None = None) -> Path | None:
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        parent: QWidget = self.table.window()
        name = f"{self.title()}（{village}）" if village else self.title()
        path, _ = QFileDialog.getSaveFileName(parent, "保存", str(Path(folder) / f"{name}{suffix}"),
                                              f"{kind} (*{suffix})", options=QFileDialog.Option.DontUseNativeDialog)
        if not path:
            return None
        return Path(path) if path.endswith(suffix) else Path(path + suffix)

    def export_xlsx(self, path: Path | None = None, village: str | None = None) -> Path | None:
        """The list (or one village's rows of it) to an Excel workbook."""
        path = path or self._ask(".xlsx", "Excel 工作簿", village)
        if path is None:
            return None
        try:
            return listing.write_xlsx(self.listing(village), path)
        except (ServiceError, OSError) as exc:
            show_error(self.table.window(), f"无法保存 {path.name}：{exc}")
            return None

    def export_pdf(self, path: Path | None = None, village: str | None = None) -> Path | None:
        """The list (or one village's rows of it) to a printable PDF."""
        path = path or self._ask(".pdf", "PDF 文件", village)
        if path is None:
            return None
        try:
            listing.write_pdf(self.listing(village), path, self.township())
        except (ServiceError, OSError) as exc:
            show_error(self.table.window(), f"无法保存 {path.name}：{exc}")
            return None
        return path
