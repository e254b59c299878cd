"""Dialogs that correct a mistake, each with a required reason (services.corrections decides and keeps the trail):
更正 a recorded step or a case's opening date, 作废 a case opened by mistake, 户注销 and its reopening.

Each dialog follows the form idiom: validate() lists what is wrong (inline, in red), save() is one service call."""

from __future__ import annotations

from datetime import date

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from ..services import corrections, register, workflow
from ..services.context import AppContext
from ..services.errors import ServiceError
from ..services.procedures import FieldDef
from ..services.workflow import CaseView, StepView
from .errors import error_label, ok_cancel, set_error
from .member_dialogs import date_edit, from_qdate
from .widgets.code_combo import ValueCombo, code_combo

HINT = "color: #555;"
CORRECTABLE_KINDS = ("text", "choice", "code")  # fields a correction may change (not 确认 boxes)


def _reason_edit(placeholder: str) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setTabChangesFocus(True)
    edit.setPlaceholderText(placeholder)
    edit.setFixedHeight(edit.fontMetrics().lineSpacing() * 3 + 14)
    return edit


def _household_version(ctx: AppContext, household_id: int) -> int | None:
    """The household as the dialog shows it: a change another seat saves meanwhile makes the dialog's save refused."""
    return ctx.read(register.get_household, household_id)[0].version


class ReasonDialog(QDialog):
    """A small form with a required reason, an inline error and 保存/取消; subclasses fill the form."""

    def __init__(self, ctx: AppContext, title: str, intro: str, parent: QWidget | None = None,
                 reason_hint: str = "更正原因（必填），例如：录入时日期写错"):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(title)
        self.intro = QLabel(intro)
        self.intro.setWordWrap(True)
        self.form = QFormLayout()
        self.reason = _reason_edit(reason_hint)
        self.error = error_label(self)
        self.buttons = ok_cancel(self, self.save, save=True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def add_reason_row(self, label: str = "更正原因：") -> None:
        self.form.addRow(label, self.reason)

    def reason_text(self) -> str:
        return self.reason.toPlainText().strip()

    def validate(self) -> list[str]:
        """What the service says is wrong, before anything is written."""
        return []

    def write(self) -> None:
        """The one service call of the dialog (through ctx.run: one transaction, the data-changed signal)."""
        raise NotImplementedError

    def save(self) -> bool:
        try:
            problems = self.validate()
            if problems:
                set_error(self.error, "；".join(problems))
                return False
            self.write()
        except ServiceError as exc:
            set_error(self.error, exc)
            return False
        set_error(self.error, None)
        self.accept()
        return True


class StepCorrectionDialog(ReasonDialog):
    """更正 a recorded step: its date, notes and the fields of its definition; the old values stay in the history."""

    def __init__(self, ctx: AppContext, case: CaseView, step: StepView, parent: QWidget | None = None):
        super().__init__(ctx, f"更正步骤：{step.name}",
                         f"流程 #{case.id} {case.kind_name}，户 {case.household_no}。更正会连同原值、原因、更正人和日期"
                         "记入本流程的更正记录，不会覆盖原来的记录。", parent)
        self.case, self.step = case, step
        self.date = date_edit(step.done_on, ctx.today())
        self.notes = _reason_edit("办理说明")
        self.notes.setPlainText(step.notes or "")
        self.form.addRow("办理日期：", self.date)
        self.fields: dict[str, QWidget] = {}
        sdef = workflow.procedure(case.kind).step(step.key)
        self.publicity = None
        if sdef is not None and sdef.publicity_days and step.data.get("publicity_start"):
            self.publicity = date_edit(date.fromisoformat(step.data["publicity_start"]), ctx.today())
            self.form.addRow("公示开始日期：", self.publicity)
        for f in (sdef.fields if sdef is not None else ()):
            if f.kind in CORRECTABLE_KINDS:
                widget = self._field(f, step.data.get(f.key))
                self.fields[f.key] = widget
                self.form.addRow(f"{f.label}：", widget)
        self.form.addRow("说明：", self.notes)
        self.add_reason_row()

    @staticmethod
    def _field(f: FieldDef, value) -> QWidget:
        if f.kind == "choice":
            combo = ValueCombo([(o, o) for o in f.options], "（未填）")
            combo.set_value(value)
            return combo
        if f.kind == "code":
            combo = code_combo(f.code_list, "（未填）")
            combo.set_value(value)
            return combo
        edit = QLineEdit(str(value or ""))
        edit.setPlaceholderText(f.placeholder)
        return edit

    def request(self) -> corrections.StepCorrection:
        data = {}
        for key, w in self.fields.items():
            data[key] = w.value() if isinstance(w, ValueCombo) else w.text().strip()
        if self.publicity is not None:
            data["publicity_start"] = from_qdate(self.publicity.date()).isoformat()
        return corrections.StepCorrection(self.case.id, self.step.seq, self.reason_text(),
                                          done_on=from_qdate(self.date.date()),
                                          notes=self.notes.toPlainText().strip(), data=data, version=self.step.version)

    def validate(self) -> list[str]:
        return self.ctx.read(corrections.validate_step_correction, self.request(), self.ctx.today())

    def write(self) -> None:
        self.ctx.run(corrections.correct_step, self.request(), as_of=self.ctx.today())


class CaseDateDialog(ReasonDialog):
    """更正 the opening date of a case (for an identification: the clue date, D of its deadlines)."""

    def __init__(self, ctx: AppContext, case: CaseView, parent: QWidget | None = None):
        what = "线索日期（认定期限的起算日 D）" if case.data.get("clue_id") else "发起日期"
        super().__init__(ctx, f"更正{what}", f"流程 #{case.id} {case.kind_name}，户 {case.household_no}，原{what} "
                         f"{case.opened_on}。各步骤的期限随之重新计算；原日期和原因记入更正记录。", parent)
        self.case = case
        self.date = date_edit(case.opened_on, ctx.today())
        self.form.addRow("正确的日期：", self.date)
        self.add_reason_row()

    def _args(self) -> tuple:
        return self.case.id, from_qdate(self.date.date()), self.reason_text()

    def validate(self) -> list[str]:
        return self.ctx.read(corrections.validate_case_date, *self._args(), self.ctx.today())

    def write(self) -> None:
        self.ctx.run(corrections.correct_case_date, *self._args(), as_of=self.ctx.today(), version=self.case.version)


class VoidCaseDialog(ReasonDialog):
    """作废 a case opened by mistake: kept and shown as 已作废, out of every list, count and deadline."""

    def __init__(self, ctx: AppContext, case: CaseView, parent: QWidget | None = None):
        super().__init__(ctx, f"作废流程 #{case.id}",
                         f"{case.kind_name}，户 {case.household_no}（{case.head_name}）。作废用于误建或重复的流程："
                         "流程保留并显示为“已作废”，不再出现在各列表、统计和期限提醒中，户恢复发起前的状态。"
                         "已作出决定的流程不能作废（请申请清退或风险消除回退）。", parent,
                         reason_hint="作废原因（必填），例如：与流程 #12 重复")
        self.case = case
        self.add_reason_row("作废原因：")
        problem = ctx.read(corrections.void_problem, case.id)
        if problem:
            set_error(self.error, problem)
            self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(False)

    def write(self) -> None:
        self.ctx.run(corrections.void_case, self.case.id, self.reason_text(), as_of=self.ctx.today(),
                     version=self.case.version)


class CloseHouseholdDialog(ReasonDialog):
    """户注销 with a date and a reason: never deleted, out of the working lists, still found and printable."""

    def __init__(self, ctx: AppContext, household_id: int, household_no: str, parent: QWidget | None = None):
        super().__init__(ctx, f"户注销：{household_no}",
                         "注销后该户不再出现在户籍登记的工作列表、统计、预警和数据质量检查中，但不会删除："
                         "搜索仍能找到，仍可查看和打印；管理员可以恢复。", parent,
                         reason_hint="注销原因（必填），例如：全户死亡、整户迁出本乡镇、重复登记")
        self.household_id = household_id
        self.version = _household_version(ctx, household_id)
        self.date = date_edit(ctx.today(), ctx.today())
        self.form.addRow("注销日期：", self.date)
        self.add_reason_row("注销原因：")

    def validate(self) -> list[str]:
        return self.ctx.read(corrections.close_problems, self.household_id, from_qdate(self.date.date()),
                             self.reason_text(), self.ctx.today())

    def write(self) -> None:
        self.ctx.run(corrections.close_household, self.household_id, from_qdate(self.date.date()), self.reason_text(),
                     as_of=self.ctx.today(), version=self.version)


class ReopenHouseholdDialog(ReasonDialog):
    """An administrator takes a closed household back into the register."""

    def __init__(self, ctx: AppContext, household_id: int, household_no: str, parent: QWidget | None = None):
        super().__init__(ctx, f"恢复已注销的户：{household_no}", "恢复后该户回到户籍登记的工作列表中。", parent,
                         reason_hint="恢复原因（必填），例如：经核实并未迁出")
        self.household_id = household_id
        self.version = _household_version(ctx, household_id)
        self.add_reason_row("恢复原因：")

    def write(self) -> None:
        self.ctx.run(corrections.reopen_household, self.household_id, self.reason_text(), as_of=self.ctx.today(),
                     version=self.version)
