"""The form of a case's next step: date, notes and the fields the step definition asks for
(resources/procedures.json), with 通过 (Ctrl+Enter), 未通过（终止流程） and 退回上一步.

Each button is one service call; the service decides, and its refusal is shown in red here."""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..services import workflow
from ..services.assess import read_snapshot
from ..services.codes import codes
from ..services.context import AppContext
from ..services.errors import ServiceError
from ..services.procedures import FieldDef, StepDef
from ..services.workflow import CaseView, StepView
from .errors import confirm, error_label, set_error
from .member_dialogs import date_edit, from_qdate, to_qdate
from .widgets.code_combo import ValueCombo, code_combo

HINT_STYLE = "color: #555;"


def suggested_category(case: CaseView) -> str | None:
    """The category code suggested by the latest frozen assessment of the case, if any (any snapshot
    version: services.assess.read_snapshot reads them)."""
    for step in reversed(case.steps):
        snap = read_snapshot(step.snapshot)
        if snap is not None and snap.category:
            return snap.category
    return None


class StepForm(QGroupBox):
    done = Signal(int)  # the case id, after a step was recorded or sent back

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__("办理下一步", parent)
        self.ctx = ctx
        self.case: CaseView | None = None
        self.step: StepView | None = None
        self.definition: StepDef | None = None
        self.fields: dict[str, QWidget] = {}
        self.publicity_start: QDateEdit | None = None
        self.period: QLabel | None = None

        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.roles = QLabel()
        self.roles.setStyleSheet(HINT_STYLE)
        self.roles.setWordWrap(True)
        self.date = date_edit(ctx.today(), ctx.today())  # re-created with each step's rows
        self.notes = self._notes()
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.error = error_label(self)

        self.pass_button = QPushButton("通过")
        self.pass_button.setToolTip("记录本步骤已办理并通过（Ctrl+Enter）")
        self.pass_button.setDefault(True)
        self.fail_button = QPushButton("未通过（终止流程）")
        self.fail_button.setToolTip("本步骤未通过，流程终止；须在说明中填写原因")
        self.back_button = QPushButton("退回上一步")
        self.back_button.setToolTip("退回修改；须在说明中填写修改意见")
        self.pass_button.clicked.connect(self.pass_step)
        self.fail_button.clicked.connect(self.fail_step)
        self.back_button.clicked.connect(self.send_back)
        buttons = QHBoxLayout()
        buttons.addWidget(self.pass_button)
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.fail_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.roles)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=self.pass_step,
                      context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

    # ------------------------------------------------------------------ building the form

    def set_case(self, case: CaseView | None) -> None:
        """Show the form of the case's pending step (hidden when there is none)."""
        self.case = case
        self.step = case.pending if case is not None and case.is_open else None
        self.setVisible(self.step is not None)
        set_error(self.error, None)
        if self.step is None:
            return
        self.definition = workflow.step_def(case.kind, self.step.key)
        due = ""
        if self.step.due_on:
            late = (self.ctx.today() - self.step.due_on).days
            due = (f"　<span style='color:#c62828'><b>期限 {self.step.due_on}，已逾期 {late} 天</b></span>" if late > 0
                   else f"　期限 {self.step.due_on}")
        self.heading.setText(f"<b>{self.step.name}</b>{due}")
        role_names = codes("role")
        self.roles.setText("办理人：" + "、".join(role_names.name(r) for r in self.definition.roles))
        why_not = workflow.send_back_problem(case.kind, self.step.key) or ""
        self.back_button.setEnabled(not why_not)
        self.back_button.setToolTip(why_not or "退回修改；须在说明中填写修改意见")
        self._build_fields(case)

    def _build_fields(self, case: CaseView) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)  # deletes the widgets; date and notes are re-created below
        self.fields, self.publicity_start, self.period = {}, None, None
        self.date = date_edit(self.ctx.today(), self.ctx.today())
        self.notes = self._notes()
        self.form.addRow("办理日期：", self.date)
        if self.definition.publicity_days:
            self._publicity_rows()
        for f in self.definition.fields:
            widget = self._field(f, case)
            self.fields[f.key] = widget
            self.form.addRow("" if isinstance(widget, QCheckBox) else f"{f.label}：", widget)
        self.form.addRow("说明：", self.notes)

    def _notes(self) -> QPlainTextEdit:
        notes = QPlainTextEdit()
        notes.setTabChangesFocus(True)
        notes.setPlaceholderText("办理说明；“未通过”时填写原因，“退回”时填写修改意见")
        notes.setFixedHeight(notes.fontMetrics().lineSpacing() * 3 + 14)
        return notes

    def _field(self, f: FieldDef, case: CaseView) -> QWidget:
        """A widget per field kind of the definition (services.procedures.FIELD_KINDS)."""
        if f.kind == "confirm":
            return QCheckBox(f.label)
        if f.kind == "choice":
            return ValueCombo([(o, o) for o in f.options], "（请选择）")
        if f.kind == "compare_exemption":
            combo = ValueCombo([(o, o) for o in f.options], "（需比对）")
            combo.setToolTip("001 §34：脱贫享受政策户、已开展过信息比对的低保对象和分散供养特困人员可不重复比对")
            return combo
        if f.kind == "code":
            combo = code_combo(f.code_list, "（请选择）")
            if f.default == "suggested_category":
                combo.set_value(suggested_category(case))
                combo.setToolTip("默认为最近一次冻结测算的建议类别")
            return combo
        edit = QLineEdit()
        edit.setPlaceholderText(f.placeholder)
        return edit

    def _publicity_rows(self) -> None:
        started = self.step.data.get("publicity_start")
        start = date.fromisoformat(started) if started else self.ctx.today()
        self.publicity_start = date_edit(start)
        self.period = QLabel()
        self.period.setWordWrap(True)
        record = QPushButton("登记公示开始")
        record.setToolTip("先登记公示开始日期，期满后再办结本步骤")
        record.clicked.connect(self.record_publicity_start)
        row = QHBoxLayout()
        row.addWidget(self.publicity_start)
        row.addWidget(record)
        row.addStretch(1)
        self.form.addRow("公示开始日期：", row)
        self.form.addRow("", self.period)
        self.publicity_start.dateChanged.connect(lambda _d: self._show_period())
        self._show_period()

    def _show_period(self) -> None:
        start, end = workflow.publicity_period(from_qdate(self.publicity_start.date()),
                                               self.definition.publicity_days)
        self.period.setText(f"公示期 {start} 至 {end}，{end + timedelta(days=1)} 起可办结")

    # ------------------------------------------------------------------ values

    def data(self) -> dict:
        out = {}
        for key, w in self.fields.items():
            if isinstance(w, QCheckBox):
                out[key] = w.isChecked()
            elif isinstance(w, ValueCombo):
                out[key] = w.value()
            elif isinstance(w, QLineEdit):
                out[key] = w.text().strip()
        if self.publicity_start is not None:
            out["publicity_start"] = from_qdate(self.publicity_start.date()).isoformat()
        return out

    def done_on(self) -> date:
        return from_qdate(self.date.date())

    def set_done_on(self, value: date) -> None:
        self.date.setDate(to_qdate(value))

    def notes_text(self) -> str:
        return self.notes.toPlainText().strip()

    # ------------------------------------------------------------------ actions

    def _run(self, fn, *args, **kw) -> bool:
        try:
            self.ctx.run(fn, *args, **kw)
        except ServiceError as exc:
            set_error(self.error, exc)
            return False
        set_error(self.error, None)
        self.done.emit(self.case.id)
        return True

    def pass_step(self) -> bool:
        if self.step is None:
            return False
        return self._run(workflow.complete_step, self.case.id, self.step.key, self.done_on(), passed=True,
                         notes=self.notes_text(), data=self.data(), year=self.ctx.year, user=self.ctx.user,
                         as_of=self.ctx.today())

    def fail_step(self) -> bool:
        if self.step is None:
            return False
        if not self.notes_text():
            set_error(self.error, "未通过须在“说明”中填写原因（将作为流程终止的原因）")
            return False
        if not confirm(self, f"“{self.step.name}”未通过，流程 #{self.case.id} 将终止，不能恢复。确定吗？"):
            return False
        return self._run(workflow.complete_step, self.case.id, self.step.key, self.done_on(), passed=False,
                         notes=self.notes_text(), data=self.data(), year=self.ctx.year, user=self.ctx.user,
                         as_of=self.ctx.today())

    def send_back(self) -> bool:
        if self.step is None:
            return False
        return self._run(workflow.send_back, self.case.id, self.done_on(), self.notes_text(), user=self.ctx.user,
                         as_of=self.ctx.today())

    def record_publicity_start(self) -> bool:
        if self.step is None or self.publicity_start is None:
            return False
        return self._run(workflow.start_publicity, self.case.id, from_qdate(self.publicity_start.date()),
                         user=self.ctx.user)
