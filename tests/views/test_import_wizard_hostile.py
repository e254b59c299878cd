"""Hostile and broken workbooks through the import wizard's preview (issue 14): the same files as the command
line's test, chosen in the wizard; the preview page comes up with a Chinese reason (or the questions to
confirm), nothing is written, and the window survives — nothing the file holds can take the program down."""

from __future__ import annotations

import time

import pytest
from PySide6.QtWidgets import QWizard

from desktop.views import import_wizard as wizard_module
from desktop.views.import_wizard import ImportWizard
from tests.cli.test_hostile_files import GB, _sheets, far_xls
from tests.services.hostile_files import Err, XSheet, write_xlsx

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


@pytest.mark.parametrize("build,words", [
    (_pad, "文件被拒绝"), (_sst, "sharedStrings"), (_long, "32,767"), (_errors, "单元格是错误值 #DIV/0!"),
    (_xls, "Excel 97-2003")], ids=["padded", "shared-string", "long-cell", "error-cell", "xls-far-cell"])
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
    assert page.confirm_box.isVisible() and "隐藏的工作表和隐藏行一并导入" in page.confirm_box.text()
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
