"""One household: its form, members, change records and history. Validation runs live; Save is
enabled only when nothing is wrong. Member changes of a saved household are events, applied at once."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..services import audit, regions, register
from ..services.concurrency import Conflict
from ..services.context import AppContext
from ..services.errors import ServiceError
from ..services.register import HEAD, HouseholdData, MemberData, Problem, ValidationError
from .errors import offer_reload, report_fault, show_error, show_info
from .member_dialogs import MemberEventDialog, MoveMemberDialog
from .models.member_table import COL, FIELDS, KINDS, MemberTableModel
from .widgets.code_delegate import delegate_for
from .widgets.household_sections import HINT_STYLE, BasicSection, GuaranteeSection, RiskSection
from .widgets.policy_section import PolicySection
from .widgets.problem_list import ProblemList
from .widgets.record_table import RecordTable

TAB_BASIC, TAB_GUARANTEE, TAB_RISK, TAB_MEMBERS, TAB_POLICY, TAB_EVENTS, TAB_HISTORY = range(7)
EVENT_COLUMNS = [("日期", lambda r: r.event_date), ("类型", lambda r: r.kind), ("成员", lambda r: r.member_name),
                 ("证件号码", lambda r: r.id_number), ("对方户编号", lambda r: r.other_household_no),
                 ("登记人", lambda r: r.recorded_by), ("说明", lambda r: r.note)]
HISTORY_COLUMNS = [("时间", lambda r: r.at), ("用户", lambda r: r.user), ("操作", lambda r: r.action),
                   ("对象", lambda r: r.what), ("字段", lambda r: r.field), ("原值", lambda r: r.old),
                   ("新值", lambda r: r.new)]


def scrolled(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area


class HouseholdEditor(QDialog):
    saved = Signal(int)  # household id, after a save or an applied member change

    def __init__(self, ctx: AppContext, household_id: int | None, parent: QWidget | None = None, *,
                 village_id: int | None = None, group_id: int | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.household_id = household_id
        self._defaults = (village_id, group_id)
        self._data = HouseholdData()
        self._snapshot: tuple[HouseholdData, list[MemberData]] | None = None
        self._service_problems: list[Problem] = []
        self._loading = False
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.setSizeGripEnabled(True)
        self.setObjectName("household_editor")
        self.resize(1280, 820)  # window_state.ScreenFit makes it fit the screen (and remembers the user's size)

        self.basic, self.guarantee, self.risk = BasicSection(), GuaranteeSection(), RiskSection()
        self.policy = PolicySection()
        self.members_model = MemberTableModel(parent=self)
        self.members_view = self._members_view()
        self.events_table = RecordTable(EVENT_COLUMNS, "尚无变动记录")
        self.history_table = RecordTable(HISTORY_COLUMNS, "尚无变更历史")
        self.access_hint = QLabel()
        self.access_hint.setStyleSheet("color: #b26a00;")
        self.access_hint.setWordWrap(True)
        self.access_hint.setVisible(False)

        self.tabs = QTabWidget()
        # The long forms scroll inside their tab, so 保存/关闭 stay on a 1366×768 screen (issue 19)
        self.tabs.addTab(scrolled(self.basic), "基本信息")
        self.tabs.addTab(scrolled(self.guarantee), "三保障和饮水安全")
        self.tabs.addTab(scrolled(self.risk), "风险类型")
        self.tabs.addTab(self._members_tab(), "家庭成员")
        self.tabs.addTab(self.policy, "脱贫不享受政策")
        self.tabs.addTab(self.events_table, "变动记录")
        self.tabs.addTab(self.history_table, "变更历史")

        self.problems = ProblemList()
        self.problems.problemActivated.connect(self.go_to_problem)
        self.save_button = QPushButton("保存")
        self.save_button.setToolTip("保存（Ctrl+S）")
        self.save_button.setDefault(False)
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save)
        self.close_button = QPushButton("关闭")
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.reject)
        self.status = QLabel()
        self.status.setStyleSheet(HINT_STYLE)
        QShortcut(QKeySequence("Ctrl+S"), self, activated=self._save_shortcut)

        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.save_button)
        bottom.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.access_hint)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.problems)
        layout.addLayout(bottom)

        for section in (self.basic, self.guarantee, self.risk, self.policy):
            section.changed.connect(self._edited)
        self.members_model.membersEdited.connect(self._edited)
        self.load()

    # ------------------------------------------------------------ building

    def _members_view(self) -> QTableView:
        view = QTableView()
        view.setModel(self.members_model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
                             | QAbstractItemView.EditTrigger.AnyKeyPressed)
        view.setTabKeyNavigation(True)
        view.setAlternatingRowColors(True)
        view.setWordWrap(False)
        self._delegates = []
        for col, (fld, kind) in enumerate(zip(FIELDS, KINDS, strict=True)):
            if fld not in register.READ_ONLY_MEMBER:
                delegate = delegate_for(kind, fld, view)
                self._delegates.append(delegate)
                view.setItemDelegateForColumn(col, delegate)
        view.horizontalHeader().setMinimumSectionSize(60)
        return view

    def _members_tab(self) -> QWidget:
        tab = QWidget()
        self.add_button = QPushButton("添加成员")
        self.event_button = QPushButton("成员变更…")
        self.move_button = QPushButton("迁往他户…")
        self.remove_button = QPushButton("删除此行")
        self.remove_button.setToolTip("只能删除尚未保存的新行；已登记的成员通过“成员变更”减少")
        self.up_button = QPushButton("上移")
        self.down_button = QPushButton("下移")
        self.add_button.clicked.connect(self.add_member)
        self.event_button.clicked.connect(self.member_event)
        self.move_button.clicked.connect(self.move_member)
        self.remove_button.clicked.connect(self.remove_row)
        self.up_button.clicked.connect(lambda: self.move_row(-1))
        self.down_button.clicked.connect(lambda: self.move_row(1))
        self.members_view.selectionModel().currentChanged.connect(lambda *_: self._update_member_buttons())
        buttons = QHBoxLayout()
        for b in (self.add_button, self.event_button, self.move_button, self.remove_button):
            b.setAutoDefault(False)
            buttons.addWidget(b)
        buttons.addStretch(1)
        for b in (self.up_button, self.down_button):
            b.setAutoDefault(False)
            buttons.addWidget(b)
        hint = QLabel("双击单元格、按 F2 或直接输入即可编辑；Tab 移到下一格。"
                      "已登记户的成员增减请用“添加成员”和“成员变更”登记，成员不会被删除。灰色行为已死亡、迁出、嫁出等非正常状态的成员。")
        hint.setWordWrap(True)
        hint.setStyleSheet(HINT_STYLE)
        layout = QVBoxLayout(tab)
        layout.addLayout(buttons)
        layout.addWidget(self.members_view, 1)
        layout.addWidget(hint)
        return tab

    # ------------------------------------------------------------ load, collect, validate

    def show_history(self) -> None:
        """Open on the 变更历史 tab (from a list's 变更历史 menu item)."""
        self.tabs.setCurrentIndex(TAB_HISTORY)

    def load(self) -> None:
        """Read the household (or start a new one) and show it; forgets unsaved edits."""
        user = self.ctx.user
        villages = self.ctx.read(regions.tree, counts=False)
        if self.household_id is None:
            village_id, group_id = self._defaults
            if village_id is None and user is not None and user.village_ids and len(user.village_ids) == 1:
                village_id = next(iter(user.village_ids))
            data, members = HouseholdData(village_id=village_id, group_id=group_id), []
            events, history = [], []
        else:
            data, members = self.ctx.read(register.get_household, self.household_id)
            events = self.ctx.read(register.events, self.household_id)
            history = self.ctx.read(audit.history, self.household_id)
        self._loading = True
        try:
            self.basic.set_regions(villages, user.village_ids if user else None)
            self._data = data
            self.basic.set_data(data)
            self.guarantee.set_data(data)
            self.risk.set_data(data)
            self.policy.set_data(data)
            self.members_model.set_members(members)
            self.events_table.set_rows(events)
            self.history_table.set_rows(history)
        finally:
            self._loading = False
        self.members_view.resizeColumnsToContents()
        self._service_problems = []
        self._snapshot = self.collect()
        allowed = user is None or data.village_id is None or user.may_edit_village(data.village_id)
        hint = "" if allowed else "您没有本户所在行政村的录入权限：可以查看，保存修改将被拒绝。"
        if data.closed_on is not None:
            hint = (f"本户已于 {data.closed_on} 注销（{data.closed_reason or ''}）：可以查看和打印，"
                    "不在工作列表和统计中；修改须由管理员先恢复该户（户籍登记中右键“恢复已注销的户”）。")
        self.access_hint.setText(hint)
        self.access_hint.setVisible(bool(hint))
        self._update_title()
        self._edited()

    def collect(self) -> tuple[HouseholdData, list[MemberData]]:
        """What the form shows now, as the service's data objects."""
        data = self.policy.fill(self.risk.fill(self.guarantee.fill(self.basic.fill(self._data))))
        return data, self.members_model.members()

    def is_dirty(self) -> bool:
        return self._snapshot is not None and self.collect() != self._snapshot

    def current_problems(self) -> list[Problem]:
        return self.problems.problems()

    def _edited(self) -> None:
        if self._loading:
            return
        self._service_problems = []
        self.revalidate()

    def revalidate(self) -> list[Problem]:
        data, members = self.collect()
        problems = register.validate(data, members, self.ctx.today()) + self._service_problems
        self.problems.set_problems(problems)
        self.members_model.set_problems(problems)
        household = {}
        for p in problems:
            if p.row is None:
                household.setdefault(p.field, []).append(p.message)
        for section in (self.basic, self.guarantee, self.risk, self.policy):
            section.mark(household)
        self.guarantee.set_members(members)
        self.save_button.setEnabled(not problems and self._data.closed_on is None)
        dirty = self.is_dirty()
        self.status.setText("有未保存的修改" if dirty else ("" if self.household_id is None else "已保存"))
        self.tabs.setTabText(TAB_MEMBERS, f"家庭成员（{sum(m.current for m in members)} 人）")
        self._update_member_buttons()
        return problems

    def _update_title(self) -> None:
        if self.household_id is None:
            self.setWindowTitle("新增户")
            return
        head = register.head_name(self.members_model.members())
        self.setWindowTitle(f"户信息 — {self._data.household_no}" + (f"（户主：{head}）" if head else ""))

    def go_to_problem(self, p: Problem) -> None:
        if p.row is not None:
            self.tabs.setCurrentIndex(TAB_MEMBERS)
            self.members_view.setCurrentIndex(self.members_model.index(p.row, COL.get(p.field, COL["name"])))
            self.members_view.setFocus()
            return
        for tab, section in ((TAB_BASIC, self.basic), (TAB_GUARANTEE, self.guarantee), (TAB_RISK, self.risk),
                             (TAB_POLICY, self.policy)):
            if p.field in section.widgets:
                self.tabs.setCurrentIndex(tab)
                section.widgets[p.field].setFocus()
                return
        self.tabs.setCurrentIndex(TAB_MEMBERS)

    # ------------------------------------------------------------ save and close

    def _commit_cell_editor(self) -> None:
        view = self.members_view
        editor = QApplication.focusWidget()
        if view.state() == QAbstractItemView.State.EditingState and editor is not None and view.isAncestorOf(editor):
            view.commitData(editor)
            view.closeEditor(editor, QAbstractItemView.EndEditHint.NoHint)

    def _save_shortcut(self) -> None:
        self._commit_cell_editor()
        if self.save_button.isEnabled():
            self.save()

    def save(self) -> bool:
        """Validate everything, then save in one transaction. True when saved."""
        self._commit_cell_editor()
        if self.revalidate():
            return False
        data, members = self.collect()
        try:
            hid = self.ctx.run(register.save_household, data, members, self.ctx.today(), self.ctx.user)
        except ValidationError as e:
            self._service_problems = list(e.problems)
            self.revalidate()
            return False
        except Conflict as e:  # another seat saved this household first: reload on request
            if offer_reload(self, e):
                self.load()
            return False
        except ServiceError as e:  # refused by the register, or the database is locked, read-only, full or gone
            show_error(self, e, "不能保存")
            return False
        except Exception as e:  # a fault: logged and shown (report_fault); the person's edits stay on screen
            report_fault(e)
            return False
        self.household_id = hid
        self.load()
        self.saved.emit(hid)
        return True

    def ask_unsaved(self, text: str, discard: bool = True) -> str:
        """"save", "discard" or "cancel" (tests replace this)."""
        box = QMessageBox(QMessageBox.Icon.Question, "未保存的修改", text, QMessageBox.StandardButton.NoButton, self)
        save = box.addButton("保存", QMessageBox.ButtonRole.AcceptRole)
        drop = box.addButton("放弃", QMessageBox.ButtonRole.DestructiveRole) if discard else None
        cancel = box.addButton("取消", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(save)
        box.setEscapeButton(cancel)
        box.exec()
        clicked = box.clickedButton()
        return "save" if clicked is save else "discard" if drop is not None and clicked is drop else "cancel"

    def reject(self) -> None:
        self._commit_cell_editor()
        if self.is_dirty():
            answer = self.ask_unsaved("本户有未保存的修改。关闭前要保存吗？")
            if answer == "cancel" or (answer == "save" and not self.save()):
                return
        super().reject()

    # ------------------------------------------------------------ members

    def _current_row(self) -> int | None:
        index = self.members_view.currentIndex()
        return index.row() if index.isValid() else None

    def _update_member_buttons(self) -> None:
        row = self._current_row()
        m = self.members_model.member(row) if row is not None else None
        saved = self.household_id is not None
        self.event_button.setEnabled(saved and m is not None and m.id is not None)
        self.move_button.setEnabled(saved and m is not None and m.id is not None and m.current)
        self.remove_button.setVisible(not saved)
        self.remove_button.setEnabled(m is not None and m.id is None)
        self.up_button.setEnabled(row is not None and row > 0)
        self.down_button.setEnabled(row is not None and row < self.members_model.rowCount() - 1)

    def run_dialog(self, dialog: QDialog) -> bool:
        """Show a member dialog modally (tests replace this)."""
        return dialog.exec() == QDialog.DialogCode.Accepted

    def _ready_for_event(self) -> bool:
        """Events apply at once to the saved household: pending edits are saved first."""
        self._commit_cell_editor()
        if not self.is_dirty():
            return True
        if self.current_problems():
            show_info(self, "本户有未保存且有问题的修改。请先修正并保存，或关闭后放弃修改，再登记成员变更。",
                      "请先保存")
            return False
        if self.ask_unsaved("登记成员变更前须先保存本户的修改。现在保存吗？", discard=False) != "save":
            return False
        return self.save()

    def _after_event(self, member_id: int | None) -> None:
        self.load()
        self.saved.emit(self.household_id)
        for row, m in enumerate(self.members_model.members()):
            if m.id == member_id:
                self.members_view.setCurrentIndex(self.members_model.index(row, COL["name"]))

    def add_member(self) -> None:
        if self.household_id is None:
            relation = HEAD if self.members_model.rowCount() == 0 else None
            row = self.members_model.add_blank(relation=relation)
            index = self.members_model.index(row, COL["name"])
            self.members_view.setCurrentIndex(index)
            self.members_view.setFocus()
            self.members_view.edit(index)
            return
        if not self._ready_for_event():
            return
        dialog = MemberEventDialog(self.ctx, self.household_id, register.event_kinds(None), parent=self)
        if self.run_dialog(dialog):
            self._after_event(dialog.member_id)

    def member_event(self) -> None:
        row = self._current_row()
        if self.household_id is None or row is None:
            return
        m = self.members_model.member(row)
        if m.id is None or not self._ready_for_event():
            return
        m = next((x for x in self.members_model.members() if x.id == m.id), m)
        kinds = register.event_kinds(m)
        dialog = MemberEventDialog(self.ctx, self.household_id, kinds, member=m, parent=self)
        if self.run_dialog(dialog):
            self._after_event(dialog.member_id)

    def move_member(self) -> None:
        row = self._current_row()
        if self.household_id is None or row is None:
            return
        m = self.members_model.member(row)
        if m.id is None or not m.current or not self._ready_for_event():
            return
        m = next((x for x in self.members_model.members() if x.id == m.id), m)
        dialog = MoveMemberDialog(self.ctx, m, self.household_id, parent=self)
        if self.run_dialog(dialog):
            self._after_event(m.id)

    def remove_row(self) -> None:
        row = self._current_row()
        if row is not None:
            self.members_model.remove_unsaved(row)

    def move_row(self, delta: int) -> None:
        row = self._current_row()
        if row is None:
            return
        column = self.members_view.currentIndex().column()
        new = self.members_model.move_row(row, delta)
        self.members_view.setCurrentIndex(self.members_model.index(new, column))
