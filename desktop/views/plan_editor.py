"""帮扶计划: the assistance measures of a household (SPEC §3, §6.2, §7). The plan's state (due 10
days after identification, the developmental-measure rule) is shown at the top; measures are
added and edited in a dialog and ended with a reason, never deleted."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..services import measures, register, rules
from ..services.context import AppContext
from ..services.errors import ServiceError
from ..services.measures import MeasureData
from .errors import chinese_buttons, error_label, error_text, ok_cancel, set_error
from .member_dialogs import date_edit, from_qdate
from .models.measure_table import COL_UNIT, HEADERS, MeasureTableModel
from .widgets.code_combo import ValueCombo
from .widgets.tables import setup_list_table

WARN_STYLE = "color: #c62828; font-weight: bold;"
OK_STYLE = "color: #2e7d32;"
TRAINING = ("A40", "技能培训")
OVERRIDE_YES, OVERRIDE_NO = True, False  # the empty choice 默认 is None


class MeasureDialog(QDialog):
    """Add or edit one measure. `saved` carries the measure id."""

    saved = Signal(int)

    def __init__(self, ctx: AppContext, household_id: int, measure_id: int | None = None,
                 case_id: int | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.measure_id: int | None = measure_id
        self.setWindowTitle("修改帮扶措施" if measure_id else "新增帮扶措施")
        self.setMinimumWidth(460)
        data = ctx.read(measures.get_measure, measure_id) if measure_id else MeasureData(
            household_id, "", case_id=case_id, start_date=ctx.today())
        self.original = data
        _household, members = ctx.read(register.get_household, household_id)

        self.category = ValueCombo([(c["name"], code) for code, c in measures.categories().items()], "（请选择）")
        self.item = ValueCombo(blank="（无细项）")
        self.member = ValueCombo([(m.name, m.id) for m in members if m.current or m.id == data.member_id],
                                 "（全户）")
        self.start = date_edit(data.start_date or ctx.today())
        self.has_end = QCheckBox("有结束日期")
        self.end = date_edit(data.end_date or ctx.today())
        self.amount = QLineEdit()
        self.amount.setPlaceholderText("元，可不填")
        self.unit = QLineEdit()
        self.unit.setPlaceholderText("如：镇农业服务中心")
        self.raises = QCheckBox("直接提升劳动能力")
        self.raises.setToolTip("技能培训只有直接提升劳动能力时才算开发式帮扶")
        self.override = ValueCombo([("是", OVERRIDE_YES), ("否", OVERRIDE_NO)], "默认")
        self.default_label = QLabel()
        self.note = QLineEdit()
        self.note.setPlaceholderText("改变默认判断时必须填写理由")
        self.error = error_label(self)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.addRow("措施类别：", self.category)
        form.addRow("措施项目：", self.item)
        form.addRow("受益成员：", self.member)
        form.addRow("开始日期：", self.start)
        end_row = QHBoxLayout()
        end_row.addWidget(self.has_end)
        end_row.addWidget(self.end, 1)
        form.addRow("结束日期：", end_row)
        form.addRow("金额：", self.amount)
        form.addRow("责任单位：", self.unit)
        form.addRow("", self.raises)
        dev_row = QHBoxLayout()
        dev_row.addWidget(self.override)
        dev_row.addWidget(self.default_label, 1)
        form.addRow("是否开发式：", dev_row)
        form.addRow("调整理由：", self.note)
        buttons = chinese_buttons(QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                                   | QDialogButtonBox.StandardButton.Cancel))
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

        self.category.valueChanged.connect(self._category_changed)
        self.item.valueChanged.connect(lambda _v: self._update())
        self.raises.toggled.connect(lambda _c: self._update())
        self.override.valueChanged.connect(lambda _v: self._update())
        self.has_end.toggled.connect(self.end.setEnabled)
        self.load(data)

    def load(self, d: MeasureData) -> None:
        self.category.set_value(d.category or None)
        self._category_changed(self.category.value())
        self.item.set_value(d.item)
        self.member.set_value(d.member_id)
        self.has_end.setChecked(d.end_date is not None)
        self.end.setEnabled(d.end_date is not None)
        self.amount.setText("" if d.amount is None else f"{d.amount:.2f}")
        self.unit.setText(d.responsible_unit or "")
        self.raises.setChecked(bool(d.raises_working_ability))
        self.override.set_value(d.developmental_override)
        self.note.setText(d.developmental_note or "")
        self._update()

    def _category_changed(self, code) -> None:
        items = measures.categories().get(code, {}).get("items", []) if code else []
        self.item.set_items([(i["name"], i["name"]) for i in items], "（请选择）" if items else "（无细项）")
        self.item.setEnabled(bool(items))
        self._update()

    def _update(self) -> None:
        training = (self.category.value(), self.item.value()) == TRAINING
        self.raises.setEnabled(training)
        if self.category.value():
            default = rules.is_developmental(self.category.value(), self.item.value(), None,
                                             training and self.raises.isChecked())
            self.default_label.setText(f"默认判断：{'是' if default else '否'}开发式帮扶")
        else:
            self.default_label.setText("")
        self.note.setEnabled(self.override.value() is not None or bool(self.note.text()))

    def measure_data(self) -> MeasureData:
        training = (self.category.value(), self.item.value()) == TRAINING
        amount = self.amount.text().strip()
        return MeasureData(
            household_id=self.original.household_id, category=self.category.value() or "",
            item=self.item.value(), id=self.measure_id, member_id=self.member.value(),
            start_date=from_qdate(self.start.date()),
            end_date=from_qdate(self.end.date()) if self.has_end.isChecked() else None,
            amount=amount or None, responsible_unit=self.unit.text().strip() or None,
            developmental_override=self.override.value(), developmental_note=self.note.text().strip() or None,
            raises_working_ability=training and self.raises.isChecked(), case_id=self.original.case_id,
            version=self.original.version)

    def save(self) -> int | None:
        if self.category.value() is None:
            set_error(self.error, "请选择措施类别")
            return None
        try:
            self.measure_id = self.ctx.run(measures.save_measure, self.measure_data(), user=self.ctx.user)
        except ServiceError as exc:
            set_error(self.error, exc)
            return None
        set_error(self.error, None)
        self.saved.emit(self.measure_id)
        self.accept()
        return self.measure_id


class EndMeasureDialog(QDialog):
    """中止 a measure: the date and the reason (the measure stays in the plan's history)."""

    def __init__(self, ctx: AppContext, row: measures.MeasureRow, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.row = row
        self.setWindowTitle("中止帮扶措施")
        self.date = date_edit(ctx.today(), ctx.today())
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("如：已稳定就业，不再需要")
        self.error = error_label(self)
        form = QFormLayout()
        form.addRow("措施：", QLabel(f"{row.category_name} {row.item}".strip()))
        form.addRow("中止日期：", self.date)
        form.addRow("中止原因：", self.reason)
        buttons = ok_cancel(self, self.end, "中止")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def end(self) -> bool:
        try:
            self.ctx.run(measures.end_measure, self.row.id, from_qdate(self.date.date()), self.reason.text(),
                         user=self.ctx.user)
        except ServiceError as exc:
            set_error(self.error, exc)
            return False
        self.accept()
        return True


class PlanEditor(QDialog):
    """The plan of one household; `case_id` links new measures to a 认定 or 绿色通道 case."""

    changed = Signal(int)  # household id

    def __init__(self, ctx: AppContext, household_id: int, case_id: int | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.household_id = household_id
        self.case_id = case_id
        self.dialog: QDialog | None = None
        data, members = ctx.read(register.get_household, household_id)
        head = register.head_name(members)
        self.setWindowTitle(f"帮扶计划 — 户 {data.household_no} {head}")
        self.resize(900, 480)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.model = MeasureTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        setup_list_table(self.table)
        header = self.table.horizontalHeader()
        fm = self.table.fontMetrics()
        samples = ("综合保障（低保）", "经营主体就业", "张小某某", "2024-12-31", "2024-12-31", "50,000.00",
                   "镇农业服务中心", "是（调整）", "实施中")
        for col, (title, sample) in enumerate(zip(HEADERS, samples, strict=True)):
            header.resizeSection(col, max(fm.horizontalAdvance(title), fm.horizontalAdvance(sample)) + 20)
        header.setSectionResizeMode(COL_UNIT, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(lambda _i: self.edit_measure())
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())

        self.add_button = QPushButton("新增措施")
        self.edit_button = QPushButton("修改")
        self.end_button = QPushButton("中止…")
        self.close_button = QPushButton("关闭")
        self.add_button.clicked.connect(self.add_measure)
        self.edit_button.clicked.connect(self.edit_measure)
        self.end_button.clicked.connect(self.end_measure)
        self.close_button.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.edit_button, self.end_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        hint = QLabel("措施不能删除：不再实施的措施请“中止”并写明原因。产业、就业、公益岗位、小额信贷等为开发式帮扶；"
                      "技能培训须直接提升劳动能力。")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        as_of = self.ctx.today()
        self.model.set_rows(self.ctx.read(measures.measures, self.household_id, as_of), as_of)
        year = self.ctx.year or as_of.year
        try:
            ps = self.ctx.read(measures.plan_status, self.household_id, year, as_of)
        except ServiceError as exc:
            self.status.setText(escape(error_text(exc)))
            self.status.setStyleSheet(WARN_STYLE)
        else:
            self.plan = ps
            self.status.setText(ps.message)
            self.status.setStyleSheet(WARN_STYLE if ps.overdue or ps.developmental_missing else OK_STYLE)
        self._update_buttons()

    def current(self) -> measures.MeasureRow | None:
        index = self.table.currentIndex()
        return self.model.measure(index.row()) if index.isValid() else None

    def select(self, measure_id: int) -> None:
        row = self.model.row_of(measure_id)
        if row is not None:
            self.table.selectRow(row)
            self.table.setCurrentIndex(self.model.index(row, 0))

    def _update_buttons(self) -> None:
        row = self.current()
        self.edit_button.setEnabled(row is not None)
        self.end_button.setEnabled(row is not None and row.ended_on is None)

    def _changed(self, measure_id: int) -> None:
        self.refresh()
        self.select(measure_id)
        self.changed.emit(self.household_id)

    def add_measure(self) -> MeasureDialog:
        return self._open(MeasureDialog(self.ctx, self.household_id, None, self.case_id, self))

    def edit_measure(self) -> MeasureDialog | None:
        row = self.current()
        return self._open(MeasureDialog(self.ctx, self.household_id, row.id, self.case_id, self)) if row else None

    def _open(self, dialog: MeasureDialog) -> MeasureDialog:
        dialog.saved.connect(self._changed)
        self.dialog = dialog
        dialog.open()
        return dialog

    def end_measure(self) -> EndMeasureDialog | None:
        row = self.current()
        if row is None or row.ended_on is not None:
            return None
        dialog = EndMeasureDialog(self.ctx, row, self)
        dialog.accepted.connect(lambda: self._changed(row.id))
        self.dialog = dialog
        dialog.open()
        return dialog

