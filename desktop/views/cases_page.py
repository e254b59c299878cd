"""认定流程: every case of the township (or a clerk's villages) with filters, the clues (线索) not yet
acted on, and the selected case below: its timeline, frozen decisions and next step.
New procedures start from the buttons above the list (SPEC §7)."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..services import regions, workflow
from ..services.context import AppContext
from ..services.errors import ServiceError
from .case_view import CasePanel
from .clue_dialog import ApplicationDialog, ClueDialog, GreenChannelDialog, PolicyExclusionDialog, RemovalDialog
from .errors import error_label, set_error
from .models.base import ListProxy
from .models.case_table import CLUE_TEXT, COL_OPENED, COL_STEP, ROW_ROLE, SORT_ROLE, CaseTableModel, ClueTableModel
from .operations import query
from .widgets.code_combo import ValueCombo
from .widgets.list_actions import ListActions
from .widgets.tables import setup_list_table

CASE_SAMPLES = ("#9999", "监测对象认定", "3703050010010001", "欧阳某某", "某某村", "2024-12-31",
                "入户核实和农户授权承诺", "2024-12-31", "已完成")
CLUE_SAMPLES = ("2024-12-31", "12317平台", "3703050010010001", "欧阳某某", "某某村", "线索内容线索内容",
                "已发起认定（流程 #999）")


def _table(model, samples: tuple[str, ...], stretch: int) -> tuple[QTableView, QSortFilterProxyModel]:
    proxy = ListProxy()  # the model sorts (one key per row); the proxy filters by the search text
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    table = QTableView()
    table.setModel(proxy)
    proxy.setParent(table)
    setup_list_table(table)
    header = table.horizontalHeader()
    fm = table.fontMetrics()
    for col, sample in enumerate(samples):
        title = model.headerData(col, Qt.Orientation.Horizontal)
        header.resizeSection(col, max(fm.horizontalAdvance(title) + 30, fm.horizontalAdvance(sample) + 16))
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table, proxy


class CasesPage(QWidget):
    open_household = Signal(int)  # household id: MainWindow shows it in the register editor

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.dialog = None
        self._select_after_load: int | None = None  # a case to select once the list being read arrives

        # ---- actions
        self.clue_button = QPushButton("登记线索")
        self.clue_button.setToolTip("登记风险线索，并发起监测对象认定（Ctrl+N）")
        self.green_button = QPushButton("绿色通道")
        self.removal_button = QPushButton("风险消除")
        self.rollback_button = QPushButton("申请回退")
        self.clearout_button = QPushButton("申请清退")
        self.policy_button = QPushButton("脱贫不享受政策")
        self.policy_button.setToolTip("发起脱贫不享受政策认定：民主评议、乡镇审核、村级公示 5 天")
        self.refresh_button = QPushButton("刷新")
        self.refresh_button.setToolTip("重新读取（F5）")
        self.clue_button.clicked.connect(self.new_clue)
        self.green_button.clicked.connect(self.new_green_channel)
        self.removal_button.clicked.connect(self.new_removal)
        self.rollback_button.clicked.connect(lambda: self.new_application("rollback"))
        self.clearout_button.clicked.connect(lambda: self.new_application("clearout"))
        self.policy_button.clicked.connect(self.new_policy_exclusion)
        self.refresh_button.clicked.connect(self.refresh)
        actions = QHBoxLayout()
        for b in (self.clue_button, self.green_button, self.removal_button, self.rollback_button,
                  self.clearout_button, self.policy_button):
            actions.addWidget(b)
        actions.addStretch(1)
        actions.addWidget(self.refresh_button)

        # ---- filters and the case list
        self.kind_combo = ValueCombo([(name, k) for k, name in workflow.kind_names().items()], "全部")
        self.state_combo = ValueCombo([(name, s) for s, name in workflow.STATES.items()], "全部")
        self.state_combo.set_value(workflow.OPEN)
        self.village_combo = ValueCombo(blank="全部")
        self.overdue_check = QCheckBox("仅显示逾期")
        for combo in (self.kind_combo, self.state_combo, self.village_combo):
            combo.valueChanged.connect(lambda _v: self.load_cases())
        self.overdue_check.toggled.connect(lambda _c: self.load_cases())
        self.count_label = QLabel()
        self.search = QLineEdit()
        self.search.setPlaceholderText("搜索户编号、户主、村……")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("在下表中查找（户编号、户主姓名、村、当前步骤，任一列包含即显示）")
        self.search.textChanged.connect(lambda _t: self._search_changed())
        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        for text, w in (("类型：", self.kind_combo), ("状态：", self.state_combo), ("行政村：", self.village_combo)):
            filters.addWidget(QLabel(text))
            filters.addWidget(w)
            filters.addSpacing(6)
        filters.addWidget(self.overdue_check)
        filters.addWidget(self.count_label)

        self.model = CaseTableModel(self)
        self.table, self.proxy = _table(self.model, CASE_SAMPLES, COL_STEP)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_OPENED, Qt.SortOrder.DescendingOrder)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._case_selected())
        self.list_actions = ListActions(self.table, lambda: "认定流程案件",
                                        lambda index: getattr(index.data(ROW_ROLE), "household_id", None))
        cases_tab = QWidget()
        cl = QVBoxLayout(cases_tab)
        cl.addLayout(filters)
        cl.addWidget(self.table, 1)

        # ---- clues
        self.clues = ClueTableModel(self)
        self.clue_table, self.clue_proxy = _table(self.clues, CLUE_SAMPLES, CLUE_TEXT)
        self.pending_check = QCheckBox("仅显示待处理的线索")
        self.pending_check.setChecked(True)
        self.pending_check.toggled.connect(lambda _c: self.load_clues())
        self.identify_button = QPushButton("发起认定")
        self.identify_button.setToolTip("对选中的线索发起监测对象认定（线索日期为期限起算日）")
        self.identify_button.clicked.connect(self.identify_clue)
        self.close_clue_button = QPushButton("不予认定…")
        self.close_clue_button.setToolTip("经核实无需认定：记录核实结果后，线索不再待处理")
        self.close_clue_button.clicked.connect(self.close_clue)
        self.clue_table.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())
        self.clue_table.doubleClicked.connect(lambda _i: self._clue_double_clicked())
        clue_tab = QWidget()
        ql = QVBoxLayout(clue_tab)
        row = QHBoxLayout()
        row.addWidget(self.pending_check)
        row.addStretch(1)
        row.addWidget(self.close_clue_button)
        row.addWidget(self.identify_button)
        ql.addLayout(row)
        ql.addWidget(self.clue_table, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(cases_tab, "流程")
        self.tabs.addTab(clue_tab, "线索")
        self.error = error_label(self)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(actions)
        ll.addWidget(self.tabs, 1)
        ll.addWidget(self.error)

        # ---- the case
        self.case_view = CasePanel(ctx)
        self.case_view.changed.connect(lambda _cid: self._after_action())
        self.case_view.open_case.connect(self.open_case)
        self.case_view.open_household.connect(self.open_household.emit)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(left)
        # the case scrolls in its half, so the list is not squeezed to 2–3 rows by the case's height
        case_area = QScrollArea()
        case_area.setWidgetResizable(True)
        case_area.setFrameShape(QScrollArea.Shape.NoFrame)
        case_area.setWidget(self.case_view)
        splitter.addWidget(case_area)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([640, 360])  # at 1366×768 the list shows nine or ten cases; the divider can be dragged
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        splitter.setObjectName("cases_splitter")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

        self._lists_read_this_turn = False
        self.load_villages()
        self.load_cases()
        self.load_clues()

    def showEvent(self, event) -> None:
        """Cases may have moved on elsewhere (another page, another seat): the lists are read again. The
        case on the right is kept as it is, with whatever is being typed into its form."""
        super().showEvent(event)
        if not event.spontaneous():
            self._load_lists()

    def _load_lists(self) -> None:
        """Read both lists, once per turn of the event loop: switching to this page shows it (showEvent) and,
        when data changed while it was hidden, refreshes it in the same turn — one read, not two (at county
        scale a second read of each list kept the worker and the GUI thread busy for a visible moment)."""
        if self._lists_read_this_turn:
            return
        self._lists_read_this_turn = True
        QTimer.singleShot(0, self._end_of_turn)
        self.load_cases()
        self.load_clues()

    def _end_of_turn(self) -> None:
        self._lists_read_this_turn = False

    # ------------------------------------------------------------------ loading

    def _village_ids(self):
        return self.ctx.user.village_ids if self.ctx.user else None

    def load_villages(self) -> None:
        villages = self.ctx.read(regions.tree, self._village_ids(), counts=False)
        self.village_combo.blockSignals(True)
        self.village_combo.set_items([(v.name, v.id) for v in villages], "全部")
        self.village_combo.blockSignals(False)

    def load_cases(self) -> None:
        """Read the list off the GUI thread (hundreds of ms at county scale); `cases_loaded` shows it."""
        ctx, today, vids = self.ctx, self.ctx.today(), self._village_ids()
        kind, state, village = self.kind_combo.value(), self.state_combo.value(), self.village_combo.value()
        overdue = self.overdue_check.isChecked()
        query(self, lambda _task: ctx.read(workflow.cases, today, kind=kind, state=state, village_id=village,
                                           overdue_only=overdue, village_ids=vids),
              lambda rows: self.cases_loaded(rows, today), key=(id(self), "cases"))

    def cases_loaded(self, rows, today) -> None:
        keep = self._select_after_load or (self.case_view.case.id if self.case_view.case else None)
        self._select_after_load = None
        self.model.set_rows(rows, today)
        late = sum(r.overdue for r in rows)
        self.count_label.setText(f"共 {len(rows)} 件" + (f"，<span style='color:#c62828'>逾期 {late} 件</span>"
                                                        if late else ""))
        self._search_changed()
        if keep is not None:
            self._select_case(keep)

    def focus_search(self) -> None:
        """Ctrl+F (the window's application-wide action)."""
        self.tabs.setCurrentIndex(0)
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _search_changed(self) -> None:
        """Filter the case list by any column (the proxy searches all of them)."""
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterFixedString(self.search.text().strip())

    def load_clues(self) -> None:
        ctx, pending, vids = self.ctx, self.pending_check.isChecked(), self._village_ids()
        query(self, lambda _task: ctx.read(workflow.clues, pending_only=pending, village_ids=vids),
              self.clues_loaded, key=(id(self), "clues"))

    def clues_loaded(self, rows) -> None:
        self.clues.set_rows(rows)
        pending = sum(1 for r in rows if r.case_id is None)
        self.tabs.setTabText(1, f"线索（待处理 {pending}）" if pending else "线索")
        self._update_buttons()

    def refresh(self) -> None:
        """Read the lists and the shown case again (F5, or when the page is shown)."""
        self.load_villages()
        self._load_lists()
        self.case_view.reload()

    def _after_action(self) -> None:
        self.load_cases()
        self.load_clues()

    # ------------------------------------------------------------------ selection

    def current_case_id(self) -> int | None:
        """The case shown on the right."""
        return self.case_view.case.id if self.case_view.case else None

    def _select_case(self, case_id: int) -> bool:
        """Select a case's row (the panel shows it already, so selecting does not load it again)."""
        row = self.model.row_of(case_id)
        if row is None:
            self.table.clearSelection()
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.setCurrentIndex(index)
        self.table.selectRow(index.row())
        self.table.scrollTo(index)
        return True

    def _case_selected(self) -> None:
        index = self.table.currentIndex()
        row = index.data(ROW_ROLE) if index.isValid() else None
        if row is not None and (self.case_view.case is None or self.case_view.case.id != row.id):
            self.case_view.load(row.id)

    def show_household(self, household_id: int) -> bool:
        """Select the household's most recent case (a list's 认定流程 menu item); False when it has none."""
        rows = self.ctx.read(workflow.cases, self.ctx.today(), household_id=household_id)
        if not rows:
            set_error(self.error, "该户没有认定流程记录；如需认定，请先登记线索")
            return False
        self.open_case(max(rows, key=lambda r: (r.opened_on, r.id)).id)
        return True

    def open_case(self, case_id: int) -> None:
        """Show a case (from the warnings page, or a link); its list row is selected, clearing the filters
        when they hide it."""
        self.tabs.setCurrentIndex(0)
        if self.model.row_of(case_id) is None:
            for combo in (self.kind_combo, self.state_combo, self.village_combo):
                combo.blockSignals(True)
                combo.set_value(None)
                combo.blockSignals(False)
            self.overdue_check.blockSignals(True)
            self.overdue_check.setChecked(False)
            self.overdue_check.blockSignals(False)
            self._select_after_load = case_id
            self.load_cases()
        self.case_view.load(case_id)
        self._select_case(case_id)

    def _household_no(self) -> str:
        case = self.case_view.case
        return case.household_no if case is not None else ""

    def _update_buttons(self) -> None:
        clue = self.current_clue()
        open_clue = clue is not None and clue.case_id is None and not clue.outcome
        self.identify_button.setEnabled(open_clue)
        self.close_clue_button.setEnabled(open_clue)

    def current_clue(self) -> workflow.ClueRow | None:
        index = self.clue_table.currentIndex()
        return index.data(ROW_ROLE) if index.isValid() else None

    # ------------------------------------------------------------------ starting procedures

    def _open(self, dialog):
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda d=dialog: self._started(d))
        dialog.destroyed.connect(lambda *_: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _started(self, dialog) -> None:
        self.load_clues()
        if dialog.case_id is not None:
            self._show_new_case(dialog.case_id)
        else:
            self.tabs.setCurrentIndex(1)

    def _show_new_case(self, case_id: int) -> None:
        """A new case is open (进行中): shown now, its row selected when the list being read arrives."""
        self._select_after_load = case_id
        self.load_cases()
        self.tabs.setCurrentIndex(0)
        self.case_view.load(case_id)

    def new_clue(self) -> ClueDialog:
        return self._open(ClueDialog(self.ctx, self, self._household_no()))

    def new_green_channel(self) -> GreenChannelDialog:
        return self._open(GreenChannelDialog(self.ctx, self, self._household_no()))

    def new_removal(self) -> RemovalDialog:
        return self._open(RemovalDialog(self.ctx, self, self._household_no()))

    def new_application(self, kind: str) -> ApplicationDialog:
        return self._open(ApplicationDialog(self.ctx, kind, self, self._household_no()))

    def new_policy_exclusion(self) -> PolicyExclusionDialog:
        return self._open(PolicyExclusionDialog(self.ctx, self, self._household_no()))

    def identify_clue(self) -> int | None:
        clue = self.current_clue()
        if clue is None or clue.case_id is not None:
            return None
        try:
            case_id = self.ctx.run(workflow.open_identification, clue.id, user=self.ctx.user, as_of=self.ctx.today())
        except ServiceError as exc:
            set_error(self.error, exc)
            return None
        set_error(self.error, None)
        self.load_clues()
        self._show_new_case(case_id)
        return case_id

    def close_clue(self, outcome: str | None = None) -> bool:
        """不予认定: ask for the result of the check (or take it, for tests) and close the clue."""
        clue = self.current_clue()
        if clue is None or clue.case_id is not None:
            return False
        if outcome is None:
            outcome, ok = QInputDialog.getText(self, "不予认定", "核实结果（例如：经核实无返贫致贫风险）：")
            if not ok:
                return False
        try:
            self.ctx.run(workflow.close_clue, clue.id, outcome, user=self.ctx.user)
        except ServiceError as exc:
            set_error(self.error, exc)
            return False
        set_error(self.error, None)
        self.load_clues()
        return True

    def _clue_double_clicked(self) -> None:
        clue = self.current_clue()
        if clue is not None and clue.case_id is not None:
            self.open_case(clue.case_id)
