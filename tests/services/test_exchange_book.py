"""Helpers that write village workbooks with openpyxl (as a village's Excel would), and the checks
of the writer underneath export: the fast row path and XlsxWriter's public calls give the same cells."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
from python_calamine import CalamineWorkbook

from desktop.services.exchange.xlsx import DATE, MONEY, TEXT, Book, Col
from desktop.services.idnumber import make_id

AREA = "370305"
TABLES = ("household", "member", "measure", "income_record", "income_line", "region", "member_event")


def write_book(path: Path, sheets: dict[str, list[list]], titles: dict[str, list[list]] | None = None) -> Path:
    """A workbook as a village writes it: one list of rows per sheet (the first is the header),
    optionally with title rows above the header."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in (titles or {}).get(name, []):
            ws.append(row)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def table(rows: list[dict]) -> list[list]:
    """Header (every key, first seen first) and the rows below it."""
    header: list[str] = []
    for r in rows:
        header += [k for k in r if k not in header]
    return [header] + [[r.get(h) for h in header] for r in rows]


def hh(no: str, village: str = "东村", **cells) -> dict:
    return {"户编号": no, "乡镇": "稷下街道", "行政村": village, **cells}


def person(no: str, name: str, born: date, sex: str, relation: str, serial: int, **cells) -> dict:
    return {"户编号": no, "姓名": name, "性别": "男" if sex == "1" else "女",
            "证件号码": make_id(AREA, born, serial, sex), "与户主关系": relation, **cells}


def family_rows(no: str, serial: int) -> list[dict]:
    return [person(no, "张三", date(1970, 3, 5), "1", "户主", serial,
                   **{"参加基本医疗保险": "是", "劳动技能": "普通劳动力"}),
            person(no, "李四", date(1972, 8, 9), "2", "配偶", serial + 1, **{"参加基本医疗保险": "是"})]


def simple_book(path: Path, households: int = 2, **extra_cells) -> Path:
    """A valid workbook: `households` households of two members each in 东村."""
    hs, ms = [], []
    for i in range(households):
        no = f"H{i + 1:03d}"
        hs.append(hh(no, **extra_cells))
        ms += family_rows(no, 10 + i * 2)
    return write_book(path, {"户信息": table(hs), "家庭成员": table(ms)})


def db_state(database) -> tuple[dict, str]:
    """Row counts of the tables an import writes, and a checksum of household and member rows."""
    with database.engine.connect() as c:  # on either database: its own connection, outside any session
        counts = {t: c.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() for t in TABLES}
        digest = hashlib.sha256()
        for t in ("household", "member", "income_line", "measure"):
            for row in c.exec_driver_sql(f"SELECT * FROM {t} ORDER BY id"):
                digest.update(repr(tuple(row)).encode())
    return counts, digest.hexdigest()


def sheet_values(path: Path, name: str) -> list[tuple]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return [tuple(r) for r in wb[name].iter_rows(values_only=True)]
    finally:
        wb.close()


# ---------------------------------------------------------------- the writer

ROWS = [["A001", "张三", Decimal("12000.50"), date(2024, 5, 1), 7],
        ["A002", "=1+1", Decimal("0.00"), None, None],
        ["A003", " 前后空格 ", None, date(1999, 12, 31), 12],
        ["A004", "a & b <c> _x0041_", Decimal("9999999.99"), None, 0],
        ["A005", "东村", Decimal("1"), None, None]]
COLS = [Col("户编号", TEXT, 20, "required"), Col("名称", TEXT, 20), Col("金额", MONEY, 12), Col("日期", DATE, 12),
        Col("月数", "int", 6)]


def _write(path: Path, fast: bool, shared: bool) -> Path:
    book = Book(path)
    cols = [Col(c.header, c.kind, c.width, c.style, shared=shared and i == 1) for i, c in enumerate(COLS)]
    ws = book.sheet("表", cols)
    if not fast:
        ws.fast = False
    for r in ROWS:
        ws.row(list(r))
    book.close()
    return path


def test_fast_rows_and_public_calls_write_the_same_cells(tmp_path):
    fast = _write(tmp_path / "fast.xlsx", fast=True, shared=False)
    shared = _write(tmp_path / "shared.xlsx", fast=True, shared=True)
    public = _write(tmp_path / "public.xlsx", fast=False, shared=False)
    expected = CalamineWorkbook.from_path(str(public)).get_sheet_by_name("表").to_python()
    assert expected[1] == ["A001", "张三", 12000.5, date(2024, 5, 1), 7.0]
    assert expected[2][1] == "=1+1" and expected[3][1] == " 前后空格 " and expected[4][1] == "a & b <c> _x0041_"
    for path in (fast, shared):  # what our importer reads (calamine)
        assert CalamineWorkbook.from_path(str(path)).get_sheet_by_name("表").to_python() == expected
    # and what openpyxl reads (it leaves Excel's _x005F_ escape of inline text as it is, so not that cell)
    public_rows = sheet_values(public, "表")
    for path in (fast, shared):
        rows = sheet_values(path, "表")
        assert [r for i, r in enumerate(rows) if i != 4] == [r for i, r in enumerate(public_rows) if i != 4]


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    path = _write(tmp_path / "f.xlsx", fast=True, shared=False)
    wb = openpyxl.load_workbook(path)
    cell = wb["表"]["B3"]
    assert cell.value == "=1+1" and cell.data_type == "s" and cell.quotePrefix
    assert wb["表"]["A1"].font.b and wb["表"].freeze_panes == "B2"
    assert wb["表"].column_dimensions["A"].width > 19
