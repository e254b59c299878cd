"""集中排查: the key-check lists of the year (SPEC §6.3), each household with every reason it is listed;
filter by reason and village, record visits, open a household in the income calculator."""

from __future__ import annotations

from collections import Counter
from datetime import date

from PySide6.QtCore import QDate, QItemSelection, QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..services import screening
from ..services.context import AppContext
from ..services.errors import ServiceError
from ..services.screening import OUTCOMES, REASONS, KeyCheck
from .errors import error_label, ok_cancel, set_error, show_error
from .models.keycheck_table import COL_NO, COL_REASONS, ROW_ROLE, KeyCheckFilter, KeyCheckTableModel
from .operations import query
from .widgets.list_actions import ListActions
from .widgets.tables import setup_list_table

HINT_STYLE = "color: #555;"


class VisitDialog(QDialog):
    """标记已走访: the date, the outcome and a note, for one or more households."""

    def __init__(self, count: int, today: date, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("标记已走访")
        self.visited_on = QDateEdit(QDate(today.year, today.month, today.day))
        self.visited_on.setDisplayFormat("yyyy-MM-dd")
        self.visited_on.setCalendarPopup(True)
        self.visited_on.setMaximumDate(QDate(today.year, today.month, today.day))
        self.outcome = QComboBox()
        for key, name in OUTCOMES.items():
            self.outcome.addItem(name, key)
        self.note = QLineEdit()
        self.note.setPlaceholderText("可不填，例如走访发现的情况")
        self.note.setMinimumWidth(320)
        form = QFormLayout()
        form.addRow("走访日期：", self.visited_on)
        form.addRow("排查结果：", self.outcome)
        form.addRow("说明：", self.note)
        buttons = ok_cancel(self, self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"将选中的 {count} 户标记为已走访："))
        layout.addLayout(form)
        layout.addWidget(buttons)

    def values(self) -> tuple[date, str, str | None]:
        q = self.visited_on.date()
        return date(q.year(), q.month(), q.day()), self.outcome.currentData(), self.note.text().strip() or None


class ScreeningPage(QWidget):
    open_household = Signal(int)  # household id: MainWindow shows it in 收入测算

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._loaded_year: int | None = None

        self.title = QLabel()
        self.summary = QLabel()
        self.summary.setStyleSheet("font-weight: bold;")
        self.count_buttons: dict[str, QPushButton] = {}
        counts = QGridLayout()
        counts.setHorizontalSpacing(6)
        counts.setVerticalSpacing(4)
        for i, (key, name) in enumerate(REASONS.items()):
            button = QPushButton(name)
            button.setFlat(True)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.setStyleSheet("QPushButton { text-align: left; padding: 3px 6px; border: 1px solid #ddd;"
                                 " border-radius: 3px; background: #fafafa; }")
            button.setToolTip(f"只看“{name}”的户")
            button.clicked.connect(lambda _c=False, k=key: self.reason_combo.setCurrentIndex(
                self.reason_combo.findData(k)))
            counts.addWidget(button, i // 4, i % 4)  # 22 key groups: four to a row
            self.count_buttons[key] = button

        self.reason_combo = QComboBox()
        self.reason_combo.setMinimumWidth(300)
        self.village_combo = QComboBox()
        self.village_combo.setMinimumWidth(140)
        self.visited_combo = QComboBox()
        for text, value in (("全部", None), ("未走访", False), ("已走访", True)):
            self.visited_combo.addItem(text, value)
        self.shown_label = QLabel()
        self.shown_label.setStyleSheet(HINT_STYLE)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("排查原因："))
        filters.addWidget(self.reason_combo)
        filters.addWidget(QLabel("行政村："))
        filters.addWidget(self.village_combo)
        filters.addWidget(QLabel("走访情况："))
        filters.addWidget(self.visited_combo)
        filters.addStretch(1)
        filters.addWidget(self.shown_label)

        self.model = KeyCheckTableModel(self)
        self.proxy = KeyCheckFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_NO, Qt.SortOrder.AscendingOrder)
        setup_list_table(self.table, multi=True)
        self.list_actions = ListActions(self.table, lambda: "集中排查名单",
                                        lambda index: getattr(index.data(ROW_ROLE), "household_id", None))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in enumerate((150, 80, 90, 480, 95, 150)):
            self.table.setColumnWidth(col, width)
        header.setSectionResizeMode(COL_REASONS, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._double_clicked)

        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error = error_label(self)
        self.visit_button = QPushButton("标记已走访…")
        self.visit_button.setToolTip("为选中的户登记走访日期和排查结果")
        self.open_button = QPushButton("收入测算")
        self.open_button.setToolTip("在收入测算中打开选中的户（双击或回车）")
        self.refresh_button = QPushButton("刷新")
        self.refresh_button.setToolTip("重新生成排查清单（F5）")
        buttons = QHBoxLayout()
        buttons.addWidget(self.error, 1)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.visit_button)

        layout = QVBoxLayout(self)
        heading = QHBoxLayout()
        heading.addWidget(self.title)
        heading.addSpacing(16)
        heading.addWidget(self.summary)
        heading.addStretch(1)
        layout.addLayout(heading)
        layout.addLayout(counts)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.detail)
        layout.addLayout(buttons)

        self.reason_combo.currentIndexChanged.connect(self._filter_changed)
        self.village_combo.currentIndexChanged.connect(self._filter_changed)
        self.visited_combo.currentIndexChanged.connect(self._filter_changed)
        self.visit_button.clicked.connect(self.mark_selected)
        self.open_button.clicked.connect(self._open_current)
        self.refresh_button.clicked.connect(self.refresh)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        QShortcut(QKeySequence(Qt.Key.Key_Return), self.table, activated=self._open_current,
                  context=Qt.ShortcutContext.WidgetShortcut)
        self._fill_combos([], {})
        self._update_buttons()

    # ------------------------------------------------------------------ loading

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._loaded_year != self.ctx.year:
            self.refresh()

    def refresh(self) -> None:
        """Build the lists of the current year again (a few hundred ms for a township)."""
        year = self.ctx.year
        self.title.setText(f"<h3>集中排查（{year or '未设置'} 年）</h3>")
        if year is None:
            set_error(self.error, "未设置当前年度：请在“年度设置”中设定")
            return
        ctx, as_of = self.ctx, self.ctx.today()
        self.summary.setText("正在计算……")
        query(self, lambda _task: ctx.read(screening.key_check_list, year, as_of, ctx.user),
              lambda found: self.loaded(year, found.checks, found.village_names),
              on_error=lambda exc: self.loaded(year, [], {}, exc), key=(id(self), "checks"))

    def loaded(self, year: int, checks: list[KeyCheck], names: dict[int, str],
               failure: BaseException | None = None) -> None:
        """Show the lists computed off the GUI thread (or the refusal: AssessError, no line for the year)."""
        if failure is not None and not isinstance(failure, ServiceError):
            show_error(self, failure)
        set_error(self.error, failure)
        selected = set(self.selected_household_ids())
        self.model.set_rows(checks, names)
        self._loaded_year = year
        self._fill_combos(checks, names)
        self._show_counts(checks)
        self._filter_changed()
        self._select(selected)

    def _fill_combos(self, checks: list[KeyCheck], names: dict[int, str]) -> None:
        counts = Counter(key for k in checks for key in k.reasons)
        reason, village = self.reason_combo.currentData(), self.village_combo.currentData()
        for combo in (self.reason_combo, self.village_combo):
            combo.blockSignals(True)
            combo.clear()
        self.reason_combo.addItem(f"全部原因（{len(checks)} 户）", None)
        for key, name in REASONS.items():
            self.reason_combo.addItem(f"{name}（{counts.get(key, 0)}）", key)
        self.village_combo.addItem("全部", None)
        for vid in sorted({k.village_id for k in checks}, key=lambda v: names.get(v, "")):
            self.village_combo.addItem(names.get(vid, str(vid)), vid)
        self.reason_combo.setCurrentIndex(max(0, self.reason_combo.findData(reason)))
        self.village_combo.setCurrentIndex(max(0, self.village_combo.findData(village)))
        for combo in (self.reason_combo, self.village_combo):
            combo.blockSignals(False)

    def _show_counts(self, checks: list[KeyCheck]) -> None:
        counts = Counter(key for k in checks for key in k.reasons)
        for key, button in self.count_buttons.items():
            button.setText(f"{REASONS[key]}：{counts.get(key, 0)} 户")
        visited = sum(1 for k in checks if k.visited_on is not None)
        self.summary.setText(f"须排查 {len(checks)} 户，已走访 {visited} 户，未走访 {len(checks) - visited} 户")

    def _filter_changed(self, *_args) -> None:
        self.proxy.set_all(self.reason_combo.currentData(), self.village_combo.currentData(),
                           self.visited_combo.currentData())
        self.shown_label.setText(f"显示 {self.proxy.rowCount()} 户")
        self._update_buttons()

    # ------------------------------------------------------------------ selection and actions

    def selected_household_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.proxy.index(r, 0).data(ROW_ROLE).household_id for r in rows]

    def select_household(self, household_id: int) -> bool:
        return bool(self._select({household_id}))

    def _select(self, household_ids: set[int]) -> int:
        if not household_ids:  # nothing to select: no pass over thousands of rows
            self.table.clearSelection()
            return 0
        selection = QItemSelection()
        found = 0
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(ROW_ROLE).household_id in household_ids:
                found += 1
                selection.select(self.proxy.index(row, 0), self.proxy.index(row, self.proxy.columnCount() - 1))
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().select(selection, flags)
        if not selection.isEmpty():
            self.table.scrollTo(selection.indexes()[0])
        return found

    def _update_buttons(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        self.visit_button.setEnabled(bool(rows))
        self.open_button.setEnabled(len(rows) == 1)
        if len(rows) == 1:
            k = rows[0].data(ROW_ROLE)
            visit = (f"；{k.visited_on} 已走访：{OUTCOMES.get(k.outcome, k.outcome or '')}" if k.visited_on
                     else "；尚未走访")
            self.detail.setText(f"户 {k.household_no}（{k.head_name}）排查原因：{'；'.join(k.reason_texts)}{visit}")
        elif rows:
            self.detail.setText(f"已选中 {len(rows)} 户")
        else:
            self.detail.setText("选中一户可在此查看全部排查原因；双击在收入测算中打开")

    def mark_selected(self) -> bool:
        ids = self.selected_household_ids()
        if not ids:
            return False
        dialog = VisitDialog(len(ids), self.ctx.today(), self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        visited_on, outcome, note = dialog.values()
        problems = screening.validate_visit(ids, visited_on, outcome, self.ctx.today())
        if problems:
            set_error(self.error, "；".join(problems))
            return False
        try:
            self.ctx.run(screening.mark_visits, ids, self.ctx.year, visited_on, outcome, note, user=self.ctx.user,
                         as_of=self.ctx.today())
        except ServiceError as exc:
            show_error(self, exc)
            return False
        self.refresh()
        return True

    def _double_clicked(self, index: QModelIndex) -> None:
        k = index.data(ROW_ROLE)
        if k is not None:
            self.open_household.emit(k.household_id)

    def _open_current(self) -> None:
        ids = self.selected_household_ids()
        if len(ids) == 1:
            self.open_household.emit(ids[0])

