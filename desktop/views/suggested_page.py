"""建议纳入（疑似应纳未纳）: households the rules suggest for monitoring that are not monitored, with the reasons.

Filter by village, export to Excel, print, register a clue in one click, open the household. The rows are
services.overview.suggested_not_monitored: the same assess results the calculator and the checks use.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QStandardPaths, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..services import listing, overview, regions
from ..services.context import AppContext
from ..services.errors import ServiceError
from ..services.rules import yuan
from .errors import error_label, set_error, show_error, show_info
from .models.base import Index, ListProxy, ListTableModel
from .operations import Operation, operations, query
from .widgets.tables import setup_list_table

ROW_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
COL_REASONS = len(overview.SUGGESTED_HEADERS) - 1


class SuggestedModel(ListTableModel):
    HEADERS = overview.SUGGESTED_HEADERS
    ROW_NUMBERS = True
    SORT_ROLE = SORT_ROLE

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        r: overview.SuggestedRow | None = self._row(index)
        if r is None:
            return None
        values = overview.suggested_cells(r)
        v = values[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() in (5, 6):
                return yuan(v)
            if index.column() == 1 and r.open_clue:
                return f"{v}（已登记线索）"
            return "" if v is None else str(v)
        if role == SORT_ROLE:
            return "" if v is None else v
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == COL_REASONS:
            return "\n".join(r.reasons)
        if role == ROW_ROLE:
            return r
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (3, 5, 6):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class VillageFilter(ListProxy):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.village: str | None = None
        self.setSortRole(SORT_ROLE)

    def set_village(self, village: str | None) -> None:
        self.beginFilterChange()
        self.village = village
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        if self.village is None:
            return True
        r = self.row(source_row)
        return r is not None and r.village == self.village


class SuggestedPage(QWidget):
    open_household = Signal(int)  # MainWindow opens the household's editor
    open_income = Signal(int)  # … or its 收入测算

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._job: Operation | None = None
        self._loaded_for = None

        self.title = QLabel()
        self.village = QComboBox()
        self.village.setMinimumWidth(160)
        self.village.currentIndexChanged.connect(self._village_changed)
        self.count = QLabel()
        self.refresh_button = QPushButton("刷新")
        self.refresh_button.clicked.connect(self.refresh)
        self.clue_button = QPushButton("登记线索")
        self.clue_button.setToolTip("为所选户登记一条“干部排查”线索，说明中写明测算理由，到“认定流程”中处理")
        self.clue_button.clicked.connect(self.register_clue)
        self.income_button = QPushButton("收入测算")
        self.income_button.clicked.connect(lambda: self._emit_current(self.open_income))
        self.open_button = QPushButton("打开户")
        self.open_button.clicked.connect(lambda: self._emit_current(self.open_household))
        self.export_button = QPushButton("导出 Excel…")
        self.export_button.clicked.connect(self.export_xlsx)
        self.print_button = QPushButton("打印（PDF）…")
        self.print_button.clicked.connect(self.export_pdf)

        self.model = SuggestedModel(self)
        self.proxy = VillageFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = setup_list_table(QTableView())
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)  # by village; the service orders within it
        header = self.table.horizontalHeader()
        fm = self.table.fontMetrics()
        for col, sample in enumerate(("某某某村", "3703050010010001", "欧阳某某", "99", "已消除风险", "99,999.99",
                                      "99,999.99", "突发严重困难户")):
            header.resizeSection(col, max(fm.horizontalAdvance(sample), fm.horizontalAdvance(
                self.model.HEADERS[col])) + 24)
        header.setSectionResizeMode(COL_REASONS, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(lambda _i: self._emit_current(self.open_household))
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        QShortcut(QKeySequence(Qt.Key.Key_Return), self.table, activated=lambda: self._emit_current(
            self.open_household), context=Qt.ShortcutContext.WidgetShortcut)

        self.error = error_label(self)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(QLabel("行政村："))
        top.addWidget(self.village)
        top.addWidget(self.refresh_button)
        actions = QHBoxLayout()
        for b in (self.clue_button, self.open_button, self.income_button):
            actions.addWidget(b)
        actions.addStretch(1)
        actions.addWidget(self.count)
        actions.addWidget(self.export_button)
        actions.addWidget(self.print_button)
        hint = QLabel("按收入测算规则（人均收入参考值低于监测线，且存在返贫致贫风险或“三保障”和饮水安全问题）"
                      "建议纳入、但尚未纳入监测也未在认定中的户。是否纳入由入户核实和民主评议决定。")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(hint)
        layout.addWidget(self.error)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        self._update_buttons()

    # ------------------------------------------------------------------ loading

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._loaded_for != (self.ctx.year, self.ctx.today()):
            self.refresh()

    def refresh(self) -> None:
        year, as_of = self.ctx.year, self.ctx.today()
        self.title.setText(f"<h3>建议纳入监测（疑似应纳未纳）名单（{year or '未设置'} 年度，截至 {as_of}）</h3>")
        set_error(self.error, None)
        if year is None:
            set_error(self.error, "未设置当前工作年度：请在“年度设置”中设置")
            return
        if self._job is not None:
            return
        villages = self.ctx.user.village_ids if self.ctx.user else None
        ctx = self.ctx
        self._job = query(self, lambda _task: ctx.read(overview.suggested_not_monitored, year, as_of,
                                                       village_ids=villages), self._loaded, on_error=self._failed)
        self.count.setText("正在测算……")
        self.refresh_button.setEnabled(False)
        self._loaded_for = (year, as_of)

    def wait(self, ms: int = 30000) -> bool:
        return operations().wait(ms)

    def _failed(self, exc) -> None:
        self._job = None
        self._loaded_for = None
        self.refresh_button.setEnabled(True)
        self.count.setText("")
        if isinstance(exc, ServiceError):
            set_error(self.error, exc)
        else:
            show_error(self, exc)

    def _loaded(self, rows: list[overview.SuggestedRow]) -> None:
        self._job = None
        self.refresh_button.setEnabled(True)
        self.model.set_rows(rows)
        current = self.village.currentData()
        self.village.blockSignals(True)
        self.village.clear()
        self.village.addItem("全部", None)
        for v in self.ctx.read(regions.tree, self.ctx.user.village_ids if self.ctx.user else None, counts=False):
            self.village.addItem(v.name, v.name)
        i = self.village.findData(current)
        self.village.setCurrentIndex(max(i, 0))
        self.village.blockSignals(False)
        self._village_changed()

    def _village_changed(self, *_args) -> None:
        self.proxy.set_village(self.village.currentData())
        self.count.setText(f"共 {self.proxy.rowCount()} 户")
        self._update_buttons()

    # ------------------------------------------------------------------ actions

    def shown_rows(self) -> list[overview.SuggestedRow]:
        return [self.proxy.index(i, 0).data(ROW_ROLE) for i in range(self.proxy.rowCount())]

    def current_row(self) -> overview.SuggestedRow | None:
        index = self.table.currentIndex()
        return index.data(ROW_ROLE) if index.isValid() else None

    def select_household(self, household_id: int) -> bool:
        for i in range(self.proxy.rowCount()):
            if self.proxy.index(i, 0).data(ROW_ROLE).household_id == household_id:
                self.table.selectRow(i)
                return True
        return False

    def _emit_current(self, signal) -> None:
        r = self.current_row()
        if r is not None:
            signal.emit(r.household_id)

    def _update_buttons(self, *_args) -> None:
        r = self.current_row()
        self.clue_button.setEnabled(r is not None and not r.open_clue)
        self.open_button.setEnabled(r is not None)
        self.income_button.setEnabled(r is not None)
        shown = self.proxy.rowCount() > 0
        self.export_button.setEnabled(shown)
        self.print_button.setEnabled(shown)

    def register_clue(self) -> int | None:
        r = self.current_row()
        if r is None or self.ctx.year is None:
            return None
        reporter = self.ctx.user.display_name if self.ctx.user else None
        try:
            clue_id = self.ctx.run(overview.clue_from_suggestion, self.ctx.year, self.ctx.today(), r.household_id,
                                   reporter=reporter)
        except ServiceError as exc:
            set_error(self.error, exc)
            return None
        show_info(self, f"已为户 {r.household_no}（{r.head_name}）登记线索，请到“认定流程”中入户核实。")
        self._loaded_for = None
        self.refresh()
        return clue_id

    def _scope(self) -> str:
        village = self.village.currentData() or "全部行政村"
        return f"{village} · {self.ctx.year} 年度 · 截至 {self.ctx.today()}"

    def _ask_path(self, suffix: str, kind: str) -> Path | None:
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        name = f"建议纳入名单_{self.ctx.today():%Y%m%d}{suffix}"
        path, _ = QFileDialog.getSaveFileName(self, "保存", str(Path(folder) / name), f"{kind} (*{suffix})",
                                              options=QFileDialog.Option.DontUseNativeDialog)
        if not path:
            return None
        return Path(path) if path.endswith(suffix) else Path(path + suffix)

    def export_xlsx(self, path: Path | None = None) -> Path | None:
        path = path or self._ask_path(".xlsx", "Excel 工作簿")
        if path is None:
            return None
        try:
            listing.write_xlsx(overview.suggested_listing(self.shown_rows(), self._scope()), path)
        except (ServiceError, OSError) as exc:
            set_error(self.error, f"无法保存 {path.name}：{exc}")
            return None
        return path

    def export_pdf(self, path: Path | None = None) -> Path | None:
        path = path or self._ask_path(".pdf", "PDF 文件")
        if path is None:
            return None
        township = self.ctx.read(regions.township)
        try:
            listing.write_pdf(overview.suggested_listing(self.shown_rows(), self._scope()), path,
                              township.name if township else "")
        except (ServiceError, OSError) as exc:
            set_error(self.error, f"无法保存 {path.name}：{exc}")
            return None
        return path
