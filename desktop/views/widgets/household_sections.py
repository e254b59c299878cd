"""The household editor's form sections: 基本信息, 三保障和饮水安全, 风险类型. Each shows a HouseholdData,
writes its editable fields back with `fill()`, and emits `changed` on every edit."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from ...services.codes import codes
from ...services.labels import field_label
from ...services.regions import VillageNode
from ...services.register import AFTER_REMOVAL, HouseholdData, MemberData, a17_rows, derived_a26
from .code_combo import ValueCombo, bool_combo, code_combo

INVALID_STYLE = "background-color: #fde2e2;"
HINT_STYLE = "color: #666666;"
DISASTER = "04"  # risk type 因自然灾害: shows A27a


def label(fld: str) -> str:
    return field_label("household", fld) + "："


def _text(edit: QLineEdit | QPlainTextEdit) -> str | None:
    text = edit.toPlainText() if isinstance(edit, QPlainTextEdit) else edit.text()
    return text.strip() or None


def _date(value: date | None) -> str:
    return value.isoformat() if value else "—"


class Section(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.widgets: dict[str, QWidget] = {}

    def _watch(self, fld: str, w: QWidget) -> QWidget:
        self.widgets[fld] = w
        if isinstance(w, ValueCombo):
            w.valueChanged.connect(lambda _v: self.changed.emit())
        elif isinstance(w, QLineEdit):
            w.textChanged.connect(lambda _t: self.changed.emit())
        elif isinstance(w, QPlainTextEdit):
            w.textChanged.connect(self.changed.emit)
        elif isinstance(w, QCheckBox):
            w.toggled.connect(lambda _c: self.changed.emit())
        return w

    def mark(self, messages: dict[str, list[str]]) -> None:
        """Light red background and a tooltip on fields with problems; clear the others."""
        for fld, w in self.widgets.items():
            text = "\n".join(messages.get(fld, []))
            w.setStyleSheet(INVALID_STYLE if text else "")
            w.setToolTip(text)


class BasicSection(Section):
    """户编号, address, contact, A1–A4, 低保档次, A55; the procedure fields read-only with a hint."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._villages: list[VillageNode] = []
        self.household_no = self._watch("household_no", QLineEdit())
        self.household_no.setMaxLength(32)
        self.household_no.setPlaceholderText("如 3703050010010001")
        self.village = self._watch("village_id", ValueCombo(blank="（请选择）"))
        self.group = self._watch("group_id", ValueCombo(blank="（未分组）"))
        self.village.valueChanged.connect(self._village_changed)
        self.address = self._watch("address", QLineEdit())
        self.address.setPlaceholderText("门牌号等")
        self.phone = self._watch("phone", QLineEdit())
        self.a1 = self._watch("a1_relocation_site", bool_combo())
        self.a2 = self._watch("a2_site_address", QLineEdit())
        self.a3 = self._watch("a3_category", code_combo("category", "（无）"))
        # 是 / 否 / 未填: a list imported without 户类型 leaves it unknown, never 否
        self.a4 = self._watch("a4_poverty_alleviated", bool_combo())
        self.a4.setToolTip("脱贫户：2014–2020 年建档立卡")
        self.whole = self._watch("whole_no_labor_guarantee", bool_combo())
        self.dibao_tier = self._watch("dibao_tier", code_combo("dibao_tier", "（无）"))
        self.petition = self._watch("petition", bool_combo())
        self.a55 = self._watch("a55_contact_person", QLineEdit())
        self.contact_phone = self._watch("contact_phone", QLineEdit())
        self.note = self._watch("note", QPlainTextEdit())
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(self.fontMetrics().lineSpacing() * 3 + 12)

        self.status = QLabel()
        self.identified_on = QLabel()
        self.a53 = QLabel()
        self.a54 = QLabel()

        place = QGroupBox("户籍与地址")
        f1 = self._form(place)
        f1.addRow(label("household_no"), self.household_no)
        f1.addRow(label("village_id"), self.village)
        f1.addRow("村民小组：", self.group)
        f1.addRow(label("address"), self.address)
        f1.addRow(label("phone"), self.phone)
        f1.addRow(label("a1_relocation_site"), self.a1)
        f1.addRow(label("a2_site_address"), self.a2)

        monitor = QGroupBox("监测信息")
        f2 = self._form(monitor)
        f2.addRow(label("a3_category"), self.a3)
        f2.addRow(field_label("household", "a4_poverty_alleviated") + "：", self.a4)
        f2.addRow("整户无劳动能力兜底保障户：", self.whole)
        f2.addRow(label("dibao_tier"), self.dibao_tier)
        f2.addRow(label("petition"), self.petition)
        f2.addRow(label("a55_contact_person"), self.a55)
        f2.addRow(label("contact_phone"), self.contact_phone)

        procedure = QGroupBox("流程状态（只读）")
        f3 = self._form(procedure)
        f3.addRow(label("monitoring_status"), self.status)
        f3.addRow(label("identified_on"), self.identified_on)
        f3.addRow(label("a53_removal_way"), self.a53)
        f3.addRow(label("a54_removed_on"), self.a54)
        hint = QLabel("这些项目只能通过认定、风险消除、回退、清退等流程变更，不能在此直接修改。")
        hint.setWordWrap(True)
        hint.setStyleSheet(HINT_STYLE)
        f3.addRow(hint)

        note_box = QGroupBox(field_label("household", "note"))
        QVBoxLayout(note_box).addWidget(self.note)

        grid = QGridLayout(self)
        grid.addWidget(place, 0, 0, 2, 1)
        grid.addWidget(monitor, 0, 1)
        grid.addWidget(procedure, 1, 1)
        grid.addWidget(note_box, 2, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(3, 1)
        self.a1.valueChanged.connect(lambda v: self.a2.setEnabled(v is True or bool(self.a2.text())))

    @staticmethod
    def _form(box: QGroupBox) -> QFormLayout:
        form = QFormLayout(box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return form

    def set_regions(self, villages: list[VillageNode], allowed: frozenset[int] | None) -> None:
        """All villages; for a clerk the others are listed but cannot be chosen."""
        self._villages = villages
        self.village.set_items([(v.name, v.id) for v in villages], "（请选择）")
        model = self.village.model()
        for i in range(self.village.count()):
            vid = self.village.itemData(i)
            if allowed is not None and vid is not None and vid not in allowed:
                model.item(i).setEnabled(False)

    def _village_changed(self, village_id) -> None:
        groups = next((v.groups for v in self._villages if v.id == village_id), [])
        self.group.set_items([(g.name, g.id) for g in groups], "（未分组）")
        self.group.setEnabled(bool(groups))

    def set_data(self, d: HouseholdData) -> None:
        self.household_no.setText(d.household_no or "")
        self.village.set_value(d.village_id)
        self._village_changed(d.village_id)
        self.group.set_value(d.group_id)
        self.address.setText(d.address or "")
        self.phone.setText(d.phone or "")
        self.a1.set_value(d.a1_relocation_site)
        self.a2.setText(d.a2_site_address or "")
        self.a2.setEnabled(d.a1_relocation_site is True or bool(d.a2_site_address))
        self.a3.set_value(d.a3_category)
        self.a4.set_value(d.a4_poverty_alleviated)
        self.whole.set_value(d.whole_no_labor_guarantee)
        self.dibao_tier.set_value(d.dibao_tier)
        self.petition.set_value(d.petition)
        self.a55.setText(d.a55_contact_person or "")
        self.contact_phone.setText(d.contact_phone or "")
        self.note.setPlainText(d.note or "")
        self.status.setText(codes("monitoring_status").name(d.monitoring_status, d.monitoring_status))
        self.identified_on.setText(_date(d.identified_on))
        self.a53.setText(codes("removal_way").name(d.a53_removal_way, "—"))
        self.a54.setText(_date(d.a54_removed_on))

    def fill(self, d: HouseholdData) -> HouseholdData:
        return replace(d, household_no=self.household_no.text().strip(), village_id=self.village.value(),
                       group_id=self.group.value(), address=_text(self.address), phone=_text(self.phone),
                       a1_relocation_site=self.a1.value(), a2_site_address=_text(self.a2),
                       a3_category=self.a3.value(), a4_poverty_alleviated=self.a4.value(),
                       whole_no_labor_guarantee=self.whole.value(), dibao_tier=self.dibao_tier.value(),
                       petition=self.petition.value(),
                       a55_contact_person=_text(self.a55), contact_phone=_text(self.contact_phone),
                       note=_text(self.note))


class GuaranteeSection(Section):
    """A23–A25 as 是/否/未填; A26 derived from the members (read-only)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.a23 = self._watch("a23_housing_unsafe", bool_combo())
        self.a24 = self._watch("a24_school_dropout", bool_combo())
        self.a25 = self._watch("a25_water_unsafe", bool_combo())
        self.a26 = QLabel()
        self.a26.setWordWrap(True)
        self.a26.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box = QGroupBox("三保障和饮水安全")
        form = BasicSection._form(box)
        form.addRow(label("a23_housing_unsafe"), self.a23)
        form.addRow(label("a24_school_dropout"), self.a24)
        form.addRow(label("a25_water_unsafe"), self.a25)
        form.addRow("A26 有家庭成员未参加基本医疗保险：", self.a26)
        hint = QLabel("A26 由家庭成员的“A17 参加基本医疗保险”自动得出（只计状态为正常的成员），不能直接填写。")
        hint.setWordWrap(True)
        hint.setStyleSheet(HINT_STYLE)
        form.addRow(hint)
        self.after = QLabel()
        self.after.setWordWrap(True)
        self.after.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.after_box = QGroupBox("风险消除后情况（全国系统记录，只读）")
        QVBoxLayout(self.after_box).addWidget(self.after)
        layout = QVBoxLayout(self)
        layout.addWidget(box)
        layout.addWidget(self.after_box)
        layout.addStretch(1)

    def set_data(self, d: HouseholdData) -> None:
        self.a23.set_value(d.a23_housing_unsafe)
        self.a24.set_value(d.a24_school_dropout)
        self.a25.set_value(d.a25_water_unsafe)
        shown = []
        for fld in AFTER_REMOVAL:
            value = getattr(d, fld)
            if value is not None:
                text = ("是" if value else "否") if isinstance(value, bool) else f"{value:,.2f} 元"
                shown.append(f"{field_label('household', fld)}：{text}")
        self.after.setText("\n".join(shown))
        self.after_box.setVisible(bool(shown))

    def set_members(self, members: list[MemberData]) -> None:
        lacking, blank = a17_rows(members)

        def who(rows: list[int]) -> str:
            return "、".join(f"第 {i + 1} 行“{members[i].name or '（未填姓名）'}”" for i in rows)

        if derived_a26(members):
            text = f"是（{who(lacking)}未参加基本医疗保险）"
        else:
            text = "否" if members else "—（尚无家庭成员）"
        if blank:
            text += f"；{who(blank)}的 A17 尚未填写，请补充"
        self.a26.setText(text)
        self.a26.setStyleSheet("color: #c62828;" if lacking or blank else "")

    def fill(self, d: HouseholdData) -> HouseholdData:
        return replace(d, a23_housing_unsafe=self.a23.value(), a24_school_dropout=self.a24.value(),
                       a25_water_unsafe=self.a25.value())


class RiskSection(Section):
    """A27 risk types as check boxes with a note for 其他; A27a disaster types when 因自然灾害."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.risks = self._boxes("risk_type")
        self.disasters = self._boxes("disaster_type")
        self.other_note = self._watch("a27_other_note", QLineEdit())
        self.other_note.setPlaceholderText("选择“其他”时请说明")

        risk_box = QGroupBox(field_label("household", "a27_risk_types") + "（可多选）")
        self.widgets["a27_risk_types"] = risk_box
        grid = QGridLayout(risk_box)
        for i, box in enumerate(self.risks.values()):
            grid.addWidget(box, i // 3, i % 3)
        row = (len(self.risks) + 2) // 3
        grid.addWidget(QLabel(label("a27_other_note")), row, 0)
        grid.addWidget(self.other_note, row, 1, 1, 2)

        self.disaster_box = QGroupBox(field_label("household", "a27a_disaster_types") + "（可多选）")
        self.widgets["a27a_disaster_types"] = self.disaster_box
        grid2 = QGridLayout(self.disaster_box)
        for i, box in enumerate(self.disasters.values()):
            grid2.addWidget(box, i // 4, i % 4)

        layout = QVBoxLayout(self)
        layout.addWidget(risk_box)
        layout.addWidget(self.disaster_box)
        layout.addStretch(1)
        self.risks[DISASTER].toggled.connect(lambda _c: self._update_visibility())
        self.risks["09"].toggled.connect(lambda _c: self._update_visibility())
        self._update_visibility()

    def _boxes(self, key: str) -> dict[str, QCheckBox]:
        boxes = {}
        for c in codes(key):
            box = QCheckBox(c.name)
            box.toggled.connect(lambda _c: self.changed.emit())
            boxes[c.code] = box
        return boxes

    def _update_visibility(self) -> None:
        any_disaster = any(b.isChecked() for b in self.disasters.values())
        self.disaster_box.setVisible(self.risks[DISASTER].isChecked() or any_disaster)
        self.other_note.setEnabled(self.risks["09"].isChecked() or bool(self.other_note.text()))

    def set_data(self, d: HouseholdData) -> None:
        for code, box in self.risks.items():
            box.setChecked(code in d.a27_risk_types)
        for code, box in self.disasters.items():
            box.setChecked(code in d.a27a_disaster_types)
        self.other_note.setText(d.a27_other_note or "")
        self._update_visibility()

    def fill(self, d: HouseholdData) -> HouseholdData:
        # Unknown codes in old data are kept, after the known ones in list order.
        risks = [c for c, b in self.risks.items() if b.isChecked()]
        risks += [c for c in d.a27_risk_types if c not in self.risks]
        disasters = [c for c, b in self.disasters.items() if b.isChecked()]
        disasters += [c for c in d.a27a_disaster_types if c not in self.disasters]
        return replace(d, a27_risk_types=risks, a27a_disaster_types=disasters, a27_other_note=_text(self.other_note))
