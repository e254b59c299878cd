"""户籍登记: the household register of the township (or a clerk's villages). Villages and groups on
the left, search and filters on the right over a lazily loaded table; a household opens in the editor."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtGui import QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..services import corrections, overview, regions, register
from ..services.context import AppContext
from ..services.errors import ServiceError
from ..services.register import HouseholdFilter
from .errors import show_error
from .household_editor import HouseholdEditor
from .models.household_table import COL_NO, HEADERS, SAMPLES, HouseholdTableModel
from .widgets.code_combo import ValueCombo, code_combo, code_items
from .widgets.list_actions import ListActions
from .widgets.tables import setup_list_table

SEARCH_DELAY_MS = 200
CLOSED = "closed"  # the status filter's 已注销 (户注销): not a monitoring status
NODE_ROLE = Qt.ItemDataRole.UserRole  # (NODE_ALL | NODE_VILLAGE | NODE_GROUP, id)
NODE_ALL, NODE_VILLAGE, NODE_GROUP = "all", "village", "group"  # what a tree node stands for


class RegisterTable(QTableView):
    """The register's table, with a hint when nothing matches."""

    empty_text = "没有符合条件的户"

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.model() is not None and self.model().rowCount() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self.empty_text)
            painter.end()


class RegisterPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.editor: HouseholdEditor | None = None
        self._keep_ids: list[int | None] = []  # households to select again after the table reloads

        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setMinimumWidth(170)
        self.tree.currentItemChanged.connect(lambda *_: self.apply_filter())

        self.search = QLineEdit()
        self.search.setPlaceholderText("输入姓名、身份证号、户编号或电话搜索")
        self.search.setClearButtonEnabled(True)
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_DELAY_MS)
        self.search_timer.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _t: self.search_timer.start())
        self.search.returnPressed.connect(self._search_now)

        self.status_combo = ValueCombo([*code_items("monitoring_status"), (register.CLOSED_NAME, CLOSED)], "全部")
        self.status_combo.setToolTip("“全部”为在册的户；已注销的户选“已注销”，或输入姓名、户编号等搜索")
        self.category_combo = code_combo("category", "全部")
        self.alleviated_combo = ValueCombo((("是", True), ("否", False)), "全部")
        self.suggested_combo = ValueCombo((("建议纳入（未纳入监测）", "suggested"),), "全部")
        self.suggested_combo.setToolTip("收入测算建议纳入监测、但尚未纳入也未在认定中的户（与“建议纳入”名单相同）")
        self._suggested_ids: frozenset[int] | None = None
        self.suggested_combo.valueChanged.connect(self._suggested_changed)
        for combo in (self.status_combo, self.category_combo, self.alleviated_combo):
            combo.valueChanged.connect(lambda _v: self.apply_filter())
        self.count_label = QLabel()

        self.model = HouseholdTableModel(ctx, self.current_filter(), self, load=False)
        self.model.countChanged.connect(self._show_count)
        self.table = self._make_table()
        self.list_actions = ListActions(self.table, lambda: "农户名单",
                                        lambda index: self.model.household_id(index.row()),
                                        more_actions=self._closing_actions, villages=self._listed_villages)
        self.list_actions.household_action.connect(self._closing_action)
        self.dialog = None  # the open 户注销 / 恢复 dialog
        # After the view's own handlers (connected in setModel), so the view's reset does not undo ours.
        self.model.modelAboutToBeReset.connect(self._remember_selection)
        self.model.modelReset.connect(self._restore_selection)

        self.new_button = QPushButton("新增户")
        self.new_button.setToolTip("新增一户（Ctrl+N）")
        self.edit_button = QPushButton("编辑")
        self.edit_button.setToolTip("打开选中的户（回车或双击）")
        self.refresh_button = QPushButton("刷新")
        self.refresh_button.setToolTip("重新读取（F5）")
        self.new_button.clicked.connect(self.new_household)
        self.edit_button.clicked.connect(self.edit_current)
        self.refresh_button.clicked.connect(self.refresh)

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.new_button)
        top.addWidget(self.edit_button)
        top.addWidget(self.refresh_button)
        filters = QHBoxLayout()
        for text, combo in (("监测状态：", self.status_combo), ("监测对象类别：", self.category_combo),
                            ("脱贫户：", self.alleviated_combo), ("测算：", self.suggested_combo)):
            filters.addWidget(QLabel(text))
            filters.addWidget(combo)
            filters.addSpacing(12)
        filters.addStretch(1)
        filters.addWidget(self.count_label)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(top)
        rl.addLayout(filters)
        rl.addWidget(self.table, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.tree)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([200, 1000])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        def shortcut(keys, slot, widget=self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut):
            QShortcut(QKeySequence(keys), widget, activated=slot, context=context)

        # Ctrl+F, Ctrl+N and F5 are the window's application-wide actions (pages.PageSpec)
        shortcut(Qt.Key.Key_Return, self.edit_current, self.table, Qt.ShortcutContext.WidgetShortcut)
        shortcut(Qt.Key.Key_Enter, self.edit_current, self.table, Qt.ShortcutContext.WidgetShortcut)

        self.load_tree()
        # Turning sorting on sorts by the indicator, which runs the first query.
        self.table.horizontalHeader().setSortIndicator(COL_NO, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        if self.model.count() == 0:
            self.model.refresh()
        self._update_buttons()

    def _make_table(self) -> QTableView:
        table = RegisterTable()
        table.setModel(self.model)
        setup_list_table(table)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        # Widths from typical values: measuring the contents would read every row at county scale.
        fm = table.fontMetrics()
        for col, (title, sample) in enumerate(zip(HEADERS, SAMPLES, strict=True)):
            header.resizeSection(col, max(fm.horizontalAdvance(title) + 36, fm.horizontalAdvance(sample) + 20))
        table.doubleClicked.connect(lambda index: self.open_household(self.model.household_id(index.row())))
        table.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())
        return table

    # ------------------------------------------------------------ tree and filter

    def load_tree(self) -> None:
        """Villages and groups with household counts; keeps the current choice."""
        current = self.tree.currentItem().data(0, NODE_ROLE) if self.tree.currentItem() else (NODE_ALL, None)
        user = self.ctx.user
        villages = self.ctx.read(regions.tree, user.village_ids if user else None)
        self.tree.blockSignals(True)
        self.tree.clear()
        top = QTreeWidgetItem([f"全部（{sum(v.households for v in villages)}）"])
        top.setData(0, NODE_ROLE, (NODE_ALL, None))
        self.tree.addTopLevelItem(top)
        chosen = top
        for v in villages:
            vi = QTreeWidgetItem(top, [f"{v.name}（{v.households}）"])
            vi.setData(0, NODE_ROLE, (NODE_VILLAGE, v.id))
            chosen = vi if current == (NODE_VILLAGE, v.id) else chosen
            for g in v.groups:
                gi = QTreeWidgetItem(vi, [f"{g.name}（{g.households}）"])
                gi.setData(0, NODE_ROLE, (NODE_GROUP, g.id))
                chosen = gi if current == (NODE_GROUP, g.id) else chosen
        top.setExpanded(True)
        self.tree.setCurrentItem(chosen)
        self.tree.blockSignals(False)

    def select_region(self, kind: str, region_id: int | None) -> bool:
        """Choose 全部, a village or a group in the tree (as a click would)."""
        for item in [self.tree.topLevelItem(0)] + self._tree_items(self.tree.topLevelItem(0)):
            if item.data(0, NODE_ROLE) == (kind, region_id):
                self.tree.setCurrentItem(item)
                return True
        return False

    def _tree_items(self, item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
        out = []
        for i in range(item.childCount()):
            out.append(item.child(i))
            out += self._tree_items(item.child(i))
        return out

    def _region(self) -> tuple[int | None, int | None]:
        item = self.tree.currentItem()
        kind, rid = item.data(0, NODE_ROLE) if item else (NODE_ALL, None)
        if kind == NODE_VILLAGE:
            return rid, None
        if kind == NODE_GROUP:
            return item.parent().data(0, NODE_ROLE)[1], rid
        return None, None

    def current_filter(self) -> HouseholdFilter:
        village_id, group_id = self._region()
        user = self.ctx.user
        text, status = self.search.text().strip(), self.status_combo.value()
        # The working register hides closed households (户注销); a search still finds them, shown as 已注销.
        closed = True if status == CLOSED else None if text else False
        return HouseholdFilter(text=text, village_id=village_id, group_id=group_id,
                               status=None if status == CLOSED else status, category=self.category_combo.value(),
                               poverty_alleviated=self.alleviated_combo.value(),
                               village_ids=user.village_ids if user else None, only_ids=self._suggested_ids,
                               closed=closed)

    def _suggested_changed(self, value) -> None:
        """The 建议纳入 filter: the households of services.overview's list, computed when chosen."""
        self._suggested_ids = None
        if value == "suggested":
            if self.ctx.year is None:
                self.suggested_combo.set_value(None)
                return
            user = self.ctx.user
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                rows = self.ctx.read(overview.suggested_not_monitored, self.ctx.year, self.ctx.today(),
                                     village_ids=user.village_ids if user else None)
            finally:
                QApplication.restoreOverrideCursor()
            self._suggested_ids = frozenset(r.household_id for r in rows)
        self.apply_filter()

    def show_suggested(self) -> None:
        """Show only the 建议纳入 households (from 首页)."""
        self.suggested_combo.set_value("suggested")

    def apply_filter(self) -> None:
        self.search_timer.stop()
        flt = self.current_filter()
        if flt != self.model.filter():
            self.model.set_filter(flt)

    def _search_now(self) -> None:
        self.apply_filter()
        if self.model.count():
            self.table.setFocus()
            self.table.selectRow(self.table.currentIndex().row() if self.table.currentIndex().isValid() else 0)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _show_count(self, n: int) -> None:
        self.count_label.setText(f"共 {n} 户")

    # ------------------------------------------------------------ selection

    def current_household_id(self) -> int | None:
        index = self.table.currentIndex()
        return self.model.household_id(index.row()) if index.isValid() else None

    def select_household(self, household_id: int | None) -> bool:
        row = self.model.row_of(household_id) if household_id is not None else None
        if row is None:
            return False
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.EnsureVisible)
        return True

    def _remember_selection(self) -> None:
        self._keep_ids.append(self.current_household_id())

    def _restore_selection(self) -> None:
        keep, self._keep_ids = self._keep_ids, []
        if not any(self.select_household(hid) for hid in keep):
            self.table.setCurrentIndex(QModelIndex())
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.edit_button.setEnabled(self.current_household_id() is not None)

    # ------------------------------------------------------------ actions

    def refresh(self) -> None:
        self.load_tree()
        self.model.set_filter(self.current_filter())

    def new_household(self) -> HouseholdEditor:
        village_id, group_id = self._region()
        return self.open_household(None, village_id=village_id, group_id=group_id)

    def edit_current(self) -> HouseholdEditor | None:
        hid = self.current_household_id()
        return self.open_household(hid) if hid is not None else None

    def open_household(self, household_id: int | None, **defaults) -> HouseholdEditor | None:
        try:
            editor = HouseholdEditor(self.ctx, household_id, self, **defaults)
        except ServiceError as exc:  # e.g. another village's household, asked for by number
            show_error(self, str(exc))
            return None
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.saved.connect(self._household_saved)
        editor.destroyed.connect(lambda *_: setattr(self, "editor", None))
        self.editor = editor
        editor.open()
        return editor

    def _listed_villages(self) -> list[str]:
        """The villages of the shown list, from the tree (reading 20,000 lazy rows for it would freeze the menu):
        none when one village or group is chosen, the list being that village's already."""
        village_id, _group = self._region()
        top = self.tree.topLevelItem(0)
        if village_id is not None or top is None:
            return []
        names = [top.child(i).text(0).rsplit("（", 1)[0] for i in range(top.childCount())
                 if not top.child(i).text(0).endswith("（0）")]
        return sorted(names)

    # ------------------------------------------------------------ 户注销 and its reopening

    def _closing_actions(self, household_id: int) -> list[tuple[str, str]]:
        """户注销 for 管理员 and 乡镇审核员, 恢复 for 管理员 (services.corrections decides; the menu only hides)."""
        user = self.ctx.user
        index = self.model.row_of(household_id)
        row = self.model.row(index) if index is not None else None
        if user is None or row is None:
            return []
        if row.closed:
            return [("reopen", "恢复已注销的户…")] if corrections.may_reopen(user) else []
        return [("close", "户注销…")] if corrections.may_close(user) else []

    def _closing_action(self, action: str, household_id: int) -> None:
        from .correction_dialogs import CloseHouseholdDialog, ReopenHouseholdDialog
        if action not in ("close", "reopen"):
            return
        no = self.ctx.read(register.household_no, household_id) or ""
        cls = CloseHouseholdDialog if action == "close" else ReopenHouseholdDialog
        self.dialog = cls(self.ctx, household_id, no, self)
        self.dialog.accepted.connect(lambda: self._household_saved(household_id))
        self.dialog.open()

    def _household_saved(self, household_id: int) -> None:
        self._keep_ids = [household_id]
        self.load_tree()
        self.model.refresh()
