"""Any on-screen list exported to Excel and printed: reopened, the same rows come back; text stays text."""

import shutil
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from desktop.services.listing import Listing, ListingError, write_pdf, write_xlsx

HOSTILE = ["=1+1", "+8613800000000", "-2", "@SUM(A1)", "\tTAB", "＝全角"]


def _listing(n=3):
    rows = [[f"370305001001000{i}", "古丽米热·阿不都克热木", Decimal("1550.50"), date(2024, 11, 3), True]
            for i in range(n)]
    return Listing("建议纳入监测（疑似应纳未纳）名单", ["户编号", "户主", "人均收入", "日期", "有线索"], rows,
                   subtitle="稷下街道 · 2024 年度")


def test_xlsx_reopens_with_the_same_rows_and_types(tmp_path):
    out = write_xlsx(_listing(), tmp_path / "l.xlsx")
    ws = load_workbook(out).active
    assert ws["A1"].value == "建议纳入监测（疑似应纳未纳）名单"
    assert [c.value for c in ws[3]] == ["户编号", "户主", "人均收入", "日期", "有线索"]
    assert [c.value for c in ws[4]][:3] == ["3703050010010000", "古丽米热·阿不都克热木", 1550.5]
    assert ws["D4"].value.date() == date(2024, 11, 3) and ws["E4"].value == "是"
    assert ws.max_row == 6 and ws.freeze_panes == "A4"


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    listing = Listing("t", ["值"], [[v] for v in HOSTILE])
    ws = load_workbook(write_xlsx(listing, tmp_path / "h.xlsx")).active
    assert [ws.cell(row=r, column=1).value for r in range(4, 4 + len(HOSTILE))] == HOSTILE
    assert all(ws.cell(row=r, column=1).data_type == "s" for r in range(4, 4 + len(HOSTILE)))


def test_a_row_of_the_wrong_length_is_refused_in_chinese(tmp_path):
    with pytest.raises(ListingError, match="第 1 行有 1 个值"):
        write_xlsx(Listing("t", ["a", "b"], [["x"]]), tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")
def test_pdf_has_every_row_and_repeats_the_header(tmp_path):
    pages = write_pdf(_listing(60), tmp_path / "l.pdf", "稷下街道")
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "l.pdf"), "-"], capture_output=True,
                          text=True).stdout
    assert pages >= 2 and text.count("3703050010010000") == 1 and "共 60 条" in text
    assert text.count("户编号") >= pages
