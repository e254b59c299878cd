"""Hostile and broken workbooks through the import wizard's preview (issue 14): the same files as the command
line's test, chosen in the wizard; the preview page comes up with a Chinese reason (or the questions to
confirm), nothing is written, and the window survives — nothing the file holds can take the program down."""

from __future__ import annotations

import time

import pytest
from PySide6.QtWidgets import QWizard

from desktop.services import exchange
from desktop.services.reports import summary_xlsx
from desktop.views import import_wizard as wizard_module
from desktop.views.import_wizard import ImportWizard
from tests.cli.test_hostile_files import GB, _sheets, _with_income, big_csv, far_xls
from tests.services.hostile_files import Err, Formula, FormulaErr, XSheet, write_xls, write_xlsx
from tests.services.test_exchange_book import family_rows, hh, table
from tests.services.test_xlsx_text import TYPED, no_formulas_and_quoted

from ..conftest import TODAY, YEAR
from .test_import_wizard import TIMEOUT, choose, households

WAIT = 60_000


@pytest.fixture
def wizard(qtbot, ctx, monkeypatch):
    monkeypatch.setattr(wizard_module, "show_info", lambda *a: None)
    monkeypatch.setattr(wizard_module, "show_error", lambda *a: None)
    w = ImportWizard(ctx)
    qtbot.addWidget(w)
    w.show()
    return w


def _preview(qtbot, wizard, monkeypatch, path):
    choose(wizard, monkeypatch, path)
    started = time.monotonic()
    with qtbot.waitSignal(wizard.previewReady, timeout=WAIT):
        wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.preview_page, timeout=TIMEOUT)
    assert time.monotonic() - started < 60
    assert wizard.isVisible()
    return wizard.preview_page


def _dim(tmp_path):
    hs, ms = _sheets(["H002"])
    return write_xlsx(tmp_path / "dim.xlsx", [
        XSheet("户信息", hs, dimension="A1:I3", extra=['<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>']),
        XSheet("家庭成员", ms)])


def _pad(tmp_path):
    hs, ms = _sheets(["H002"])
    return write_xlsx(tmp_path / "pad.xlsx", [XSheet("户信息", hs, pad=GB), XSheet("家庭成员", ms)])


def _sst(tmp_path):
    hs, ms = _sheets(["H002"])
    return write_xlsx(tmp_path / "sst.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)], huge_string=GB)


def _long(tmp_path):
    hs, ms = _sheets(["H002"])
    hs[0].append("其他风险说明")
    hs[1].append("长" * (1 << 20))
    return write_xlsx(tmp_path / "long.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)])


def _errors(tmp_path):
    hs, ms = _sheets(["H002"])
    hs[0].append("工资性收入")
    hs[1].append(Err("#DIV/0!"))
    return write_xlsx(tmp_path / "err.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)])


def _xls(tmp_path):
    return far_xls(tmp_path / "far.xls")


def _no_value(tmp_path):
    hs, ms = _sheets(["H002"])
    hs[0].append("工资性收入")
    hs[1].append(Formula("B2*12"))
    return write_xlsx(tmp_path / "formula.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)])


def _xls_errors(tmp_path):
    hs, ms = _sheets(["H002", "H003"])
    hs[0].append("工资性收入")
    hs[1].append(FormulaErr("1/0", "#DIV/0!"))
    hs[2].append(3000)
    ms[1][ms[0].index("与户主关系")] = Err("#N/A")
    return write_xls(tmp_path / "err.xls", [XSheet("户信息", hs), XSheet("家庭成员", ms)])


def _twice(tmp_path):
    hs, ms = _sheets(["H006", "H007"])
    ms[3][ms[0].index("证件号码")] = ms[1][ms[0].index("证件号码")]
    return write_xlsx(tmp_path / "twice.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)])


def _control(tmp_path):
    hs, ms = _sheets(["H008"])
    ms[1][ms[0].index("姓名")] = "张\u202e三"
    return write_xlsx(tmp_path / "ctl.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)])


def _csv(tmp_path):
    return big_csv(tmp_path / "big.csv")


@pytest.mark.parametrize("build,words", [
    (_pad, "文件被拒绝"), (_sst, "sharedStrings"), (_long, "32,767"), (_errors, "单元格是错误值 #DIV/0!"),
    (_no_value, "公式没有保存计算结果"), (_xls, "Excel 97-2003"), (_xls_errors, "单元格是错误值 #DIV/0!"),
    (_xls_errors, "单元格是错误值 #N/A"), (_twice, "同一人出现在两户"), (_control, "控制字符或不可见字符"),
    (_csv, "CSV")],
    ids=["padded", "shared-string", "long-cell", "error-cell", "formula-no-value", "xls-far-cell", "xls-formula-error",
         "xls-error-cell", "id-twice", "control-char", "csv-field"])
def test_a_refused_file_is_said_and_nothing_is_written(qtbot, wizard, ctx, tmp_path, monkeypatch,
                                                        build, words):
    page = _preview(qtbot, wizard, monkeypatch, build(tmp_path))
    assert "不能导入" in page.verdict.text()
    texts = [page.model.index(r, 4).data() or "" for r in range(page.model.rowCount())]
    assert any(words in t for t in texts), texts
    values = [page.model.index(r, 3).data() or "" for r in range(page.model.rowCount())]
    assert all(len(v) < 200 for v in values)
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert households(ctx) == 0


def test_a_dimension_that_lies_is_read_row_by_row(qtbot, wizard, ctx, tmp_path, monkeypatch):
    page = _preview(qtbot, wizard, monkeypatch, _dim(tmp_path))
    assert "检查通过" in page.verdict.text()
    assert "工作表“户信息”读作：户信息" in page.notes.text()


def test_hidden_rows_are_shown_and_asked(qtbot, wizard, ctx, tmp_path, monkeypatch):
    hs, ms = _sheets(["H002", "H003"])
    path = write_xlsx(tmp_path / "rows.xlsx", [XSheet("户信息", hs, hidden_rows={3}),
                                               XSheet("家庭成员", ms, state="hidden")])
    page = _preview(qtbot, wizard, monkeypatch, path)
    assert page.confirm_box.isVisible() and "隐藏的工作表、隐藏行和隐藏列一并导入" in page.confirm_box.text()
    texts = [page.model.index(r, 4).data() for r in range(page.model.rowCount())]
    assert any("第 3 行是隐藏行" in t for t in texts) and any("隐藏的" in t for t in texts)
    assert "工作表“家庭成员”（隐藏）读作：家庭成员" in page.notes.text()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    page.confirm_box.setChecked(True)
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    wizard.next()
    with qtbot.waitSignal(wizard.importFinished, timeout=WAIT):
        wizard.next()
    assert households(ctx) == 2


def test_a_stray_cell_far_below_is_read_row_by_row(qtbot, wizard, ctx, tmp_path, monkeypatch):
    from .test_import_wizard_memory import _stray
    page = _preview(qtbot, wizard, monkeypatch, _stray(tmp_path))
    assert "检查通过" in page.verdict.text()
    assert "工作表“家庭成员”读作：家庭成员" in page.notes.text()


def test_a_very_hidden_sheet_before_the_visible_one_is_not_read(qtbot, wizard, ctx, tmp_path, monkeypatch):
    hs, ms = _sheets(["H002"])
    evil = table([hh("H002", 联系电话="13800000000", 工资性收入=99999)])
    path = write_xlsx(tmp_path / "vh.xlsx", [XSheet("户信息", evil, state="veryHidden"), XSheet("户 信息", hs),
                                             XSheet("家庭成员", ms)])
    page = _preview(qtbot, wizard, monkeypatch, path)
    assert "检查通过" in page.verdict.text()
    assert "工作表“户 信息”读作：户信息" in page.notes.text()
    assert "工作表“户信息”（深度隐藏，Excel 中无法取消隐藏）未读取：与可见的同名工作表重复" in page.notes.text()


def test_an_id_number_of_another_households_living_member(qtbot, wizard, ctx, tmp_path, monkeypatch):
    hs, ms = _sheets(["H001"])
    first = write_xlsx(tmp_path / "first.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)])

    def work(s):
        exchange.apply(s, exchange.preview(s, first, YEAR), as_of=TODAY, take_backup=False, check=False)
    ctx.run(work)
    taken = family_rows("H001", 10)[1]["证件号码"]
    hs, ms = _sheets(["H005"])
    ms[2][ms[0].index("证件号码")] = taken
    page = _preview(qtbot, wizard, monkeypatch, write_xlsx(tmp_path / "moved.xlsx",
                                                           [XSheet("户信息", hs), XSheet("家庭成员", ms)]))
    assert "不能导入" in page.verdict.text()
    texts = [page.model.index(r, 4).data() or "" for r in range(page.model.rowCount())]
    assert any("户编号 H001 的在册成员" in t and "户编号 H005" in t for t in texts), texts
    assert households(ctx) == 1


def test_control_characters_in_other_text_are_removed_with_a_note(qtbot, wizard, ctx, tmp_path, monkeypatch):
    hs, ms = _sheets(["H009"])
    hs[0].append("其他风险说明")
    hs[1].append("住房\u202e已鉴定\x07")
    page = _preview(qtbot, wizard, monkeypatch, write_xlsx(tmp_path / "note.xlsx",
                                                           [XSheet("户信息", hs), XSheet("家庭成员", ms)]))
    assert "检查通过" in page.verdict.text()
    assert "含有控制字符或不可见字符（U+0007、U+202E），已删除后导入" in page.notes.text()


def _confirm_and_import(qtbot, wizard, page):
    assert page.confirm_box.isVisible() and "隐藏的工作表、隐藏行和隐藏列一并导入" in page.confirm_box.text()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    page.confirm_box.setChecked(True)
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    wizard.next()
    with qtbot.waitSignal(wizard.importFinished, timeout=WAIT):
        wizard.next()


def test_xls_hidden_rows_are_shown_and_asked(qtbot, wizard, ctx, tmp_path, monkeypatch):
    hs, ms = _sheets(["H002", "H003"])
    path = write_xls(tmp_path / "rows.xls", [XSheet("户信息", hs), XSheet("家庭成员", ms, hidden_rows={3, 5})])
    page = _preview(qtbot, wizard, monkeypatch, path)
    texts = [page.model.index(r, 4).data() for r in range(page.model.rowCount())]
    assert any("第 3、5 行是隐藏行" in t for t in texts), texts
    _confirm_and_import(qtbot, wizard, page)
    assert households(ctx) == 2


@pytest.mark.parametrize("write", [write_xlsx, write_xls], ids=["xlsx", "xls"])
def test_a_hidden_column_read_as_data_is_shown_and_asked(qtbot, wizard, ctx, tmp_path, monkeypatch, write):
    hs, ms = _with_income(["H002"])
    wage = hs[0].index("工资性收入") + 1
    path = write(tmp_path / f"cols.{write.__name__[-4:]}",
                 [XSheet("户信息", hs, hidden_cols={wage, wage + 1}), XSheet("家庭成员", ms)])
    page = _preview(qtbot, wizard, monkeypatch, path)
    rows = [(page.model.index(r, 2).data() or "", page.model.index(r, 4).data() or "")
            for r in range(page.model.rowCount())]
    hidden = [r for r in rows if "隐藏列" in r[1]]
    assert [column for column, _why in hidden] == ["工资性收入"], rows  # 村里自己的备注列 is hidden too, but not read
    assert "“工资性收入”列是隐藏列" in hidden[0][1]
    _confirm_and_import(qtbot, wizard, page)
    assert households(ctx) == 1


def test_a_village_named_like_a_formula_imports_as_text_and_exports_as_text(qtbot, wizard, ctx, tmp_path,
                                                                            monkeypatch):
    """The village workbook that made the 汇总表 write a live HYPERLINK: previewed and imported in the wizard, the
    village is created under its name as typed, and the 汇总表 writes it as text."""
    name = TYPED[0]
    hs, ms = table([hh("H020", village=name)]), table(family_rows("H020", 200))
    path = write_xlsx(tmp_path / "村.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)])
    page = _preview(qtbot, wizard, monkeypatch, path)
    assert "检查通过" in page.verdict.text(), [page.model.index(r, 4).data() for r in range(page.model.rowCount())]
    wizard.next()
    with qtbot.waitSignal(wizard.importFinished, timeout=WAIT):
        wizard.next()
    assert households(ctx) == 1
    out = ctx.read(summary_xlsx.write, tmp_path / "汇总表.xlsx", YEAR, TODAY)
    no_formulas_and_quoted(out, [name])
