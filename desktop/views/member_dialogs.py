"""Dialogs that change the members of a saved household, each applied at once as one service call:
a natural change (新生儿, 嫁入, 迁入 add a member; 死亡, 嫁出, 迁出, 其他减少, 恢复正常 change one) and
moving a member to another household of the register."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QDateEdit,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..services import register
from ..services.codes import codes
from ..services.context import AppContext
from ..services.idnumber import normalize_id, parse_id
from ..services.labels import field_label
from ..services.register import MemberData, Problem, RegisterError, ValidationError
from .errors import error_label, error_text, ok_cancel, set_error
from .models.member_table import FIELDS, KINDS, date_from_text
from .widgets.code_combo import ValueCombo, bool_combo, code_combo
from .widgets.household_picker import HouseholdPicker
from .widgets.household_sections import INVALID_STYLE

REQUIRED = ("name", "id_number", "sex", "relation")


def to_qdate(d: date) -> QDate:
    return QDate(d.year, d.month, d.day)


def from_qdate(q: QDate) -> date:
    return date(q.year(), q.month(), q.day())


def date_edit(value: date, maximum: date | None = None) -> QDateEdit:
    edit = QDateEdit(to_qdate(value))
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    if maximum is not None:
        edit.setMaximumDate(to_qdate(maximum))
    return edit


def problem_text(p: Problem) -> str:
    """A member problem without the table-row prefix (第 1 行成员“…”：), which means nothing in a dialog."""
    head, sep, rest = p.message.partition("：")
    return rest if sep and head.startswith("第 1 行成员") else p.message


class MemberForm(QWidget):
    """Every editable member field; 姓名, 证件号码, 性别, 与户主关系 first. Sex follows the ID number
    until chosen by hand."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.widgets: dict[str, QWidget] = {}
        for fld, kind in zip(FIELDS, KINDS, strict=True):
            if fld in register.READ_ONLY_MEMBER:
                continue
            self.widgets[fld] = self._widget(fld, kind)
        self.widgets["id_number"].textEdited.connect(self._id_edited)
        self.birth = QLabel("—")  # 出生日期: what the ID number says (not a field of its own)
        self.birth.setToolTip("由身份证号得出")

        required = QGroupBox("必填")
        form = QFormLayout(required)
        for fld in REQUIRED:
            form.addRow(field_label("member", fld) + "：", self.widgets[fld])
            if fld == "id_number":
                form.addRow(field_label("member", "birth_date") + "：", self.birth)
        optional = QGroupBox("其他信息（可稍后在成员表中填写）")
        grid = QGridLayout(optional)
        others = [f for f in self.widgets if f not in REQUIRED]
        half = (len(others) + 1) // 2
        for i, fld in enumerate(others):
            col = 0 if i < half else 2
            grid.addWidget(QLabel(field_label("member", fld) + "："), i % half, col)
            grid.addWidget(self.widgets[fld], i % half, col + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(required)
        layout.addWidget(optional)
        self.set_member(MemberData())

    @staticmethod
    def _widget(fld: str, kind: str | None) -> QWidget:
        if kind == "bool":
            return bool_combo("（空）")
        if kind == "int":
            spin = QSpinBox()
            spin.setRange(-1, 12)
            spin.setSpecialValueText("（空）")
            spin.setValue(-1)
            return spin
        if kind is None:
            edit = QLineEdit()
            edit.setMaxLength(22 if fld == "id_number" else 64)
            return edit
        if kind == "date":
            edit = QLineEdit()
            edit.setPlaceholderText("如 2024-05-01，不知道就空着")
            edit.setProperty("kind", "date")
            return edit
        return code_combo(kind, "（请选择）" if fld == "relation" else "")

    def _id_edited(self, text: str) -> None:
        edit: QLineEdit = self.widgets["id_number"]
        if text != text.upper():
            pos = edit.cursorPosition()
            edit.setText(text.upper())
            edit.setCursorPosition(pos)
        sex: ValueCombo = self.widgets["sex"]
        info = parse_id(text)
        self._show_birth(text)
        if info.sex and (sex.value() is None or sex.property("auto")):
            sex.set_value(info.sex)
            sex.setProperty("auto", True)

    def _show_birth(self, text: str) -> None:
        born = MemberData(id_number=normalize_id(text)).birth_date
        self.birth.setText(born.isoformat() if born else "—（身份证号填写完整后显示）")

    def set_member(self, m: MemberData) -> None:
        self._show_birth(m.id_number)
        for fld, w in self.widgets.items():
            value = getattr(m, fld)
            if isinstance(w, ValueCombo):
                w.set_value(value)
            elif isinstance(w, QSpinBox):
                w.setValue(-1 if value is None else value)
            elif isinstance(value, date):
                w.setText(value.isoformat())
            else:
                w.setText(value or "")

    def member(self) -> MemberData:
        values = {}
        for fld, w in self.widgets.items():
            if isinstance(w, ValueCombo):
                values[fld] = w.value()
            elif isinstance(w, QSpinBox):
                values[fld] = None if w.value() < 0 else w.value()
            elif w.property("kind") == "date":
                values[fld] = date_from_text(w.text())  # a bad date is kept: validate names it
            else:
                text = w.text().strip()
                values[fld] = normalize_id(text) if fld == "id_number" else (text if fld == "name" else text or None)
        return MemberData(**values)

    def mark(self, problems: list[Problem]) -> None:
        bad = {p.field for p in problems}
        for fld, w in self.widgets.items():
            w.setStyleSheet(INVALID_STYLE if fld in bad else "")


class MemberEventDialog(QDialog):
    """Record one natural change. `kinds` are codes of "member_event"; additions need the member form,
    the others a member (`member`). On success `member_id` is the member concerned."""

    def __init__(self, ctx: AppContext, household_id: int, kinds: list[str], member: MemberData | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.household_id = household_id
        self.member = member
        self.member_id: int | None = None
        event_codes = codes("member_event")
        # With a choice to make, nothing is preselected: a wrong kind is a wrong record.
        self.kind = ValueCombo([(event_codes.name(k), k) for k in kinds], "（请选择）" if len(kinds) > 1 else None)
        self.date = date_edit(ctx.today(), ctx.today())
        self.note = QLineEdit()
        self.note.setMaxLength(200)
        self.note.setPlaceholderText("如：死亡证明编号、迁入来源地")
        self.form = MemberForm()
        self.error = error_label(self)

        top = QFormLayout()
        top.addRow(field_label("member_event", "kind") + "：", self.kind)
        if member is not None:
            who = QLabel(f"{member.name}（{member.id_number}），当前状态："
                         f"{codes('member_status').name(member.status, member.status)}")
            top.addRow("成员：", who)
        top.addRow(field_label("member_event", "event_date") + "：", self.date)
        top.addRow(field_label("member_event", "note") + "：", self.note)

        self.buttons = ok_cancel(self, self.accept)
        # the member form scrolls (it has every A5–A22 field), so 确定/取消 stay on a 1366×768 screen
        self.form_area = QScrollArea()
        self.form_area.setWidgetResizable(True)
        self.form_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.form_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.form_area.setWidget(self.form)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.form_area, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

        self.kind.valueChanged.connect(lambda _k: self._kind_changed())
        self._kind_changed()
        self.setMinimumWidth(460)
        if self._adds():  # as tall as the whole form where the screen allows (window_state.ScreenFit clamps it)
            self.resize(max(self.sizeHint().width(), self.form.sizeHint().width() + 60),
                        self.form.sizeHint().height() + self.sizeHint().height())
        self.setWindowTitle("添加成员" if self._adds() else f"成员变更 — {member.name if member else ''}")

    def _adds(self) -> bool:
        """Whether the chosen kind adds a member (before a choice: whether every offered kind does)."""
        kind = self.kind.value()
        offered = [self.kind.itemData(i) for i in range(self.kind.count()) if self.kind.itemData(i) is not None]
        event_codes = codes("member_event")
        return all(event_codes.get(k).flag("adds_member") for k in ([kind] if kind else offered))

    def _kind_changed(self) -> None:
        self.form_area.setVisible(self._adds())
        set_error(self.error, None)
        self.adjustSize()

    def _show(self, problems: list[Problem] | None = None, text: str | None = None) -> None:
        problems = problems or []
        self.form.mark(problems)
        lines = [problem_text(p) for p in problems] + ([text] if text else [])
        set_error(self.error, "\n".join(lines) or None)

    def accept(self) -> None:
        kind, when = self.kind.value(), from_qdate(self.date.date())
        if kind is None:
            self._show(text="请选择变更类型")
            return
        kwargs = dict(note=self.note.text(), as_of=self.ctx.today(), user=self.ctx.user)
        if self._adds():
            new = self.form.member()
            problems = register.validate_member(new, 0, self.ctx.today())
            if problems:
                self._show(problems)
                return
            kwargs["new_member"] = new
        else:
            kwargs["member_id"] = self.member.id if self.member else None
        try:
            self.member_id = self.ctx.run(register.record_event, self.household_id, kind, when, **kwargs)
        except ValidationError as e:
            self._show(e.problems)
            return
        except RegisterError as e:
            self._show(text=error_text(e))
            return
        super().accept()


class MoveMemberDialog(QDialog):
    """Move a member to another household of the register (迁出 here, 迁入 there, linked)."""

    def __init__(self, ctx: AppContext, member: MemberData, household_id: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.member = member
        self.household_id = household_id
        self.target_id: int | None = None
        self.new_member_id: int | None = None
        self.setWindowTitle(f"迁往他户 — {member.name}")
        self.target = HouseholdPicker(ctx, exclude=household_id)
        self.target_no = self.target.number  # the typed text (a household number once chosen)
        self.target_info = self.target.info
        self.relation = code_combo("relation", "（请选择）")
        self.date = date_edit(ctx.today(), ctx.today())
        self.note = QLineEdit()
        self.note.setMaxLength(200)
        self.error = error_label(self)
        form = QFormLayout()
        form.addRow("成员：", QLabel(f"{member.name}（{member.id_number}）"))
        form.addRow("目标户：", self.target)
        form.addRow("在新户中与户主关系：", self.relation)
        form.addRow("迁移日期：", self.date)
        form.addRow("说明：", self.note)
        self.buttons = ok_cancel(self, self.accept)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.target.changed.connect(self._target_changed)
        self.setMinimumWidth(460)

    def _target_changed(self, household_id: int | None) -> None:
        set_error(self.error, None)
        self.target_id = household_id

    def accept(self) -> None:
        if self.target_id is None:
            set_error(self.error, "请选择一个已登记的其他户（输入户编号、户主或成员姓名、身份证号查找）")
            return
        if self.relation.value() is None:
            set_error(self.error, "请选择在新户中与户主的关系")
            return
        try:
            self.new_member_id = self.ctx.run(register.move_member, self.member.id, self.target_id,
                                              from_qdate(self.date.date()), self.relation.value(),
                                              self.note.text(), self.ctx.today(), self.ctx.user)
        except ValidationError as e:
            set_error(self.error, "\n".join(problem_text(p) for p in e.problems))
            return
        except RegisterError as e:
            set_error(self.error, error_text(e))
            return
        super().accept()
