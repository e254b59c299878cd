"""报表打印 page (SPEC §8, §11 KINDs): choosing a document and its scope, the preview of its pages
(pypdfium2), saving, printing and the 汇总表 as Excel."""

from __future__ import annotations

import threading
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog

from desktop.services import auth, register, reports
from desktop.services.context import AppContext
from desktop.views import pdf_preview
from desktop.views import reports_page as rp
from desktop.views.pdf_preview import PdfPreview, open_pdf, render_page
from desktop.views.reports_page import HOUSEHOLDS, TOWNSHIP, VILLAGE, ReportsPage, split_numbers
from desktop.views.widgets import temp_files

from ..conftest import TODAY, YEAR, family

WAIT_MS = 30000


@pytest.fixture
def households(ctx, township):
    """Two households in 东村, one in 西村."""
    nos = ["3703050010010001", "3703050010010002", "3703050020010001"]
    for n, (no, village) in enumerate(zip(nos, ("东村", "东村", "西村"), strict=True)):
        data, members = family(township["villages"][village], no=no, serial=1 + 10 * n)
        ctx.run(register.save_household, data, members, TODAY)
    return nos


@pytest.fixture
def page(qtbot, ctx, households, tmp_path, monkeypatch):
    monkeypatch.setattr(temp_files.tempfile, "gettempdir", lambda: str(tmp_path / "temp"))
    p = ReportsPage(ctx)
    qtbot.addWidget(p)
    p.resize(1100, 760)
    yield p
    p.preview.clear()  # the PDF held in memory is closed now, not by pypdfium2 at exit


def generate(qtbot, page) -> reports.ReportResult:
    with qtbot.waitSignal(page.generated, timeout=WAIT_MS) as blocker:
        assert page.generate()
    return blocker.args[0]


def pdf_pages(path: Path) -> int:
    doc = pdfium.PdfDocument(str(path))
    try:
        return len(doc)
    finally:
        doc.close()


def test_kinds_are_listed_in_spec_order_with_titles_and_descriptions(page):
    kinds = [page.kind_list.item(i).data(rp.KIND_ROLE) for i in range(page.kind_list.count())]
    assert kinds == ["collection-form", "income-sheet", "policy-list", "notice-identify", "notice-remove",
                     "notice-policy", "summary", "card", "revisit", "screening", "quality",
                     "rectification"]
    assert page.kind_list.item(0).text() == "防止返贫监测对象信息采集表"
    assert all(page.kind_list.item(i).data(rp.DESCRIPTION_ROLE) for i in range(page.kind_list.count()))
    assert page.year_combo.currentData() == YEAR
    assert page.township_radio.text() == "全乡镇（稷下街道）"


def test_each_kind_offers_the_scopes_of_its_report_kind(page):
    page.set_kind("collection-form")
    assert not page.township_radio.isEnabled()
    assert page.households_radio.isEnabled() and page.village_radio.isEnabled()
    assert page.scope_group.checkedId() == VILLAGE
    page.set_kind("summary")
    assert page.township_radio.isEnabled() and not page.households_radio.isEnabled()
    assert page.scope_group.checkedId() in (TOWNSHIP, VILLAGE)
    assert page.excel_button.isVisibleTo(page)
    page.set_kind("notice-identify")  # a village's notice, the township's, or listed households (a reprint)
    assert page.households_radio.isEnabled() and page.township_radio.isEnabled()
    assert not page.excel_button.isVisibleTo(page)
    page.set_kind("quality")
    assert not page.households_radio.isEnabled()


def test_clerk_chooses_only_their_villages(qtbot, db, households, tmp_path, monkeypatch):
    monkeypatch.setattr(temp_files.tempfile, "gettempdir", lambda: str(tmp_path / "temp"))
    with db.session() as s:
        clerk = auth.authenticate(s, "clerk", "Xc-cun-2024")
        s.commit()
    page = ReportsPage(AppContext(db=db, user=clerk, year=YEAR, today=lambda: TODAY))
    qtbot.addWidget(page)
    assert [page.village_combo.itemData(i) for i in range(page.village_combo.count())] == ["西村"]
    page.set_kind("summary")
    assert not page.township_radio.isEnabled()
    page.set_kind("card")
    page.set_scope(HOUSEHOLDS, "3703050010010001")
    assert page.request() is None
    assert page.error.text() == "户 3703050010010001 不在您负责的村"


def test_generating_the_township_summary_shows_its_pages(qtbot, page):
    page.show()
    qtbot.waitExposed(page)
    page.set_kind("summary")
    page.set_scope(TOWNSHIP)
    result = generate(qtbot, page)
    assert result.kind == "summary" and result.pages >= 1
    assert page.preview.page_count() == result.pages
    assert page.preview.page_label.text() == f"第 1 页 共 {result.pages} 页"
    assert page.preview.page_image(0) is not None and not page.preview.page_image(0).isNull()
    assert "防止返贫监测帮扶汇总表" in page.caption.text() and "稷下街道" in page.caption.text()
    assert page.save_button.isEnabled() and page.print_button.isEnabled()
    assert not page.error.isVisible()


def test_the_document_is_made_off_the_gui_thread_with_a_wait_indicator(qtbot, page, monkeypatch):
    real_render, release, seen = reports.render, threading.Event(), {}

    def slow_render(session, *args, **kwargs):
        seen["thread"] = threading.current_thread()
        assert release.wait(WAIT_MS / 1000)
        return real_render(session, *args, **kwargs)

    monkeypatch.setattr(rp.reports, "render", slow_render)
    page.show()
    page.set_kind("summary")
    assert page.generate()
    assert not page.busy_bar.isVisible()  # not at once: only when it takes longer than 0.5 s
    assert not page.generate_button.isEnabled() and not page.generate()
    qtbot.waitUntil(lambda: page.busy_bar.isVisible(), timeout=WAIT_MS)
    assert page.busy_label.text() == "正在生成，请稍候……"
    with qtbot.waitSignal(page.generated, timeout=WAIT_MS):
        release.set()
    assert seen["thread"] is not threading.main_thread()
    assert not page.busy_bar.isVisible() and page.generate_button.isEnabled()
    assert page.preview.page_count() >= 1


def test_unknown_household_numbers_are_named_inline(qtbot, page):
    page.show()
    page.set_kind("collection-form")
    page.set_scope(HOUSEHOLDS, "3703050010010001、9999，8888")
    with qtbot.assertNotEmitted(page.generated):
        assert not page.generate()
    assert page.error.isVisible()
    assert page.error.text() == "户编号不存在：9999、8888"
    assert page.preview.page_count() == 0
    page.household_edit.setText("3703050010010001")  # typing clears the message
    assert not page.error.isVisible()


def test_household_numbers_are_split_on_chinese_and_latin_separators():
    assert split_numbers(" 001、002，003,004 ; 005；006  001\n007") == ["001", "002", "003", "004", "005", "006",
                                                                       "007"]


def test_forms_for_chosen_households_paginate_and_show_warnings_banner(qtbot, page, monkeypatch):
    page.show()
    qtbot.waitExposed(page)
    page.set_kind("collection-form")
    page.set_scope(HOUSEHOLDS, "3703050010010001 3703050010010002")
    result = generate(qtbot, page)
    assert result.households == 2 and page.preview.page_count() == result.pages >= 2
    page.preview.go_to(1)
    assert page.preview.page_label.text() == f"第 2 页 共 {result.pages} 页"
    page.activateWindow()
    page.preview.scroll.setFocus()
    qtbot.keyClick(page.preview.scroll, Qt.Key.Key_PageUp)
    assert page.preview.page_label.text() == f"第 1 页 共 {result.pages} 页"
    qtbot.mouseClick(page.preview.next_button, Qt.MouseButton.LeftButton)
    assert page.preview.current_page() == 1
    page.set_kind("notice-remove")  # nobody removed this year: the service warns, the banner shows it
    page.set_scope(TOWNSHIP)
    assert "选择已改变" in page.caption.text()
    result = generate(qtbot, page)
    assert result.warnings and page.banner.isVisibleTo(page)
    assert result.warnings[0] in page.banner.text()
    assert "选择已改变" not in page.caption.text()


def test_a_year_without_monitoring_line_is_refused_inline_in_red(qtbot, page, ctx):
    ctx.year = 2030
    page.refresh()
    assert page.year_combo.currentData() == 2030
    page.set_kind("summary")
    page.set_scope(TOWNSHIP)
    with qtbot.waitSignal(page.failed, timeout=WAIT_MS) as blocker:
        assert page.generate()
    assert "2030" in blocker.args[0] and "监测线" in blocker.args[0]
    assert page.error.text() == blocker.args[0]
    assert "#c62828" in page.error.styleSheet()
    assert page.result is None and not page.save_button.isEnabled()
    assert page.generate_button.isEnabled()


def test_save_as_writes_the_pdf_under_the_suggested_name(qtbot, page, tmp_path, monkeypatch):
    page.set_kind("summary")
    page.set_scope(VILLAGE, "东村")
    generate(qtbot, page)
    asked = {}

    def fake_dialog(parent, title, suggested, filters):
        asked.update(suggested=suggested, filters=filters)
        return str(tmp_path / "out" / "汇总"), filters

    (tmp_path / "out").mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake_dialog)
    with qtbot.waitSignal(page.exported) as blocker:
        path = page.save_pdf()
    assert path == tmp_path / "out" / "汇总.pdf" == blocker.args[0]
    assert path.read_bytes().startswith(b"%PDF")
    assert Path(asked["suggested"]).name == "东村-防止返贫监测帮扶汇总表-2024.pdf"
    assert pdf_pages(path) == page.preview.page_count()


def test_cancelled_save_dialog_writes_nothing(qtbot, page, tmp_path, monkeypatch):
    page.set_kind("summary")
    generate(qtbot, page)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: ("", ""))
    assert page.save_pdf() is None


def test_print_to_a_pdf_printer_without_dialog(qtbot, page, tmp_path):
    page.set_kind("summary")
    page.set_scope(TOWNSHIP)
    result = generate(qtbot, page)
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setResolution(150)
    out = tmp_path / "printed.pdf"
    printer.setOutputFileName(str(out))
    assert page.print_document(printer) == result.pages
    assert out.read_bytes().startswith(b"%PDF")
    assert pdf_pages(out) == result.pages
    assert "已发送到打印机" in page.status.text()


def test_print_dialog_page_range_is_respected(qtbot, page, tmp_path, monkeypatch):
    page.set_kind("collection-form")
    page.set_scope(HOUSEHOLDS, "3703050010010001、3703050010010002")
    result = generate(qtbot, page)
    assert result.pages >= 2
    out = tmp_path / "range.pdf"

    class FakePrintDialog:
        def __init__(self, printer, parent=None):
            self.printer = printer

        def setWindowTitle(self, _t): pass
        def setOption(self, *_a): pass
        def setMinMax(self, lo, hi): self.range = (lo, hi)

        def exec(self):
            assert self.range == (1, result.pages)
            self.printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
            self.printer.setResolution(100)
            self.printer.setOutputFileName(str(out))
            self.printer.setPrintRange(QPrinter.PrintRange.PageRange)
            self.printer.setFromTo(2, 2)
            return QDialog.DialogCode.Accepted

    monkeypatch.setattr(pdf_preview, "QPrintDialog", FakePrintDialog)
    assert page.print_document() == 1
    assert pdf_pages(out) == 1


def test_cancelled_print_dialog_prints_nothing(qtbot, page, monkeypatch):
    page.set_kind("summary")
    generate(qtbot, page)
    monkeypatch.setattr(QPrintDialog, "exec", lambda self: QDialog.DialogCode.Rejected)
    assert page.print_document() == 0


def test_summary_exports_to_excel(qtbot, page, tmp_path, monkeypatch):
    page.set_kind("summary")
    page.set_scope(TOWNSHIP)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: (str(tmp_path / "汇总.xlsx"), ""))
    with qtbot.waitSignal(page.exported, timeout=WAIT_MS) as blocker:
        assert page.export_excel()
    assert blocker.args[0] == tmp_path / "汇总.xlsx"
    assert (tmp_path / "汇总.xlsx").read_bytes().startswith(b"PK")


def test_new_preview_removes_the_previous_temporary_file(qtbot, page, tmp_path):
    page.set_kind("summary")
    first = generate(qtbot, page).path
    assert first.parent == tmp_path / "temp" / rp.TEMP_FOLDER and first.exists()
    second = generate(qtbot, page).path
    assert second.exists() and not first.exists()


# ---------------------------------------------------------------------- the preview widget

@pytest.fixture
def summary_pdf(ctx, households, tmp_path) -> Path:
    return ctx.read(reports.render, "summary", tmp_path / "summary.pdf", year=YEAR, as_of=TODAY).path


def test_page_image_has_the_size_of_the_page_at_the_scale(qapp, summary_pdf):
    doc = open_pdf(summary_pdf)
    w, h = doc.get_page_size(0)
    image = render_page(doc[0], 2.0)
    assert (image.width(), image.height()) == (round(w * 2), round(h * 2))
    assert image.pixelColor(2, 2).name() == "#ffffff"  # paper, not an empty (black) buffer
    dark = sum(1 for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)
               if image.pixelColor(x, y).lightness() < 128)
    assert dark > 100  # text and rules were drawn
    doc.close()


def test_preview_zooms_and_renders_visible_pages(qtbot, summary_pdf):
    preview = PdfPreview()
    qtbot.addWidget(preview)
    preview.resize(700, 600)
    preview.show()
    qtbot.waitExposed(preview)
    assert preview.load(summary_pdf) >= 1
    assert preview.fit_button.isChecked()
    image = preview.page_image(0)
    assert image.width() > 0 and image.height() > 0
    preview.set_zoom(1.0)
    assert preview.zoom_label.text() == "100%" and not preview.fit_button.isChecked()
    preview.step_zoom(1)
    assert preview.zoom_label.text() == "125%"
    preview.step_zoom(-1)
    preview.step_zoom(-1)
    assert preview.zoom_label.text() == "85%"
    preview.fit_width()
    assert preview.fit_button.isChecked()
    assert 0 in preview.visible_pages()
    grabbed = preview.grab()
    assert not grabbed.isNull() and grabbed.width() > 0
    preview.clear("无")
    assert preview.page_count() == 0 and preview.page_label.text() == ""


def test_a_notice_for_households_not_at_publicity_is_refused_naming_them(qtbot, page):
    """The households exist but none has a case at (or past) its 村级公示: the window says which,
    and no document is shown (the notice never lists a household the procedure did not reach)."""
    page.set_kind("notice-identify")
    page.set_scope(HOUSEHOLDS, "3703050010010001、3703050020010001")
    with qtbot.waitSignal(page.failed, timeout=WAIT_MS) as blocker:
        assert page.generate()
    assert "3703050010010001、3703050020010001" in blocker.args[0] and "村级公示" in blocker.args[0]
    assert page.error.text() == blocker.args[0] and page.result is None
