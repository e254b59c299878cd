"""数据质量: the year's data-quality findings (SPEC §10) as the 整改台账 keeps them (services.rectification).

“检查” runs the checks in the background and records them in the ledger (new findings 待整改, those no longer found
已整改, those found again reopened). The left table groups the findings by rule with counts (the national number and
the Chinese title, never an internal code); it and the village and state boxes filter the list. A selected finding
(or several) gets its state and reason below (无需整改 needs a reason: the service says so). Double-click opens the
household at the field to correct. The ledger goes to the villages as one workbook each and their answers come
back through “导出各村台账” / “导入村回复”.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..services import rectification, rectification_book, register
from ..services.context import AppContext
from ..services.errors import ServiceError
from ..services.rectification import DISABLED, FIXED, OPEN, SHOWN_STATES, STATES, WAIVED, Entry
from ..services.register import Problem
from .errors import error_label, set_error, show_error, show_info
from .file_dialogs import documents_dir
from .models.ledger_table import ROW_ROLE, LedgerTableModel, RuleTableModel, rule_counts
from .operations import query, write
from .widgets.list_actions import ListActions
from .widgets.tables import setup_list_table

HINT_STYLE = "color: #555;"
# the state box: what each choice shows
STATE_FILTERS = (("当前问题（待整改、无需整改）", (OPEN, WAIVED)), ("待整改", (OPEN,)), ("无需整改", (WAIVED,)),
                 ("已整改", (FIXED,)), ("已停用（规则已关闭）", (DISABLED,)), ("全部", SHOWN_STATES))


class QualityPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.loaded_year: int | None = None
        self.entries: list[Entry] = []
        self.editor = None
        self._rule: str | None = None
        self._wanted: tuple | None = None  # (rule key, village id) to show once the ledger is loaded
        self._base: tuple | None = None  # (filter key, entries of the village and states, their rule counts)
        self._generation = 0  # bumped whenever self.entries changes

        self.title = QLabel()
        self.check_button = QPushButton("检查")
        self.check_button.setToolTip("按全国系统的疑点规则检查本年度数据，结果记入整改台账（F5）")
        self.summary = QLabel("尚未检查：点击“检查”开始")
        self.summary.setStyleSheet("font-weight: bold;")
        self.summary.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addSpacing(16)
        top.addWidget(self.check_button)
        top.addSpacing(12)
        top.addWidget(self.summary, 1)

        self.village_combo = QComboBox()
        self.village_combo.setMinimumWidth(140)
        self.state_combo = QComboBox()
        for text, states in STATE_FILTERS:
            self.state_combo.addItem(text, states)
        self.shown_label = QLabel()
        self.shown_label.setStyleSheet(HINT_STYLE)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("行政村："))
        filters.addWidget(self.village_combo)
        filters.addSpacing(12)
        filters.addWidget(QLabel("整改状态："))
        filters.addWidget(self.state_combo)
        filters.addStretch(1)
        filters.addWidget(self.shown_label)

        self.rules = RuleTableModel(self)
        self.rule_table = setup_list_table(QTableView())
        self.rule_table.setModel(self.rules)
        rh = self.rule_table.horizontalHeader()
        rh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in enumerate((66, 160, 44, 44, 50)):
            self.rule_table.setColumnWidth(col, width)
        self.rule_table.setToolTip("按规则分组的问题条数；单击一行只看该规则的问题")

        self.model = LedgerTableModel(self)
        self.table = setup_list_table(QTableView(), multi=True)
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in enumerate((74, 150, 64, 136, 56, 56, 84, 330, 160, 120)):
            self.table.setColumnWidth(col, width)
        self.table.doubleClicked.connect(self._double_clicked)
        self.list_actions = ListActions(self.table, lambda: "数据质量问题整改台账", self._household_of)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.rule_table)
        self.splitter.addWidget(self.table)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([370, 900])

        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setMinimumHeight(36)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        self.decision_state = QComboBox()
        for state in STATES:
            self.decision_state.addItem(rectification.state_name(state), state)
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("整改说明或理由（选“无需整改”时必填）")
        self.decide_button = QPushButton("保存整改状态")
        self.decide_button.setToolTip("把选中问题的整改状态和理由记入整改台账（可多选）")
        self.decide_button.clicked.connect(self.decide)
        decision = QHBoxLayout()
        decision.addWidget(QLabel("整改状态："))
        decision.addWidget(self.decision_state)
        decision.addWidget(self.reason_edit, 1)
        decision.addWidget(self.decide_button)

        self.error = error_label(self)
        self.open_button = QPushButton("打开户")
        self.open_button.setToolTip("打开选中问题所在的户，定位到要改的地方（双击或回车）")
        self.open_button.clicked.connect(self.open_current)
        self.export_button = QPushButton("导出各村台账…")
        self.export_button.setToolTip("每村一个 Excel 文件：待整改和无需整改的问题，村里填写整改状态和理由")
        self.export_button.clicked.connect(self.export_ledgers)
        self.import_button = QPushButton("导入村回复…")
        self.import_button.setToolTip("读回村里填好的整改台账：只更新整改状态和理由，有错时整份不导入")
        self.import_button.clicked.connect(self.import_replies)
        bottom = QHBoxLayout()
        bottom.addWidget(self.error, 1)
        bottom.addStretch(1)
        bottom.addWidget(self.export_button)
        bottom.addWidget(self.import_button)
        bottom.addWidget(self.open_button)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.detail)
        layout.addLayout(decision)
        layout.addLayout(bottom)

        self.check_button.clicked.connect(self.run_checks)
        self.village_combo.currentIndexChanged.connect(self._filter_changed)
        self.state_combo.currentIndexChanged.connect(self._filter_changed)
        self.rule_table.selectionModel().selectionChanged.connect(lambda *_: self._rule_chosen())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        QShortcut(QKeySequence(Qt.Key.Key_Return), self.table, activated=self.open_current,
                  context=Qt.ShortcutContext.WidgetShortcut)
        self._show_title()
        self._fill_villages()
        self._filter_changed()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._show_title()
        if self.loaded_year != self.ctx.year:
            self.show_entries([], None)
            self.load()

    def _show_title(self) -> None:
        self.title.setText(f"<h3>数据质量（{self.ctx.year or '未设置'} 年）</h3>")

    # ------------------------------------------------------------------ loading and checking

    def load(self) -> None:
        """The ledger as recorded (no check): what the last check found and what was decided since."""
        year = self.ctx.year
        if year is None:
            return
        ctx = self.ctx
        query(self, lambda _task: ctx.read(rectification.entries, year),
              lambda entries: self._loaded(year, entries), on_error=self._failed, key=(id(self), "ledger"))

    def _loaded(self, year: int, entries: list[Entry]) -> None:
        if year != self.ctx.year or self.loaded_year == year and self.entries:
            return  # the year changed meanwhile, or a check came back first
        self.show_entries(entries, year)
        if entries:
            last = max(e.last_found_on for e in entries)
            self.summary.setText(f"整改台账：{self._counts_text()}（最近一次检查 {last}）；点击“检查”重新检查")

    def run_checks(self) -> None:
        """Check off the GUI thread (seconds at county scale) and record the result in the ledger."""
        year = self.ctx.year
        if year is None:
            set_error(self.error, "未设置当前年度：请在“年度设置”中设定")
            return
        ctx, as_of = self.ctx, self.ctx.today()
        self.check_button.setEnabled(False)
        self.summary.setText("正在检查……（下表仍是上次记录的整改台账，检查完成后更新）")
        op = write(self, lambda task: ctx.run(rectification.check, year, as_of, progress=task.report),
                   lambda checked: self.checked(year, checked), on_error=self._failed, key=(id(self), "checks"))
        op.signals.progressed.connect(self._progressed)

    def _progressed(self, done: int, total: int, stage: str) -> None:
        if not self.check_button.isEnabled():  # still checking
            self.summary.setText(f"正在检查（{done + 1}/{total}：{stage}）……下表仍是上次记录的整改台账，检查完成后更新")

    def _failed(self, exc: BaseException) -> None:
        self.check_button.setEnabled(True)
        self.summary.setText("")
        if isinstance(exc, ServiceError):  # AssessError: no line for the year
            set_error(self.error, exc)
        else:
            show_error(self, exc)

    def checked(self, year: int, checked: rectification.Checked) -> None:
        self.check_button.setEnabled(True)
        set_error(self.error, None)
        self.show_entries(checked.entries, year)
        when = self.ctx.today().isoformat()
        found = checked.findings
        households = len({f.household_no for f in found})
        head = f"共 {len(found)} 条问题，涉及 {households} 户（截至 {when}）" if found else f"未发现问题（截至 {when}）"
        s = checked.sync
        self.summary.setText(f"{head}；新增 {s.new} 条，已整改 {s.fixed} 条，重新出现 {s.reopened} 条")

    def show_entries(self, entries: list[Entry], year: int | None) -> None:
        self.entries = entries
        self._generation += 1
        self.loaded_year = year
        self._fill_villages()
        self._filter_changed()
        if year is None:
            self.summary.setText("尚未检查：点击“检查”开始")
        self._apply_wanted()

    def _counts_text(self) -> str:
        n = {s: 0 for s in SHOWN_STATES}
        for e in self.entries:
            n[e.state] += 1
        return "，".join(f"{rectification.state_name(s)} {n[s]} 条" for s in SHOWN_STATES)

    # ------------------------------------------------------------------ filters

    def _fill_villages(self) -> None:
        current = self.village_combo.currentData()
        villages = sorted({(e.village, e.village_id) for e in self.entries})
        self.village_combo.blockSignals(True)
        self.village_combo.clear()
        self.village_combo.addItem("全部村", None)
        for name, vid in villages:
            self.village_combo.addItem(name or "（未分村）", vid)
        self.village_combo.setCurrentIndex(max(0, self.village_combo.findData(current)))
        self.village_combo.blockSignals(False)

    def set_village(self, village_id: int | None) -> None:
        self.village_combo.setCurrentIndex(max(0, self.village_combo.findData(village_id)))

    def set_states(self, label: str) -> None:
        self.state_combo.setCurrentIndex(max(0, self.state_combo.findText(label)))

    def show_open(self, rule_key: str | None, village_id: int | None) -> None:
        """The 待整改 findings of one rule in one village (预警中心 opens the page so); applied once loaded."""
        self._wanted = (rule_key, village_id)
        self._apply_wanted()

    def _apply_wanted(self) -> None:
        if self._wanted is None or self.loaded_year is None:
            return
        rule_key, village_id = self._wanted
        self._wanted = None
        self.set_states("待整改")
        self.set_village(village_id)
        self.set_rule(rule_key)

    def set_rule(self, key: str | None) -> None:
        """Show the findings of one rule (national number, else our code; None: all)."""
        self._rule = key
        self._filter_changed()

    def _rule_chosen(self) -> None:
        rows = self.rule_table.selectionModel().selectedRows()
        r = rows[0].data(ROW_ROLE) if rows else None
        key = r.key if r is not None else None
        if key != self._rule:
            self._rule = key
            self._filter_changed(keep_rules=True)

    def _filter_changed(self, *_args, keep_rules: bool = False) -> None:
        vid = self.village_combo.currentData()
        states = frozenset(self.state_combo.currentData() or SHOWN_STATES)
        key = (self._generation, vid, states)
        if self._base is not None and self._base[0] == key:
            base, counts = self._base[1], self._base[2]  # only the rule changed: same entries, same counts
        else:
            if vid is None:
                base = [e for e in self.entries if e.state in states]
            else:
                base = [e for e in self.entries if e.state in states and e.village_id == vid]
            counts = rule_counts(base)
            self._base = (key, base, counts)
            keep_rules = False
        if not keep_rules:
            self.rules.set_rows(counts)
            if self._rule is not None and all(c.key != self._rule for c in counts):
                self._rule = None
            row = next(i for i, c in enumerate(counts) if c.key == self._rule)
            self.rule_table.selectionModel().blockSignals(True)
            self.rule_table.selectRow(row)
            self.rule_table.selectionModel().blockSignals(False)
        shown = base if self._rule is None else [e for e in base if e.rule_key == self._rule]
        self.model.set_rows(shown)
        households = len({e.household_id for e in shown})
        self.shown_label.setText(f"显示 {len(shown)} 条，{households} 户" if self.loaded_year is not None else "")
        self._update_buttons()

    # ------------------------------------------------------------------ deciding

    def selected_entries(self) -> list[Entry]:
        return [i.data(ROW_ROLE) for i in self.table.selectionModel().selectedRows()]

    def _update_buttons(self) -> None:
        chosen = self.selected_entries()
        self.open_button.setEnabled(len(chosen) == 1)
        self.decide_button.setEnabled(bool(chosen))
        if not chosen:
            self.detail.setText("<span style='color:#777'>选中一条问题可在此查看完整说明；双击打开该户；"
                                "可多选后一并设定整改状态</span>")
            return
        if len(chosen) > 1:
            self.detail.setText(f"已选中 {len(chosen)} 条问题")
            return
        e = chosen[0]
        rule = f"（全国规则 {e.rule}）" if e.rule else ""
        state = f"{e.state_name}" + (f"：{escape(e.reason)}" if e.reason else "")
        who = f"，{escape(e.decider)} {e.decided_on}" if e.decided_on else ""
        changed = f"<br><span style='color:#b26a00'>决定时的说明：{escape(e.decided_message or '')}</span>" \
            if e.changed else ""
        self.detail.setText(f"<b>{escape(e.title)}</b>{rule}　户 {e.household_no}：{escape(e.message)}"
                            f"<br>整改状态：{state}{who}；首次发现 {e.first_found_on}{changed}")
        self.decision_state.setCurrentIndex(max(0, self.decision_state.findData(e.state)))
        self.reason_edit.setText(e.reason or "")

    def decide(self) -> None:
        chosen = self.selected_entries()
        if not chosen or self.loaded_year is None:
            return
        ctx, year, as_of = self.ctx, self.loaded_year, self.ctx.today()
        ids = [e.id for e in chosen]
        state, reason = self.decision_state.currentData(), self.reason_edit.text()

        def work(_task) -> list[Entry]:
            ctx.run(rectification.decide, ids, state, reason, as_of)
            return ctx.read(rectification.entries, year, ids=ids)

        self.decide_button.setEnabled(False)
        write(self, work, self._decided, on_error=self._decide_failed, key=(id(self), "decide"))

    def _decided(self, updated: list[Entry]) -> None:
        set_error(self.error, None)
        by_id = {e.id: e for e in updated}
        self.entries = [by_id.get(e.id, e) for e in self.entries]
        self._generation += 1
        self.model.replace(updated)
        self._filter_changed()

    def _decide_failed(self, exc: BaseException) -> None:
        self._update_buttons()
        if isinstance(exc, ServiceError):
            set_error(self.error, exc)
        else:
            show_error(self, exc)

    # ------------------------------------------------------------------ the villages' workbooks

    def export_ledgers(self) -> None:
        if self.loaded_year is None:
            set_error(self.error, "整改台账为空：请先检查")
            return
        folder = QFileDialog.getExistingDirectory(self, "选择保存各村整改台账的文件夹", str(documents_dir()))
        if not folder:
            return
        ctx, year, as_of = self.ctx, self.loaded_year, self.ctx.today()
        query(self, lambda _task: ctx.read(rectification_book.export_villages, Path(folder), year, as_of),
              self._exported, on_error=self._decide_failed, key=(id(self), "export"))

    def _exported(self, files: list) -> None:
        if not files:
            show_info(self, "没有待整改或无需整改的问题，未生成文件")
            return
        lines = "\n".join(f"{f.village}：{f.rows} 条 → {f.path.name}" for f in files)
        show_info(self, f"已导出 {len(files)} 个村的整改台账到 {files[0].path.parent}：\n{lines}")

    def import_replies(self) -> None:
        if self.loaded_year is None:
            set_error(self.error, "整改台账为空：请先检查")
            return
        path, _ = QFileDialog.getOpenFileName(self, "选择村里填好的整改台账", str(documents_dir()),
                                              "Excel 工作簿 (*.xlsx *.xls)")
        if not path:
            return
        ctx, year, as_of = self.ctx, self.loaded_year, self.ctx.today()

        def work(_task):
            result = ctx.run(rectification_book.import_replies, Path(path), year, as_of)
            return result, ctx.read(rectification.entries, year)

        write(self, work, self._imported, on_error=lambda exc: show_error(self, exc, "整改回复未导入"),
              key=(id(self), "import"))

    def _imported(self, outcome) -> None:
        result, entries = outcome
        self.show_entries(entries, self.loaded_year)
        show_info(self, result.summary())

    # ------------------------------------------------------------------ opening a household

    def current_entry(self) -> Entry | None:
        chosen = self.selected_entries()
        return chosen[0] if len(chosen) == 1 else None

    def _double_clicked(self, index: QModelIndex) -> None:
        entry = index.data(ROW_ROLE)
        if entry is not None:
            self.open_entry(entry)

    def open_current(self) -> None:
        entry = self.current_entry()
        if entry is not None:
            self.open_entry(entry)

    def _household_of(self, index: QModelIndex) -> int | None:
        entry = index.data(ROW_ROLE)
        return None if entry is None else entry.household_id

    def open_entry(self, entry: Entry):
        """Open the household's editor at the field to correct (the member's row when the finding names one)."""
        from .household_editor import HouseholdEditor

        if self.ctx.read(register.household_no, entry.household_id) is None:
            show_error(self, f"户编号“{entry.household_no}”不存在，可能已被修改")
            return None
        self.editor = HouseholdEditor(self.ctx, entry.household_id, self)
        self.editor.open()
        row = None
        if entry.member_id_number:
            row = next((i for i, m in enumerate(self.editor.members_model.members())
                        if m.id_number == entry.member_id_number), None)
        field = entry.field or ("name" if row is not None else None)
        if field is not None:
            self.editor.go_to_problem(Problem(field, entry.message, row))
        return self.editor

