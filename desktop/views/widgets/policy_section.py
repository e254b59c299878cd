"""The household editor's 脱贫不享受政策 section (SPEC §6.4, seed 004 annex 2): the yes/no facts of
criteria 2–8 and of exceptions 2 and 4 as 是/否/未填, and the day 不再享受政策 was decided (read-only:
the procedure "policy_exclusion" sets it). Criterion 1 and exceptions 1 and 3 are worked out from
income and members (services.policy), so they are not asked here."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from ...services.labels import field_label
from ...services.policy import FACT_COLUMNS
from ...services.register import HouseholdData
from .code_combo import bool_combo
from .household_sections import HINT_STYLE, BasicSection, Section


class PolicySection(Section):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        criteria = QGroupBox("认定标准（符合其一，原则上认定为脱贫不再享受政策）")
        f1 = BasicSection._form(criteria)
        exceptions = QGroupBox("例外情形（符合其一，仍按脱贫享受政策人口管理）")
        f2 = BasicSection._form(exceptions)
        self.combos = {}
        for key, column in FACT_COLUMNS.items():
            combo = self._watch(column, bool_combo())
            self.combos[column] = combo
            form = f1 if key.startswith("c") else f2
            form.addRow(f"{'第' if key.startswith('c') else '例外第'} {key[1]} 条 "
                        f"{field_label('household', column)}：", combo)
        hint1 = QLabel("第 1 条（户年人均可支配收入达到县农民人均可支配收入）由收入和年度设置计算，不在此填写。")
        hint2 = QLabel("例外第 1 条（享受低保）、第 3 条（重度残疾）由家庭成员信息得出；例外第 2、4 条未填时，"
                       "分别按大病成员的医疗自付费用（年度设置的“较大”金额）和风险类型判断。")
        for hint, form in ((hint1, f1), (hint2, f2)):
            hint.setWordWrap(True)
            hint.setStyleSheet(HINT_STYLE)
            form.addRow(hint)
        self.decided = QLabel()
        layout = QVBoxLayout(self)
        layout.addWidget(criteria)
        layout.addWidget(exceptions)
        layout.addWidget(self.decided)
        layout.addStretch(1)

    def set_data(self, d: HouseholdData) -> None:
        for column, combo in self.combos.items():
            combo.set_value(getattr(d, column))
        self.decided.setText(f"已于 {d.policy_excluded_on} 认定为脱贫不享受政策（通过认定流程）" if d.policy_excluded_on
                             else "尚未认定为脱贫不享受政策（认定须走“民主评议—乡镇审核—村级公示”流程）")
        self.decided.setStyleSheet(HINT_STYLE)

    def fill(self, d: HouseholdData) -> HouseholdData:
        return replace(d, **{column: combo.value() for column, combo in self.combos.items()})
