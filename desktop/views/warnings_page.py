"""预警中心: what is late or about to be, as of today (services.warnings.dashboard): counts per kind,
the three colours, villages over 2 %, and the list of rows; a row opens its case or household."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..services import warnings
from ..services.context import AppContext
from ..services.errors import ServiceError
from ..services.warnings import TITLES, Dashboard
from .errors import error_label, set_error, show_error
from .models.base import ListProxy
from .models.ledger_table import Q_OPEN, Q_TITLE, OpenCountModel
from .models.warning_table import (
    COL_KIND,
    COL_WHAT,
    ROW_ROLE,
    SORT_ROLE,
    V_RATIO,
    VillageTableModel,
    WarningFilter,
    WarningTableModel,
    ratio_text,
)
from .operations import query
from .widgets.list_actions import ListActions
from .widgets.tables import setup_list_table

COLOUR_STYLE = {"红": ("#fdecea", "#c62828"), "黄": ("#fff7e0", "#b7791f"), "蓝": ("#e8f1fc", "#1565c0")}
ALERT_KINDS = {"overdue", "plan_overdue", "revisit_due"}  # counts shown in red when not zero


class Tile(QFrame):
    """A count with its title; a click filters the list."""

    clicked = Signal()

    def __init__(self, title: str, background: str = "#f5f5f5", colour: str = "#333", parent=None, *,
                 horizontal: bool = False):
        super().__init__(parent)
        self.title = title
        self.colour = colour
        self.setObjectName("tile")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setStyleSheet(f"QFrame#tile {{ background: {background}; border: 1px solid #d0d0d0; "
                           "border-radius: 4px; }")
        self.count = QLabel("—")
        self.count.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption = QLabel(title)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        layout = QHBoxLayout(self) if horizontal else QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(8 if horizontal else 0)
        layout.addWidget(self.count)
        layout.addWidget(self.caption, 1)
        if horizontal:
            self.caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            self.count.setMinimumWidth(self.fontMetrics().horizontalAdvance("0") * 8)
        self.set_count(None)

    def set_count(self, n: int | None, alert: bool = False) -> None:
        colour = "#c62828" if alert and n else self.colour
        self.count.setText(f"<span style='font-size:17pt; font-weight:bold; color:{colour}'>"
                           f"{'—' if n is None else n}</span>")

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mousePressEvent(event)


def _table(model, proxy: QSortFilterProxyModel) -> QTableView:
    proxy.setSourceModel(model)
    table = QTableView()
    table.setModel(proxy)
    table.setSortingEnabled(True)
    return setup_list_table(table)


class WarningsPage(QWidget):
    open_case = Signal(int)  # case id: MainWindow shows it in 认定流程
    open_household = Signal(int)  # household id: MainWindow shows it in the register editor
    open_quality = Signal(object, object)  # rule key, village id: MainWindow shows them in 数据质量

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.dashboard: Dashboard | None = None

        self.title = QLabel()
        self.refresh_button = QPushButton("刷新")
        self.refresh_button.setToolTip("重新计算预警（F5）")
        self.refresh_button.clicked.connect(self.refresh)
        self.summary = QLabel("尚未计算")
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addSpacing(16)
        top.addWidget(self.refresh_button)
        top.addSpacing(12)
        top.addWidget(self.summary, 1)

        self.tiles: dict[str, Tile] = {}
        tiles = QGridLayout()
        tiles.setSpacing(6)
        for i, (kind, title) in enumerate(TITLES.items()):
            tile = Tile(title)
            tile.clicked.connect(lambda k=kind: self.set_kind(k))
            self.tiles[kind] = tile
            tiles.addWidget(tile, 0, i)
        self.colour_tiles: dict[str, Tile] = {}
        colour_box = QGroupBox("三色预警（按识别时长）")
        colour_box.setToolTip("未消除风险的监测对象，按识别以来的时长分红、黄、蓝三色")
        colour_row = QVBoxLayout(colour_box)
        colour_row.setSpacing(4)
        for colour, text in (("红", "红色 · 12 个月以上"), ("黄", "黄色 · 6 至 12 个月"), ("蓝", "蓝色 · 6 个月以内")):
            background, fg = COLOUR_STYLE[colour]
            tile = Tile(text, background, fg, horizontal=True)
            tile.clicked.connect(lambda: self.set_kind("colour"))
            self.colour_tiles[colour] = tile
            colour_row.addWidget(tile)

        self.kind_combo = QComboBox()
        self.kind_combo.setMinimumWidth(220)
        self.shown_label = QLabel()
        self.model = WarningTableModel(self)
        self.proxy = WarningFilter(self)
        self.table = _table(self.model, self.proxy)
        self.table.sortByColumn(COL_KIND, Qt.SortOrder.AscendingOrder)
        header = self.table.horizontalHeader()
        fm = self.table.fontMetrics()
        for col, sample in enumerate(("绿色通道临近一个月", "3703050010010001", "欧阳某某", "某某村", "",
                                      "2024-12-31", "逾期 999 天")):
            header.resizeSection(col, max(fm.horizontalAdvance(sample), fm.horizontalAdvance(
                self.model.headerData(col, Qt.Orientation.Horizontal))) + 24)
        header.setSectionResizeMode(COL_WHAT, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._double_clicked)
        self.list_actions = ListActions(self.table, lambda: "预警事项",
                                        lambda index: getattr(index.data(ROW_ROLE), "household_id", None))
        QShortcut(QKeySequence(Qt.Key.Key_Return), self.table, activated=self.open_current,
                  context=Qt.ShortcutContext.WidgetShortcut)
        self.kind_combo.currentIndexChanged.connect(self._filter_changed)
        rows_box = QGroupBox("预警事项（双击打开流程或户）")
        rl = QVBoxLayout(rows_box)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("类型："))
        filters.addWidget(self.kind_combo)
        filters.addStretch(1)
        filters.addWidget(self.shown_label)
        rl.addLayout(filters)
        rl.addWidget(self.table, 1)

        self.villages = VillageTableModel(self)
        self.village_proxy = ListProxy(self)
        self.village_proxy.setSortRole(SORT_ROLE)
        self.village_table = _table(self.villages, self.village_proxy)
        self.village_table.sortByColumn(V_RATIO, Qt.SortOrder.DescendingOrder)
        self.village_table.horizontalHeader().setStretchLastSection(True)
        self.flagged = QLabel()
        village_box = QGroupBox("各村监测对象占农村户籍人口比例")
        vl = QVBoxLayout(village_box)
        vl.addWidget(self.flagged)
        vl.addWidget(self.village_table, 1)

        self.quality = OpenCountModel(self)
        self.quality_proxy = ListProxy(self)
        self.quality_table = _table(self.quality, self.quality_proxy)
        self.quality_table.sortByColumn(Q_OPEN, Qt.SortOrder.DescendingOrder)
        self.quality_table.horizontalHeader().setSectionResizeMode(Q_TITLE, QHeaderView.ResizeMode.Stretch)
        self.quality_table.doubleClicked.connect(self._quality_clicked)
        self.quality_label = QLabel()
        quality_box = QGroupBox("数据质量待整改（按村、规则）")
        quality_box.setToolTip("整改台账中待整改的问题（按最近一次检查）；双击到“数据质量”查看")
        ql = QVBoxLayout(quality_box)
        ql.addWidget(self.quality_label)
        ql.addWidget(self.quality_table, 1)

        self.error = error_label(self)
        han = village_box.fontMetrics().horizontalAdvance("汉")
        colour_box.setFixedWidth(han * 20)
        middle = QHBoxLayout()
        middle.addWidget(colour_box)
        middle.addWidget(village_box, 1)
        middle.addWidget(quality_box, 1)
        upper = QWidget()
        upper.setLayout(middle)
        middle.setContentsMargins(0, 0, 0, 0)
        # the colours and villages above, the warnings below: a divider the user can drag (remembered), the list
        # of warnings getting most of the height by default
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(upper)
        self.splitter.addWidget(rows_box)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        line = self.fontMetrics().lineSpacing()
        self.splitter.setSizes([line * 9, line * 30])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addLayout(tiles)
        layout.addWidget(self.error)
        layout.addWidget(self.splitter, 1)
        self._show_title()
        self._fill_kinds()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.dashboard is None or self.dashboard.as_of != self.ctx.today():
            self.refresh()

    def _show_title(self) -> None:
        self.title.setText(f"<h3>预警中心（{self.ctx.year or '未设置'} 年度，截至 {self.ctx.today()}）</h3>")

    # ------------------------------------------------------------------ computing

    def refresh(self) -> None:
        """Recompute off the GUI thread (the dashboard takes seconds at county scale); `loaded` shows it."""
        self._show_title()
        if self.ctx.year is None:
            set_error(self.error, "未设置当前年度：请在“年度设置”中设定")
            return
        user = self.ctx.user
        ctx, year, as_of = self.ctx, self.ctx.year, self.ctx.today()
        villages = user.village_ids if user else None
        self.refresh_button.setEnabled(False)
        self.summary.setText("正在计算预警……")
        query(self, lambda _task: ctx.read(warnings.dashboard, year, as_of, village_ids=villages), self.loaded,
              on_error=self._failed, key=(id(self), "dashboard"))

    def _failed(self, exc: BaseException) -> None:
        self.refresh_button.setEnabled(True)
        self.summary.setText("")
        if isinstance(exc, ServiceError):
            set_error(self.error, exc)
        else:
            show_error(self, exc)

    def loaded(self, d: Dashboard) -> None:
        self.refresh_button.setEnabled(True)
        set_error(self.error, None)
        self.dashboard = d
        self.model.set_rows(d.rows)
        self.villages.set_rows(d.villages)
        self.village_table.resizeColumnsToContents()
        counts = d.counts
        for kind, tile in self.tiles.items():
            tile.set_count(counts.get(kind, 0), kind in ALERT_KINDS)
        for colour, tile in self.colour_tiles.items():
            tile.set_count(d.colours.get(colour, 0))
        # One line, whatever the number of villages: the table below lists them (flagged first, in red), the
        # names are in the tooltip; a block of 48 names would squeeze the list of warnings to two rows.
        flagged = [v for v in d.villages if v.flagged]
        missing = sum(1 for v in d.villages if not v.population)
        if flagged:
            text = f"<span style='color:#c62828'><b>{len(flagged)} 个村超过 2%</b></span>（表中排在前面，标红）"
            self.flagged.setToolTip("、".join(f"{v.village} {ratio_text(v)}" for v in flagged))
        else:
            text = "<span style='color:#2e7d32'>没有超过 2% 的村</span>"
            self.flagged.setToolTip("")
        if missing:
            text += f"；<span style='color:#777'>{missing} 个村未填农村户籍人口，无法计算比例</span>"
        self.flagged.setText(text)
        self.quality.set_rows(d.quality)
        for col, width in ((0, 64), (1, 70), (3, 52), (4, 44)):
            self.quality_table.setColumnWidth(col, width)
        n = d.quality_open
        self.quality_label.setText(f"<span style='color:#c62828'><b>待整改 {n} 条</b></span>"
                                   f"，{len({c.village for c in d.quality})} 个村" if n else
                                   "<span style='color:#2e7d32'>整改台账中没有待整改的问题</span>")
        self.summary.setText(f"共 {len(d.rows)} 条预警" if d.rows else "没有预警事项")
        self._fill_kinds()
        self._filter_changed()

    def _fill_kinds(self) -> None:
        counts = self.dashboard.counts if self.dashboard else {}
        current = self.kind_combo.currentData()
        self.kind_combo.blockSignals(True)
        self.kind_combo.clear()
        self.kind_combo.addItem(f"全部（{sum(counts.values())}）", None)
        for kind, title in TITLES.items():
            self.kind_combo.addItem(f"{title}（{counts.get(kind, 0)}）", kind)
        self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(current)))
        self.kind_combo.blockSignals(False)

    def set_kind(self, kind: str | None) -> None:
        """Show the rows of one kind (None: all)."""
        self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(kind)))

    def _filter_changed(self, *_args) -> None:
        self.proxy.set_kind(self.kind_combo.currentData())
        n = self.proxy.rowCount()
        kind = self.kind_combo.currentData()
        households = len({r.household_id for r in self.model.rows() if kind is None or r.kind == kind})
        self.shown_label.setText(f"显示 {n} 条，{households} 户" if self.dashboard else "")

    # ------------------------------------------------------------------ opening

    def current_row(self):
        index = self.table.currentIndex()
        return index.data(ROW_ROLE) if index.isValid() else None

    def _double_clicked(self, index: QModelIndex) -> None:
        self.open_row(index.data(ROW_ROLE))

    def open_current(self) -> None:
        self.open_row(self.current_row())

    def _quality_clicked(self, index: QModelIndex) -> None:
        c = index.data(ROW_ROLE)
        if c is not None:
            self.open_quality.emit(c.rule_key, c.village_id)

    def open_row(self, row) -> None:
        if row is None:
            return
        if row.case_id is not None:
            self.open_case.emit(row.case_id)
        else:
            self.open_household.emit(row.household_id)

