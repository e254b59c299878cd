"""导入 Excel wizard and 导出 Excel dialog (SPEC §9): the preview shows the counts and every problem,
the import runs off the GUI thread and lands in one transaction, cancel before commit leaves nothing."""

from __future__ import annotations

import openpyxl
import pytest
from PySide6.QtWidgets import QFileDialog, QWizard
from sqlalchemy import func, select

from desktop.models import Household
from desktop.views import export_dialog as export_module
from desktop.views import import_wizard as wizard_module
from desktop.views.export_dialog import ExportDialog
from desktop.views.import_wizard import ImportWizard

from ..services.test_exchange_book import db_state, family_rows, hh, simple_book, table, write_book

TIMEOUT = 20000


@pytest.fixture
def messages(monkeypatch):
    seen = []
    for module in (wizard_module, export_module):
        monkeypatch.setattr(module, "show_info", lambda parent, text, *a: seen.append(("info", text)))
    monkeypatch.setattr(wizard_module, "show_error", lambda parent, exc, *a: seen.append(("error", str(exc))))
    return seen


@pytest.fixture
def wizard(qtbot, ctx, messages):
    w = ImportWizard(ctx)
    qtbot.addWidget(w)
    w.show()
    return w


def choose(wizard, monkeypatch, path):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    wizard.file_page.browse_button.click()
    assert wizard.file_page.path_edit.text() == str(path)


def households(ctx) -> int:
    return ctx.read(lambda s: s.scalar(select(func.count()).select_from(Household)))


def test_preview_shows_counts_then_import_writes_and_shows_findings(qtbot, wizard, ctx, tmp_path, monkeypatch):
    path = simple_book(tmp_path / "村.xlsx", households=2, **{"工资性收入": 5000})
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    choose(wizard, monkeypatch, path)
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    with qtbot.waitSignal(wizard.previewReady, timeout=TIMEOUT):
        wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.preview_page, timeout=TIMEOUT)
    page = wizard.preview_page
    assert "检查通过" in page.verdict.text()
    assert "新增 2 户" in page.summary.text() and "新增成员 4 人" in page.summary.text()
    assert households(ctx) == 0  # a preview writes nothing
    wizard.next()
    assert wizard.currentPage() is wizard.confirm_page
    assert wizard.button(QWizard.WizardButton.CommitButton).text() == "开始导入"
    with qtbot.waitSignal(wizard.importFinished, timeout=TIMEOUT) as blocker:
        wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.result_page, timeout=TIMEOUT)
    result = blocker.args[0]
    assert result.households_new == 2 and households(ctx) == 2
    assert "已导入" in wizard.result_page.summary.text()
    assert wizard.result_page.model.rowCount() == len(result.findings) > 0  # e.g. 三保障 not filled
    assert "数据质量检查发现" in wizard.result_page.findings_label.text()


def test_a_file_with_errors_lists_every_problem_and_cannot_be_imported(qtbot, wizard, ctx, tmp_path, monkeypatch,
                                                                       messages):
    members = family_rows("H001", 1)
    members[0]["证件号码"] = "123"
    members[1]["与户主关系"] = "表哥"
    path = write_book(tmp_path / "坏.xlsx", {"户信息": table([hh("H001")]), "家庭成员": table(members)})
    choose(wizard, monkeypatch, path)
    with qtbot.waitSignal(wizard.previewReady, timeout=TIMEOUT):
        wizard.next()
    page = wizard.preview_page
    qtbot.waitUntil(lambda: wizard.currentPage() is page, timeout=TIMEOUT)
    assert "2 处错误" in page.verdict.text()
    assert page.model.rowCount() == 2
    row = [page.model.index(1, c).data() for c in range(5)]
    assert row[:4] == ["家庭成员", "3", "与户主关系", "表哥"] and "代码表" in row[4]
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    target = tmp_path / "清单.xlsx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    page.save_errors_button.click()
    rows = list(openpyxl.load_workbook(target)["错误清单"].iter_rows(values_only=True))
    assert len(rows) == 3 and rows[2][2] == "与户主关系"
    assert messages[-1][0] == "info" and str(target) in messages[-1][1]


def test_cancel_before_commit_leaves_the_database_as_it_was(qtbot, wizard, ctx, tmp_path, monkeypatch, messages):
    path = simple_book(tmp_path / "村.xlsx", households=3)
    choose(wizard, monkeypatch, path)
    with qtbot.waitSignal(wizard.previewReady, timeout=TIMEOUT):
        wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.preview_page, timeout=TIMEOUT)
    wizard.next()
    before = db_state(ctx.db)
    monkeypatch.setattr(wizard_module.Worker, "cancelled", lambda self: True)  # 取消 pressed at once
    with qtbot.waitSignal(wizard.importFailed, timeout=TIMEOUT) as blocker:
        wizard.next()
    assert "已取消导入" in blocker.args[0]
    assert wizard.currentPage() is wizard.confirm_page
    assert db_state(ctx.db) == before and messages[-1] == ("info", blocker.args[0])


def test_export_dialog_writes_the_workbook(qtbot, ctx, tmp_path, monkeypatch, messages):
    from desktop.services import exchange
    ctx.run(lambda s: exchange.apply(s, exchange.preview(s, simple_book(tmp_path / "a.xlsx"), 2024),
                                     take_backup=False, check=False))
    dialog = ExportDialog(ctx)
    qtbot.addWidget(dialog)
    target = tmp_path / "导出.xlsx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    dialog.browse_button.click()
    assert dialog.path_edit.text() == str(target) and dialog.export_button.isEnabled()
    with qtbot.waitSignal(dialog.exported, timeout=TIMEOUT):
        dialog.export_button.click()
    assert "已导出 2 户" in dialog.status.text()
    assert [c.value for c in openpyxl.load_workbook(target)["户信息"]["A"]][1:] == ["H001", "H002"]


def test_save_template(qtbot, ctx, tmp_path, monkeypatch, messages):
    target = tmp_path / "模板"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    written = wizard_module.save_template(ctx, None)
    assert written == tmp_path / "模板.xlsx" and written.exists()
    assert "填表说明" in openpyxl.load_workbook(written).sheetnames
    assert messages[-1][0] == "info"


def test_a_national_list_says_its_layout_and_asks_about_close_villages(qtbot, wizard, ctx, tmp_path, monkeypatch):
    from desktop.services import regions

    from ..services.national_files import grid, sample_rows, write_xlsx
    ctx.run(lambda s: (regions.add_village(s, "杨坪村"), s.commit()))
    rows = sample_rows()
    for r in rows:
        r["村"] = "杨平村"
    choose(wizard, monkeypatch, write_xlsx(tmp_path / "监测对象信息.xlsx", grid(rows)))
    with qtbot.waitSignal(wizard.previewReady, timeout=TIMEOUT):
        wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.preview_page, timeout=TIMEOUT)
    page = wizard.preview_page
    assert "全国系统一人一行名单" in page.layout_label.text() and "3 户、6 人" in page.layout_label.text()
    converted = next(line for line in page.columns.text().splitlines() if line.startswith("换算后保存："))
    assert all(name in converted for name in ("户类型", "是否解决安全饮用水", "风险是否已消除"))
    assert "风险是否已消除" not in page.columns.text().splitlines()[0] and "人编号" in page.columns.text()
    assert "杨坪村" in page.model.data(page.model.index(0, 4)) and page.confirm_box.isVisible()
    assert not page.isComplete()
    page.confirm_box.setChecked(True)
    assert page.isComplete() and "检查通过" in page.verdict.text()


def test_export_dialog_writes_the_national_layout(qtbot, ctx, tmp_path, messages):
    from desktop.services import exchange

    from ..services.national_files import grid, sample_rows, write_xlsx
    ctx.run(lambda s: exchange.apply(s, exchange.preview(s, write_xlsx(tmp_path / "a.xlsx", grid(sample_rows())),
                                                         2024), take_backup=False, check=False))
    dialog = ExportDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.layout_combo.setCurrentIndex(1)
    dialog.path_edit.setText(str(tmp_path / "县里.xlsx"))
    with qtbot.waitSignal(dialog.exported, timeout=TIMEOUT):
        dialog.export_button.click()
    ws = openpyxl.load_workbook(tmp_path / "县里.xlsx").worksheets[0]
    assert ws["A1"].value == "（自定义）监测对象信息" and ws.max_row == 9
