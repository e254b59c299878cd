"""One case: its header, the timeline of steps (deadlines, overdue in red, the pending step
highlighted), the frozen assessment of each decision, and the form of the next step."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..services import corrections, workflow
from ..services.assess import read_snapshot
from ..services.codes import codes, income_items
from ..services.context import AppContext
from ..services.errors import ServiceError
from ..services.workflow import CaseView, StepView
from .errors import error_label, set_error
from .models.case_table import (
    STEP_ACTOR,
    STEP_DONE,
    STEP_DUE,
    STEP_NAME,
    STEP_NOTES,
    STEP_RESULT,
    STEP_SEQ,
    StepTableModel,
)
from .step_form import StepForm

SNAPSHOT_TITLE = "决定时的测算（冻结）"
STATE_COLOURS = {workflow.OPEN: "#1565c0", workflow.DONE: "#2e7d32", workflow.FAILED: "#6b7280",
                 workflow.VOID: "#9ca3af"}
REASON_LABELS = {"green": "纳入原因："}  # what the opening reason is called, by procedure (else 申请理由)
HINT = "<span style='color:#777'>{}</span>"


def _money(text) -> str:
    if text in (None, ""):
        return "—"
    try:
        return f"{Decimal(str(text)):,.2f}"
    except InvalidOperation:
        return escape(str(text))


def snapshot_html(snapshot: dict | None) -> str:
    """The frozen facts of a decision for people, whatever snapshot version wrote them
    (services.assess.read_snapshot)."""
    snap = read_snapshot(snapshot)
    if snap is None:
        return HINT.format("该步骤没有冻结测算")
    if snap.error:
        return f"<p style='color:#c62828'>当时无法测算：{escape(snap.error)}</p>"
    rows = [("年度", f"{snap.year or ''} 年"), ("家庭人口", f"{snap.size if snap.size is not None else ''} 人"),
            ("监测线", f"{_money(snap.monitoring_line)} 元/人·年"),
            ("A33 家庭纯收入", _money(snap.money.get("A33"))), ("A34 家庭人均纯收入", _money(snap.money.get("A34"))),
            ("A37 纳入监测收入参考范围", _money(snap.money.get("A37"))),
            ("A38 人均收入参考范围", f"<b>{_money(snap.money.get('A38'))}</b>")]
    category = snap.category_name or "无"
    if snap.needs_review:
        category += "（需人工研判）"
    rows.append(("建议类别", f"<b>{escape(category)}</b>"))
    problems = snap.guarantee_problems
    rows.append(("三保障和饮水安全", "、".join(escape(p) for p in problems) + " 有问题" if problems else "有保障"))
    rows.append(("整户无劳动能力", "是" if snap.whole_household_no_labor else "否"))
    if snap.developmental_measure_required:
        rows.append(("开发式帮扶", "缺少，应落实" if snap.developmental_measure_missing else "已落实"))
    if snap.warning_color:
        rows.append(("三色预警", escape(snap.warning_color)))
    label = "<td style='color:#555; padding-right:10px'>{}</td>"
    left = "".join(f"<tr>{label.format(k)}<td>{v}</td></tr>" for k, v in rows)
    right = ""
    if snap.totals:
        names = {i["code"]: i["name"] for i in income_items()}
        right += "<tr><td colspan='2'><b>收入构成（元）</b></td></tr>" + "".join(
            f"<tr>{label.format(f'{code} {escape(names.get(code, code))}')}<td align='right'>{_money(v)}</td></tr>"
            for code, v in snap.totals.items())
    if snap.policy_lines:
        right += "<tr><td colspan='2' style='padding-top:6px'><b>脱贫不享受政策认定</b></td></tr>" + "".join(
            f"<tr><td colspan='2'>· {escape(r)}</td></tr>" for r in snap.policy_lines)
    if snap.reasons:
        right += "<tr><td colspan='2' style='padding-top:6px'><b>理由</b></td></tr>" + "".join(
            f"<tr><td colspan='2'>· {escape(r)}</td></tr>" for r in snap.reasons)
    return (f"<table cellspacing='0' cellpadding='0'><tr><td valign='top' style='padding-right:28px'>"
            f"<table cellspacing='0' cellpadding='1'>{left}</table></td>"
            f"<td valign='top'><table cellspacing='0' cellpadding='1'>{right}</table></td></tr></table>")


def _field_names(kind: str) -> dict[str, str]:
    names = {}
    for step in workflow.procedure(kind).steps:
        names.update(step.field_labels)
    return names


def _opening(case: CaseView) -> str:
    """What the case was opened with: the green-channel reason, the removal way, the application reason."""
    d = case.data
    parts = []
    if d.get("reason"):
        parts.append(REASON_LABELS.get(case.kind, "申请理由：") + escape(d["reason"]))
    if d.get("way"):
        parts.append("消除方式：" + escape(codes("removal_way").name(d["way"], d["way"])))
    if d.get("green_entry"):
        parts.append(f"绿色通道纳入日期 {escape(d['green_entry'])}（即识别时间）")
    return "；".join(parts)


class CasePanel(QWidget):
    changed = Signal(int)  # case id, after a step was recorded
    open_household = Signal(int)
    open_case = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.case: CaseView | None = None
        self.plan_editor = None

        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.others = QLabel()
        self.others.setTextFormat(Qt.TextFormat.RichText)
        self.others.setWordWrap(True)
        self.others.linkActivated.connect(lambda link: self.open_case.emit(int(link.split(":")[1])))
        self.household_button = QPushButton("打开户")
        self.household_button.setToolTip("在户籍登记中打开本户")
        self.household_button.clicked.connect(lambda: self.case and self.open_household.emit(self.case.household_id))
        self.plan_button = QPushButton("帮扶计划")
        self.plan_button.setToolTip("查看和制定本户的帮扶措施")
        self.plan_button.clicked.connect(self.open_plan)
        self.correct_button = QPushButton("更正步骤…")
        self.correct_button.setToolTip("更正所选已办理步骤的日期、说明或内容（须填写原因，原值保留在更正记录中）")
        self.correct_button.clicked.connect(self.correct_step)
        self.date_button = QPushButton("更正发起日期…")
        self.date_button.setToolTip("更正流程的发起日期（认定流程为线索日期），期限随之重新计算")
        self.date_button.clicked.connect(self.correct_date)
        self.void_button = QPushButton("作废…")
        self.void_button.setToolTip("作废误建或重复的流程（须填写原因；流程保留并显示为已作废）")
        self.void_button.clicked.connect(self.void_case)
        self.corrections = QLabel()
        self.corrections.setWordWrap(True)
        self.corrections.setTextFormat(Qt.TextFormat.RichText)
        self.corrections.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error = error_label(self)
        self.dialog = None  # the open correction dialog (tests reach it here)

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.household_button)
        top.addWidget(self.plan_button)
        top.addWidget(self.correct_button)
        top.addWidget(self.date_button)
        top.addWidget(self.void_button)

        self.steps = StepTableModel(self)
        self.timeline = QTableView()
        self.timeline.setModel(self.steps)
        self.timeline.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.timeline.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.timeline.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.timeline.setWordWrap(False)
        self.timeline.verticalHeader().setVisible(False)
        self.timeline.verticalHeader().setDefaultSectionSize(self.timeline.fontMetrics().height() + 8)
        header = self.timeline.horizontalHeader()
        header.setHighlightSections(False)
        fm = self.timeline.fontMetrics()
        widths = {STEP_SEQ: "序号", STEP_NAME: "入户核实和农户授权承诺", STEP_DUE: "2024-12-31",
                  STEP_DONE: "2024-12-31", STEP_ACTOR: "管理员", STEP_RESULT: "退回修改"}
        for col, sample in widths.items():
            header.resizeSection(col, fm.horizontalAdvance(sample) + 24)
        header.setSectionResizeMode(STEP_NOTES, QHeaderView.ResizeMode.Stretch)
        self.timeline.selectionModel().currentRowChanged.connect(lambda *_: self._show_snapshot())
        self.timeline.selectionModel().currentRowChanged.connect(lambda *_: self._enable_correction())

        self.snapshot_box = QGroupBox(SNAPSHOT_TITLE)
        self.snapshot = QTextBrowser()
        self.snapshot.setOpenLinks(False)
        self.snapshot.setFrameShape(QTextBrowser.Shape.NoFrame)
        QVBoxLayout(self.snapshot_box).addWidget(self.snapshot)

        self.form = StepForm(ctx)
        self.form.done.connect(self._step_done)

        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.timeline)
        left.addWidget(self.snapshot_box)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 2)
        left.setChildrenCollapsible(False)
        self.right = QWidget()  # the next step's form; hidden once the case is closed
        rl = QVBoxLayout(self.right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.form)
        rl.addStretch(1)
        self.body = QSplitter(Qt.Orientation.Horizontal)
        self.body.addWidget(left)
        self.body.addWidget(self.right)
        self.body.setStretchFactor(0, 3)
        self.body.setStretchFactor(1, 2)
        self.body.setChildrenCollapsible(False)

        self.empty = QLabel(HINT.format("在上方列表中选择一个流程"))
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addLayout(top)
        layout.addWidget(self.header)
        layout.addWidget(self.others)
        layout.addWidget(self.corrections)
        layout.addWidget(self.error)
        layout.addWidget(self.body, 1)
        self.load(None)

    # ------------------------------------------------------------------ loading

    def load(self, case_id: int | None) -> CaseView | None:
        set_error(self.error, None)
        try:
            self.case = self.ctx.read(workflow.view, case_id, self.ctx.today()) if case_id is not None else None
        except ServiceError as exc:
            self.case = None
            set_error(self.error, exc)
        case = self.case
        has = case is not None
        for w in (self.title, self.header, self.others, self.household_button, self.plan_button, self.body,
                  self.correct_button, self.date_button, self.void_button):
            w.setVisible(has)
        self.corrections.setVisible(False)
        self.empty.setVisible(not has and not self.error.isVisible())
        if not has:
            self.steps.set_steps([], self.ctx.today())
            self.form.set_case(None)
            return None
        colour = STATE_COLOURS.get(case.state, "#000")
        self.title.setText(f"<span style='font-size:13pt'><b>#{case.id} {escape(case.kind_name)}</b></span>"
                           f"　<span style='color:{colour}'><b>{escape(case.state_name)}</b></span>")
        parts = [f"户编号 <b>{escape(case.household_no)}</b>", f"户主 <b>{escape(case.head_name or '—')}</b>",
                 f"行政村 {escape(case.village)}", f"发起日期 {case.opened_on}"]
        if case.closed_on:
            ended = "作废" if case.voided else "终止" if case.failed else "办结"
            parts.append(f"{ended}日期 {case.closed_on}")
        lines = ["　".join(parts)]
        if _opening(case):
            lines.append(_opening(case))
        if case.end_reason and not case.voided:
            lines.append(f"<span style='color:#c62828'>终止原因：{escape(case.end_reason)}</span>")
        self.header.setText("<br>".join(lines))
        self._show_others(case)
        values = {("category", c.code): c.name for c in codes("category")}
        upcoming = self.ctx.read(workflow.upcoming, case.id)
        self.steps.set_steps(case.steps, self.ctx.today(), _field_names(case.kind), values, upcoming)
        self._show_corrections(case)
        self.timeline.resizeColumnToContents(STEP_NAME)  # a few rows: cheap, and long step names fit
        self.form.set_case(case)
        self.right.setVisible(case.is_open)
        # The latest decision is selected, so its frozen assessment shows; the pending row stays highlighted.
        pending = self.steps.pending_row()
        decided = [i for i, st in enumerate(case.steps) if st.snapshot]
        self.select_step(decided[-1] if decided else pending if pending is not None else len(case.steps) - 1)
        if pending is not None:
            self.timeline.scrollTo(self.steps.index(pending, 0))
        return case

    def _show_corrections(self, case: CaseView) -> None:
        rows = self.ctx.read(corrections.case_corrections, case.id)
        by_step = self.ctx.read(corrections.corrected_steps, case.id)
        self.steps.set_corrections({seq: [r.text for r in rs] for seq, rs in by_step.items()})
        if rows:
            self.corrections.setText("<b>更正和作废记录</b>（原值保留）：<br>"
                                     + "<br>".join(escape(r.text) for r in rows))
        self.corrections.setVisible(bool(rows))
        self.void_button.setVisible(corrections.may_void(self.ctx.user) and case.is_open)
        self.date_button.setEnabled(not case.voided)
        self._enable_correction()

    def _enable_correction(self) -> None:
        step = self.current_step()
        ok = (self.case is not None and not self.case.voided and step is not None and step.done_on is not None
              and not self.steps.is_upcoming(step))
        self.correct_button.setEnabled(ok)

    def correct_step(self):
        """更正 the selected recorded step (a dialog with a required reason)."""
        step = self.current_step()
        if self.case is None or step is None or step.done_on is None:
            return None
        from .correction_dialogs import StepCorrectionDialog
        return self._open_dialog(StepCorrectionDialog(self.ctx, self.case, step, self))

    def correct_date(self):
        if self.case is None:
            return None
        from .correction_dialogs import CaseDateDialog
        return self._open_dialog(CaseDateDialog(self.ctx, self.case, self))

    def void_case(self):
        if self.case is None:
            return None
        from .correction_dialogs import VoidCaseDialog
        return self._open_dialog(VoidCaseDialog(self.ctx, self.case, self))

    def _open_dialog(self, dialog):
        self.dialog = dialog
        case_id = self.case.id
        dialog.accepted.connect(lambda: self._step_done(case_id))
        dialog.open()
        return dialog

    def reload(self) -> None:
        self.load(self.case.id if self.case else None)

    def _show_others(self, case: CaseView) -> None:
        rows = [r for r in self.ctx.read(workflow.cases, self.ctx.today(), household_id=case.household_id,
                                           include_void=True)
                if r.id != case.id]
        links = [f"<a href='case:{r.id}'>#{r.id} {escape(r.kind_name)}（{escape(r.state_name)}）</a>" for r in rows]
        self.others.setText("本户其他流程：" + "　".join(links) if links else "")
        self.others.setVisible(bool(links))

    # ------------------------------------------------------------------ timeline and snapshot

    def select_step(self, row: int) -> None:
        if 0 <= row < self.steps.rowCount():
            self.timeline.selectRow(row)
            self.timeline.setCurrentIndex(self.steps.index(row, 0))
        self._show_snapshot()

    def current_step(self) -> StepView | None:
        index = self.timeline.currentIndex()
        return self.steps.step(index.row()) if index.isValid() else None

    def _show_snapshot(self) -> None:
        step = self.current_step()
        if step is None:
            self.snapshot.setHtml(HINT.format("选择一个步骤查看"))
        elif self.steps.is_upcoming(step):
            due = f"，应于 {step.due_on} 前完成" if step.due_on else ""
            self.snapshot.setHtml(HINT.format(f"“{escape(step.name)}”尚未开始{due}。"))
        elif step.done_on is None:
            self.snapshot.setHtml(HINT.format(f"“{escape(step.name)}”尚未办理。选中已作出决定的步骤（如民主评议、"
                                              "审核、批准）可查看当时冻结的测算。"))
        elif not step.snapshot:
            self.snapshot.setHtml(HINT.format(f"“{escape(step.name)}”不冻结测算：只有评议、审核和批准等决定"
                                              "才保存当时的测算"))
        else:
            self.snapshot.setHtml(f"<p style='margin:0 0 4px 0'><b>{escape(step.name)}</b>（{step.done_on}，"
                                  f"{escape(step.result_name)}）时的测算，此后修改户信息不会改变：</p>"
                                  + snapshot_html(step.snapshot))

    # ------------------------------------------------------------------ actions

    def _step_done(self, case_id: int) -> None:
        self.load(case_id)
        self.changed.emit(case_id)

    def open_plan(self):
        """The assistance plan of the case's household (linked to the case for 认定 and 绿色通道)."""
        if self.case is None:
            return None
        from .plan_editor import PlanEditor

        case_id = self.case.id if self.case.plans_assistance else None
        self.plan_editor = PlanEditor(self.ctx, self.case.household_id, case_id, self)
        self.plan_editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.plan_editor.destroyed.connect(lambda *_: setattr(self, "plan_editor", None))
        self.plan_editor.open()
        return self.plan_editor
