"""Dialogs that start a procedure (SPEC §7): 登记线索 (and 发起认定), 绿色通道, 风险消除 (with its
eligibility shown before confirming), 申请回退 / 申请清退. Each is one service call; refusals are
shown in red in the dialog, which stays open."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..services import workflow
from ..services.context import AppContext
from ..services.errors import ServiceError
from .errors import chinese_buttons, error_label, error_text, set_error
from .member_dialogs import date_edit, from_qdate
from .widgets.code_combo import code_combo
from .widgets.household_picker import HouseholdPicker

HINT_STYLE = "color: #555;"
OK_STYLE = "color: #2e7d32;"


def _text(edit: QLineEdit | QPlainTextEdit) -> str:
    return (edit.toPlainText() if isinstance(edit, QPlainTextEdit) else edit.text()).strip()


def _notes_edit(placeholder: str, lines: int = 3) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setPlaceholderText(placeholder)
    edit.setTabChangesFocus(True)
    edit.setFixedHeight(edit.fontMetrics().lineSpacing() * lines + 14)
    return edit


class _StartDialog(QDialog):
    """Form rows, a red error line and OK/Cancel; `submit()` makes the one service call."""

    ok_text = "确定"

    def __init__(self, ctx: AppContext, title: str, parent: QWidget | None = None, household_no: str = ""):
        super().__init__(parent)
        self.ctx = ctx
        self.case_id: int | None = None
        self.setWindowTitle(title)
        self.setMinimumWidth(480)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.household = HouseholdPicker(ctx)
        self.date = date_edit(ctx.today(), ctx.today())
        self.error = error_label(self)
        self.buttons = chinese_buttons(QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                                        | QDialogButtonBox.StandardButton.Cancel))
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(self.ok_text)
        self.buttons.accepted.connect(self.confirm)
        self.buttons.rejected.connect(self.reject)
        self.layout_ = QVBoxLayout(self)
        self.layout_.addLayout(self.form)
        self.household.set_number(household_no)

    def finish_layout(self, hint: str | None = None) -> None:
        if hint:
            label = QLabel(hint)
            label.setWordWrap(True)
            label.setStyleSheet(HINT_STYLE)
            self.layout_.addWidget(label)
        self.layout_.addWidget(self.error)
        self.layout_.addWidget(self.buttons)

    def confirm(self) -> None:
        try:
            self.submit()
        except ServiceError as exc:
            set_error(self.error, exc)
            return
        except Exception as exc:  # noqa: BLE001 - shown, and logged by error_text
            set_error(self.error, error_text(exc))
            return
        set_error(self.error, None)
        self.accept()

    def submit(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def kw(self) -> dict:
        return {"user": self.ctx.user, "as_of": self.ctx.today()}


# ---------------------------------------------------------------- 登记线索

class ClueDialog(_StartDialog):
    ok_text = "登记"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, household_no: str = ""):
        super().__init__(ctx, "登记风险线索", parent, household_no)
        self.clue_id: int | None = None
        self.source = code_combo("clue_source", "（请选择）")
        self.reporter = QLineEdit()
        self.reporter.setPlaceholderText("反映人或排查人（可不填）")
        self.description = _notes_edit("风险情况，如：户主住院，医疗自付费用较高")
        self.open_case = QCheckBox("登记后立即发起监测对象认定")
        self.open_case.setChecked(True)
        self.form.addRow("线索来源：", self.source)
        self.form.addRow("线索日期：", self.date)
        self.form.addRow("户：", self.household)
        self.form.addRow("反映人：", self.reporter)
        self.form.addRow("线索内容：", self.description)
        self.form.addRow("", self.open_case)
        self.finish_layout("线索日期是认定期限的起算日：入户核实须在 3 日内，认定须在 15 日内完成。"
                           "尚未登记的户可先不填户编号，登记户籍后再发起认定。")

    def request(self) -> workflow.ClueRequest:
        return workflow.ClueRequest(self.source.value(), from_qdate(self.date.date()), self.household.household_no(),
                                    _text(self.description), _text(self.reporter), self.open_case.isChecked())

    def submit(self) -> None:
        """The service validates (workflow.validate_clue) and records; its problems are shown here."""
        req = self.request()
        problems = self.ctx.read(workflow.validate_clue, req, self.ctx.user, self.ctx.today())
        if problems:
            raise ServiceError("；".join(problems))
        self.clue_id, self.case_id = self.ctx.run(workflow.record_clue_and_open, req, **self.kw())


# ---------------------------------------------------------------- 绿色通道

class GreenChannelDialog(_StartDialog):
    ok_text = "纳入绿色通道"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, household_no: str = ""):
        super().__init__(ctx, "纳入绿色通道", parent, household_no)
        self.reason = _notes_edit("突发、明显、紧急的情况，如：房屋火灾，家庭财产损失严重")
        self.confirmed = QCheckBox("镇村两级已确认")
        self.form.addRow("户：", self.household)
        self.form.addRow("纳入日期：", self.date)
        self.form.addRow("纳入原因：", self.reason)
        self.form.addRow("", self.confirmed)
        self.finish_layout("纳入后立即开展帮扶，一个月内核实；核实通过后补充完成认定程序（识别时间为纳入日期），"
                           "核实不通过则退出绿色通道并中止帮扶措施。")

    def submit(self) -> None:
        hid = self.household.household_id()
        if hid is None:
            raise ServiceError("请填写已登记的户编号")
        self.case_id = self.ctx.run(workflow.open_green_channel, hid, from_qdate(self.date.date()),
                                    confirmed=self.confirmed.isChecked(), reason=_text(self.reason), **self.kw())


# ---------------------------------------------------------------- 风险消除

class RemovalDialog(_StartDialog):
    ok_text = "发起风险消除"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, household_no: str = ""):
        super().__init__(ctx, "发起风险消除", parent, household_no)
        self.eligibility: workflow.Eligibility | None = None
        self.way = code_combo("removal_way", None)
        self.check = QLabel()
        self.check.setWordWrap(True)
        self.check.setTextFormat(Qt.TextFormat.RichText)
        self.check.setMinimumHeight(60)
        self.check.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.recheck_button = QPushButton("重新判断")
        self.recheck_button.clicked.connect(self.recheck)
        self.form.addRow("户：", self.household)
        self.form.addRow("发起日期：", self.date)
        self.form.addRow("消除方式：", self.way)
        row = QHBoxLayout()
        row.addWidget(self.check, 1)
        row.addWidget(self.recheck_button, 0, Qt.AlignmentFlag.AlignTop)
        self.form.addRow("消除条件：", row)
        self.finish_layout("两种方式都须年度收入稳定超过监测线、“三保障”和饮水安全有保障、无新的风险，且不是整户无劳动能力"
                           "兜底保障户；帮扶消除还须识别满 6 个月，自然消除不受此限。")
        self.household.changed.connect(lambda _h: self.recheck())
        self.way.valueChanged.connect(lambda _w: self.recheck())
        self.recheck()

    def recheck(self) -> None:
        """Show why the household may or may not have its risk removed; OK only when it may."""
        hid = self.household.household_id()
        self.eligibility = None
        if hid is None:
            self.check.setText("<span style='color:#555'>填写户编号后显示是否符合风险消除条件</span>")
        elif self.ctx.year is None:
            self.check.setText("<span style='color:#c62828'>未设置当前年度，无法判断</span>")
        else:
            try:
                self.eligibility = self.ctx.read(workflow.removal_eligibility, hid, self.ctx.year, self.ctx.today(),
                                                 self.way.value())
            except ServiceError as exc:
                self.check.setText(f"<span style='color:#c62828'>{escape(error_text(exc))}</span>")
            else:
                e = self.eligibility
                lines = [f"<span style='color:#c62828'>✗ {escape(p)}</span>" for p in e.problems]
                lines += [f"<span style='color:#b26a00'>⚠ {escape(w)}</span>" for w in e.warnings]
                lines += [f"<span style='color:#2e7d32'>✓ {escape(f)}</span>" for f in e.facts]
                verdict = ("<b style='color:#2e7d32'>符合风险消除条件</b>" if e.eligible
                           else "<b style='color:#c62828'>不符合风险消除条件，不能发起</b>")
                self.check.setText(f"{verdict}（截至 {self.ctx.today()}）<br>" + "<br>".join(lines))
        self.ok_button.setEnabled(bool(self.eligibility and self.eligibility.eligible))

    def submit(self) -> None:
        hid = self.household.household_id()
        if hid is None or not (self.eligibility and self.eligibility.eligible):
            raise ServiceError("不符合风险消除条件，不能发起")
        self.case_id = self.ctx.run(workflow.open_removal, hid, from_qdate(self.date.date()), self.way.value(),
                                    self.ctx.year, **self.kw())


# ---------------------------------------------------------------- 申请回退 / 清退

class ApplicationDialog(_StartDialog):
    ok_text = "提交申请"
    TITLES = {"rollback": "申请风险消除回退", "clearout": "申请清退"}
    HINTS = {"rollback": "适用于风险消除有误的户。申请经上级批准（批准文号、日期）后执行，该户恢复为监测中。",
             "clearout": "适用于识别错误的户。申请经上级批准（批准文号、日期）后执行，该户标注为清退。"}

    def __init__(self, ctx: AppContext, kind: str, parent: QWidget | None = None, household_no: str = ""):
        super().__init__(ctx, self.TITLES[kind], parent, household_no)
        self.kind = kind
        self.reason = _notes_edit("申请理由")
        self.form.addRow("户：", self.household)
        self.form.addRow("申请日期：", self.date)
        self.form.addRow("申请理由：", self.reason)
        self.finish_layout(self.HINTS[kind])

    def submit(self) -> None:
        hid = self.household.household_id()
        if hid is None:
            raise ServiceError("请填写已登记的户编号")
        self.case_id = self.ctx.run(workflow.apply_for, hid, self.kind, from_qdate(self.date.date()),
                                    _text(self.reason), **self.kw())


# ---------------------------------------------------------------- 脱贫不享受政策

class PolicyExclusionDialog(_StartDialog):
    ok_text = "发起认定"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, household_no: str = ""):
        super().__init__(ctx, "发起脱贫不享受政策认定", parent, household_no)
        self.form.addRow("户：", self.household)
        self.form.addRow("发起日期：", self.date)
        self.finish_layout("适用于符合《脱贫不享受政策人口认定标准》8 条之一、且不属 4 种例外的脱贫户；"
                           "按“民主评议—乡镇审核—村级公示（5 天）”的程序认定后，由乡镇（街道）汇总审定。")

    def submit(self) -> None:
        hid = self.household.household_id()
        if hid is None:
            raise ServiceError("请填写已登记的户编号")
        if self.ctx.year is None:
            raise ServiceError("未设置当前年度，无法判断")
        self.case_id = self.ctx.run(workflow.open_policy_exclusion, hid, from_qdate(self.date.date()), self.ctx.year,
                                    **self.kw())
