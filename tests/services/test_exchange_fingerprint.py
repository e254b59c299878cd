"""A re-import that skips the households unchanged since the last import (exchange/fingerprint.py, issue 20) gives
exactly what reading the whole file gives: the same rows, the same audit entries, the same preview (counts, notes,
errors) and the same result — for an unchanged file, a file with a few households changed, a household edited in
the program between the imports, a file whose rows were reordered, a file whose shared strings changed (the whole
file is read) and a file with a bad row among unchanged ones. Both layouts (ours and the national one).

Each case: the register is exported, imported once (that import stores the fingerprints), the second file is
imported into two copies of the database — once with the shortcut turned off, once with it — and everything is
compared. Each case also checks that the shortcut did (or, where it must not, did not) leave households out, so the
comparison is of two different paths."""

from __future__ import annotations

import re
import shutil
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from desktop.services import demo, exchange, register
from desktop.services.context import AppContext
from desktop.services.db import init_db, sqlite_url
from desktop.services.exchange import fingerprint, importer

from ..conftest import ADMIN_PASSWORD, TEST_KEY, TODAY, YEAR, copy_template, login, replace_if_untouched
from .test_exchange_bulk import _contents, _copy, _open

LAYOUTS = ("program", "national")


def _generate(ctx) -> None:
    ctx.run(demo.generate, 40, seed=7, year=YEAR, as_of=date(2024, 10, 31))


@pytest.fixture(scope="module")
def _source_files(admin_template, tmp_path_factory):
    """The 40 households generated once for the module on a copy of the template after the administrator's log-in,
    and the register exported from them in both layouts (exports write nothing to the database): (database,
    {layout: workbook}). Most of a test's own setup before; None on PostgreSQL, where each test generates and
    exports."""
    if admin_template is None:
        return None
    folder = tmp_path_factory.mktemp("fingerprint")
    path, scratch = folder / "source.sqlite3", folder / "export.sqlite3"
    copy_template(admin_template[0], path)
    database = init_db(sqlite_url(path), key=TEST_KEY)
    try:
        _generate(AppContext(db=database, user=admin_template[1], year=YEAR, today=lambda: TODAY))
    finally:
        database.dispose()  # checkpoints the WAL: the main file is the whole database
    copy_template(path, scratch)  # exported from a copy: the tests' database is the one just generated
    database = init_db(sqlite_url(scratch), key=TEST_KEY)
    try:
        c = AppContext(db=database, user=admin_template[1], year=YEAR, today=lambda: TODAY)
        books = {layout: _export(c, folder / f"{layout}.xlsx", layout) for layout in LAYOUTS}
    finally:
        database.dispose()
    return path, books


_BOOKS: dict[int, dict[str, Path]] = {}  # a test's `source` made from the module's database → the module's books


@pytest.fixture
def source(ctx, township, admin_template, _source_files):
    """The 40 households: the test's own copy of the module's database (the test database is still the template
    after the log-in here), or generated step by step."""
    if _source_files is not None and replace_if_untouched(ctx.db, admin_template[0], _source_files[0]):
        _BOOKS[id(ctx)] = _source_files[1]
    else:
        _generate(ctx)
    yield ctx
    _BOOKS.pop(id(ctx), None)


def _export(ctx, path: Path, layout: str) -> Path:
    """The register exported in `layout` to `path`: a copy of the module's export of the same database, or made."""
    made = _BOOKS.get(id(ctx), {}).get(layout)
    if made is not None:
        shutil.copyfile(made, path)
        return path
    fn = exchange.export_national if layout == "national" else exchange.export_workbook
    ctx.run(fn, path, YEAR)
    return path


def _preview_facts(pv) -> tuple:
    return (pv.ok, pv.error_count, [e.text() for e in pv.errors], pv.summary(), pv.notes, pv.layout_text(),
            pv.households_new, pv.households_updated, pv.members_new, pv.members_updated, pv.measures,
            pv.income_households, pv.income_lines, pv.people, pv.kept, pv.converted, pv.left_out, pv.ignored,
            {k: [e.text() for e in v] for k, v in pv.questions.items()})


def _import(url: str, book: Path, fast: bool, monkeypatch, seen: dict | None = None):
    """Preview and apply `book`; the shortcut on or off. What the preview and result say."""
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(fingerprint, "load", lambda *a, **k: None)
        db = _open(url)
        try:
            admin = login(db, "admin", ADMIN_PASSWORD)
            with db.session(admin) as s:
                pv = exchange.preview(s, book, YEAR)
                skipped = len(pv.data.unchanged) if pv.data is not None else 0
                if seen is not None:
                    seen["skipped"] = skipped
                facts = _preview_facts(pv)
                if not pv.ok:
                    return facts, None
                r = exchange.apply(s, pv, as_of=TODAY, check=True, take_backup=False)
                s.commit()
                result = (r.summary(), r.households_new, r.households_updated, r.members_new, r.members_updated,
                          r.measures_new, r.measures_updated, r.income_records, r.changed_fields,
                          r.household_numbers, sorted(repr(f) for f in r.findings), r.findings_note)
            return facts, result
        finally:
            db.dispose()


def _twice(ctx, tmp_path, first: Path, second: Path, monkeypatch, edit=None) -> tuple[int, int]:
    """Import `first` (storing fingerprints), optionally edit the register, then `second` into two copies, without
    and with the shortcut: everything the same. (Households skipped, households the plain path read.)"""
    base = _copy(ctx.db, tmp_path, "base")
    facts0, result0 = _import(base, first, True, monkeypatch)
    assert result0 is not None, facts0[2][:5]
    if edit is not None:
        edit(base)
    plain_url, fast_url = _copy_url(base, tmp_path, "plain"), _copy_url(base, tmp_path, "fast")
    seen_plain, seen_fast = {}, {}
    plain = _import(plain_url, second, False, monkeypatch, seen_plain)
    fast = _import(fast_url, second, True, monkeypatch, seen_fast)
    assert seen_plain["skipped"] == 0
    assert plain[1] is not None, plain[0][2][:5]  # (the cases are files that import)
    assert fast[0] == plain[0]  # the preview: counts, notes, errors
    assert fast[1] == plain[1]  # the result: counts, summary, order, findings
    assert _contents(fast_url) == _contents(plain_url)  # every row and audit entry
    assert _stored(fast_url) == _stored(plain_url)  # and what the next import starts from
    return seen_fast["skipped"], plain[0][6] + plain[0][7]


def _stored(url: str) -> dict:
    """The households' states the last import stored, by household number."""
    from sqlalchemy import select

    from desktop.models import ImportFingerprint
    opened = _open(url)
    try:
        with opened.engine.connect() as con:
            blob = con.execute(select(ImportFingerprint.data)).scalar()
        return {st.household_no: st for st in fingerprint.unpack(blob)} if blob else {}
    finally:
        opened.dispose()


def _copy_url(url: str, tmp_path: Path, name: str) -> str:
    from types import SimpleNamespace

    from desktop.services.db import sqlite_url  # noqa: F401
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        holder = SimpleNamespace(sqlite_path=path)
        return _copy(holder, tmp_path, name)
    opened = _open(url)
    try:
        return _copy(_PgHolder(opened, url), tmp_path, name)
    finally:
        opened.dispose()


class _PgHolder:
    def __init__(self, opened, url):
        self.sqlite_path, self.url, self._opened = None, url, opened

    def dispose(self):
        self._opened.dispose()


# ---------------------------------------------------------------- editing a file's XML (shared strings untouched)

def _sheet_parts(path: Path) -> dict[str, str]:
    from desktop.services.exchange.reader import Book
    book = Book(path)
    try:
        return dict(book._zip_parts)
    finally:
        book.close()


def _rewrite(src: Path, dst: Path, sheet: str, change) -> None:
    """Copy the workbook, the rows of `sheet` given to change(rows) as their XML (numbers removed) and numbered
    again as they come back."""
    part = _sheet_parts(src)[sheet]
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            data = z.read(info)
            if info.filename == part:
                head, _sep, rest = data.partition(b"<sheetData>")
                body, _sep, tail = rest.partition(b"</sheetData>")
                rows = [r + b"</row>" for r in body.split(b"</row>") if r.strip()]
                rows = [re.sub(rb'( r="[A-Z]{0,3})\d+"', rb'\1"', r) for r in rows]
                rows = change(rows)
                numbered = []
                for n, r in enumerate(rows, start=1):
                    num = str(n).encode()
                    r = r.replace(b'<row r=""', b'<row r="' + num + b'"', 1)
                    numbered.append(re.sub(rb'( r="[A-Z]{1,3})"', rb"\g<1>" + num + b'"', r))
                data = head + b"<sheetData>" + b"".join(numbered) + b"</sheetData>" + tail
            out.writestr(info, data)


def _column(path: Path, sheet: str, header: str, row: bool = False):
    """The column letters of a header (row: and the header's row number)."""
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        for cells in wb[sheet].iter_rows(min_row=1, max_row=5):
            for cell in cells:
                if cell.value == header:
                    return (cell.column_letter, cell.row) if row else cell.column_letter
    finally:
        wb.close()
    raise AssertionError(header)


def _key_sheet(layout: str, path: Path) -> str:
    if layout == "program":
        return "户信息"
    return next(n for n in _sheet_parts(path))


def _set_number(rows: list[bytes], letters: str, picks: list[int], value: str) -> list[bytes]:
    """A number in column `letters` of the rows at `picks` (the cell replaced whatever it held)."""
    out = list(rows)
    for i in picks:
        r = out[i]
        cell = re.search(rb'<c r="' + letters.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', r)
        new = b'<c r="' + letters.encode() + b'"><v>' + value.encode() + b"</v></c>"
        if cell is not None:
            r = r[:cell.start()] + new + r[cell.end():]
        else:  # after the cells before it
            r = r.replace(b"</row>", new + b"</row>")
            r = _sort_cells(r)
        out[i] = r
    return out


def _sort_cells(row: bytes) -> bytes:
    from desktop.services.exchange.measure import col_number
    head, _sep, rest = row.partition(b">")
    cells = re.findall(rb'<c r="([A-Z]+)".*?(?:/>|</c>)', rest)
    parts = re.findall(rb'(<c r="[A-Z]+"(?:[^>]*/>|.*?</c>))', rest)
    pairs = sorted(zip(cells, parts, strict=True), key=lambda p: col_number(p[0].decode()))
    return head + b">" + b"".join(p for _c, p in pairs) + b"</row>"


# ---------------------------------------------------------------- the cases

@pytest.mark.parametrize("layout", LAYOUTS)
def test_unchanged_file(source, tmp_path, monkeypatch, layout):
    book = _export(source, tmp_path / "a.xlsx", layout)
    skipped, households = _twice(source, tmp_path, book, book, monkeypatch)
    # every household left out but a few of the first hundred rows whose style number ends as the row number does
    # (fingerprint._rows_of reads those), and the same answers
    assert households * 0.8 <= skipped <= households


@pytest.mark.parametrize("layout", LAYOUTS)
def test_page_breaks_set_for_printing_do_not_stop_the_shortcut(source, tmp_path, monkeypatch, layout):
    """A clerk who set where printed pages break saves <rowBreaks> after the rows (Excel, WPS): the file is still
    fingerprinted, and the unchanged file again leaves its households out."""
    book = _export(source, tmp_path / "a.xlsx", layout)
    part = _sheet_parts(book)[_key_sheet(layout, book)]
    broken = tmp_path / "breaks.xlsx"
    breaks = (b'<rowBreaks count="2" manualBreakCount="2"><brk id="40" max="16383" man="1"/>'
              b'<brk id="80" max="16383" man="1"/></rowBreaks>')
    with zipfile.ZipFile(book) as z, zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            data = z.read(info)
            if info.filename == part:
                assert data.count(b"</worksheet>") == 1 and b"<rowBreaks" not in data
                data = data.replace(b"</worksheet>", breaks + b"</worksheet>")
            out.writestr(info, data)
    skipped, households = _twice(source, tmp_path, broken, broken, monkeypatch)
    assert households * 0.8 <= skipped <= households


def test_program_upgraded_between_imports(source, tmp_path, monkeypatch):
    """Another version of the program (or schema) wrote the last import: its households are not taken as read."""
    book = _export(source, tmp_path / "a.xlsx", "national")
    upgraded = fingerprint._program
    skipped, households = _twice(source, tmp_path, book, book, monkeypatch,
                                 edit=lambda _url: monkeypatch.setattr(
                                     fingerprint, "_program", lambda s: upgraded(s) + " (upgraded)"))
    assert households > 0 and skipped == 0


def _keyed(rows: list[bytes], key: tuple[str, int]) -> list[tuple[int, bytes]]:
    """(index, 户编号 cell) of the rows below the header that have one."""
    letters, header = key
    out = []
    for i, r in enumerate(rows):
        if i < header:
            continue
        m = re.search(rb'<c r="' + letters.encode() + rb'"[^>]*>(.*?)</c>', r)
        if m is not None:
            out.append((i, m.group(1)))
    return out


def _change_households(rows, key: str, column: str, value: str, which=(2, 9, 17)):
    """`value` in `column` of every row of the households at positions `which` (after the header's own 户编号)."""
    keyed = _keyed(rows, key)
    keys = list(dict.fromkeys(k for _i, k in keyed))
    chosen = {keys[w] for w in which}
    return _set_number(rows, column, [i for i, k in keyed if k in chosen], value)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_few_households_changed(source, tmp_path, monkeypatch, layout):
    book = _export(source, tmp_path / "a.xlsx", layout)
    sheet, header, value = (("家庭成员", "务工时间（月）", "5") if layout == "program"
                            else (_key_sheet(layout, book), "工资性收入", "98765.5"))
    key, column = _column(book, sheet, "户编号", row=True), _column(book, sheet, header)
    changed = tmp_path / "b.xlsx"
    _rewrite(book, changed, sheet, lambda rows: _change_households(rows, key, column, value))
    skipped, households = _twice(source, tmp_path, book, changed, monkeypatch)
    assert households * 0.7 <= skipped <= households - 3


@pytest.mark.parametrize("layout", LAYOUTS)
def test_household_edited_in_the_program(source, tmp_path, monkeypatch, layout):
    book = _export(source, tmp_path / "a.xlsx", layout)

    def edit(url):  # through the register's own save, as the household page saves
        db = _open(url)
        try:
            admin = login(db, "admin", ADMIN_PASSWORD)
            with db.session(admin) as s:
                hid = sorted(register.household_ids(s, register.HouseholdFilter()))[3]
                data, members = register.get_household(s, hid)
                data.phone = "13000000000"
                register.save_household(s, data, members, TODAY)
                s.commit()
        finally:
            db.dispose()

    skipped, households = _twice(source, tmp_path, book, book, monkeypatch, edit=edit)
    assert households * 0.7 <= skipped <= households - 1  # the edited one is read, and put back as the file says


@pytest.mark.parametrize("layout", LAYOUTS)
def test_rows_reordered(source, tmp_path, monkeypatch, layout):
    book = _export(source, tmp_path / "a.xlsx", layout)
    sheet = _key_sheet(layout, book)
    moved = tmp_path / "b.xlsx"
    # the first household's rows go to the end (national: its person rows; ours: its 户信息 row)
    key = _column(book, sheet, "户编号", row=True)

    def move(rows):
        keyed = _keyed(rows, key)
        first = keyed[0][1]
        mine = [rows[i] for i, k in keyed if k == first]
        return [r for r in rows if r not in mine] + mine

    _rewrite(book, moved, sheet, move)
    skipped, households = _twice(source, tmp_path, book, moved, monkeypatch)
    assert skipped >= households * 0.8  # a household moved in the file is the same household


@pytest.mark.parametrize("layout", LAYOUTS)
def test_shared_strings_changed(source, tmp_path, monkeypatch, layout):
    book = _export(source, tmp_path / "a.xlsx", layout)
    resaved = tmp_path / "b.xlsx"
    wb = openpyxl.load_workbook(book)
    ws = wb[_key_sheet(layout, book)]
    ws.cell(2, 1).value = ws.cell(2, 1).value  # (openpyxl writes its own shared strings table)
    wb.save(resaved)
    skipped, households = _twice(source, tmp_path, book, resaved, monkeypatch)
    assert skipped == 0 and households > 0  # read whole


@pytest.mark.parametrize("layout", LAYOUTS)
def test_bad_row_among_unchanged(source, tmp_path, monkeypatch, layout):
    book = _export(source, tmp_path / "a.xlsx", layout)
    sheet = _key_sheet(layout, book)
    letters = _column(book, sheet, "工资性收入")
    bad = tmp_path / "b.xlsx"

    def spoil(rows):
        out = list(rows)
        at = _keyed(rows, _column(book, sheet, "户编号", row=True))[3][0]
        r = _set_number(out, letters, [at], "0")[at]
        out[at] = r.replace(b'<c r="' + letters.encode() + b'"><v>0</v></c>',
                           b'<c r="' + letters.encode() + b'" t="e"><v>#DIV/0!</v></c>')
        return out

    _rewrite(book, bad, sheet, spoil)
    base = _copy(source.db, tmp_path, "base")
    _import(base, book, True, monkeypatch)
    plain = _import(_copy_url(base, tmp_path, "plain"), bad, False, monkeypatch)
    fast = _import(_copy_url(base, tmp_path, "fast"), bad, True, monkeypatch)
    assert plain[0][1] >= 1 and plain[1] is None  # refused
    assert fast == plain  # the same errors, nothing written


def test_guards_see_skipped_rows(source, tmp_path, monkeypatch):
    """A row of an unchanged household may not hide anything from the guards: a cell beyond Excel's last column in
    the file refuses it, whatever else is unchanged."""
    book = _export(source, tmp_path / "a.xlsx", "national")
    sheet = _key_sheet("national", book)
    bad = tmp_path / "b.xlsx"
    _rewrite(book, bad, sheet, lambda rows: rows[:-1] + [rows[-1].replace(b"</row>", b'<c r="XFE"><v>1</v></c></row>')])
    base = _copy(source.db, tmp_path, "base")
    _import(base, book, True, monkeypatch)
    plain = _import(_copy_url(base, tmp_path, "plain"), bad, False, monkeypatch)
    fast = _import(_copy_url(base, tmp_path, "fast"), bad, True, monkeypatch)
    assert plain[1] is None and "超出 Excel 的范围" in " ".join(plain[0][2])
    assert fast == plain


def test_file_order_kept(source, tmp_path, monkeypatch):
    """The skipped households are still named in the file's order (the checks after the import use them)."""
    book = _export(source, tmp_path / "a.xlsx", "national")
    base = _copy(source.db, tmp_path, "base")
    _import(base, book, True, monkeypatch)
    seen: dict = {}
    _facts, result = _import(base, book, True, monkeypatch, seen)
    assert seen["skipped"] > 0
    assert result[9] == sorted(result[9], key=result[9].index) and len(result[9]) == len(set(result[9]))
    assert importer  # (the module under test)


# ---------------------------------------------------------------- the guards' pass, and what is stored

def _read_scan(path: Path, monkeypatch, candidates=None) -> tuple[object, int]:
    """The fingerprints a first import of `path` takes (importer.read with a year), and how many times a sheet was
    read for them apart from the guards' pass."""
    from desktop.services.exchange.reader import Issues
    passes = [0]
    pieces = fingerprint._pieces

    def counted(*a, **k):
        passes[0] += 1
        return pieces(*a, **k)
    with monkeypatch.context() as m:
        m.setattr(fingerprint, "_pieces", counted)
        if candidates is not None:
            m.setattr(fingerprint, "candidates", lambda _program: set(candidates))
        issues = Issues()
        data = importer.read(path, issues, year=YEAR)
    assert not issues and data is not None and data.scan is not None
    return data.scan, passes[0]


def _facts_of(sc) -> tuple:
    return (sc.file_digest, sc.sheets, sc.first_on, sc.groups, sc.sizes,
            {name: list(rows.items()) for name, rows in sc.rows.items()}, sc.poisoned)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_fingerprints_taken_on_the_guards_pass(source, tmp_path, monkeypatch, layout):
    """A first import cuts and hashes the rows on the guards' own pass over each sheet (the 户编号 column where the
    layouts put it); a file whose 户编号 stands in another column is read once more for them — the same fingerprints
    either way, and a re-import then skips as before."""
    book = _export(source, tmp_path / "a.xlsx", layout)
    on_pass, passes = _read_scan(book, monkeypatch)
    assert passes == 0
    again, passes = _read_scan(book, monkeypatch, candidates={"ZZ"})  # 户编号 in none of the columns looked at
    assert passes == len(again.sheets) >= 1
    assert _facts_of(on_pass) == _facts_of(again)
    assert len(on_pass.groups) > 40 and len(on_pass.poisoned) < len(on_pass.groups) / 2  # (40 households, header)

    with monkeypatch.context() as m:  # the first import's fingerprints taken on a second pass: a re-import skips
        m.setattr(fingerprint, "candidates", lambda _program: {"ZZ"})
        base = _copy(source.db, tmp_path, "base")
        _import(base, book, True, monkeypatch)
    seen: dict = {}
    _import(base, book, True, monkeypatch, seen)
    households = len(on_pass.groups)
    assert households * 0.7 <= seen["skipped"] <= households


def test_states_packed_and_read_back(source, tmp_path, monkeypatch):
    """What an import stores of each household comes back exactly; a stored value that does not unpack is no
    shortcut (the whole file is read), never an error."""
    rows = [("H1", 1, b"s|12", bytes(range(16)), False, 3, 1, 4, True, "110101199001011234*,110101199001011235"),
            ("H2", 2, "inlineStr|<is><t>户</t></is>".encode(), b"", True, 0, 0, 0, False, ""),
            ("H3", 3, b"|\xff\x00", b"\x01" * 16, False, 1, 0, 0, False, "x*")]
    assert fingerprint.unpack(fingerprint.pack(rows)) == [fingerprint.State(*r) for r in rows]
    assert fingerprint.unpack(fingerprint.pack([])) == []

    book = _export(source, tmp_path / "a.xlsx", "national")
    base = _copy(source.db, tmp_path, "base")
    _import(base, book, True, monkeypatch)
    db = _open(base)
    try:
        admin = login(db, "admin", ADMIN_PASSWORD)
        with db.session(admin) as s:
            prior = fingerprint.load(s, YEAR, admin)
            assert prior is not None and len(prior.states) >= 40
            assert {st.household_no for st in prior.states.values()} == set(prior.ids)
            from desktop.models import ImportFingerprint
            s.query(ImportFingerprint).update({"data": b"not packed"})
            assert fingerprint.load(s, YEAR, admin) is None
            s.rollback()
    finally:
        db.dispose()


def test_row_numbers_taken_out():
    """A row's number comes out of its own tag and each cell's place, nothing else: a row whose tag holds the number
    again (spans="1:8" in row 8) gives the same bytes as it would elsewhere; a style number ending as the row number
    leaves the row unreadable as unchanged (None); the guards' word that every cell is plain changes nothing."""
    def row(n: int, spans: str = "1:2", style: str = "3") -> bytes:
        return (f'<row r="{n}" spans="{spans}"><c r="A{n}" s="{style}" t="s"><v>7</v></c>'
                f'<c r="B{n}"><v>42</v></c></row>').encode()
    piece = b'<worksheet><sheetData>' + row(5) + row(8, spans="1:8") + row(9, style="19") + row(12)
    for plain in (False, True):
        got = {int(n): canon for n, _row, canon in fingerprint._rows_of(piece, plain)}
        assert got[5] == got[12] == got[8].replace(b'spans="1:8"', b'spans="1:2"')
        assert got[9] is None
        assert b"5" not in got[5] and b'<c r="A" s="3" t="s"><v>7</v></c>' in got[5]
    with pytest.raises(fingerprint._NotPlain):
        list(fingerprint._rows_of(b"<sheetData><row/>" + row(2)))


def test_row_keys_answer_as_a_dict_of_rows():
    """The scan's 户编号 cell by row (a list indexed by row number) answers get and items as the dict it replaced:
    rows put in any order, gaps, a row put twice (the last wins), and a number past Excel's last row (a file the
    guards refuse) kept aside rather than growing the list to it."""
    from desktop.services.exchange.rowcut import RowKeys
    puts = [(7, b"|A"), (3, b"|B"), (12, b"|A"), (7, b"|C"), (RowKeys.EXCEL_ROWS + 5, b"|far"),
            (RowKeys.EXCEL_ROWS, b"|last"), (0, b"|zero")]
    rk, plain = RowKeys(), {}
    for n, key in puts:
        rk.put(n, key)
        plain[n] = key
    assert list(rk.items()) == sorted(plain.items())
    for n in (0, 1, 3, 7, 8, 12, 13, RowKeys.EXCEL_ROWS, RowKeys.EXCEL_ROWS + 5, RowKeys.EXCEL_ROWS + 6):
        assert rk.get(n) == plain.get(n) and rk.get(n, b"-") == plain.get(n, b"-")
    assert len(rk._at) == RowKeys.EXCEL_ROWS + 1  # (bounded: the far row is not in the list)


def test_the_plain_loop_cuts_as_the_general_one(monkeypatch):
    """Tap._cut_plain (the common case: nothing to keep, the guards' word that the piece is plain) gives the rows,
    digests, unnumbered rows and 户编号 cells of the general loop over _rows_of: the sheet's head before the first row,
    a row whose tag holds its number again, a style number ending as the row number, the key cell self-closed, as an
    inline string and as a shared string, a second candidate column; pieces it cannot follow (a row without cells,
    whitespace between rows, a row whose tag is not written `<row r="N"`) are left to the general loop, after it had
    begun, and come out the same."""
    def row(n: int, key: str = '<c r="A{n}" t="s"><v>7</v></c>', spans: str = "1:3", style: str = "3") -> bytes:
        return (f'<row r="{n}" spans="{spans}">' + key.format(n=n) + f'<c r="B{n}" s="{style}"><v>4</v></c>'
                f'<c r="C{n}" t="inlineStr"><is><t>H</t></is></c></row>').encode()
    head = b'<?xml version="1.0"?><worksheet><dimension ref="A1:C30"/><sheetData>'
    rows = [row(1), row(2, key='<c r="A{n}" s="5"/>'), row(8, spans="1:8"), row(9, style="19"),
            row(10, key='<c r="A{n}" s="4" t="inlineStr"><is><t>HH 0010</t></is></c>'), row(11), row(12)]
    pieces = {
        "plain": [head + b"".join(rows[:3]), b"".join(rows[3:])],
        "empty row": [head + b"".join(rows[:3]), rows[3] + b'<row r="13" spans="1:3"/>' + b"".join(rows[4:])],
        "whitespace": [head + b"".join(rows[:3]), b"\n".join(rows[3:])],
        "attribute first": [head + b"".join(rows[:3]),
                            rows[3] + rows[4].replace(b'<row r="10"', b'<row ht="15" r="10"')],
    }

    real = fingerprint.Tap._cut_plain
    used: list[bool] = []

    def cut(chunks: list[bytes], fast: bool):
        with monkeypatch.context() as m:
            m.setattr(fingerprint.Tap, "_cut_plain",
                      (lambda self, r, p: used.append(real(self, r, p)) or used[-1]) if fast else (lambda *a: False))
            tap = fingerprint.Tap({"A", "C"})
            feed = tap("s")
            for piece in chunks:
                feed(piece, True)
        got = tap.sheets["s"]
        return got.plain, list(got.numbers), bytes(got.digests), got.unnumbered, got.keys

    for name, chunks in pieces.items():
        used.clear()
        assert cut(chunks, True) == cut(chunks, False), name
        # the plain loop ran on both pieces, and gave the second up where it cannot follow it
        assert used == [True, name in ("plain", "whitespace")], name
    plain, numbers, digests, unnumbered, keys = cut(pieces["plain"], True)
    assert plain and numbers == [1, 2, 8, 9, 10, 11, 12] and unnumbered == {3}
    assert keys[b"A"] == [b"s|<v>7</v>", None, b"s|<v>7</v>", b"s|<v>7</v>", b"inlineStr|<is><t>HH 0010</t></is>",
                          b"s|<v>7</v>", b"s|<v>7</v>"]
    assert digests[:16] == digests[80:96] == digests[96:] != digests[32:48] and digests[48:64] == bytes(16)


def test_rows_of_lists_each_household_in_the_order_read_then_the_numbers_only_other_sheets_name():
    """fingerprint.rows_of gives one household's rows at a time (the import's peak memory), in the order the
    fingerprints' first-owner rule depends on: the households read, each with its own row, then its members',
    measures' and income lines' rows; then the numbers that only the other sheets name, as first met."""
    from types import SimpleNamespace

    class Row(int):
        sheet = None

    national = Row(40)
    national.sheet = "名单"
    data = SimpleNamespace(
        sheets={k: SimpleNamespace(name=n) for k, n in (("household", "户"), ("member", "成员"),
                                                         ("measure", "措施"), ("income_line", "收入"))},
        households={"B": (Row(3), None), "A": (national, None)},
        members={"A": [(Row(5), None), (national, None)], "X": [(Row(9), None)], "B": [(Row(6), None)]},
        measures={"Y": [(Row(2), None)], "X": [(Row(4), None)]},
        lines={"Z": [(Row(7), None)], "B": [(Row(8), None)], "Y": [(Row(1), None)]})
    assert list(fingerprint.rows_of(data)) == [
        ("B", [("户", 3), ("成员", 6), ("收入", 8)]),
        ("A", [("名单", 40), ("成员", 5), ("名单", 40)]),
        ("X", [("成员", 9), ("措施", 4)]),
        ("Y", [("措施", 2), ("收入", 1)]),
        ("Z", [("收入", 7)])]
