"""The column path of the reader (reader._convert_columns: a chunk of rows at a time, each column's distinct values
converted once) gives exactly the answers of the plain path (reader._convert_plain: every cell of every row through
its converter), in both layouts: the same stored values row by row, the same errors in the same order, the same
notes (removed characters, 合计 rows and footers, hidden rows), the same households and members after grouping.

The files are a small register exported in our layout and in the national one, then spoiled as files from outside
are: an ID stored as a number, an ID with a wrong check digit, a required cell left blank, invisible characters in
free text and in a name, TRUE next to 1 in one column, a date that does not exist, a formula saved without its
value, a hidden row, a blank row, a 合计 row and a 填表人 footer, a household whose repeated cells disagree across its
member rows, a second column of one fact that disagrees with the first. Chunks of a few rows make every chunk
boundary fall inside a household."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest

from desktop.services import demo, exchange
from desktop.services.exchange import importer, national, reader
from desktop.services.exchange.layout import sheet
from desktop.services.exchange.reader import Issues

from ..conftest import YEAR


@pytest.fixture
def exported(ctx, township, tmp_path):
    ctx.run(demo.generate, 40, seed=5, year=YEAR, as_of=date(2024, 10, 31))
    ours, national = tmp_path / "ours.xlsx", tmp_path / "national.xlsx"
    ctx.run(exchange.export_workbook, ours, YEAR)
    ctx.run(exchange.export_national, national, YEAR)
    return ours, national


def _headers(ws) -> tuple[int, dict[str, int]]:
    for r in range(1, 10):
        values = [c.value for c in ws[r]]
        if "户编号" in values:
            return r, {v: j + 1 for j, v in enumerate(values) if isinstance(v, str)}
    raise AssertionError("no header row")


def _spoil(ws, first_data_offset: int = 1) -> None:
    """Spoil a sheet the way files from outside are spoiled (only columns the sheet has)."""
    at, cols = _headers(ws)
    top = at + first_data_offset

    def put(row: int, header: str, value) -> None:
        if header in cols:
            ws.cell(top + row, cols[header]).value = value

    put(0, "证件号码", 370305199001011234)  # a number: Excel kept 15 digits
    put(1, "证件号码", "370305199001011235")  # a wrong check digit
    put(2, "姓名", None)  # required, blank
    put(3, "姓名", "张\u200b三")  # an invisible character in a name (refused)
    put(4, "务工所在地", "山东\u200b济南")  # … in free text (removed, noted)
    put(5, "务工所在地", "山东\u200b济南")
    put(6, "是否脱贫户", True)
    put(7, "是否脱贫户", 1)
    put(8, "是否脱贫户", "是")
    put(9, "识别监测时间", "2023-02-30")
    put(10, "联系电话", 13800000000)
    put(11, "户联系电话", 13800000001)
    put(12, "生产经营性收入", "=1/0")  # a formula saved without a value
    ws.row_dimensions[top + 13].hidden = True
    for j in range(1, ws.max_column + 1):  # a blank row
        ws.cell(top + 14, j).value = None
    last = ws.max_row
    ws.cell(last + 1, 1).value = "合计"
    ws.cell(last + 3, 1).value = "填表人：王五"


def _national_extra(ws) -> str:
    """A household's repeated cell that disagrees on its second member row, and a second column of one fact
    (风险消除时间 beside 消除监测时间) that disagrees on one row and alone has the value of another household; a
    household whose risks are only in 致贫/返贫风险2."""
    at, cols = _headers(ws)
    no = cols["户编号"]
    rows = [r for r in range(at + 1, ws.max_row + 1) if ws.cell(r, no).value]
    by_no: dict = {}
    for r in rows:
        by_no.setdefault(ws.cell(r, no).value, []).append(r)
    multi = [rs for rs in by_no.values() if len(rs) > 1]
    ws.cell(multi[0][1], cols["户联系电话"]).value = "13999999999"
    r1, r2 = cols["致贫/返贫风险1"], cols["致贫/返贫风险2"]
    risky = next(rs for rs in multi[3:] if ws.cell(rs[0], r1).value)
    for r in risky:  # the first risk column blank, the second filled: the household's risks on every row
        ws.cell(r, r2).value, ws.cell(r, r1).value = ws.cell(r, r1).value, None
    risky_no = ws.cell(risky[0], no).value
    if "风险消除时间" not in cols:
        j = ws.max_column + 1
        ws.cell(at, j).value = "风险消除时间"
        src = cols["消除监测时间"]
        for r in rows:
            ws.cell(r, j).value = ws.cell(r, src).value
        ws.cell(multi[1][0], j).value = "202301"
        ws.cell(multi[1][0], src).value = "202302"
        for r in multi[2]:  # only the second column says it: its value is the household's on every row
            ws.cell(r, src).value = None
            ws.cell(r, j).value = "202305"
    return risky_no


def _snapshot(data, issues: Issues) -> dict:
    def rows(items):
        return [(int(r), getattr(r, "sheet", None), list(v)) for r, v in items]

    out = {"errors": [(i.sheet, i.row, i.column, i.value, i.reason) for i in issues.items], "count": issues.count}
    if data is None:
        return out
    out["sheets"] = [(ps.name, ps.header_row, sorted(ps.present), ps.headers, rows(ps.rows), ps.ignored, ps.left_out,
                      ps.converted, ps.skipped, ps.hidden_rows, ps.hidden_columns,
                      {k: [v[0], v[1], sorted(v[2])] for k, v in ps.stripped.items()}) for ps in data.read]
    out["households"] = {no: (int(r), list(v)) for no, (r, v) in data.households.items()}
    for key in ("members", "measures", "lines"):
        out[key] = {no: rows(items) for no, items in getattr(data, key).items()}
    return out


_GROUP = national._group


def _read(path: Path, fast: bool, monkeypatch) -> dict:
    """What the file reads as: every parsed row as parse_sheet gave it (the national grouping lets go of the
    person rows as it goes, so they are taken before it), then the households and members."""
    monkeypatch.setattr(reader, "FAST", fast)
    person_rows = []

    def taking(read, issues):
        person_rows.extend((ps.name, int(r), list(v)) for ps in read for r, v in ps.rows)
        return _GROUP(read, issues)

    monkeypatch.setattr(national, "_group", taking)
    issues = Issues()
    data = importer.read(path, issues)
    return _snapshot(data, issues) | {"person_rows": person_rows}


@pytest.mark.parametrize("chunk", [3, 7, 10_000])
def test_the_column_path_reads_our_layout_exactly_as_the_plain_path(exported, tmp_path, monkeypatch, chunk):
    ours, _national = exported
    wb = openpyxl.load_workbook(ours)
    for ws in wb.worksheets:
        if "户编号" in [c.value for c in ws[1]] or any("户编号" in [c.value for c in ws[r]] for r in range(1, 4)):
            _spoil(ws)
    spoiled = tmp_path / "ours_spoiled.xlsx"
    wb.save(spoiled)
    monkeypatch.setattr(reader, "CHUNK_ROWS", chunk)
    plain, fast = _read(spoiled, False, monkeypatch), _read(spoiled, True, monkeypatch)
    assert plain["count"] > 5  # the spoiled cells were seen …
    assert any("校验位" in e[4] for e in plain["errors"])
    assert fast == plain  # … and the column path says exactly the same
    clean_plain, clean_fast = _read(ours, False, monkeypatch), _read(ours, True, monkeypatch)
    assert clean_plain["count"] == 0 and len(clean_plain["households"]) == 40
    assert clean_fast == clean_plain


@pytest.mark.parametrize("chunk", [2, 5, 10_000])
def test_the_column_path_reads_the_national_layout_exactly_as_the_plain_path(exported, tmp_path, monkeypatch, chunk):
    _ours, national = exported
    wb = openpyxl.load_workbook(national)
    ws = wb.worksheets[0]
    risky = _national_extra(ws)
    _spoil(ws, first_data_offset=3)
    spoiled = tmp_path / "national_spoiled.xlsx"
    wb.save(spoiled)
    monkeypatch.setattr(reader, "CHUNK_ROWS", chunk)
    plain, fast = _read(spoiled, False, monkeypatch), _read(spoiled, True, monkeypatch)
    assert plain["count"] > 5
    assert any("不一致" in e[4] for e in plain["errors"])
    assert plain["households"][risky][1][sheet("household").index("a27_risk_types")]  # read from 风险2 alone
    assert len(plain["person_rows"]) > 100
    assert fast == plain
    clean_plain, clean_fast = _read(national, False, monkeypatch), _read(national, True, monkeypatch)
    assert clean_plain["count"] == 0 and len(clean_plain["households"]) == 40
    assert clean_fast == clean_plain


def test_a_value_met_past_the_cache_is_still_converted_and_its_errors_told(exported, monkeypatch):
    """Past CACHE_VALUES distinct values a column converts what it has not kept: the same answers."""
    _ours, national = exported
    plain = _read(national, False, monkeypatch)
    monkeypatch.setattr(reader, "CACHE_VALUES", 3)
    monkeypatch.setattr(reader, "CHUNK_ROWS", 4)
    assert _read(national, True, monkeypatch) == plain


@pytest.mark.parametrize("ref", ["AAAA1", "B2000000"])
def test_a_cell_past_excels_grid_in_the_first_row_is_refused(tmp_path, ref):
    """The sheet scan takes the rest of a row at once when a cell lies beyond the extent seen so far: a cell past
    column XFD (four letters) or row 1,048,576 among them is still refused before anything is read."""
    import zipfile

    from desktop.services.exchange.reader import Book, WorkbookError

    plain = tmp_path / "plain.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["户编号", "姓名", "x"])
    wb.save(plain)
    spoiled = tmp_path / "spoiled.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(spoiled, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                assert b'r="C1"' in data
                data = data.replace(b'r="C1"', f'r="{ref}"'.encode())
            dst.writestr(info, data)
    book = Book(spoiled)
    with pytest.raises(WorkbookError, match="超出 Excel 的范围"):
        book.scan(book.sheet_names[0])
