"""calamine parses on the Book's own thread while the importer's thread scans the next sheet or converts the rows
before (reader.Book.prefetch, Book._chunk_rows): calamine releases the GIL while it parses, so a clerk on a 2-core PC
waits for the Python work, not for both one after the other.

What must hold and is tested here, without timing anything: the parse really runs on another thread and beside the
guards' scan of the next sheet; no sheet reaches calamine before its whole XML has passed the guards (a refused sheet
never does); an exception in the thread is raised in the importer's thread as it was; close() with a parse under way
waits for it and leaves no thread; a cancelled read leaves none; and the import reads exactly what it read before —
the same preview, the same fingerprints — in both layouts, whole sheets and blocks."""

from __future__ import annotations

import threading
import zipfile
from datetime import date
from importlib import import_module
from pathlib import Path

import pytest

from desktop.services import demo, exchange
from desktop.services.exchange import importer, measure, reader
from desktop.services.exchange.reader import Book, Issues, WorkbookError

from ..conftest import YEAR
from .test_exchange_fingerprint import _facts_of as _scan_facts

LAYOUTS = ("program", "national")


@pytest.fixture
def source(ctx, township):
    ctx.run(demo.generate, 30, seed=11, year=YEAR, as_of=date(2024, 10, 31))
    return ctx


def _export(ctx, path: Path, layout: str) -> Path:
    fn = exchange.export_national if layout == "national" else exchange.export_workbook
    ctx.run(fn, path, YEAR)
    return path


class _Watched:
    """calamine's workbook as the Book holds it, with each get_sheet_by_name recorded: which sheet, on which thread,
    and which sheets' scans had begun by then; `hold` makes a parse wait for an event (a slow parse)."""

    def __init__(self, wb, log: list, scans: list, hold: dict, fail: set):
        self._wb, self.log, self.scans, self.hold, self.fail = wb, log, scans, hold, fail

    def get_sheet_by_name(self, name):
        self.log.append(("parse", name, threading.get_ident(), list(self.scans)))
        got = self.hold.get(name)
        if got is not None:
            assert got.wait(20), "the event a held parse waits for never came"
        if name in self.fail:
            raise ValueError(f"calamine could not read {name}")
        sheet = self._wb.get_sheet_by_name(name)
        self.log.append(("parsed", name, threading.get_ident(), list(self.scans)))
        return sheet

    def close(self):
        self.log.append(("close", None, threading.get_ident(), list(self.scans)))
        self._wb.close()

    def __getattr__(self, attr):
        return getattr(self._wb, attr)


@pytest.fixture
def watched(monkeypatch):
    """Every Book opened watched (see _Watched): the log, the sheets whose scans began, in order."""
    log: list = []
    scans: list = []
    opts: dict = {"hold": {}, "fail": set()}
    real_open = Book._open_calamine
    real_scan = measure.scan_xlsx

    def open_calamine(self):
        real_open(self)
        self._wb = _Watched(self._wb, log, scans, opts["hold"], opts["fail"])

    def scan_xlsx(path, sheets, *a, **k):
        scans.extend(sheets)
        for name in sheets:
            got = opts["hold"].get(("scan", name))
            if got is not None:
                got.set()  # (this sheet's scan has begun: a parse held for it may go on)
        return real_scan(path, sheets, *a, **k)

    monkeypatch.setattr(Book, "_open_calamine", open_calamine)
    monkeypatch.setattr(reader, "scan_xlsx", scan_xlsx)
    return log, scans, opts


def _calamine_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("calamine")]


def _read(path: Path, year: int | None = YEAR):
    issues = Issues()
    data = importer.read(path, issues, year=year)
    return data, issues


def test_each_sheet_is_parsed_on_another_thread_beside_the_next_sheets_scan(source, tmp_path, watched):
    """Our layout: the household sheet's parse waits (a slow parse) until the member sheet's scan has begun — which
    only happens if the parse runs on a thread of its own while the importer's thread goes on scanning. Every sheet
    is parsed after its own scan, on one thread that is not the importer's."""
    log, scans, opts = watched
    path = _export(source, tmp_path / "a.xlsx", "program")
    names = Book(path).sheet_names
    first, second = names[0], names[1]
    opts["hold"][first] = opts["hold"][("scan", second)] = threading.Event()
    data, issues = _read(path)
    assert data is not None and not issues and len(data.households) == 30
    parses = [e for e in log if e[0] == "parse"]
    main = threading.get_ident()
    assert {e[2] for e in parses} != {main} and len({e[2] for e in parses}) == 1
    assert [e[1] for e in parses] == names[:4]  # 户信息, 家庭成员, 帮扶措施, 收入明细 (not 代码表)
    for _what, name, _thread, scanned in parses:
        assert name in scanned  # its own scan had run
    held = next(e for e in log if e[0] == "parsed" and e[1] == first)
    assert second in held[3]  # the next sheet's scan began while this sheet was being parsed
    assert not _calamine_threads()  # read() closed the Book: its thread is gone


def test_a_large_sheets_next_block_is_parsed_while_the_block_before_is_converted(source, tmp_path, monkeypatch):
    """The national layout in blocks of a few rows: each block parsed on the Book's thread, the next one handed to it
    before the rows of the one before are given out; the same preview as the sheet read whole."""
    path = _export(source, tmp_path / "n.xlsx", "national")
    whole = source.read(exchange.preview, path, YEAR)
    events: list = []
    real = reader._parse_block

    def parse(box, name):
        events.append(("parse", threading.get_ident()))
        return real(box, name)

    real_submit = Book._submit

    def submit(self, fn, *args, **kw):
        events.append(("submit", threading.get_ident()))
        return real_submit(self, fn, *args, **kw)

    real_rows = reader._calamine_rows

    def rows(sheet, *args):
        events.append(("rows", threading.get_ident()))
        return real_rows(sheet, *args)

    with monkeypatch.context() as m:
        m.setattr(reader, "CHUNKED_ABOVE", 0)
        m.setattr(reader, "CHUNK_XML", 3000)
        m.setattr(reader, "_parse_block", parse)
        m.setattr(reader, "_calamine_rows", rows)
        m.setattr(Book, "_submit", submit)
        blocks = source.read(exchange.preview, path, YEAR)
    main = threading.get_ident()
    kinds = [k for k, _t in events if k != "parse"]
    assert kinds.count("submit") >= 4 and kinds.count("submit") == [k for k, _t in events].count("parse")
    assert {t for k, t in events if k == "parse"}.isdisjoint({main})
    assert {t for k, t in events if k in ("rows", "submit")} == {main}
    # the second block was handed over before the first block's rows were given out, and so on
    assert kinds[:4] == ["submit", "submit", "rows", "submit"]
    assert _facts(blocks) == _facts(whole)
    assert not _calamine_threads()


def _facts(pv) -> tuple:
    data = pv.data
    return (pv.ok, pv.error_count, [e.text() for e in pv.errors], pv.summary(), pv.notes, pv.households, pv.people,
            None if data is None else (dict(data.households), {k: list(v) for k, v in data.members.items()},
                                       {k: list(v) for k, v in data.measures.items()},
                                       {k: list(v) for k, v in data.lines.items()}))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("block", [None, 2500])
def test_the_same_rows_errors_and_fingerprints_as_read_on_one_thread(source, tmp_path, monkeypatch, layout, block):
    """With a few errors in the file, read with the parses ahead on the Book's thread and read as before (each sheet
    scanned and parsed as it comes, on the importer's thread): the same preview, rows, errors and fingerprints."""
    path = _export(source, tmp_path / "a.xlsx", layout)
    spoiled = tmp_path / "b.xlsx"
    with zipfile.ZipFile(path) as z, zipfile.ZipFile(spoiled, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            data = z.read(info)
            if info.filename == "xl/sharedStrings.xml":  # a household type, a sex and a relation no one knows
                data = data.replace("<t>一般农户</t>".encode(), "<t>某某户</t>".encode(), 1)
                data = data.replace("<t>女</t>".encode(), "<t>甲</t>".encode(), 1)
            out.writestr(info, data)

    def both(p):
        with monkeypatch.context() as m:
            if block is not None:
                m.setattr(reader, "CHUNKED_ABOVE", 0)
                m.setattr(reader, "CHUNK_XML", block)
            ahead = source.read(exchange.preview, p, YEAR)
            data, _issues = _read(p)
            m.setattr(Book, "prefetch", lambda self, names: None)
            m.setattr(Book, "_submit", _inline)
            plain = source.read(exchange.preview, p, YEAR)
            data2, _issues = _read(p)
        return ahead, plain, data, data2

    for p in (path, spoiled):
        ahead, plain, data, data2 = both(p)
        assert _facts(ahead) == _facts(plain)
        assert _scan_facts(data.scan) == _scan_facts(data2.scan)
    assert not plain.ok and plain.error_count >= 1  # (the spoiled file: its errors are the same errors)
    assert _facts(both(path)[0])[0]  # (the good file is good)


def _inline(self, fn, *args, **_kw):
    """Book._submit without a thread: the call made at once (as before the Book had one)."""
    from concurrent.futures import Future
    f: Future = Future()
    try:
        f.set_result(fn(*args))
    except BaseException as exc:  # noqa: BLE001 - handed over as the thread would
        f.set_exception(exc)
    return f


def test_an_exception_in_the_thread_is_raised_in_the_importers_thread(source, tmp_path, watched, monkeypatch):
    """calamine failing on a sheet (whole) or on a block: the same exception comes out of the read as when calamine
    ran on the importer's own thread, after the sheets before it were read; no thread is left."""
    log, _scans, opts = watched
    path = _export(source, tmp_path / "a.xlsx", "program")
    third = Book(path).sheet_names[2]
    opts["fail"].add(third)
    with pytest.raises(ValueError, match=f"could not read {third}"):
        _read(path)
    assert [e[1] for e in log if e[0] == "parsed"][:2] == Book(path).sheet_names[:2]
    assert not _calamine_threads()

    opts["fail"].clear()
    nat = _export(source, tmp_path / "n.xlsx", "national")
    real = reader._parse_block
    seen = [0]

    def parse(box, name):
        seen[0] += 1
        if seen[0] == 3:
            raise ValueError("calamine could not read block 3")
        return real(box, name)

    with monkeypatch.context() as m:
        m.setattr(reader, "CHUNKED_ABOVE", 0)
        m.setattr(reader, "CHUNK_XML", 2500)
        m.setattr(reader, "_parse_block", parse)
        with pytest.raises(ValueError, match="block 3"):
            _read(nat)
    assert not _calamine_threads()


def test_close_with_a_parse_under_way_waits_for_it_and_parses_nothing_more(source, tmp_path, watched):
    """close() while the first sheet is being parsed (a slow parse) and the next ones wait their turn: the parse under
    way ends before calamine's workbook is closed, the others never begin, and no thread is left."""
    log, _scans, opts = watched
    path = _export(source, tmp_path / "a.xlsx", "program")
    book = Book(path)
    names = book.sheet_names[:4]
    go = opts["hold"][names[0]] = threading.Event()
    book.prefetch(names)
    assert [e[1] for e in log if e[0] == "parse"] == [names[0]]  # under way, held
    timer = threading.Timer(0.2, go.set)  # (lets the held parse end while close() waits for it)
    timer.start()
    book.close()
    timer.join()
    assert [(e[0], e[1]) for e in log] == [("parse", names[0]), ("parsed", names[0]), ("close", None)]
    assert not _calamine_threads()
    assert not book._ahead and not book._pending


def test_a_cancelled_read_leaves_no_thread_parsing(source, tmp_path, watched, monkeypatch):
    """The read stops (the clerk cancels: the progress callback raises) while sheets are parsed ahead: the Book is
    closed on the way out, the parse under way ends, those not begun never do."""
    log, _scans, opts = watched
    path = _export(source, tmp_path / "a.xlsx", "program")
    names = Book(path).sheet_names

    class Cancelled(Exception):
        pass

    def progress(done, total, text):
        if names[1] in text:  # the member sheet's turn: cancel
            raise Cancelled

    with pytest.raises(Cancelled):
        importer.read(path, Issues(), progress, year=YEAR)
    assert not _calamine_threads()
    assert log[-1][0] == "close"
    parses = [e[1] for e in log if e[0] == "parse"]
    assert parses == [e[1] for e in log if e[0] == "parsed"]  # every parse that began had ended before the close


def test_a_refused_sheet_never_reaches_calamine_and_is_refused_in_its_turn(source, tmp_path, watched):
    """A sheet the guards refuse (a cell past Excel's grid) is not parsed; the refusal is the one the guards give, said
    when that sheet's turn comes (the sheets before it read first, as before); the sheets after it are neither scanned
    nor parsed."""
    log, scans, _opts = watched
    path = _export(source, tmp_path / "a.xlsx", "program")
    book = Book(path)
    names, part = book.sheet_names, book._zip_parts[book.sheet_names[2]]
    book.close()
    spoiled = tmp_path / "b.xlsx"
    with zipfile.ZipFile(path) as z, zipfile.ZipFile(spoiled, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            data = z.read(info)
            if info.filename == part:
                data = data.replace(b"</sheetData>", b'<row r="9"><c r="XFE9"><v>1</v></c></row></sheetData>', 1)
            out.writestr(info, data)
    log.clear()
    scans.clear()
    with pytest.raises(WorkbookError, match="超出 Excel 的范围") as got:
        _read(spoiled)
    assert names[2] not in [e[1] for e in log if e[0] == "parse"]
    assert names[3] not in scans
    assert [e[1] for e in log if e[0] == "parsed"] == names[:2]
    pv = source.read(exchange.preview, spoiled, YEAR)
    assert not pv.ok and str(got.value) in [e.reason for e in pv.errors]
    assert not _calamine_threads()


# ---------------------------------------------------------------- the fingerprints' pass in a process of its own

def _blocks(m, block: int = 2500) -> None:
    m.setattr(reader, "CHUNKED_ABOVE", 0)
    m.setattr(reader, "CHUNK_XML", block)


def _spied(m) -> list:
    """What each child gave (taps.Apart.result): its rows or None, and why not."""
    from desktop.services.exchange import taps
    seen = []
    real = taps.Apart.result

    def result(self):
        got = real(self)
        seen.append((got is not None, self.why, self._child._proc.pid))
        return got

    m.setattr(taps.Apart, "result", result)
    return seen


def test_a_sheet_read_in_blocks_is_cut_for_its_fingerprints_in_a_child_as_here(source, tmp_path, monkeypatch):
    """A first import of a sheet read in blocks (a county's national list): the fingerprints' pass over it runs in a
    child process (taps.py) while the importer converts; the rows it cuts are those the importer's thread cuts, and
    the child is gone once they are taken."""
    import multiprocessing
    import os
    path = _export(source, tmp_path / "a.xlsx", "national")
    with monkeypatch.context() as m:
        _blocks(m)
        seen = _spied(m)
        apart, _ = _read(path)
        m.setattr(reader, "TAP_APART", False)
        here, _ = _read(path)
    assert [(ok, why) for ok, why, _pid in seen] == [(True, None)]
    assert seen[0][2] != os.getpid()
    assert _scan_facts(apart.scan) == _scan_facts(here.scan)
    assert apart.scan.groups and sum(len(list(r.items())) for r in apart.scan.rows.values()) > 30  # (every row)
    assert not multiprocessing.active_children()


def test_our_layouts_large_sheets_are_cut_one_after_another_in_one_child_as_here(source, tmp_path, monkeypatch):
    """A first import of our layout (several sheets, none read in blocks): each sheet from TAP_APART_FROM (here: the
    three with rows) is cut for its fingerprints in the book's one child process, in turn, while the importer
    converts; the fingerprints are those cut on the guards' pass, and no child is left once the file is read."""
    import multiprocessing
    path = _export(source, tmp_path / "a.xlsx", "program")
    with monkeypatch.context() as m:
        m.setattr(reader, "TAP_APART_FROM", 1)
        seen = _spied(m)
        apart, issues = _read(path)
        assert not multiprocessing.active_children()
        m.setattr(reader, "TAP_APART", False)
        here, _ = _read(path)
    assert not issues
    large = [name for name in apart.scan.sheets]
    assert len(seen) == len(large) >= 3 and all(ok for ok, _why, _pid in seen)
    assert len({pid for _ok, _why, pid in seen}) == 1  # (one process for all of them)
    assert _scan_facts(apart.scan) == _scan_facts(here.scan)
    with monkeypatch.context() as m:  # a sheet below the size is cut on the guards' pass, as before
        m.setattr(reader, "TAP_APART_FROM", 1 << 40)
        seen = _spied(m)
        small, _ = _read(path)
    assert seen == [] and _scan_facts(small.scan) == _scan_facts(here.scan)


def test_a_child_that_fails_or_cannot_start_leaves_the_cut_to_the_importer(source, tmp_path, monkeypatch):
    """The child refusing its work (here: the guards' words one short, as for a file changed under it) or no process
    to be had: the importer's thread cuts the sheet itself, and stores the same fingerprints."""
    from desktop.services.exchange import taps
    path = _export(source, tmp_path / "a.xlsx", "national")
    with monkeypatch.context() as m:
        _blocks(m)
        m.setattr(reader, "TAP_APART", False)
        here, _ = _read(path)
    with monkeypatch.context() as m:
        _blocks(m)
        seen = _spied(m)
        real = taps.Apart.__init__
        m.setattr(taps.Apart, "__init__", lambda self, *a: real(self, *a[:-1], a[-1][:-1]))
        short, _ = _read(path)
    assert len(seen) == 1 and not seen[0][0] and "ValueError" in seen[0][1]  # (zip(…, strict=True) in the child)
    assert _scan_facts(short.scan) == _scan_facts(here.scan)

    def refuse(*_a):
        raise OSError("no more processes")

    with monkeypatch.context() as m:
        _blocks(m)
        m.setattr(taps.Apart, "__init__", refuse)
        none, _ = _read(path)
    assert _scan_facts(none.scan) == _scan_facts(here.scan)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_read_that_stops_before_the_fingerprints_leaves_no_child(source, tmp_path, monkeypatch, layout):
    """A read cancelled (or refused) after the child has begun: closing the book ends the child (a national list read
    in blocks; our layout's sheets sent to the book's worker)."""
    import multiprocessing
    path = _export(source, tmp_path / "a.xlsx", layout)
    started = []

    def progress(*_a):
        started.extend(multiprocessing.active_children())
        raise importer.ImportCancelled()

    with monkeypatch.context() as m:
        if layout == "national":
            _blocks(m)
        else:
            m.setattr(reader, "TAP_APART_FROM", 1)
        with pytest.raises(importer.ImportCancelled):
            importer.read(path, Issues(), progress, year=YEAR)
    assert started  # (the child was there while the rows were read)
    assert not multiprocessing.active_children()


def test_the_exchange_package_names_what_it_imports_when_first_used():
    """exchange/__init__.py imports its names when first used (a child process imports only the cutting): every
    name of __all__ is one of _FROM and resolves to the object of its module, and a module of the package is an
    attribute as before."""
    from desktop.services.exchange import national_export
    assert sorted(exchange.__all__) == sorted(exchange._FROM)
    for name in exchange.__all__:
        module = import_module(f"desktop.services.exchange.{exchange._FROM[name]}")
        assert getattr(exchange, name) is getattr(module, "Preview" if name == "ImportPreview" else name)
    assert exchange.national_export is national_export and exchange.reader is reader
    with pytest.raises(AttributeError):
        exchange.no_such_name  # noqa: B018


def test_a_mid_sized_list_read_alone_is_parsed_in_two_blocks_at_once(source, tmp_path, monkeypatch):
    """A national list between PAIRED_FROM and CHUNKED_ABOVE (here: any), the only sheet read: two blocks of half
    its rows each, both handed to calamine before the first is waited for (on two threads: both cores parse while
    the importer has nothing to convert yet); the same preview and fingerprints as the sheet read whole, the
    fingerprints cut in the child."""
    path = _export(source, tmp_path / "a.xlsx", "national")
    whole = source.read(exchange.preview, path, YEAR)
    here, _ = _read(path)
    parsed = []
    real = reader._parse_block

    def parse(box, name):
        parsed.append(threading.current_thread().name)
        return real(box, name)

    with monkeypatch.context() as m:
        m.setattr(reader, "PAIRED_FROM", 0)
        m.setattr(reader, "_parse_block", parse)
        seen = _spied(m)
        paired = source.read(exchange.preview, path, YEAR)
        data, _ = _read(path)
    assert len(parsed) == 4 and all(t.startswith("calamine-block") for t in parsed)  # (two blocks, two reads)
    assert _facts(paired) == _facts(whole)
    assert _scan_facts(data.scan) == _scan_facts(here.scan)
    assert [ok for ok, _why, _pid in seen] == [True, True]
    assert not _calamine_threads()
