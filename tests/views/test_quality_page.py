"""数据质量 page (SPEC §10): findings of services.checks.run_checks, filtered by code, with a summary;
a finding opens its household's editor."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop.services import checks, register
from desktop.views.household_editor import HouseholdEditor
from desktop.views.models.findings_table import (
    COL_CODE,
    COL_ID_NUMBER,
    COL_MESSAGE,
    COL_NO,
    COL_TITLE,
    ROW_ROLE,
    FindingsTableModel,
)
from desktop.views.operations import operations
from desktop.views.quality_page import QualityPage

from ..conftest import TODAY, YEAR, family


@pytest.fixture
def households(ctx, township):
    """东村: a household with a member lacking basic medical insurance; 西村: one without; A23–A25 are
    left blank in both (GUARANTEE_MISSING)."""
    data, members = family(township["villages"]["东村"])
    members[1].a17_medical = False
    uninsured = ctx.run(register.save_household, data, members, TODAY)
    data, members = family(township["villages"]["西村"], no="3703050020010001", serial=11)
    return {"uninsured": uninsured, "other": ctx.run(register.save_household, data, members, TODAY)}


@pytest.fixture
def page(qtbot, ctx, households):
    p = QualityPage(ctx)
    qtbot.addWidget(p)
    return p


def run(page) -> list:
    page.run_checks()
    assert operations().wait()
    return page.model.findings()


def codes_shown(page) -> list[str]:
    return [page.proxy.index(r, 0).data(ROW_ROLE).code for r in range(page.proxy.rowCount())]


def shown(page) -> list[list[str]]:
    return [[page.proxy.index(r, c).data() for c in range(page.proxy.columnCount())]
            for r in range(page.proxy.rowCount())]


def test_nothing_is_listed_before_the_check_runs(page):
    assert page.proxy.rowCount() == 0
    assert page.summary.text() == "尚未检查：点击“检查”开始"
    assert "2024 年" in page.title.text()


def test_check_lists_a_missing_medical_insurance_finding(qtbot, page, ctx):
    qtbot.mouseClick(page.check_button, Qt.MouseButton.LeftButton)
    assert operations().wait()
    expected = ctx.read(checks.run_checks, YEAR, TODAY)
    assert page.model.rowCount() == len(expected) > 0
    rows = [r for r, code in zip(shown(page), codes_shown(page), strict=True) if code == "MEDICAL_INSURANCE_MISSING"]
    assert len(rows) == 1
    row = rows[0]
    _data, members = ctx.read(register.get_household, page.ctx.read(register.household_id_by_no,
                                                                       "3703050010010001"))
    assert row[COL_TITLE] == "未参加基本医疗保险"
    assert row[COL_CODE] != "MEDICAL_INSURANCE_MISSING"  # the national number or nothing, never an internal code
    assert all("MEDICAL_INSURANCE" not in (cell or "") for cell in row)
    assert row[COL_NO] == "3703050010010001"
    assert row[COL_ID_NUMBER] == members[1].id_number
    assert "李四" in row[COL_MESSAGE] and "A17" in row[COL_MESSAGE]
    households = len({f.household_no for f in expected})
    assert page.summary.text() == f"共 {len(expected)} 条问题，涉及 {households} 户（截至 2024-11-20）"


def test_filter_by_code_shows_only_that_code_with_counts_in_the_combo(page, ctx):
    findings = run(page)
    guarantee = sum(1 for f in findings if f.code == "GUARANTEE_MISSING")
    assert guarantee == 2  # A23–A25 left blank in both households
    combo = page.code_combo
    assert combo.itemText(0) == f"全部（{len(findings)}）"
    assert combo.itemText(combo.findData("MEDICAL_INSURANCE_MISSING")) == "未参加基本医疗保险（1）"
    assert combo.itemText(combo.findData("ID_CHECKSUM")) == "身份证号校验错误（0）"
    page.set_code("MEDICAL_INSURANCE_MISSING")
    assert codes_shown(page) == ["MEDICAL_INSURANCE_MISSING"]
    assert page.shown_label.text() == "显示 1 条，1 户"
    combo.setCurrentIndex(combo.findData("GUARANTEE_MISSING"))
    assert {r[COL_NO] for r in shown(page)} == {"3703050010010001", "3703050020010001"}
    assert page.shown_label.text() == "显示 2 条，2 户"
    page.set_code(None)
    assert page.proxy.rowCount() == len(findings)


def test_double_click_opens_the_household_editor(qtbot, page, households):
    page.show()
    qtbot.waitExposed(page)
    run(page)
    page.set_code("MEDICAL_INSURANCE_MISSING")
    rect = page.table.visualRect(page.proxy.index(0, COL_NO))
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: page.editor is not None)
    editor = page.editor
    assert isinstance(editor, HouseholdEditor) and editor.household_id == households["uninsured"]
    assert editor.isVisible() and "3703050010010001" in editor.windowTitle()
    editor.reject()


def test_changing_the_year_clears_findings_of_the_old_year(qtbot, page, ctx):
    run(page)
    assert page.model.rowCount() > 0
    ctx.year = 2025
    page.show()
    qtbot.waitExposed(page)
    assert page.model.rowCount() == 0 and page.summary.text() == "年度已改变：请重新检查"
    run(page)
    assert "2025 年度未设置监测线" in page.error.text()


def test_findings_model_passes_the_model_tester(qtmodeltester, ctx, households):
    model = FindingsTableModel()
    model.set_findings(ctx.read(checks.run_checks, YEAR, TODAY))
    qtmodeltester.check(model)
    assert model.household_count() == 2
