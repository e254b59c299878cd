"""Measuring a workbook before reading it (measure.py): the extent found is the real one whatever the file
claims, the limits refuse in Chinese, and an honest file passes untouched."""

from __future__ import annotations

import multiprocessing
import random
import re
import zipfile

import openpyxl
import pytest

from desktop.services.exchange import measure
from desktop.services.exchange.measure import Limits, col_letters
from desktop.services.exchange.reader import Book, WorkbookError

from .hostile_files import Err, Formula, Raw, XSheet, write_xlsx


def _scan(path, name="S", limits=measure.LIMITS):
    book = Book(path, limits)
    try:
        return book.scan(name)
    finally:
        book.close()


def test_the_threshold_expressions_match_exactly_what_lies_beyond():
    rng = random.Random(14)
    for _ in range(300):
        n = rng.randint(0, 1_100_000)
        pattern, bound = measure._greater_digits(n)
        rx = re.compile(b"^" + pattern + b"$")
        assert n <= bound <= max(n, (n // 10 ** max(len(str(n)) - 2, 0) + 1) * 10 ** max(len(str(n)) - 2, 0))
        for m in (rng.randint(0, 2_000_000) for _ in range(30)):
            assert bool(rx.match(str(m).encode())) == (m > bound), (n, m, bound)
        c = rng.randint(0, 16384)
        rc = re.compile(b"^" + measure._greater_letters(c) + b"$")
        for k in (rng.randint(1, 16384) for _ in range(30)):
            assert bool(rc.match(col_letters(k).encode())) == (k > c), (c, k)


def test_the_real_extent_not_the_claimed_one(tmp_path):
    rows = [["户编号", "姓名"], ["H1", "张三"]]
    cases = {'<row r="3"><c r="B900000"><v>1</v></c></row>': (900000, 2),  # a cell beyond its own row
             '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>': (1048576, 16384),
             "<row r='7'><c s='0'  r='AA7' t='n'><v>1</v></c></row>": (7, 27)}  # other quoting and attribute order
    for i, (extra, (rows_seen, cols)) in enumerate(cases.items()):
        path = write_xlsx(tmp_path / f"{i}.xlsx", [XSheet("S", rows, dimension="A1:B2", extra=[extra])])
        scan = _scan(path)
        assert (scan.rows_seen, scan.max_col) == (rows_seen, cols) and scan.claimed == "A1:B2"
        assert scan.max_row >= rows_seen


def test_rows_in_any_order_over_many_pieces(tmp_path, monkeypatch):
    """The scan takes the rows reached from the last row of each piece, a hint only: rows written out of order
    (a large row number early, a small one last, a cell beyond its own row) still give the true extent of the
    cells, piece after piece."""
    monkeypatch.setattr(measure, "CHUNK", 300)  # a few rows a piece
    rng = random.Random(20)
    for case in range(12):
        numbers = rng.sample(range(2, 5000), 60)
        if case % 3 == 0:
            numbers.sort(reverse=True)
        far = {rng.choice(numbers): (rng.randint(1, 3), rng.choice([4000, 70000, 900000]))}  # row → (col, ref row)
        extra, cells = [], [(1, 1), (2, 1)]
        for n in numbers:
            width = rng.randint(1, 6)
            refs = [(c, n) for c in range(1, width + 1)]
            if n in far:
                refs.append((far[n][0] + 30, far[n][1]))
            rng.shuffle(refs)
            extra.append(f'<row r="{n}">' + "".join(f'<c r="{col_letters(c)}{r}"><v>1</v></c>' for c, r in refs)
                         + "</row>")
            cells += refs
        path = write_xlsx(tmp_path / f"o{case}.xlsx", [XSheet("S", [["户编号", "姓名"]], extra=extra)])
        scan = _scan(path)
        rows, cols = max(r for _c, r in cells), max(c for c, _r in cells)
        assert scan.max_col == cols and scan.rows_seen == rows and scan.max_row >= rows, case
        assert scan.cells == len(cells)


def test_hidden_rows_error_cells_and_formulas_without_a_value(tmp_path):
    rows = [["a", Err("#REF!"), Formula("1+1"), Formula("1+1", 2), Raw('<c r="E1" t="str"><f>""</f><v></v></c>')],
            ["b"], ["c"]]
    scan = _scan(write_xlsx(tmp_path / "e.xlsx", [XSheet("S", rows, hidden_rows={2})]))
    assert scan.hidden_rows == [2]
    assert scan.bad == {1: [(1, "#REF!"), (2, "")]}  # a text formula whose result is "" is not an error


def test_cells_without_a_position_are_refused(tmp_path):
    path = write_xlsx(tmp_path / "n.xlsx", [XSheet("S", [["a"]], extra=['<row r="2"><c><v>1</v></c></row>'])])
    with pytest.raises(WorkbookError, match="没有写明位置"):
        _scan(path)


def test_a_long_run_without_a_tag_is_refused(tmp_path):
    limits = Limits(run_bytes=1 << 20)
    path = write_xlsx(tmp_path / "r.xlsx", [XSheet("S", [["a"]], pad=12 << 20)])  # more than one read of 8 MB
    with pytest.raises(WorkbookError, match="没有分行"):
        _scan(path, limits=limits)


def test_too_many_cells_for_the_bytes_they_take(tmp_path):
    cells = "".join(f'<row r="{r}">' + "".join(f'<c r="{col_letters(c)}{r}"/>' for c in range(1, 60)) + "</row>"
                    for r in range(1, 3000))
    path = write_xlsx(tmp_path / "c.xlsx", [XSheet("S", [], extra=[cells])])
    with pytest.raises(WorkbookError, match="大量重复的空单元格"):
        _scan(path, limits=Limits(cells_per_byte=0.1))


def test_duplicate_parts_are_refused(tmp_path):
    import zipfile
    path = write_xlsx(tmp_path / "d.xlsx", [XSheet("S", [["a"]])])
    with zipfile.ZipFile(path, "a") as z:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    with pytest.raises(WorkbookError, match="同名的部件"):
        Book(path)


def test_a_sparse_sheet_is_read_row_by_row(tmp_path):
    path = write_xlsx(tmp_path / "s.xlsx", [XSheet("S", [["户编号"], ["H1"]],
                                                   extra=['<row r="1048576"><c r="GR1048576"><v>1</v></c></row>'])])
    book = Book(path)
    try:
        assert book.is_sparse("S")
        rows = list(book.rows("S"))
    finally:
        book.close()
    assert [r for r, _ in rows] == [1, 2, 1048576] and len(rows[2][1]) == 200


# ---------------------------------------------------------------- through the importer

def test_a_hidden_national_sheet_is_a_question(ctx, tmp_path):
    from desktop.services import exchange

    from ..conftest import YEAR
    from .national_files import grid, sample_rows
    rows = sample_rows()
    cells = grid(rows[:3])
    hidden = grid(rows[3:])
    path = write_xlsx(tmp_path / "n.xlsx", [XSheet("名单", cells), XSheet("另一批", hidden, state="veryHidden")])
    pv = ctx.read(exchange.preview, path, YEAR)
    assert pv.confirmable and list(pv.questions) == ["hidden"]
    assert "深度隐藏" in pv.questions["hidden"][0].reason and pv.questions["hidden"][0].sheet == "另一批"
    assert "工作表“另一批”（深度隐藏，Excel 中无法取消隐藏）读作：全国系统一人一行名单" in pv.sheet_notes
    both = ctx.read(exchange.preview, path, YEAR, include_hidden=True)
    assert both.ok and both.people == pv.people


def test_hidden_columns_are_read_from_cols_before_the_rows(tmp_path):
    """Excel writes one <col min max hidden="1"> a run of hidden columns; a run to the last column (XFD, as Excel
    writes "hide everything right of the data") is held to the sheet's 16,384 columns."""
    rows = [["a", "b", "c", "d", "e"], [1, 2, 3, 4, 5]]
    path = write_xlsx(tmp_path / "c.xlsx", [XSheet("S", rows, hidden_cols={2, 3, 5})])
    assert _scan(path).hidden_cols == {1, 2, 4}
    wide = write_xlsx(tmp_path / "w.xlsx", [XSheet("S", rows, hidden_cols=set(range(6, 16_385)))])
    assert _scan(wide).hidden_cols == set(range(5, 16_384))
    assert _scan(write_xlsx(tmp_path / "n.xlsx", [XSheet("S", rows)])).hidden_cols == set()


@pytest.mark.parametrize("ref", ["AAAA1", "B2000000"])
def test_a_cell_past_excels_grid_in_the_first_row_is_refused(tmp_path, ref):
    """The sheet scan takes the rest of a row at once when a cell lies beyond the extent seen so far: a cell past
    column XFD (four letters) or row 1,048,576 among them is still refused before anything is read."""
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


@pytest.mark.parametrize("beside", [False, True])
def test_a_damaged_sheet_part_is_refused_as_zipfile_refuses_it(tmp_path, monkeypatch, beside):
    """_Stream inflates a sheet with zlib itself: a wrong CRC, a flipped byte of the compressed data, a part larger
    than its directory entry claims are refused ("已损坏") wherever zipfile's own reading fails; a part stored without
    compression and the same part deflated give the same scan. `beside`: inflated on a thread of its own (measure.
    _beside, as a large sheet is), the same: the damage raised there is refused here alike."""
    if beside:
        monkeypatch.setattr(measure, "BESIDE_FROM", 0)
    rows = [[f"户{r}", r, r * 1.5, "是"] for r in range(1, 400)]
    path = write_xlsx(tmp_path / "ok.xlsx", [XSheet("S", rows)])
    part = "xl/worksheets/sheet1.xml"
    sheets = {"S": part}
    good = measure.scan_xlsx(path, sheets).sheets["S"]
    assert good.cells == 4 * 399 and good.max_row == 399 or good.rows_seen == 399

    with zipfile.ZipFile(path) as z:
        infos = {i.filename: i for i in z.infolist()}
        data = {name: z.read(name) for name in infos}
    stored = tmp_path / "stored.xlsx"
    with zipfile.ZipFile(stored, "w") as z:
        for name, blob in data.items():
            z.writestr(name, blob, zipfile.ZIP_STORED if name == part else zipfile.ZIP_DEFLATED)
    again = measure.scan_xlsx(stored, sheets).sheets["S"]
    assert (again.cells, again.max_row, again.max_col, again.xml_bytes) == \
        (good.cells, good.max_row, good.max_col, good.xml_bytes)

    raw = path.read_bytes()
    info = infos[part]
    central = raw.rindex(b"PK\x01\x02", 0, raw.rindex(part.encode()))  # the part's directory entry
    start = info.header_offset + 30 + len(part.encode()) + len(info.extra)  # its compressed bytes
    variants = {
        "crc": raw[:central + 16] + bytes(4) + raw[central + 20:],
        "claims less": raw[:central + 24] + (info.file_size // 2).to_bytes(4, "little") + raw[central + 28:],
    }
    for k in range(start + 50, start + info.compress_size - 10, max(1, info.compress_size // 7)):
        variants[f"byte {k - start}"] = raw[:k] + bytes([raw[k] ^ 0x5A]) + raw[k + 1:]
    for name, blob in variants.items():
        bad = tmp_path / f"bad-{name}.xlsx"
        bad.write_bytes(blob)
        with zipfile.ZipFile(bad) as z:
            try:
                z.read(part)
                zipfile_refuses = False
            except Exception:  # noqa: BLE001 - what zipfile raises for damage varies (BadZipFile, zlib.error, …)
                zipfile_refuses = True
        if zipfile_refuses:
            with pytest.raises(measure.FileRefused, match="已损坏"):
                measure.scan_xlsx(bad, sheets)
        else:  # (a flipped byte zlib does not notice that the CRC does not either: vanishingly rare)
            measure.scan_xlsx(bad, sheets)
    assert {"crc", "claims less"} <= set(variants)
    assert not _inflating()


def _inflating() -> list:
    import threading
    return [t for t in threading.enumerate() if t.name == "inflate"]


def test_a_large_part_inflated_beside_gives_the_same_pieces_and_leaves_no_thread(tmp_path, monkeypatch):
    """A sheet inflated on a thread of its own (measure._beside, BESIDE_FROM) is cut into exactly the pieces of the
    plain read, in order, and gives the same scan; the thread really is another; a read stopped early (the caller
    closes the pieces; the guards refuse a piece) stops the thread and waits for it."""
    import threading
    rows = [[f"户{r}", r, r * 1.5, "是"] for r in range(1, 3000)]
    path = write_xlsx(tmp_path / "big.xlsx", [XSheet("S", rows)])
    part = "xl/worksheets/sheet1.xml"
    monkeypatch.setattr(measure, "CHUNK", 4096)
    plain = list(measure.sheet_pieces(path, part))
    scan_plain = measure.scan_xlsx(path, {"S": part}).sheets["S"]
    monkeypatch.setattr(measure, "BESIDE_FROM", 0)
    threads = []
    real = measure._deflated

    def deflated(*a):
        threads.append(threading.current_thread())  # (a generator: runs where it is first iterated)
        for piece in real(*a):
            threads.append(threading.current_thread())
            yield piece

    monkeypatch.setattr(measure, "_deflated", deflated)
    assert len(plain) > 10
    assert list(measure.sheet_pieces(path, part)) == plain
    assert {t.name for t in threads} == {"inflate"}
    scan = measure.scan_xlsx(path, {"S": part}).sheets["S"]
    assert (scan.cells, scan.max_row, scan.max_col, scan.xml_bytes, scan.rows_seen) == \
        (scan_plain.cells, scan_plain.max_row, scan_plain.max_col, scan_plain.xml_bytes, scan_plain.rows_seen)
    pieces = measure.sheet_pieces(path, part)
    assert next(pieces) == plain[0]
    pieces.close()
    assert not _inflating()
    with pytest.raises(measure.FileRefused):
        measure.scan_xlsx(path, {"S": part}, Limits(cells=2000))
    assert not _inflating()


@pytest.mark.parametrize("chunk", [5, 6, 7, 13, 64, 301])
def test_each_piece_ends_at_the_last_boundary_read_so_far(tmp_path, monkeypatch, chunk):
    """_Stream's pieces, whatever size the part's bytes come in: each ends at the last `</row>` of all that has been
    read so far — also one split across two reads (`</ro` + `w>`), or a read with none in it — and together they are
    the part, byte for byte."""
    rnd = random.Random(chunk)
    xml = b"<worksheet><sheetData>" + b"".join(
        b'<row r="%d"><c r="A%d"><v>%s</v></c></row>' % (r, r, b"9" * rnd.randrange(0, 40)) for r in range(1, 60)
    ) + b"</sheetData></worksheet>"
    path = tmp_path / "p.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("s.xml", xml)
    monkeypatch.setattr(measure, "CHUNK", chunk)
    expected, carry = [], b""
    for i in range(0, len(xml), chunk):  # (the definition: the pieces of carry + what was read)
        buf = carry + xml[i:i + chunk]
        cut = buf.rfind(b"</row>")
        if cut < 0:
            carry = buf
            continue
        expected.append(buf[:cut + 6])
        carry = buf[cut + 6:]
    expected.append(carry)
    with zipfile.ZipFile(path) as z:
        got = list(measure._Stream(z, z.getinfo("s.xml"), "s", measure.LIMITS, b"</row>"))
    assert got == expected and b"".join(got) == xml


# ---------------------------------------------------------------- a large sheet measured in two parts at once

def _odd_sheet(rng: random.Random, n: int) -> list[str]:
    """Rows out of order over many pieces, a cell far beyond its own row, hidden rows, error cells and formulas
    without a value in every part of the sheet."""
    out = []
    for r in rng.sample(range(2, 4000), n):
        cells = [f'<c r="{col_letters(c)}{r}"><v>{c}</v></c>' for c in range(1, rng.randint(2, 7))]
        if rng.random() < 0.05:
            cells.append(f'<c r="{col_letters(rng.randint(8, 40))}{rng.choice([r, 9000, 70000])}"><v>1</v></c>')
        if rng.random() < 0.05:
            cells.append(f'<c r="H{r}" t="e"><v>#REF!</v></c>')
        if rng.random() < 0.05:
            cells.append(f'<c r="I{r}"><f>1+1</f></c>')
        if rng.random() < 0.02:
            cells.append(f'<c s="0" r="J{r}"><v>1</v></c>')  # (not as Excel writes it: that piece's word is False)
        hidden = ' hidden="1"' if rng.random() < 0.05 else ""
        out.append(f'<row r="{r}"{hidden}>' + "".join(cells) + "</row>")
    return out


def _two_ways(path, monkeypatch, name="S") -> tuple:
    """The sheet measured in one pass and in two parts (the later one in a child): the scans, the pieces' words,
    and how many children were started."""
    from desktop.services.exchange import apart
    started = []

    class Counted(apart.Child):
        def __init__(self, *a, **k):
            started.append(a[0].__name__)
            super().__init__(*a, **k)

    part = Book(path)._zip_parts[name]
    monkeypatch.setattr(measure, "CHUNK", 300)  # a few rows a piece
    monkeypatch.setattr(apart, "Child", Counted)
    out = []
    for split in (1 << 40, 0):
        monkeypatch.setattr(measure, "SPLIT_FROM", split)
        words: list[bool] = []
        try:
            out.append((measure.scan_xlsx(path, {name: part}, words=words).sheets[name], words))
        except measure.FileRefused as exc:
            out.append((str(exc), None))
    return out[0], out[1], started


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_large_sheet_measured_in_two_parts_gives_what_one_pass_gives(tmp_path, monkeypatch, seed):
    """A large sheet (SPLIT_FROM; here every sheet, in pieces of a few rows) is measured in two parts at once, the
    later one in a child process: the same cells, extent (rows seen, the grid's bound, columns), hidden rows and
    columns, error cells and formulas, claimed extent and words on each piece as one pass over it."""
    rng = random.Random(seed)
    path = write_xlsx(tmp_path / "s.xlsx", [XSheet("S", [["户编号", "姓名"]], dimension="A1:B2",
                                                   hidden_cols={2}, extra=_odd_sheet(rng, 400))])
    (one, words1), (two, words2), started = _two_ways(path, monkeypatch)
    assert started == ["_scan_rest"]
    assert one == two and words1 == words2 and len(words1) > 20 and True in words1 and False in words1
    assert one.hidden_rows and one.bad and one.hidden_cols == {1} and one.rows_seen >= 3000


@pytest.mark.parametrize("where, why", [
    ("second", "超出 Excel 的范围"),  # refused in the child's part: its reason
    ("both", "没有写明位置"),  # refused in both: the first part's reason, as one pass says it
])
def test_a_sheet_refused_in_either_part_is_refused_for_the_first_reason_in_the_file(tmp_path, monkeypatch, where,
                                                                                    why):
    rows = _odd_sheet(random.Random(5), 300)
    rows[-2] = '<row r="99999"><c r="AAAA99999"><v>1</v></c></row>'  # past column XFD, late in the sheet
    if where == "both":
        rows[3] = '<row r="99998"><c><v>1</v></c></row>'  # a cell without its place, early
    path = write_xlsx(tmp_path / "r.xlsx", [XSheet("S", [["户编号"]], extra=rows)])
    (one, _w1), (two, _w2), started = _two_ways(path, monkeypatch)
    assert started == ["_scan_rest"]
    assert isinstance(one, str) and why in one and one == two
    assert not multiprocessing.active_children()


def test_no_child_to_be_had_or_none_that_answers_measures_the_sheet_here(tmp_path, monkeypatch):
    from desktop.services.exchange import apart
    path = write_xlsx(tmp_path / "s.xlsx", [XSheet("S", [["户编号"]], extra=_odd_sheet(random.Random(9), 300))])
    (one, words1), _two, _started = _two_ways(path, monkeypatch)

    def refuse(*_a, **_k):
        raise OSError("no more processes")

    for broken in (refuse, None):
        with monkeypatch.context() as m:
            if broken is None:
                m.setattr(apart.Child, "result", lambda self, timeout=0: self.close())  # (died: nothing said)
            else:
                m.setattr(apart, "Child", refuse)
            m.setattr(measure, "SPLIT_FROM", 0)
            words: list[bool] = []
            got = measure.scan_xlsx(path, {"S": Book(path)._zip_parts["S"]}, words=words).sheets["S"]
        assert got == one and words == words1
    assert not multiprocessing.active_children()
