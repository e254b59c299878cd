"""数据质量: the data-quality checks of the year (SPEC §10), the national system's suspect-data (疑点) rules
run here first. Findings per code, filterable; double-click opens the household's editor."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableView, QVBoxLayout, QWidget

from ..services import checks, register
from ..services.checks import CODES, TITLES, Finding
from ..services.context import AppContext
from ..services.errors import ServiceError
from ..services.register import HouseholdFilter
from .errors import error_label, set_error, show_error
from .models.findings_table import COL_CODE, COL_MESSAGE, ROW_ROLE, FindingsFilter, FindingsTableModel
from .widgets.list_actions import ListActions
from .widgets.tables import setup_list_table

HINT_STYLE = "color: #555;"


def _visible_numbers(session, village_ids: frozenset[int]) -> set[str]:
    """Household numbers of a clerk's villages."""
    ids = register.household_ids(session, HouseholdFilter(village_ids=village_ids))
    return {r.household_no for r in register.household_rows(session, ids)}


class QualityPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.checked_year: int | None = None
        self.editor = None

        self.title = QLabel()
        self.check_button = QPushButton("检查")
        self.check_button.setToolTip("按全国系统的疑点规则检查本年度数据（F5）")
        self.summary = QLabel("尚未检查：点击“检查”开始")
        self.summary.setStyleSheet("font-weight: bold;")
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addSpacing(16)
        top.addWidget(self.check_button)
        top.addSpacing(12)
        top.addWidget(self.summary, 1)

        self.code_combo = QComboBox()
        self.code_combo.setMinimumWidth(360)
        self.shown_label = QLabel()
        self.shown_label.setStyleSheet(HINT_STYLE)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("问题类型："))
        filters.addWidget(self.code_combo)
        filters.addStretch(1)
        filters.addWidget(self.shown_label)

        self.model = FindingsTableModel(self)
        self.proxy = FindingsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_CODE, Qt.SortOrder.AscendingOrder)
        setup_list_table(self.table)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in enumerate((215, 170, 145, 160)):
            self.table.setColumnWidth(col, width)
        header.setSectionResizeMode(COL_MESSAGE, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._double_clicked)
        self.list_actions = ListActions(self.table, lambda: "数据质量问题清单", self._household_of)

        self.error = error_label(self)
        self.open_button = QPushButton("打开户")
        self.open_button.setToolTip("打开选中问题所在的户（双击或回车）")
        self.open_button.clicked.connect(self.open_current)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setMinimumHeight(40)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        bottom = QHBoxLayout()
        hint = QLabel("改正后再点“检查”，确认问题已消除。")
        hint.setStyleSheet(HINT_STYLE)
        bottom.addWidget(self.error, 1)
        bottom.addStretch(1)
        bottom.addWidget(hint)
        bottom.addWidget(self.open_button)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.detail)
        layout.addLayout(bottom)

        self.check_button.clicked.connect(self.run_checks)
        self.code_combo.currentIndexChanged.connect(self._filter_changed)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        QShortcut(QKeySequence("F5"), self, activated=self.run_checks,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence(Qt.Key.Key_Return), self.table, activated=self.open_current,
                  context=Qt.ShortcutContext.WidgetShortcut)
        self._show_title()
        self._fill_codes()
        self._filter_changed()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.checked_year is not None and self.checked_year != self.ctx.year:
            self.model.set_findings([])  # findings of another year would mislead
            self.checked_year = None
            self.summary.setText("年度已改变：请重新检查")
            self._fill_codes()
            self._filter_changed()
        self._show_title()

    def _show_title(self) -> None:
        self.title.setText(f"<h3>数据质量（{self.ctx.year or '未设置'} 年）</h3>")

    # ------------------------------------------------------------------ checking

    def run_checks(self) -> list[Finding]:
        year = self.ctx.year
        if year is None:
            set_error(self.error, "未设置当前年度：请在“年度设置”中设定")
            return []
        self.check_button.setEnabled(False)
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            findings = self.ctx.read(checks.run_checks, year, self.ctx.today())
            user = self.ctx.user
            if user is not None and user.village_ids is not None:
                numbers = self.ctx.read(_visible_numbers, user.village_ids)
                findings = [f for f in findings if f.household_no in numbers]
        except ServiceError as exc:  # AssessError: no line for the year
            set_error(self.error, exc)
            return []
        finally:
            QGuiApplication.restoreOverrideCursor()
            self.check_button.setEnabled(True)
        set_error(self.error, None)
        self.model.set_findings(findings)
        self.checked_year = year
        self._show_title()
        self._fill_codes()
        self._filter_changed()
        households = self.model.household_count()
        when = self.ctx.today().isoformat()
        if findings:
            self.summary.setText(f"共 {len(findings)} 条问题，涉及 {households} 户（截至 {when}）")
        else:
            self.summary.setText(f"未发现问题（截至 {when}）")
        return findings

    def _fill_codes(self) -> None:
        counts = self.model.counts()
        current = self.code_combo.currentData()
        self.code_combo.blockSignals(True)
        self.code_combo.clear()
        self.code_combo.addItem(f"全部（{sum(counts.values())}）", None)
        for code in CODES:
            if counts.get(code):
                self.code_combo.addItem(f"{TITLES[code]}（{counts[code]}）", code)
        for code in CODES:  # codes without findings stay choosable, after the ones with findings
            if not counts.get(code):
                self.code_combo.addItem(f"{TITLES[code]}（0）", code)
        self.code_combo.setCurrentIndex(max(0, self.code_combo.findData(current)))
        self.code_combo.blockSignals(False)

    def set_code(self, code: str | None) -> None:
        """Show the findings of one code (None: all)."""
        self.code_combo.setCurrentIndex(max(0, self.code_combo.findData(code)))

    def _filter_changed(self, *_args) -> None:
        self.proxy.set_code(self.code_combo.currentData())
        shown = self.proxy.rowCount()
        households = len({self.proxy.index(r, 0).data(ROW_ROLE).household_no for r in range(shown)})
        self.shown_label.setText(f"显示 {shown} 条，{households} 户" if self.checked_year is not None else "")
        self._update_buttons()

    # ------------------------------------------------------------------ opening a household

    def _update_buttons(self) -> None:
        finding = self.current_finding()
        self.open_button.setEnabled(finding is not None)
        if finding is None:
            self.detail.setText("<span style='color:#777'>选中一条问题可在此查看完整说明；双击打开该户</span>")
        else:
            self.detail.setText(f"<b>{finding.title}</b>（{finding.code}）　户 {finding.household_no}："
                                f"{escape(finding.message)}")

    def current_finding(self) -> Finding | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(ROW_ROLE) if rows else None

    def _double_clicked(self, index: QModelIndex) -> None:
        finding = index.data(ROW_ROLE)
        if finding is not None:
            self.open_finding(finding)

    def open_current(self) -> None:
        finding = self.current_finding()
        if finding is not None:
            self.open_finding(finding)

    def _household_of(self, index: QModelIndex) -> int | None:
        finding = index.data(ROW_ROLE)
        return None if finding is None else self.ctx.read(register.household_id_by_no, finding.household_no)

    def open_finding(self, finding: Finding):
        """Open the household's editor (a dialog of the register page's module, loaded when needed)."""
        from .household_editor import HouseholdEditor

        household_id = self.ctx.read(register.household_id_by_no, finding.household_no)
        if household_id is None:
            show_error(self, f"户编号“{finding.household_no}”不存在，可能已被修改")
            return None
        self.editor = HouseholdEditor(self.ctx, household_id, self)
        self.editor.open()
        return self.editor
