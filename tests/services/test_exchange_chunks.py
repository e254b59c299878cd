"""A large sheet is read by calamine a block of rows at a time (reader.Book._chunks: a county's one-row-a-person
list would otherwise be one grid of well over 1 GB). The blocks must give exactly what the whole sheet gives:
the same preview — households, people, values, errors with their rows and columns, notes — here with blocks of a
few rows each, so that every boundary case (a household's rows split across blocks, title and group rows in the
first block, a total row and a footer in the last) is met. And a sheet whose first column is empty still names
the right columns for hidden columns and error cells (calamine's rows begin at the first column that holds a
cell; they are padded back to column A). And a first import into an empty register, which builds the secondary
indexes after its rows are in, leaves every index as it was, also when it is cancelled."""

from __future__ import annotations

from contextlib import contextmanager

import openpyxl
import pytest
from openpyxl.utils import get_column_letter
from sqlalchemy import text

from desktop.services import exchange
from desktop.services.exchange import measure, reader, writer

from ..conftest import TODAY, YEAR
from .national_files import COLUMNS, TITLE, grid, sample_rows, write_xlsx


def _seen(pv) -> tuple:
    data = pv.data
    return (pv.ok, pv.households, pv.people, [e.text() for e in pv.errors], pv.notes,
            {k: v for k, v in pv.questions.items()} and sorted((k, [i.text() for i in v])
                                                                for k, v in pv.questions.items()),
            None if data is None else (dict(data.households), {k: list(v) for k, v in data.members.items()},
                                       {k: list(v) for k, v in data.measures.items()}))


def _preview(ctx, path, monkeypatch, block: int | None) -> tuple[tuple, int]:
    """The preview of `path`, the sheet read whole (block None) or in blocks of `block` bytes of XML."""
    blocks = []
    real = reader.Book._chunk_rows

    def counted(self, name, part, at):
        for n, row in real(self, name, part, at):
            blocks.append(n)
            yield n, row

    with monkeypatch.context() as m:
        if block is not None:
            m.setattr(reader, "CHUNKED_ABOVE", 0)
            m.setattr(reader, "CHUNK_XML", block)
            m.setattr(reader.Book, "_chunk_rows", counted)
        pv = ctx.read(exchange.preview, path, YEAR)
    return _seen(pv), len(blocks)


def _national(tmp_path, rows=None, extra=()):
    cells = grid(rows or sample_rows())
    total = [None] * len(COLUMNS)
    total[0] = "合计"
    footer = ["填表人：张三"] + [None] * (len(COLUMNS) - 1)
    return write_xlsx(tmp_path / "名单.xlsx", cells + list(extra) + [total, footer])


@pytest.mark.parametrize("block", [600, 2500, 1 << 20])
def test_a_sheet_read_in_blocks_gives_what_the_whole_sheet_gives(ctx, tmp_path, monkeypatch, block):
    path = _national(tmp_path)
    whole, _ = _preview(ctx, path, monkeypatch, None)
    chunked, rows = _preview(ctx, path, monkeypatch, block)
    assert whole[0] and whole[1] == 3  # the file is good: three households
    assert rows > 0  # the blocks were read
    assert chunked == whole


def test_errors_in_a_sheet_read_in_blocks_name_the_same_rows_and_columns(ctx, tmp_path, monkeypatch):
    rows = sample_rows()
    rows[1]["是否危房户"] = "是"  # disagrees with the household's first row
    rows[4]["识别监测时间"] = "2023-05-01"  # not YYYYMM
    path = _national(tmp_path, rows)
    whole, _ = _preview(ctx, path, monkeypatch, None)
    chunked, _ = _preview(ctx, path, monkeypatch, 700)
    assert not whole[0] and len(whole[3]) >= 2
    assert chunked == whole


def _shifted(path, cells, error_at: tuple[int, str], hidden: str):
    """The sheet one column to the right (column A empty), an error value in one cell, one column hidden."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = TITLE
    for i, row in enumerate(cells, 1):
        for j, v in enumerate(row, 2):
            if v is not None:
                ws.cell(row=i, column=j, value=v)
    header = cells[2]
    row, column = error_at
    ws.cell(row=row, column=header.index(column) + 2).value = "#DIV/0!"
    ws.column_dimensions[get_column_letter(header.index(hidden) + 2)].hidden = True
    wb.save(path)
    return path


@pytest.mark.parametrize("block", [None, 900])
def test_a_sheet_whose_first_column_is_empty_names_the_right_columns(ctx, tmp_path, monkeypatch, block):
    path = _shifted(tmp_path / "名单.xlsx", grid(sample_rows()), (5, "工资性收入"), "民族")
    seen, _ = _preview(ctx, path, monkeypatch, block)
    errors = seen[3]
    assert any("第 5 行【工资性收入】" in e and "#DIV/0!" in e for e in errors), errors
    hidden = dict(seen[5] or []).get("hidden", [])
    assert any("民族" in h for h in hidden), hidden


# ---------------------------------------------------------------- indexes built after a first import

def _indexes(ctx) -> list[tuple]:
    return ctx.read(lambda s: s.execute(text("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' "
                                             "ORDER BY name")).all())


def test_a_first_import_builds_the_indexes_afterwards_and_keeps_them_all(ctx, db, tmp_path, monkeypatch):
    if db.sqlite_path is None:
        pytest.skip("SQLite's indexes (PostgreSQL keeps its own)")
    monkeypatch.setattr(writer, "DEFER_FROM", 1)  # the sample's three households count as a county's file
    before = _indexes(ctx)
    dropped, caches = [], []
    real = writer._indexes_after

    @contextmanager
    def watched(session, households, beside=None):
        with real(session, households, beside):
            dropped.append({n for n, *_ in session.execute(text("SELECT name FROM sqlite_master "
                                                                 "WHERE type = 'index'")).all()})
            caches.append(session.execute(text("PRAGMA cache_size")).scalar())
            yield

    monkeypatch.setattr(writer, "_indexes_after", watched)
    path = _national(tmp_path)

    def cancelled_import(s):
        pv = exchange.preview(s, path, YEAR)
        exchange.apply(s, pv, as_of=TODAY, take_backup=False, check=False, cancelled=lambda: True)

    with pytest.raises(exchange.ImportCancelled):
        ctx.run(cancelled_import)
    assert _indexes(ctx) == before  # rolled back with the rows
    assert ctx.read(lambda s: s.scalar(text("SELECT count(*) FROM household"))) == 0

    def work(s):
        pv = exchange.preview(s, path, YEAR)
        return exchange.apply(s, pv, as_of=TODAY, take_backup=False, check=False)

    assert ctx.run(work).households_new == 3
    assert "ix_member_id_number_household" not in dropped[-1]  # the rows went in without it
    assert caches[-1] == -writer.DEFERRED_CACHE_KIB  # (rows only appended: a smaller page cache than the import's)
    assert _indexes(ctx) == before
    again = ctx.run(work)  # the register now holds exactly what the file says: nothing to change
    assert again.households_new == 0 and again.changed_fields == 0

    def kept(s):  # with households stored, a large import keeps every index as it goes, and the page cache it had
        with writer.page_cache(s), real(s, 100_000):
            return ({n for n, in s.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'")).all()},
                    s.execute(text("PRAGMA cache_size")).scalar())

    names, cache = ctx.read(kept)
    assert {n for n, *_ in before} <= names and cache == -writer.IMPORT_CACHE_KIB


def test_bulk_binding_converts_each_distinct_value_once_with_the_same_result():
    """writer._bound: what each column stores is what the column's own bind processor gives value by value — amounts
    equal in value but written differently, dates, and JSON lists whose items are equal but not the same (1 / True)."""
    from datetime import date
    from decimal import Decimal

    from sqlalchemy.dialects import sqlite

    from desktop.models import Household, IncomeLine
    from desktop.services.exchange.writer import _bound

    dialect = sqlite.dialect()
    cases = [(IncomeLine.__table__.c.amount, [Decimal("1.00"), Decimal("1"), None, Decimal("0.005"), Decimal("12.30"),
                                              Decimal("1.00")]),
             (Household.__table__.c.identified_on, [date(2024, 3, 1), None, date(2024, 3, 1), date(2023, 1, 31)]),
             (Household.__table__.c.a27_risk_types, [["01"], [1], [True], None, [], ["01", "03"], ["01"], [1.0]])]
    for column, values in cases:
        proc = column.type.dialect_impl(dialect).bind_processor(dialect)
        expected = [None if v is None else proc(v) for v in values]
        assert _bound(tuple(values), proc) == expected, column.name


def test_bulk_binding_remembers_a_column_over_chunks_with_the_same_result():
    """writer._bound with the memory a first import keeps over its chunks: a value bound in an earlier chunk gives in
    a later one what the column's processor gives it there (equal amounts written differently, 0 and None apart,
    JSON lists never remembered wrongly), and the memory grows only by the values the chunk adds."""
    from datetime import date
    from decimal import Decimal

    from sqlalchemy.dialects import sqlite

    from desktop.models import Household, IncomeLine
    from desktop.services.exchange.writer import _bound

    dialect = sqlite.dialect()
    cases = [(IncomeLine.__table__.c.amount, [[Decimal("1.00"), Decimal("0.00"), None], [Decimal("1"), Decimal("0"),
                                              Decimal("2.50"), None], [Decimal("2.5"), Decimal("0.005")]]),
             (Household.__table__.c.identified_on, [[date(2024, 3, 1), None], [date(2024, 3, 1), date(2023, 1, 31)]]),
             (Household.__table__.c.a27_risk_types, [[["01"], None], [["01"], [1], []], [[True], ["01", "03"]]])]
    for column, chunks in cases:
        proc = column.type.dialect_impl(dialect).bind_processor(dialect)
        memory: dict = {}
        for values in chunks:
            expected = [None if v is None else proc(v) for v in values]
            assert _bound(tuple(values), proc, memory) == expected, column.name
    amounts: dict = {}
    _bound((Decimal("1.00"), Decimal("3.00")), proc_of(IncomeLine.__table__.c.amount), amounts)
    assert len(amounts) == 3  # two amounts and None
    _bound((Decimal("1"), Decimal("4.00")), proc_of(IncomeLine.__table__.c.amount), amounts)
    assert len(amounts) == 4  # 1 is 1.00, already bound


def proc_of(column):
    from sqlalchemy.dialects import sqlite
    dialect = sqlite.dialect()
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _odd_rows() -> list[str]:
    """Rows of a sheet written in every way a block's renumbering must see through (reader._renumbered): plain rows
    with cells past column Z and a row's own number as a value; rows with no cells (closed `/>` and `></row>`); rows
    missing between others; `spans`; a style, a text and a `spans` ending in the row's number and a quote; a cell
    whose `r` is not its first attribute; white space between rows."""
    out = []
    for r in range(1, 121):
        c = (f'<c r="A{r}" t="inlineStr"><is><t>户{r:04d}</t></is></c><c r="C{r}"><v>{r}</v></c>'
             f'<c r="AB{r}"><v>{r * 3}</v></c>')
        if r in (17, 18, 19, 61, 62):
            continue  # rows not written at all
        if r == 23:
            out.append(f'<row r="{r}"/>')
        elif r == 24:
            out.append(f'<row r="{r}" ht="20" customHeight="1"></row>')
        elif r == 31:
            out.append(f'<row r="{r}">{c}<c r="D{r}" s="{r}"><v>1</v></c></row>')  # a style: the number and "
        elif r == 44:
            out.append(f'<row r="{r}">{c}<c r="E{r}" t="inlineStr"><is><t>高 {r}"</t></is></c></row>')  # a text
        elif r == 55:
            out.append(f'<row r="{r}" spans="1:{r}">{c}</row>')  # spans ending in the number
        elif r == 77:
            out.append(f'<row r="{r}"><c t="inlineStr" r="B{r}"><is><t>倒</t></is></c>{c}</row>')  # r not first
        elif r in (90, 91):
            out.append(f'\n  <row r="{r}" spans="1:28">{c}</row>\n')
        else:
            out.append(f'<row r="{r}">{c}</row>')
    return out


@pytest.mark.parametrize("beside", [False, True])
@pytest.mark.parametrize("block, renumber_from", [(150, 0), (400, 0), (1500, 0), (6000, 0), (150, 4), (700, 4)])
def test_blocks_numbered_from_one_give_the_rows_written_as_they_are(tmp_path, monkeypatch, block, renumber_from,
                                                                   beside):
    """A block of a large sheet has its rows numbered from 1 where its XML allows it (calamine gives a sheet's rows
    from row 1: a block written as it is comes with every row before it, empty). The rows, their numbers, places and
    values come out exactly as from the blocks written as they are, and — but for trailing blank cells, a block's
    rows being as wide as its own widest — as from the sheet read whole; the blocks holding a row the count cannot
    see through are read as written (and so is a block with few rows before it, RENUMBER_FROM). `beside`: the sheet
    inflated on a thread of its own in pieces of a few rows, cut anywhere (measure.part_bytes), and a renumbered
    block's rows written a few at a time (JOIN_ROWS)."""
    from .hostile_files import XSheet
    from .hostile_files import write_xlsx as write_raw

    path = write_raw(tmp_path / "odd.xlsx", [XSheet("名单", extra=_odd_rows())])

    def read(chunked: bool, renumber: bool = True) -> tuple[list, list]:
        offsets = []
        real = reader.Book._parse_block

        def parse(self, name, blocks):
            got = real(self, name, blocks)
            if got is not None:
                offsets.append(got[1])
            return got

        with monkeypatch.context() as m:
            m.setattr(reader, "RENUMBER_FROM", renumber_from)
            if chunked:
                m.setattr(reader, "CHUNKED_ABOVE", 0)
                m.setattr(reader, "CHUNK_XML", block)
                m.setattr(reader.Book, "_parse_block", parse)
                if beside:
                    m.setattr(measure, "BESIDE_FROM", 0)
                    m.setattr(measure, "CHUNK", 97)
                    m.setattr(reader, "JOIN_ROWS", 3)
            if not renumber:
                m.setattr(reader, "_renumbered", lambda rows: None)
            book = reader.Book(path)
            try:
                return list(book.rows("名单")), offsets
            finally:
                book.close()

    def trimmed(rows):
        out = []
        for n, row in rows:
            row = list(row)
            while row and row[-1] in ("", None):
                row.pop()
            if row:
                out.append((n, row))
        return out

    whole, _ = read(False)
    as_written, kept = read(True, renumber=False)
    lowered, offsets = read(True)
    assert len(offsets) > 1 and set(kept) == {0}
    assert lowered == as_written
    assert trimmed(lowered) == trimmed(whole)
    assert trimmed(whole)[-1] == (120, ["户0120", "", 120.0] + [""] * 24 + [360.0])
    assert any(off > 0 for off in offsets)  # blocks after the first were numbered from 1
    if block <= 400 and not renumber_from:  # rows 31, 44, 55, 77 in blocks of their own
        assert offsets.count(0) > 1


def test_a_sheet_read_in_blocks_has_glibc_map_its_large_allocations_apart_once(ctx, tmp_path, monkeypatch):
    """Before the first block of a large sheet, glibc is told (once a process) to map every allocation of
    measure.MMAP_FROM bytes or more apart, so that what a block's parse frees goes back to the system (issue 20: the
    peak of the 100,000-household national import); a sheet read whole does not ask, nor does a C library that is
    not glibc. (The previews themselves are the same: the tests above.)"""
    import ctypes
    import platform

    calls = []

    class Libc:
        def __init__(self, name):
            assert name is None  # (the process's own C library)

        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", Libc)
    monkeypatch.setattr(measure, "_MMAP_SET", [])
    monkeypatch.setattr(platform, "libc_ver", lambda *a, **k: ("glibc", "2.36"))
    path = _national(tmp_path)
    whole, _ = _preview(ctx, path, monkeypatch, None)
    assert calls == []
    for _ in range(2):
        chunked, _ = _preview(ctx, path, monkeypatch, 2500)
        assert chunked == whole
    assert calls == [(-3, measure.MMAP_FROM)]  # M_MMAP_THRESHOLD, once
    monkeypatch.setattr(measure, "_MMAP_SET", [])
    monkeypatch.setattr(platform, "libc_ver", lambda *a, **k: ("", ""))
    _preview(ctx, path, monkeypatch, 2500)
    assert calls == [(-3, measure.MMAP_FROM)]


def test_the_window_finds_and_takes_as_the_joined_bytes_would():
    """reader._Window (a large sheet's bytes as they are inflated, a block cut from them without joining them first):
    over pieces of every size, split anywhere — also inside `</row>` — rfind before any end is bytes.rfind of the
    bytes joined, and what is taken is the bytes in order, nothing lost or doubled."""
    import random
    rnd = random.Random(7)
    data = b"".join(rnd.choice([b"</row>", b"<row r=\"1\">", b"x", b"</ro", b"w>", b"<"]) for _ in range(400))
    for _ in range(200):
        cuts = sorted(rnd.sample(range(1, len(data)), rnd.randrange(0, 40)))
        pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        win, at = reader._Window(iter(pieces)), 0
        while at < len(data):
            n = rnd.randrange(1, 60)
            held = win.fill(n)
            assert held == min(n, len(data) - at)
            for end in {0, 1, held // 2, held - 1, held}:
                if end >= 0:
                    assert win.rfind(b"</row>", end) == data[at:at + end].rfind(b"</row>")
            k = rnd.randrange(0, held + 1)
            assert win.take(k) == data[at:at + k]
            at += k
            assert len(win) >= 0
        assert win.fill(1) == 0 and win.take(5) == b""


def _shared_rows(tmp_path, out_of_order: bool):
    """A sheet of 40 rows, each with a name of its own (a shared string, numbered as first written) and a number;
    `out_of_order`: every fifth row also names the last row's name, the largest number, long before the last row."""
    from .hostile_files import Raw, XSheet
    from .hostile_files import write_xlsx as write_raw

    rows = [["姓名", "序号", "又"]]
    for r in range(2, 41):
        row = [f"人{r:02d}", r]
        if out_of_order and r % 5 == 0:
            row.append(Raw(f'<c r="C{r}" t="s"><v>41</v></c>'))  # 姓名 序号 又 人02 … 人40: 人40 is string 41
        rows.append(row)
    return write_raw(tmp_path / ("乱序.xlsx" if out_of_order else "顺序.xlsx"), [XSheet("名单", rows=rows)])


def _trim(rows) -> list:
    out = []
    for n, row in rows:
        row = list(row)
        while row and row[-1] in ("", None):
            row.pop()
        out.append((n, row))
    return out


def _read_rows(path, monkeypatch, block: int | None, share: float = 1.0, cut: bool = True) -> tuple[list, list, int]:
    """The sheet's rows read whole (block None) or in blocks of `block` bytes with the shared strings cut for each
    (_SharedCut: from the first string on, up to `share` of them; `cut` False: every block given them all, as
    before); the strings each block was given (None: all of them, as the package has them) and how many blocks
    were made again with all of them."""
    given, again = [], []
    real_upto, real_again = reader._SharedCut.upto, reader.Book._block_again

    def upto(self, last_row):
        got = real_upto(self, last_row)
        given.append(None if got is None else got[1].count(b"<si>"))
        return got

    def block_again(self, *args):
        again.append(args[-2:])
        return real_again(self, *args)

    with monkeypatch.context() as m:
        if block is not None:
            m.setattr(reader, "CHUNKED_ABOVE", 0)
            m.setattr(reader, "CHUNK_XML", block)
            m.setattr(reader, "SHARED_CUT_FROM", 0 if cut else 1 << 40)
            m.setattr(reader, "SHARED_CUT_SHARE", share)
            m.setattr(reader._SharedCut, "upto", upto)
            m.setattr(reader.Book, "_block_again", block_again)
        book = reader.Book(path)
        try:
            return list(book.rows("名单")), given, len(again)
        finally:
            book.close()


@pytest.mark.parametrize("share", [1.0, 0.5])
@pytest.mark.parametrize("block", [150, 400, 1500])
def test_blocks_given_the_first_shared_strings_read_what_the_whole_sheet_holds(tmp_path, monkeypatch, block, share):
    """Each block of a large sheet gets the shared strings up to the largest number its last row uses (writers number
    them as first written): calamine reads fewer of them a block, and the rows are exactly those of the sheet read
    whole. Past `share` of them, the blocks get the package's own part (the import's memory peaks late)."""
    path = _shared_rows(tmp_path, out_of_order=False)
    whole, _, _ = _read_rows(path, monkeypatch, None)
    as_before, _, _ = _read_rows(path, monkeypatch, block, cut=False)
    rows, given, again = _read_rows(path, monkeypatch, block, share)
    assert rows == as_before and _trim(rows) == _trim(whole)  # (a block's rows are as wide as its widest)
    assert len(whole) == 40 and whole[-1] == (40, ["人40", 40.0, ""])
    cut = [n for n in given if n is not None]
    assert len(given) > 1 and cut and again == 0
    assert cut == sorted(cut) and cut[0] < 42  # never fewer than the block before; the first block had fewer than all
    if share < 1.0:
        assert max(cut) <= 42 * share and given[-1] is None  # the later blocks: all of them, compressed


@pytest.mark.parametrize("block", [150, 400])
def test_a_block_using_a_shared_string_beyond_its_cut_is_made_again_with_them_all(tmp_path, monkeypatch, block):
    """A workbook whose strings are not numbered as first written: a block whose rows use a string beyond the last
    row's is refused by calamine, made again with every string (read again from the file), and so are the blocks
    after it; the rows are those of the sheet read whole."""
    path = _shared_rows(tmp_path, out_of_order=True)
    whole, _, _ = _read_rows(path, monkeypatch, None)
    as_before, _, _ = _read_rows(path, monkeypatch, block, cut=False)
    rows, given, again = _read_rows(path, monkeypatch, block)
    assert rows == as_before and _trim(rows) == _trim(whole) and whole[9] == (10, ["人10", 10.0, "人40"])
    assert again >= 1 and given[-1] is None  # made again; after that every block got them all


def test_shared_strings_not_in_the_plain_form_are_given_whole(monkeypatch):
    """Only `<sst …><si>…</si>…</sst>` is cut, at the start of a string; a namespace prefix or anything after </sst>
    leaves the part whole, and so does a block that needs more than SHARED_CUT_SHARE of the part."""
    head = b'<?xml version="1.0"?><sst xmlns="x" count="3">'
    plain = head + b"<si><t>a</t></si><si><r><t>b</t></r></si><si><t>&lt;si>c</t></si></sst>"
    monkeypatch.setattr(reader, "SHARED_CUT_SHARE", 1.0)
    cut = reader._SharedCut.of("xl/sharedStrings.xml", plain)
    assert cut.upto(b'<row r="3"><c r="B3"><v>7</v></c></row>')[1] == head + b"</sst>"
    assert cut.upto(b'<row r="4"><c r="A4" t="s"><v>0</v></c></row>')[1] == head + b"<si><t>a</t></si></sst>"
    assert cut.upto(b'<row r="5"><c r="A5" s="2" t="s"><v>1</v></c><c r="B5"><v>9</v></c></row>')[1] == (
        head + b"<si><t>a</t></si><si><r><t>b</t></r></si></sst>")
    assert cut.upto(b'<row r="6"><c r="A6" t="s"><v>0</v></c></row>')[1].count(b"<si>") == 2  # never fewer
    assert cut.upto(b'<row r="7"><c r="A7" t="s"><v>2</v></c></row>') is None and cut.whole  # all: the part itself
    monkeypatch.setattr(reader, "SHARED_CUT_SHARE", 0.5)
    half = reader._SharedCut.of("xl/sharedStrings.xml", plain)
    assert half.upto(b'<row r="8"><c r="A8" t="s"><v>1</v></c></row>') is None and half.xml is None
    for other in (b'<x:sst xmlns:x="x"><x:si><x:t>a</x:t></x:si></x:sst>',
                  plain + b"<sst/>", b'<sst xmlns="x"/>'):
        assert reader._SharedCut.of("xl/sharedStrings.xml", other) is None
