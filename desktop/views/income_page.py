"""收入测算: one household's income for the year, line by line, with the four results of the form and
the suggested category updating as you type, saved as a dated collection record (SPEC §4, §6.1).

The results and the suggestion come from services.assess.calculate (income.compute and
rules.suggest_category, as `assess` uses them); the household's other facts of §6.1 (三保障, risk types,
脱贫户) come from the assessment once on load. Saving shows what services.income.validate_record returns.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QAbstractTableModel, QDate, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..services import assess, income, register
from ..services.assess import CalculatorFacts
from ..services.context import AppContext
from ..services.errors import ServiceError
from ..services.income import IncomeError, RecordData
from ..services.rules import line_text, yuan
from .errors import confirm, error_label, error_text, set_error
from .income_lines import LinesPanel

_ROOT = QModelIndex()  # the invisible root: a flat table's rows have no parent

RESULTS = (("A33", "家庭纯收入", "元"), ("A34", "家庭人均纯收入", "元/人"),
           ("A37", "纳入监测收入参考范围", "元"), ("A38", "人均收入参考范围", "元/人"))
QUARTERS = (("全年", None), ("第1季度", 1), ("第2季度", 2), ("第3季度", 3), ("第4季度", 4))
SEARCH_LIMIT = 30
SEARCH_DELAY_MS = 200
HINT_STYLE = "color: #555;"
ID_ROLE = Qt.ItemDataRole.UserRole


def quarter_name(quarter: int | None) -> str:
    return next(name for name, q in QUARTERS if q == quarter) if quarter in (None, 1, 2, 3, 4) else str(quarter)


def to_qdate(d: date) -> QDate:
    return QDate(d.year, d.month, d.day)


def from_qdate(q: QDate) -> date:
    return date(q.year(), q.month(), q.day())


class RecordsModel(QAbstractTableModel):
    """The household's earlier records of the year; money right-aligned with 2 decimals."""

    HEADERS = ("采集日期", "季度", "采集人", "签字", "家庭纯收入", "人均参考", "备注")
    TIPS = ("", "", "", "采集人、被采集人签字已收齐（导入的记录未注明时为“未知”）", "A33 家庭纯收入（元）",
            "A38 人均收入参考范围（元/人）", "")
    MONEY = (4, 5)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[tuple[RecordData, income.IncomeResult | None]] = []

    def set_records(self, records: list[RecordData], size: int) -> None:
        self.beginResetModel()
        self._rows = []
        for rec in records:
            try:
                result = income.compute(rec.totals, rec.size or size)
            except IncomeError:
                result = None
            self._rows.append((rec, result))
        self.endResetModel()

    def record(self, row: int) -> RecordData | None:
        return self._rows[row][0] if 0 <= row < len(self._rows) else None

    def row_of(self, record_id: int | None) -> int | None:
        return next((i for i, (rec, _r) in enumerate(self._rows) if rec.id == record_id), None)

    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return self.TIPS[section] or None
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        rec, result = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole and col in self.MONEY:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == ID_ROLE:
            return rec.id
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        values = (rec.collected_on.isoformat() if rec.collected_on else "", quarter_name(rec.quarter),
                  rec.collected_by or (rec.source_text if rec.origin == "imported" else ""),
                  {True: "是", False: "否"}.get(rec.signatures_collected, "未知"),
                  yuan(result.A33) if result else "—", yuan(result.A38) if result else "—", rec.note or "")
        return values[col]


class IncomePage(QWidget):
    saved = Signal(int)  # household id, after a record is saved

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.facts: CalculatorFacts | None = None
        self.record_id: int | None = None
        self._loaded: tuple | None = None

        self.search = QLineEdit()
        self.search.setPlaceholderText("输入户编号、户主或成员姓名、身份证号、电话查找")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(320)
        self.matches = QStandardItemModel(self)
        self.completer = QCompleter(self.matches, self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setMaxVisibleItems(12)
        self.search.setCompleter(self.completer)
        self.completer.activated[QModelIndex].connect(self._match_chosen)
        self.search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self.search_timer.timeout.connect(lambda: self.find(self.search.text(), popup=True))
        self.search.textEdited.connect(lambda _t: self.search_timer.start())
        self.search.returnPressed.connect(self.open_first)
        self.search.textEdited.connect(lambda _t: set_error(self.search_hint, None))
        self.search_hint = error_label()
        self._chosen: int | None = None  # a completer choice waiting to open
        self.header = QLabel("请选择一户：输入户编号或户主姓名")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("户："))
        top.addWidget(self.search)
        top.addWidget(self.search_hint)
        top.addSpacing(16)
        top.addWidget(self.header, 1)

        self.lines = LinesPanel()
        self.lines.changed.connect(self.recompute)

        splitter = QSplitter()
        splitter.addWidget(self.lines)
        splitter.addWidget(self._right_panel())
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([620, 470])
        splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<h3>收入测算</h3>"))
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self._set_enabled(False)
        self.recompute()

    # ------------------------------------------------------------------ building

    def _right_panel(self) -> QWidget:
        results = QGroupBox("测算结果")
        grid = QGridLayout(results)
        self.result_labels: dict[str, QLabel] = {}
        for r, (code, name, unit) in enumerate(RESULTS):
            value = QLabel("—")
            value.setObjectName(f"result_{code}")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setStyleSheet("font-size: 13pt; font-weight: bold;")
            value.setMinimumWidth(150)
            grid.addWidget(QLabel(f"{code} {name}"), r, 0)
            grid.addWidget(value, r, 1)
            grid.addWidget(QLabel(unit), r, 2)
            self.result_labels[code] = value
        grid.setColumnStretch(0, 1)
        self.calc_error = error_label()
        grid.addWidget(self.calc_error, len(RESULTS), 0, 1, 3)

        suggestion = QGroupBox("建议（仅供参考，是否纳入以识别程序为准）")
        box = QVBoxLayout(suggestion)
        self.category_label = QLabel("—")
        self.category_label.setStyleSheet("font-size: 12pt; font-weight: bold;")
        self.reasons_label = QLabel()
        self.reasons_label.setWordWrap(True)
        self.reasons_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.category_label)
        box.addWidget(self.reasons_label)

        form_box = QGroupBox("采集信息")
        form = QFormLayout(form_box)
        self.collected_on = QDateEdit()
        self.collected_on.setDisplayFormat("yyyy-MM-dd")
        self.collected_on.setCalendarPopup(True)
        self.collected_on.setMaximumWidth(160)
        self.collected_by = QLineEdit()
        self.collected_by.setPlaceholderText("必填")
        self.quarter = QComboBox()
        for name, q in QUARTERS:
            self.quarter.addItem(name, q)
        self.quarter.setMaximumWidth(160)
        self.quarter.currentIndexChanged.connect(lambda _i: self.recompute())  # a quarter suggests no category
        self.signatures = QCheckBox("户主和采集人已在纸质表上签字")
        self.note = QLineEdit()
        self.note.setPlaceholderText("可不填")
        form.addRow("采集日期：", self.collected_on)
        form.addRow("采集人：", self.collected_by)
        form.addRow("采集季度：", self.quarter)
        form.addRow("签字已收齐：", self.signatures)
        form.addRow("备注：", self.note)
        self.editing_label = QLabel()
        self.editing_label.setStyleSheet(HINT_STYLE)
        self.error = error_label()
        self.notice = QLabel()
        self.notice.setStyleSheet("color: #2e7d32;")
        self.notice.setVisible(False)
        self.new_button = QPushButton("新建记录")
        self.new_button.setToolTip("清空金额，另建一条新的采集记录")
        self.new_button.clicked.connect(lambda: self._ask_discard() and self.new_record())
        self.save_button = QPushButton("保存")
        self.save_button.setToolTip("保存收入记录（Ctrl+S）")
        self.save_button.clicked.connect(self.save)
        buttons = QHBoxLayout()
        buttons.addWidget(self.editing_label, 1)
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.save_button)
        form.addRow(self.error)
        form.addRow(self.notice)
        form.addRow(buttons)
        for w in (self.collected_by, self.note):
            w.textEdited.connect(lambda _t: self._notify(""))

        self.records_model = RecordsModel(self)
        self.records_view = QTableView()
        self.records_view.setModel(self.records_model)
        self.records_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.records_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.records_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.records_view.verticalHeader().setVisible(False)
        self.records_view.horizontalHeader().setStretchLastSection(True)
        self.records_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.records_view.setMinimumHeight(80)
        self.records_view.clicked.connect(lambda index: self.load_record_at(index.row()))
        records_box = QGroupBox("本年度收入记录（单击一条载入修改）")
        QVBoxLayout(records_box).addWidget(self.records_view)

        panel = QWidget()
        column = QVBoxLayout(panel)
        column.setContentsMargins(0, 0, 4, 0)
        column.addWidget(form_box)
        column.addWidget(records_box, 1)
        scroll = QScrollArea()  # the form scrolls on a small screen rather than making the window taller …
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(panel)
        outer = QWidget()  # … while the results and the suggestion stay in view, also after 保存 (issue 19)
        outer_column = QVBoxLayout(outer)
        outer_column.setContentsMargins(0, 0, 0, 0)
        outer_column.addWidget(results)
        outer_column.addWidget(suggestion)
        outer_column.addWidget(scroll, 1)
        outer.setMinimumWidth(420)
        self.results_box = results
        return outer

    def _set_enabled(self, on: bool) -> None:
        for w in (self.collected_on, self.collected_by, self.quarter, self.signatures, self.note, self.new_button,
                  self.save_button):
            w.setEnabled(on)

    def focus_search(self) -> None:
        """Ctrl+F (the window's application-wide action)."""
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.facts is not None and self.facts.year != self.ctx.year:  # the current year was changed
            hid = self.facts.household_id
            QTimer.singleShot(0, lambda: self.open_household(hid))

    # ------------------------------------------------------------------ choosing a household

    def find(self, text: str, popup: bool = False) -> list[register.HouseholdMatch]:
        """Households matching the text (number, head or member name, ID number, phone): the household pickers'
        one search, register.search_households (the user's villages, the working register)."""
        rows = self.ctx.read(register.search_households, text) if text.strip() else []
        self.matches.clear()
        for r in rows:
            item = QStandardItem(r.text)
            item.setData(r.id, ID_ROLE)
            self.matches.appendRow(item)
        if popup and rows:
            self.completer.complete()
        return rows

    def open_first(self) -> None:
        """Enter in the search box: open the only match, or the household with exactly that number."""
        self.search_timer.stop()
        if self._chosen is not None:  # Enter picked a match of the list: that one opens
            return
        rows = self.find(self.search.text())
        exact = [r for r in rows if r.household_no == self.search.text().strip()]
        if len(rows) == 1 or exact:
            self.open_household((exact or rows)[0].id)
        elif rows:
            self.completer.complete()
        else:
            set_error(self.search_hint, "没有找到符合条件的户")

    def _match_chosen(self, index: QModelIndex) -> None:
        hid = index.data(ID_ROLE)
        if hid is not None:
            self._chosen = int(hid)
            QTimer.singleShot(0, self._open_chosen)

    def _open_chosen(self) -> None:
        hid, self._chosen = self._chosen, None
        if hid is not None:
            self.open_household(hid)

    def open_household(self, household_id: int) -> bool:
        """Show a household of the current year: its latest record for editing, or a new one."""
        if not self._ask_discard():
            return False
        self._notify("")
        set_error(self.error, None)
        try:
            if self.ctx.year is None:
                raise IncomeError("未设置当前年度：请在“年度设置”中设定")
            facts = self.ctx.read(assess.calculator_facts, household_id, self.ctx.year, self.ctx.today())
        except ServiceError as exc:  # AssessError: no line for the year
            self.facts = None
            self.header.setText(f"<span style='color:#c62828'>{error_text(exc)}</span>")
            self.lines.set_lines([])
            self._set_enabled(False)
            self.records_model.set_records([], 0)
            self.recompute()
            return False
        self.facts = facts
        self.search.setText(facts.household_no)
        set_error(self.search_hint, None)
        self.header.setText(
            f"<b>{facts.household_no}</b>　户主 <b>{facts.head_name or '（无）'}</b>　{facts.village}　"
            f"家庭人口 <b>{facts.size}</b> 人（{facts.status_time_point} 状态时点）　"
            f"{facts.year} 年监测线 <b>{line_text(facts.monitoring_line)}</b> 元/人·年")
        self._set_enabled(True)
        records = self._reload_records()
        if records:
            self.load_record(records[0])
        else:
            self.new_record()
        return True

    def _reload_records(self) -> list[RecordData]:
        records = self.ctx.read(income.records, self.facts.household_id, self.facts.year)
        self.records_model.set_records(records, self.facts.size)
        return records

    # ------------------------------------------------------------------ records

    def new_record(self) -> None:
        self.record_id = None
        self.lines.set_lines(self.ctx.read(lambda s: income.editable_lines(income.line_catalog(s))))
        self.collected_on.setDate(to_qdate(self.ctx.today()))
        self.collected_by.setText(self.ctx.user.display_name if self.ctx.user else "")
        self.quarter.setCurrentIndex(0)
        self.signatures.setChecked(False)
        self.note.clear()
        self.records_view.clearSelection()
        self.editing_label.setText("正在填写：新记录")
        self._after_load()

    def load_record_at(self, row: int) -> None:
        rec = self.records_model.record(row)
        if rec is not None and rec.id != self.record_id and self._ask_discard():
            self.load_record(rec)
        elif rec is not None:
            self._select_record(self.record_id)

    def load_record(self, rec: RecordData) -> None:
        self.record_id = rec.id
        self.lines.set_lines(self.ctx.read(lambda s: income.editable_lines(income.line_catalog(s), rec.lines)))
        self.collected_on.setDate(to_qdate(rec.collected_on or self.ctx.today()))
        self.collected_by.setText(rec.collected_by or "")
        self.quarter.setCurrentIndex(max(0, self.quarter.findData(rec.quarter)))
        self.signatures.setChecked(bool(rec.signatures_collected))
        self.note.setText(rec.note or "")
        self._select_record(rec.id)
        when = rec.collected_on.isoformat() if rec.collected_on else "未填日期"
        self.editing_label.setText(f"正在修改：{when} 采集的记录（{quarter_name(rec.quarter)}）")
        self._after_load()

    def _select_record(self, record_id: int | None) -> None:
        row = self.records_model.row_of(record_id)
        if row is None:
            self.records_view.clearSelection()
        else:
            self.records_view.selectRow(row)

    def _after_load(self) -> None:
        self.collected_on.setMaximumDate(to_qdate(self.ctx.today()))
        self._loaded = self._snapshot()
        self.recompute()
        first = self.lines.first_amount()
        if first is not None and self.isVisible():
            first.setFocus()

    def _snapshot(self) -> tuple:
        return (self.lines.snapshot(), self.collected_on.date(), self.collected_by.text().strip(),
                self.quarter.currentIndex(), self.signatures.isChecked(), self.note.text().strip())

    def is_dirty(self) -> bool:
        return self.facts is not None and self._loaded is not None and self._snapshot() != self._loaded

    def _ask_discard(self) -> bool:
        return not self.is_dirty() or confirm(self, "当前收入记录的修改尚未保存，放弃这些修改吗？")

    # ------------------------------------------------------------------ the results, live

    def recompute(self) -> None:
        """Totals of the lines → services.assess.calculate (the same compute and suggestion as `assess`)."""
        if self.is_dirty():
            self._notify("")
        result, suggestion, problem = None, None, None
        lines = self.lines.lines() if self.facts is not None else None
        if self.facts is None:
            problem = ""
        elif lines is None:
            problem = "有金额填写有误（见左侧红字），改正后显示测算结果"
        else:
            calc = assess.calculate(self.facts, income.Totals.from_lines(lines), self.quarter.currentData())
            result, suggestion = calc.result, calc.suggestion
            if result is None:
                problem = calc.problem
        for code, _name, _unit in RESULTS:
            self.result_labels[code].setText(yuan(getattr(result, code)) if result else "—")
        set_error(self.calc_error, problem)
        if suggestion is None:
            self.category_label.setText("—" if result is None else "季度收入：不据此建议类别")
            self.category_label.setStyleSheet("font-size: 12pt; font-weight: bold;")
            self.reasons_label.setText("" if result is None else calc.problem)
            return
        if self.records_model.rowCount() == 0 and not any(line.amount for line in lines):
            # nothing entered and nothing saved: a suggestion on 0.00 元 would be a false alarm (issue 19)
            self.category_label.setText("尚未录入收入，不作建议")
            self.category_label.setStyleSheet("font-size: 12pt; font-weight: bold; color: #777;")
            self.reasons_label.setText("录入本年度收入（或保存一条收入记录）后显示建议。")
            return
        if suggestion.category:
            text, colour = f"建议纳入：{suggestion.category_name}", "#c62828"
        elif suggestion.needs_review:
            text, colour = "暂不建议纳入，需入户研判", "#b26a00"
        else:
            text, colour = "不符合纳入条件", "#2e7d32"
        self.category_label.setText(text)
        self.category_label.setStyleSheet(f"font-size: 12pt; font-weight: bold; color: {colour};")
        self.reasons_label.setText("\n".join(f"• {r}" for r in suggestion.reasons))

    def _notify(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def result_text(self, code: str) -> str:
        return self.result_labels[code].text()

    # ------------------------------------------------------------------ saving

    def record_data(self) -> RecordData:
        f = self.facts
        return RecordData(household_id=f.household_id, year=f.year, id=self.record_id,
                          quarter=self.quarter.currentData(), collected_on=from_qdate(self.collected_on.date()),
                          collected_by=self.collected_by.text().strip(),
                          signatures_collected=self.signatures.isChecked(), note=self.note.text().strip() or None,
                          size=f.size, lines=self.lines.lines() or [], origin="entered")

    def validate(self) -> list[str]:
        """The lines' own typing problems, then what services.income.validate_record says of the record."""
        if self.facts is None:
            return ["请先选择一户"]
        problems = self.lines.problems()
        return problems + income.validate_record(self.record_data(), self.ctx.today())

    def save(self) -> bool:
        problems = self.validate()
        if problems:
            set_error(self.error, "；".join(problems))
            return False
        f = self.facts
        data = self.record_data()
        self.save_button.setEnabled(False)
        try:
            record_id = self.ctx.run(income.save_record, data, self.ctx.today(), self.ctx.user)
        except ServiceError as exc:
            set_error(self.error, exc)
            return False
        finally:
            self.save_button.setEnabled(True)
        set_error(self.error, None)
        records = self._reload_records()
        self.load_record(next(r for r in records if r.id == record_id))
        self._notify(f"已保存 {data.collected_on} 的收入记录")
        self.saved.emit(f.household_id)
        return True
