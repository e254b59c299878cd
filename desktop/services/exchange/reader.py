"""Reading a workbook: python-calamine for speed (.xlsx and old .xls), the csv module for .csv
(UTF-8 with or without BOM, else GB18030), header row found below any title rows and merged group
rows, every cell converted or its error collected.

A Book first lists its sheets (name, visible or hidden) without reading any of them: what is in a
file can be inspected, and refused, before a single row is loaded (Book.sheets).

calamine holds a sheet as a dense grid, so a sheet with one stray value at row 1,000,000 would
take gigabytes. Such a sheet is recognised before it is loaded — its declared extent is far larger
than its XML could hold — and streamed with openpyxl's read-only reader instead, which only ever
sees the rows that exist.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import warnings
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator
from xml.etree import ElementTree

from ...models import Household, IncomeLine, Measure, Member, Region
from ..errors import ServiceError
from .layout import Alias, Column, HeaderMatcher, Sheet, national, norm_header, norm_value
from .measure import (
    LIMITS,
    FileRefused,
    Limits,
    SheetScan,
    check_size,
    large_allocations_apart,
    open_zip,
    part_bytes,
    scan_xlsx,
)
from .values import Bad, Month, clip, converter, show

HEADER_SCAN = 30  # rows searched for the header
CHUNKED_ABOVE = 128 << 20  # a sheet whose XML is larger is read a block of rows at a time (Book._chunks)
CHUNK_XML = 48 << 20  # bytes of a sheet's XML read by calamine at once in such a sheet (two blocks are held while the
# next is parsed beside the rows of the one before: 64 MB took the 100,000-household national import to 1.1 GB)
JOIN_ROWS = 4096  # rows of a renumbered block joined and written at once (Book._blocks)
FIRST_BLOCK_PART = 4  # the first block of such a sheet is this part of CHUNK_XML: nothing else is done while it is
# parsed (the sheet's fingerprints are cut in a process of their own, taps.py). (Doubling from there to CHUNK_XML
# waited longer: each block's parse reads its shared strings again, up to 32 MB at 100,000 households: _SharedCut.)
SHARED_CUT_FROM = 1 << 20  # a shared-strings part this large goes into each block's workbook only as far as the block
# needs it (_SharedCut): calamine reads a block's shared strings whole before its rows, and at 100,000 households the
# 1.2 million strings (32 MB of XML) took 0.3 s a block, twelve times over, on the thread the import waits for
SHARED_CUT_SHARE = 0.5  # …up to this part of them (_SharedCut)
RENUMBER_FROM = 4  # a block's rows are numbered from 1 when more rows come before it than this many times its own: a
# row renumbered costs the importer's thread about as much as 3.7 empty rows from calamine (a national list's rows of 88
# cells, measured at 100,000 households: 0.24 s a block of 31,000 rows; 1.4 million empty rows passed over, 3.0 s)
PAIRED_FROM = 32 << 20  # a sheet read alone (a national list) whose XML is this large but not CHUNKED_ABOVE is read in
# two blocks parsed at once, one a core (Book.prefetch): the importer has nothing to convert until the first is parsed
TAP_APART = True  # the fingerprints' pass over a sheet read in blocks made in a process of its own (taps.py)
TAP_APART_FROM = 32 << 20  # …and over a sheet of several this large (the zip's word): Book.prefetch
AHEAD_XML = 160 << 20  # sheet XML that calamine may parse ahead of the conversion, whole sheets (Book.prefetch)
_SHEET_DATA = re.compile(rb"<sheetData\b[^>]*>")
_DIMENSION_TAG = re.compile(rb"<dimension\b[^>]*/>")
_ROW_NUMBER = re.compile(rb'<row r="(\d+)"')
_EMPTY_SHEET = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>')
MAX_ERRORS = 50_000  # errors kept for the list; the count goes on
HEADER_CHARS = 40  # a header is echoed up to here
REASON_CHARS = 400  # a reason is cut here (converters already cut the values they quote)
PROGRESS_EVERY = 5000

_MODELS = {"household": Household, "member": Member, "measure": Measure, "income_line": IncomeLine}


class WorkbookError(ServiceError):
    """The file cannot be read as a workbook at all (the message says why, in Chinese)."""


@dataclass(frozen=True)
class Issue:
    """One error of a file: where it is and why it is wrong."""

    sheet: str
    row: int | None  # Excel row number, None for the sheet or file as a whole
    column: str
    value: str
    reason: str

    def text(self) -> str:
        where = self.sheet or "文件"
        if self.row is not None:
            where += f" 第 {self.row} 行"
        if self.column:
            where += f"【{self.column}】"
        value = f"“{self.value}”" if self.value else ""
        return f"{where}{value}：{self.reason}"


class Row(int):
    """An Excel row number that knows its sheet: the rows of one household may come from several
    sheets of a national file, and every message names the right one. The sheet is an attribute of a
    subclass made once per sheet (Row.of), not of each number: a county's 300,000 person rows are kept
    as plain ints (28 bytes), not ints with a dict of their own (about 140)."""

    __slots__ = ()
    sheet: str = ""

    def __new__(cls, number: int, sheet: str):
        return Row.of(sheet)(number)

    @staticmethod
    def of(sheet: str) -> type:
        """The row-number type of one sheet: call it with a number."""
        kind = _ROW_KINDS.get(sheet)
        if kind is None:
            if len(_ROW_KINDS) > 1000:
                _ROW_KINDS.clear()
            kind = _ROW_KINDS[sheet] = type("Row", (Row,), {"__slots__": (), "sheet": sheet,
                                                            "__new__": _row_new, "__module__": __name__})
        return kind


def _row_new(cls, number: int):
    return int.__new__(cls, number)


_ROW_KINDS: dict[str, type] = {}


class Issues:
    def __init__(self, limit: int = MAX_ERRORS):
        self.items: list[Issue] = []
        self.count = 0
        self.limit = limit

    def add(self, sheet: str, row: int | None, column: str, value: object, reason: str) -> None:
        """One error; what is echoed (value, and a reason quoting a value) is cut to a readable length."""
        self.count += 1
        if len(self.items) < self.limit:
            sheet = getattr(row, "sheet", sheet)
            row = int(row) if row is not None else None
            value = show(value) if not isinstance(value, str) else value
            self.items.append(Issue(clip(sheet, 40), row, clip(column, 40), clip(value), clip(reason, REASON_CHARS)))

    def __bool__(self) -> bool:
        return self.count > 0


# ---------------------------------------------------------------- the workbook

@dataclass(frozen=True)
class SheetInfo:
    """A sheet as the file lists it, before anything of it is read."""

    name: str
    visible: bool = True
    state: str = "visible"  # visible, hidden (Format › Sheet › Unhide shows it) or veryHidden (only VBA does)

    @property
    def state_text(self) -> str:
        return {"hidden": "隐藏", "veryHidden": "深度隐藏，Excel 中无法取消隐藏"}.get(self.state, "")


OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls (BIFF in a compound document)


def file_kind(path: Path) -> str:
    """xlsx, xls or csv, by what the file is (not only its name); "" when it is none of them."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PK"):
        return "xlsx"
    if head == OLE2_MAGIC:
        return "xls"
    if path.suffix.lower() in (".csv", ".txt"):
        return "csv"
    return ""


class Book:
    """A workbook open for reading: its sheets (Book.sheets, with visibility), and the rows of one
    sheet at a time. .xlsx/.xls through python-calamine, .csv as one sheet named after the file.

    Nothing is loaded before it is measured (measure.py): the file's size first; for .xlsx the whole
    package (part sizes as read, not as claimed; the shared strings) before calamine opens it, and each
    sheet (its real extent, hidden rows, error cells) before calamine loads it; a sheet whose grid the
    cells do not fill is read row by row instead. An .xls, whose records cannot be measured as cheaply,
    is read in a child process with a memory limit (xls_child.py)."""

    def __init__(self, path: Path, limits: Limits = LIMITS):
        self.path = Path(path)
        self.limits = limits
        if not self.path.is_file():
            raise WorkbookError(f"文件不存在：{self.path}")
        self.kind = file_kind(self.path)
        self._wb = None
        self._csv: list[list[str]] | None = None
        self._zip_parts: dict[str, str] = {}
        self._scans: dict[str, SheetScan] = {}
        self._xls: dict[str, list[tuple[int, list]]] | None = None
        self._xls_marks: dict[str, tuple[list[int], list[int], dict]] = {}  # hidden rows, columns, error cells
        self.tap = None  # sees each sheet's rows on the guards' pass (fingerprint.Tap)
        # calamine parses on a thread of its own (it releases the GIL while it parses), one sheet or block at a time,
        # while this thread scans the next sheet or converts the rows before (Book.prefetch, Book._chunk_rows)
        self._pool: ThreadPoolExecutor | None = None
        self._blocks_pool: ThreadPoolExecutor | None = None  # the two blocks of a paired sheet (Book._submit)
        self._paired: set[str] = set()  # sheets read in two blocks parsed at once (Book.prefetch)
        self._ahead: dict[str, tuple[Future, int]] = {}  # sheet → its parse under way or done, its XML bytes
        self._pending: list[str] = []  # sheets scanned, to be parsed ahead when the budget allows (AHEAD_XML)
        self._failed: dict[str, BaseException] = {}  # a sheet's scan that failed ahead: said when it is read
        self._started: dict[str, tuple] = {}  # a sheet read in blocks whose first block is parsed ahead: (where its
        # rows begin, its blocks, the first one's parse)
        self._cutter = None  # the process cutting the sheets for the fingerprints, one after the other (taps.worker)
        if self.kind:
            _refused(lambda: check_size(self.path, self.kind, limits))
        if self.kind == "csv":
            self.sheets = [SheetInfo(self.path.stem)]
        elif self.kind == "xlsx":
            self._zip_parts = self._sheet_parts()
            _refused(lambda: scan_xlsx(self.path, {}, limits, skip=set(self._zip_parts.values())))  # not the sheets
            self._open_calamine()
        elif self.kind == "xls":
            self._open_xls()
        else:
            raise WorkbookError("不是有效的 Excel 工作簿（.xlsx/.xls）或 CSV 文件，或文件已损坏")
        self.sheet_names = [sh.name for sh in self.sheets]

    def _open_calamine(self) -> None:
        from python_calamine import CalamineWorkbook
        try:
            self._wb = CalamineWorkbook.from_path(str(self.path))
            self.sheets = [SheetInfo(m.name, _state(m.visible) == "visible", _state(m.visible))
                           for m in self._wb.sheets_metadata]
        except Exception as exc:  # noqa: BLE001 - calamine raises its own types for every kind of damage
            kind = type(exc).__name__
            if "Password" in kind:
                raise WorkbookError("工作簿设有打开密码，请先在 Excel 中取消密码后再导入") from None
            raise WorkbookError("不是有效的 Excel 工作簿（.xlsx），或文件已损坏") from None

    def _open_xls(self) -> None:
        from .xls import read_xls
        sheets, rows, marks = read_xls(self.path, self.limits)
        self.sheets = [SheetInfo(name, state == "visible", state) for name, state in sheets]
        self._xls = rows
        self._xls_marks = marks

    def visible(self, name: str) -> bool:
        return next((sh.visible for sh in self.sheets if sh.name == name), False)

    def info(self, name: str) -> SheetInfo | None:
        return next((sh for sh in self.sheets if sh.name == name), None)

    def close(self) -> None:
        """Also waits for a parse under way (its result is dropped) and cancels those not begun."""
        self._xls = None
        pool, self._pool = self._pool, None
        blocks_pool, self._blocks_pool = self._blocks_pool, None
        self._ahead.clear()
        self._pending.clear()
        for _at, blocks, _first in self._started.values():
            blocks.close()
        self._started.clear()
        cutter, self._cutter = self._cutter, None
        if cutter is not None:
            cutter.close()
        for each in (pool, blocks_pool):
            if each is not None:
                each.shutdown(wait=True, cancel_futures=True)
        if self._wb is None:
            return
        try:
            self._wb.close()
        except Exception:  # noqa: BLE001 - closing twice is harmless
            pass

    def _csv_rows(self) -> list[list[str]]:
        if self._csv is None:
            data = self.path.read_bytes()
            for encoding in ("utf-8-sig", "gb18030"):
                try:
                    text = data.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
            else:
                raise WorkbookError("读不出 CSV 文件的文字：应为 UTF-8（带或不带 BOM）或 GB18030/GBK 编码")
            del data
            first = text.split("\n", 1)[0]
            delimiter = "\t" if first.count("\t") > first.count(",") else ","
            old = csv.field_size_limit(self.limits.csv_field)
            try:
                self._csv = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
            except csv.Error as exc:
                raise WorkbookError(f"CSV 文件无法读取：{str(exc)[:80]}（一个单元格最多 "
                                    f"{self.limits.csv_field:,} 个字符）") from None
            finally:
                csv.field_size_limit(old)
        return self._csv

    def _sheet_parts(self) -> dict[str, str]:
        """Sheet name → its XML part inside the .xlsx (empty for other formats). The package is checked
        first (measure.open_zip): workbook.xml is read whole."""
        _refused(lambda: open_zip(self.path, self.limits))
        try:
            with zipfile.ZipFile(self.path) as z:
                names = set(z.namelist())
                if "xl/workbook.xml" not in names:
                    return {}
                ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
                book = ElementTree.fromstring(z.read("xl/workbook.xml"))
                rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
                targets = {r.get("Id"): r.get("Target") for r in rels}
                out = {}
                for el in book.iter():
                    if el.tag.endswith("}sheet") and el.get(ns_rel) in targets:
                        target = targets[el.get(ns_rel)]
                        part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
                        if part in names:
                            out[el.get("name")] = part
                return out
        except (zipfile.BadZipFile, ElementTree.ParseError, KeyError, OSError):
            return {}

    def scan(self, name: str, *, tap_later: list | None = None) -> SheetScan | None:
        """What the sheet's XML really holds (xlsx only), measured once; refused past a limit. `tap_later`: the
        fingerprints' tap is not fed on this pass; the list gets, for each piece, the guards' word that its cells are
        plain, for a second pass over the same pieces (Book._tap_again)."""
        if self.kind != "xlsx":
            return None
        got = self._scans.get(name)
        if got is None:
            failed = self._failed.pop(name, None)
            if failed is not None:
                raise failed
            part = self._zip_parts.get(name)
            if part is None:
                raise WorkbookError(f"工作表“{name[:40]}”在文件中找不到，文件已损坏")
            tap = self.tap if tap_later is None else None  # (the words alone: the sheet may be measured in two parts)
            got = _refused(lambda: scan_xlsx(self.path, {name: part}, self.limits, parts_done=True, tap=tap,
                                             words=tap_later).sheets[name])
            self._scans[name] = got
        return got

    def prefetch(self, names: list[str]) -> None:
        """Scan these sheets in this order now, and start calamine's parse of each on the Book's own thread as soon as
        its scan has passed it, while this thread scans the next one and later converts the earlier ones (calamine
        releases the GIL while it parses). A sheet is never parsed before its whole XML has passed the guards. At most
        AHEAD_XML bytes of sheets wait parsed or under way (the sheet being converted apart); the rest start as the
        earlier ones are taken (Book.rows). A sheet whose scan fails is not parsed and stops the prefetch: the failure
        is raised when that sheet is read, after the sheets before it, as when each sheet was scanned as it came.
        Large sheets (read in blocks, which prefetch their own next block), sparse ones and the rows of a shortened
        re-import are left to Book.rows."""
        if self.kind != "xlsx" or self._wb is None:
            return
        subset = getattr(self, "subset", None)
        # a sheet read alone has nothing to be scanned or converted beside its parse: its fingerprints are (the tap
        # fed on a second pass over the same pieces, inflated again, once the parse has begun)
        later: list | None = [] if self.tap is not None and len(names) == 1 and names[0] not in self._scans else None
        # several sheets (our layout), a first import: a large sheet's rows are cut for the fingerprints in a process
        # of their own too, started once its scan has passed it, rather than on this pass (a quarter of the guards'
        # time, all on the thread the import waits for)
        apart = later is None and self.tap is not None and TAP_APART and self.tap.hold is None and not self.tap.armed
        for name in names:
            if name in self._ahead or name in self._pending or (subset is not None and name in subset.maps):
                continue
            words = later
            if apart and name not in self._scans and self._declared(name) >= TAP_APART_FROM:
                words = []
            try:
                scan = self.scan(name, tap_later=words)
                sparse = not scan.dense(self.limits)
            except Exception as exc:  # noqa: BLE001 - raised as it was, when the sheet is read (Book.scan)
                self._failed[name] = exc
                return
            paired = len(names) == 1 and PAIRED_FROM <= scan.xml_bytes <= CHUNKED_ABOVE
            at = self._data_at(name) if not sparse and (paired or later is not None and
                                                         scan.xml_bytes > CHUNKED_ABOVE) else None
            if at is not None:  # read in blocks, the first one parsed now (beside the fingerprints' pass, if any)
                if paired:
                    self._paired.add(name)
                size = -(-scan.xml_bytes // 2) if paired else CHUNK_XML  # (paired: two blocks, parsed at once,
                blocks = self._blocks(name, self._zip_parts[name], at, size, paired)  # one a core)
                self._started[name] = (at, blocks, self._parse_block(name, blocks))
            elif not sparse and scan.xml_bytes <= CHUNKED_ABOVE:
                self._pending.append(name)
                self._fill()
            if later is not None:
                if name in self._started and TAP_APART and self.tap.hold is None and not self.tap.armed:
                    self._tap_apart(name, later)
                else:
                    self._tap_again(name, later)
            elif words is not None:
                self._tap_apart(name, words)
        if self._cutter is not None:
            self._cutter.no_more()  # (it ends after the last sheet, long before the import's own peak)

    def _declared(self, name: str) -> int:
        """The size the zip's directory gives for a sheet's XML (what the guards measure may differ: a choice of
        where work is done, never of what is read)."""
        try:
            with zipfile.ZipFile(self.path) as z:
                return z.getinfo(self._zip_parts[name]).file_size
        except (zipfile.BadZipFile, KeyError, OSError):
            return 0

    def _tap_again(self, name: str, plain: list[bool], tap=None) -> None:
        """The fingerprints' tap fed the pieces of a sheet the guards have passed, cut as they were, with the guards'
        word on each."""
        try:
            (tap or self.tap).cut_again(name, self.path, self._zip_parts[name], self.limits, plain)
        except FileRefused as exc:  # (the file changed under us since the scan)
            raise WorkbookError(str(exc)) from None

    def _tap_apart(self, name: str, plain: list[bool]) -> None:
        """A large sheet, nothing of it to keep for a shortened read (a first import): the tap's pass over it made in
        the book's child process (taps.worker; the sheets one after the other) while this thread converts; its rows
        are taken when the households are fingerprinted (Tap.settle), or cut here then, as _tap_again cuts them, when
        the child gives none."""
        from .taps import Apart, worker
        tap = self.tap
        try:
            if self._cutter is None:
                self._cutter = worker()
            child = Apart(self._cutter, self.path, self._zip_parts[name], self.limits, tap.letters, name, plain)
        except Exception:  # noqa: BLE001 - no process to be had: cut here, as before
            self._tap_again(name, plain)
            return

        def fill() -> None:
            rows = child.result()
            if rows is None:
                self._tap_again(name, plain, tap)
            else:
                tap.sheets[name] = rows

        tap.pending[name] = fill

    def _fill(self) -> None:
        """Start the parses of scanned sheets that the budget allows (the first always)."""
        while self._pending:
            size = self._scans[self._pending[0]].xml_bytes
            if self._ahead and sum(n for _f, n in self._ahead.values()) + size > AHEAD_XML:
                return
            name = self._pending.pop(0)
            self._ahead[name] = (self._submit(self._wb.get_sheet_by_name, name), size)

    def _submit(self, fn, *args, block: bool = False) -> Future:
        """On the Book's thread; a block of a paired sheet (its own workbook, not the Book's: Book.prefetch) on one of
        two threads, so that both blocks are parsed at once. (A large sheet's blocks stay on the Book's one thread: two
        parses at once there cost 70 MB more at 100,000 households.)"""
        if block:
            if self._blocks_pool is None:
                self._blocks_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="calamine-block")
            return self._blocks_pool.submit(fn, *args)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="calamine")
        return self._pool.submit(fn, *args)

    def _whole(self, name: str):
        """calamine's parse of a whole sheet: the one started ahead, or now (on the Book's thread when it has one, as
        calamine's workbook is used by one thread at a time)."""
        got = self._ahead.pop(name, None)
        if got is None:
            if name in self._pending:
                self._pending.remove(name)
            if self._pool is None:
                return self._wb.get_sheet_by_name(name)
            got = (self._submit(self._wb.get_sheet_by_name, name), 0)
        try:
            return got[0].result()
        finally:
            got = None
            self._fill()

    def is_sparse(self, name: str) -> bool:
        """A grid far larger than the cells in it (a stray cell far below or right): read row by row."""
        scan = self.scan(name)
        return scan is not None and not scan.dense(self.limits)

    def hidden_rows(self, name: str) -> set[int]:
        if self.kind == "xls":
            return set(self._xls_marks.get(name, ((), (), {}))[0])
        scan = self.scan(name)
        return set(scan.hidden_rows) if scan is not None else set()

    def hidden_cols(self, name: str) -> set[int]:
        """Hidden columns (0-based) of a sheet: .xlsx <col hidden="1">, .xls COLINFO."""
        if self.kind == "xls":
            return set(self._xls_marks.get(name, ((), (), {}))[1])
        scan = self.scan(name)
        return set(scan.hidden_cols) if scan is not None else set()

    def bad_cells(self, name: str) -> dict[int, list[tuple[int, str]]]:
        """Row → [(column, what)]: error cells (#DIV/0! …) and formulas saved without a value, which
        calamine reads as blank (.xls: error cells, from the BIFF records)."""
        if self.kind == "xls":
            return self._xls_marks.get(name, ((), (), {}))[2]
        scan = self.scan(name)
        return scan.bad if scan is not None else {}

    def rows(self, name: str) -> Iterator[tuple[int, list]]:
        """(Excel row number, cell values) of every row of a sheet, blank cells as "" or None."""
        if self.kind == "csv":
            yield from enumerate(self._csv_rows(), start=1)
            return
        if self.kind == "xls":
            yield from (self._xls or {}).get(name, ())
            return
        if self.is_sparse(name):
            yield from self._rows_sparse(name)
            return
        subset = getattr(self, "subset", None)
        if subset is not None and name in subset.maps:  # the rows of households changed since the last import
            yield from subset.rows(name)  # (fingerprint.py; the whole sheet was guarded by scan() above)
            return
        scan = self.scan(name)
        if scan is not None and (scan.xml_bytes > CHUNKED_ABOVE or name in self._started):  # (paired: prefetch)
            chunks = self._chunks(name)
            if chunks is not None:
                yield from chunks
                return
        yield from _calamine_rows(self._whole(name))

    def _chunks(self, name: str) -> Iterator[tuple[int, list]] | None:
        """A large sheet read by calamine a block of rows at a time (issue 20: calamine holds a whole sheet as a
        grid, a county's one-row-a-person list would take well over 1 GB): each block of about CHUNK_XML bytes of
        the sheet's rows is put in a workbook of its own — the file's other parts as they are (shared strings,
        styles), the sheet's XML cut to those rows — and read by the same calamine as any sheet. Cells keep their
        positions (r="…"), so rows come out numbered and placed as from the whole sheet. None when the sheet's XML
        is not laid out as expected (then it is read whole)."""
        at = self._data_at(name)
        return self._chunk_rows(name, self._zip_parts[name], at) if at is not None else None

    def _data_at(self, name: str) -> int | None:
        """Where the rows of a sheet's XML begin, None when it is not laid out as expected."""
        if name in self._started:
            return self._started[name][0]
        with zipfile.ZipFile(self.path) as z:
            with z.open(self._zip_parts[name]) as f:
                first = f.read(1 << 20)
            m = _SHEET_DATA.search(first)
            if m is None or b"</row>" not in first:
                return None
        return m.end()

    def _chunk_rows(self, name: str, part: str, data_at: int) -> Iterator[tuple[int, list]]:
        """The blocks' rows. calamine parses the next block on a thread of its own while this one converts the rows of
        the block before: at most one block parsed ahead (its workbook and its rows' grid are the memory this costs).
        The next block is handed over before this one's parse is waited for: while this thread waits for the first
        block, the second is parsed on the other core (two threads: Book._submit)."""
        started = self._started.pop(name, None)  # (the first block handed to calamine already: Book.prefetch)
        blocks = started[1] if started is not None else self._blocks(name, part, data_at)
        try:
            ahead = started[2] if started is not None else self._parse_block(name, blocks)
            started = None
            done = 0  # rows yielded so far
            while ahead is not None:
                (this, off, again), ahead = ahead, None
                ahead = self._parse_block(name, blocks)  # (its bytes are cut on this thread)
                try:
                    sheet = this.result()
                except Exception as exc:
                    from python_calamine import CalamineError
                    if again is None or not isinstance(exc, CalamineError) or "shared strings" not in str(exc):
                        raise
                    sheet = _parse_block(again(), name)  # (a string beyond those it was given: all of them)
                this = again = None
                for n, row in _calamine_rows(sheet, done, off):
                    done = n
                    yield n, row
                del sheet
        finally:
            ahead = None
            blocks.close()

    def _parse_block(self, name: str, blocks: Iterator[tuple[list[bytes], int, Callable[[], list[bytes]] | None]]
                     ) -> tuple[Future, int, Callable[[], list[bytes]] | None] | None:
        """The next block handed to calamine: its parse, the number its rows were lowered by (_renumbered), and how
        to make it again with every shared string (Book._blocks)."""
        got = next(blocks, None)
        if got is None:
            return None
        box, off, again = got
        return self._submit(_parse_block, box, name, block=name in self._paired), off, again

    def _block_again(self, part: str, base: bytes, head: bytes, shared: _SharedCut, start: int, end: int
                     ) -> list[bytes]:
        """A block's workbook made again with every shared string (`base`: the package as it is; the rows read again
        from the file: `start`, `end` in the sheet's XML), for a block that used a string beyond those it was given
        (_SharedCut); the blocks after it get them all too."""
        shared.give_all()
        with zipfile.ZipFile(self.path) as z, z.open(part) as f:
            f.seek(start)
            rows = f.read(end - start)
        return [_block_book(base, part, head, _lowered(rows)[1])]

    def _blocks(self, name: str, part: str, data_at: int, size: int | None = None, even: bool = False
                ) -> Iterator[tuple[list[bytes], int, Callable[[], list[bytes]] | None]]:
        """Each block of the sheet's rows as a workbook of its own (see _chunks), one at a time, with the number its
        rows were lowered by: calamine gives a sheet's rows from row 1, so a block of rows 30,001–60,000 as written
        would come with 30,000 empty rows before its own (at a county's 100,000 households, 1.4 million rows of empty
        cells made and passed over); its rows are numbered from 1 instead where the XML allows it (_renumbered).
        `size`: bytes of XML a block (CHUNK_XML); the first one is a FIRST_BLOCK_PART of it unless `even`. The third
        item makes the block's workbook again with every shared string, for a block given only the first ones
        (_SharedCut; None when it was given them all)."""
        large_allocations_apart()
        sheets = set(self._zip_parts.values())
        with zipfile.ZipFile(self.path) as z:
            # what calamine reads besides the sheet: the package's XML parts (sizes measured before), other sheets
            # left empty — zipped once, compressed (the shared strings are 32 MB of text at county scale; calamine
            # keeps its own copy of each block's workbook while it loads it)
            others = [(info.filename, z.read(info) if info.filename not in sheets else _EMPTY_SHEET)
                      for info in z.infolist()
                      if info.filename != part and info.filename.lower().endswith((".xml", ".rels"))]
        shared = None
        for filename, data in others:
            if shared is None and filename.lower().endswith("sharedstrings.xml") and len(data) >= SHARED_CUT_FROM:
                shared = _SharedCut.of(filename, data)
        base = _zipped(others)
        cut_base = _zipped([x for x in others if x[0] != shared.name]) if shared is not None else None  # (_SharedCut)
        others = None
        f = _Window(part_bytes(self.path, part))  # (inflated on a thread of its own while this one cuts a block)
        try:
            f.fill(data_at)
            head = _DIMENSION_TAG.sub(b"", f.take(data_at))  # the whole sheet's extent: not this block's
            at = data_at  # where the window begins in the sheet's XML
            carry = 0  # bytes of the window read before (after the last block cut)
            block = size or CHUNK_XML
            size = block if even else block // FIRST_BLOCK_PART  # (the first block small: the rows begin sooner)
            while True:
                upto = f.fill(carry + size)  # carry and `size` bytes more, or what is left
                size = block
                more = upto > carry
                if more:
                    cut = f.rfind(b"</row>", upto)
                    if cut < 0:  # no row ends in it yet (the scan refused runs past limits.run_bytes)
                        carry = upto
                        continue
                    cut += len(b"</row>")
                    buf = f.take(cut)  # (the block's rows: the one copy made of them)
                    carry = upto - cut
                else:
                    buf = f.take(upto)
                    end = buf.find(b"</sheetData>")
                    cut = end if end >= 0 else len(buf)
                start, at = at, at + len(buf)
                if buf.find(b"<row", 0, cut) >= 0:
                    rows = buf if cut == len(buf) else buf[:cut]
                    buf = None
                    strings = shared.upto(rows[rows.rfind(b"<row "):]) if shared is not None else None
                    off, rows = _lowered(rows)
                    box = [_block_book(base if strings is None else cut_base, part, head, rows, strings)]  # (emptied
                    rows = None  # by the parse once calamine has its copy: _parse_block)
                    again = None
                    if strings is not None:
                        again = functools.partial(self._block_again, part, base, head, shared, start, start + cut)
                    strings = None
                    yield box, off, again
                    box = None
                buf = None
                if not more:
                    break
        finally:
            f.close()

    def _rows_sparse(self, name: str) -> Iterator[tuple[int, list]]:
        """Only the rows that exist, each as wide as its own last cell (openpyxl's sheet parser)."""
        import openpyxl
        try:
            from openpyxl.worksheet._reader import WorkSheetParser
        except ImportError:  # pragma: no cover - openpyxl moved its parser
            scan = self.scan(name)
            raise WorkbookError(f"工作表“{name[:40]}”在 {scan.far_cell()} 处有远离其他数据的单元格："
                                "请删除该处内容后再导入") from None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no default style" and the like: not the clerk's concern
            wb = openpyxl.load_workbook(self.path, read_only=True, data_only=True, keep_links=False)
        try:
            ws = wb[name]
            with ws._get_source() as src:
                parser = WorkSheetParser(src, ws._shared_strings, data_only=True, epoch=wb.epoch,
                                         date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
                for idx, cells in parser.parse():
                    if not cells:
                        continue
                    row = [None] * max(c["column"] for c in cells)
                    for c in cells:
                        row[c["column"] - 1] = c["value"]
                    yield idx, row
        finally:
            wb.close()


class _Window:
    """The first bytes of a stream of pieces, held as the pieces came (no copy until a block is taken)."""

    def __init__(self, pieces: Iterator[bytes]):
        self._pieces = pieces
        self._segs: list[bytes] = []
        self._at = 0  # where the window begins in the first piece
        self._len = 0

    def fill(self, n: int) -> int:
        """At least n bytes held, when there are: how many are, up to n."""
        while self._len < n:
            piece = next(self._pieces, None)
            if piece is None:
                break
            if piece:
                self._segs.append(piece)
                self._len += len(piece)
        return min(n, self._len)

    def _spans(self, end: int) -> list[tuple[int, bytes, int, int]]:
        """(where it begins in the window, piece, from, to) of the pieces' bytes before `end`."""
        out, g, lo = [], 0, self._at
        for seg in self._segs:
            if g >= end:
                break
            hi = min(len(seg), lo + end - g)
            out.append((g, seg, lo, hi))
            g += hi - lo
            lo = 0
        return out

    def rfind(self, sub: bytes, end: int) -> int:
        """Where the last `sub` wholly before `end` begins (-1: none), also one across two pieces."""
        spans = self._spans(end)
        k = len(sub)
        for i in range(len(spans) - 1, -1, -1):
            g, seg, lo, hi = spans[i]
            if i + 1 < len(spans):  # (after this piece's own: one across its end and the next pieces' beginning)
                left = seg[max(lo, hi - (k - 1)):hi]
                right = b""
                for _g2, seg2, lo2, hi2 in spans[i + 1:]:
                    right += seg2[lo2:min(hi2, lo2 + k - 1 - len(right))]
                    if len(right) >= k - 1:
                        break
                r = (left + right).rfind(sub)
                if r >= 0 and r + k > len(left):
                    return g + (hi - lo) - len(left) + r
            r = seg.rfind(sub, lo, hi)
            if r >= 0:
                return g + r - lo
        return -1

    def take(self, n: int) -> bytes:
        """The first n bytes (as many as are held), out of the window."""
        got, left = [], n
        while left > 0 and self._segs:
            seg = self._segs[0]
            room = len(seg) - self._at
            if room <= left:
                got.append(seg if self._at == 0 else memoryview(seg)[self._at:])
                self._segs.pop(0)
                self._at = 0
                left -= room
            else:
                got.append(memoryview(seg)[self._at:self._at + left])
                self._at += left
                left = 0
        self._len -= n - left
        if len(got) == 1 and got[0].__class__ is bytes:
            return got[0]
        return b"".join(got)

    def __len__(self) -> int:
        return self._len

    def close(self) -> None:
        self._segs.clear()
        self._pieces.close()


class _SharedCut:
    """A workbook's shared strings given to the first blocks of a large sheet only as far as each block can need them.
    Writers number the strings in the order their cells are first written (Excel, openpyxl, xlsxwriter), so the rows
    up to a block's last use only strings up to the largest number that row uses: a block gets those (never fewer than
    the block before it), stored. A block that uses a later one all the same is refused by calamine ("Cell string
    index not found") and made again with all of them (Book._block_again; every block after it gets them all too): the
    cut decides how much calamine reads, never what a cell holds. Once a block would need more than SHARED_CUT_SHARE of
    them, that block and the rest get the package's own part, compressed, as before: the later blocks are where the
    import's memory peaks, and stored strings would add to it. Only the plain form is cut (`<sst …><si>…</si>…
    </sst>`, no namespace prefix); any other is given whole."""

    def __init__(self, name: str, xml: bytes, first: int, end: int):
        self.name, self.xml = name, xml
        self._end = end  # where </sst> begins
        self._at = first  # where the strings given so far end (a <si> begins there, or </sst>)
        self._given = 0  # how many
        self.whole = False

    @classmethod
    def of(cls, name: str, xml: bytes) -> _SharedCut | None:
        first = xml.find(b"<si>")
        end = xml.rfind(b"</sst>")
        if first < 0 or end < first or xml.rfind(b"<sst", 0, first) < 0 or xml[end + 6:].strip():
            return None
        return cls(name, xml, first, end)

    def give_all(self) -> None:
        self.whole, self.xml = True, None

    def upto(self, last_row: bytes) -> tuple[str, bytes] | None:
        """(part name, XML) of the strings for a block whose last row is `last_row`; None: give them all."""
        if self.whole:
            return None
        numbers = [int(n) for n in _SHARED_INDEX.findall(last_row)]
        want = max(numbers) + 1 if numbers else 0
        xml, at = self.xml, self._at
        limit = self._end * SHARED_CUT_SHARE
        while self._given < want:  # (a <si> inside a string is written &lt;si>: each one begins a string)
            at = xml.find(b"<si>", at + 4, self._end)
            if at < 0 or at > limit:
                self.give_all()
                return None
            self._given += 1
        self._at = at
        return self.name, xml[:at] + b"</sst>"


_SHARED_INDEX = re.compile(rb'\bt="s"[^>]*>\s*<v>\s*(\d+)')  # a shared string's number in a cell (one row: _SharedCut)


def _zipped(parts: list[tuple[str, bytes]]) -> bytes:
    """A package of these parts, compressed (Book._blocks: what calamine reads of the file besides the sheet)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, data in parts:
            z.writestr(name, data)
    return out.getvalue()


def _block_book(base: bytes, part: str, head: bytes, rows: bytes | list[bytes],
                strings: tuple[str, bytes] | None = None) -> bytes:
    """A block's workbook (Book._blocks): the package's other parts (`base`), the shared strings it is given (part name
    and XML: _SharedCut) and the sheet's part, its XML before the rows (`head`), the block's rows (renumbered: the
    pieces before each `<row `, the first one before the first row) and the end. Stored, not compressed: calamine
    reads it once."""
    book = io.BytesIO(base)
    with zipfile.ZipFile(book, "a", zipfile.ZIP_STORED) as out:
        if strings is not None:
            out.writestr(strings[0], strings[1])
        with out.open(part, "w") as w:
            w.write(head)
            if rows.__class__ is bytes:
                w.write(rows)
            else:
                w.write(rows[0])
                for i in range(1, len(rows), JOIN_ROWS):  # (a few MB at a time: one call, not two a row, and no
                    batch = rows[i:i + JOIN_ROWS]  # second copy of the whole block)
                    rows[i:i + JOIN_ROWS] = [None] * len(batch)
                    w.write(b"<row " + b"<row ".join(batch))
                    batch = None
            rows = None
            w.write(b"</sheetData></worksheet>")
    return book.getvalue()


def _parse_block(box: list[bytes], name: str):
    """calamine's parse of one block's workbook (on the Book's thread): the sheet's grid; the workbook (its copy of
    the bytes, the parsed shared strings) is closed, not needed for the rows. The block's bytes come in a list that is
    emptied once calamine has its own copy (the caller's reference would hold them until the parse ends)."""
    from python_calamine import CalamineWorkbook
    wb = CalamineWorkbook.from_filelike(io.BytesIO(box.pop()))  # (calamine keeps its own copy of the bytes)
    try:
        return wb.get_sheet_by_name(name)
    finally:
        wb.close()


def _calamine_rows(sheet, skip: int = 0, off: int = 0) -> Iterator[tuple[int, list]]:
    """(Excel row number, cells) from row `skip` + 1 on, of a sheet whose rows were lowered by `off` (a block: Book.
    _blocks). calamine's rows begin at row 1 but at the first column that holds a cell: they are padded to begin at
    column A, as every column number (hidden columns, error cells) counts from there. The rows of a lowered block
    come out as from the block written as it was: the empty rows calamine would give before its first row (those
    after `skip`) as wide as its rows, the rest numbered up by `off`."""
    try:
        start = sheet.start
        pad = [""] * start[1] if start and start[1] else None
        rows = sheet.iter_rows()
        n = off
        if skip > off:
            for _ in range(skip - off):
                if next(rows, None) is None:
                    return
            n = skip
        elif skip < off:  # (a lowered block: rows skip + 1 … off were empty rows of it)
            row = next(rows, None)
            if row is None:
                return
            blank = [""] * len(row)
            for k in range(skip + 1, off + 1):
                yield k, (pad + blank if pad else blank[:])
            n += 1
            yield n, (pad + row if pad else row)
        for row in rows:
            n += 1
            yield n, (pad + row if pad else row)
    finally:
        del sheet


def _lowered(rows: bytes) -> tuple[int, bytes | list[bytes]]:
    """A block's rows as _block_book writes them, and the number they were lowered by: numbered from 1 where
    _renumbered can, as written (0) otherwise."""
    got = _renumbered(rows)
    return (0, rows) if got is None else got


def _renumbered(rows: bytes) -> tuple[int, list[bytes]] | None:
    """A block's rows numbered from 1 (Book._blocks): how much they were lowered by, and the XML split before each
    `<row ` (the first piece what comes before the first row, to be joined with `<row ` again). Each row is
    `<row r="N"`, N above the row before, and its number followed by `"` only in its own and its cells' `r="…"`
    (as many times as it has cells written `<c r="…`, and once more): a style, a value or a formula ending in the
    number, a cell not written `<c r="…` (or the next row's cells, after a row closed `/>`) are told apart by that
    count. Each number is written with as many digits as before (zeros in front: calamine reads "A0001" as A1), so
    what is replaced is only ever the last digits of a number, and a cell that names a larger row ending in the same
    digits is lowered as much. What the count cannot tell: a cell naming a row that does not end so (neither Excel nor
    WPS writes one; the scan lets it pass) beside exactly one other place in its row ending in the number and `"`.
    None: the block is kept as written — one that begins at row 1 has nothing to lower, and one with fewer rows before
    it than RENUMBER_FROM times its own costs less as calamine gives it."""
    at = rows.find(b"<row ")
    m = _ROW_NUMBER.match(rows, at) if at >= 0 else None
    last = _ROW_NUMBER.match(rows, rows.rfind(b"<row "))
    if m is None or last is None:
        return None
    off = int(m.group(1)) - 1
    if off <= 0 or off < RENUMBER_FROM * (int(last.group(1)) - off):
        return None
    parts = rows.split(b"<row ")
    if parts[0].strip():
        return None
    prev = off
    for i in range(1, len(parts)):
        p = parts[i]
        q = p.find(b'"', 3)
        number = p[3:q]
        if q < 4 or not p.startswith(b'r="') or not number.isdigit():
            return None
        n = int(number)
        if n <= prev:
            return None
        prev = n
        end = p[3:q + 1]
        if p.count(end) != p.count(b'<c r="') + 1:
            return None
        parts[i] = p.replace(end, b"%0*d\"" % (len(number), n - off))
    return off, parts


def _state(visible) -> str:
    """calamine's SheetVisibleEnum.Visible / .Hidden / .VeryHidden as visible, hidden, veryHidden (the name
    of the enum itself contains "Visible": only the member after the dot counts)."""
    text = str(visible).rpartition(".")[2].lower()
    return "veryHidden" if "very" in text else ("hidden" if "hidden" in text else "visible")


def _refused(fn):
    try:
        return fn()
    except FileRefused as exc:
        raise WorkbookError(str(exc)) from None


# ---------------------------------------------------------------- one sheet

SET, APPEND, MERGE = 0, 1, 2  # how a column fills its value: alone, adding to a list, or agreeing with another
_MISS, _BLANK = object(), object()
MEMO_VALUES = 2000  # distinct cells a column remembers before it stops (see _convert)
_IMMUTABLE = frozenset({str, int, float, bool, Decimal, date, datetime, Month})
_RAW = frozenset({str, int, float, date, datetime})  # cells as the readers give them (bool: equal to 1 and 0)


@dataclass
class ParsedSheet:
    """The rows of one sheet as stored values, by our column order (None where blank or absent)."""

    sheet: Sheet
    name: str  # as the file names it
    header_row: int | None = None
    present: set[str] = field(default_factory=set)  # keys of the columns the file has
    headers: dict[str, str] = field(default_factory=dict)  # key → the header as the file writes it
    rows: list[tuple[int, list]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # headers we do not know
    left_out: list[tuple[str, str]] = field(default_factory=list)  # known headers not stored: (header, why)
    converted: list[str] = field(default_factory=list)  # headers whose values are converted (是否解决安全饮用水 …)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (row, what): 合计 rows and footers
    hidden_rows: list[int] = field(default_factory=list)  # rows read as data that are hidden in the file
    hidden_columns: list[str] = field(default_factory=list)  # headers of columns read as data, hidden in the file
    stripped: dict[str, list] = field(default_factory=dict)  # header → [first row, cells, characters]: removed
    key_column: int | None = None  # the file column of 户编号

    def has(self, key: str) -> bool:
        return key in self.present

    def header(self, key: str) -> str:
        return self.headers.get(key) or self.sheet.column(key).header


def _max_length(sheet_key: str, col_key: str, kind: str) -> int | None:
    if "." in col_key:  # the national person sheet: "member.name"
        sheet_key, _dot, col_key = col_key.partition(".")
    if kind in ("village", "group"):
        return Region.__table__.c.name.type.length
    model = _MODELS.get(sheet_key)
    if model is None or col_key not in model.__table__.c:
        return None
    return getattr(model.__table__.c[col_key].type, "length", None)


def _blank(cell) -> bool:
    return cell is None or cell == "" or (cell.__class__ is str and not cell.strip())


def _find_header(rows: list[tuple[int, list]], matcher: HeaderMatcher) -> tuple[int, dict[int, object]] | None:
    """The row with the most known headers (at least one required one): (index in rows, col → column).
    A merged group row (基础信息 / 收入情况 …) matches nothing required, so it is never the header."""
    best = None
    required = {c.key for c in matcher.sheet.columns if c.required}
    for i, (_n, row) in enumerate(rows):
        found = {}
        for j, cell in enumerate(row):
            if _blank(cell):
                continue
            got = matcher.match_alias(cell)
            if got is not None:
                found[j] = got
        keys = {c.key for c, _a in found.values()}
        if keys & required and (best is None or len(found) > len(best[1])):
            best = (i, found)
    return best


def _with_groups(head: list[tuple[int, list]], at: int, columns: dict, matcher: HeaderMatcher) -> dict:
    """Headers read with the rows above them: a cell under a merged group takes the group's name when
    that names another column (风险消除后情况 › 工资性收入 is 风险消除后工资性收入, not 工资性收入), and a
    blank header cell takes a header merged down from above (户编号 spanning two header rows)."""
    if at == 0:
        return columns
    header = head[at][1]
    above = [head[i][1] for i in range(max(0, at - 2), at)]
    width = max([len(header)] + [len(r) for r in above])
    groups = []
    for row in above:
        filled, last = [], None
        for j in range(width):
            cell = row[j] if j < len(row) else None
            if not _blank(cell):
                last = show(cell).strip()
            filled.append(last)
        groups.append(filled)
    out = dict(columns)
    for j in range(width):
        cell = header[j] if j < len(header) else None
        if _blank(cell):
            for row in reversed(above):
                if j < len(row) and not _blank(row[j]):
                    got = matcher.match_alias(row[j])
                    if got is not None:
                        out[j] = got
                    break
            continue
        for filled in groups:
            group = filled[j]
            if not group:
                continue
            stem = group[:-2] if group.endswith("情况") else group
            got = matcher.match_alias(stem + show(cell).strip())
            if got is not None:
                out[j] = got
                break
    return out


@dataclass(frozen=True)
class _Skip:
    totals: frozenset[str]
    footers: tuple[str, ...]
    blank: frozenset[str]


_SKIP: _Skip | None = None


def _skip_words() -> _Skip:
    global _SKIP
    if _SKIP is None:
        nat = national()
        _SKIP = _Skip(frozenset(norm_value(w) for w in nat["totals"]), tuple(norm_value(w) for w in nat["footers"]),
                      frozenset(w.strip() for w in nat["blank"]))
    return _SKIP


def _not_data(row: list) -> str | None:
    """合计 rows and 填表人 / 审核人 / 日期 footers: what the row is, or None for a row of data."""
    words = _skip_words()
    texts = [norm_value(c) for c in row[:60] if c.__class__ is str and c.strip()]
    for t in texts:
        bare = t.replace(":", "").replace("：", "")
        if bare in words.totals:
            return "合计行"
    for t in texts:
        if any(t.startswith(w) and (len(t) == len(w) or t[len(w)] in ":：") for w in words.footers):
            return "表尾（填表人、审核人、日期等）"
    return None


def parse_sheet(book: Book, name: str, sheet: Sheet, issues: Issues,
                progress: Callable[[int], None] | None = None, *, merge_duplicates: bool = False,
                row_numbers: Callable[[int], int] | None = None,
                repeated: Callable[[Column], bool] | None = None,
                sink: Callable[[ParsedSheet], Callable[[int, list], None] | None] | None = None) -> ParsedSheet:
    """Find the header (below any title rows and merged group rows), then convert every cell of every
    non-blank row below it. `merge_duplicates`: two columns meaning one fact must agree (the national
    layout: 风险消除时间 and 消除监测时间), instead of being an error."""
    out = ParsedSheet(sheet, name)
    matcher = HeaderMatcher(sheet)
    bad_cells = book.bad_cells(name)
    hidden = book.hidden_rows(name)
    at_row = [0]  # the row being converted, for the notes of removed characters (see _stripped_hook)
    rows = book.rows(name)
    head: list[tuple[int, list]] = []
    for item in rows:
        head.append(item)
        if len(head) >= HEADER_SCAN:
            break
    found = _find_header(head, matcher)
    if found is None:
        needed = "、".join(c.header for c in sheet.columns if c.required)
        issues.add(name, None, "", "", f"找不到表头行：前 {HEADER_SCAN} 行中没有“{needed}”等列名")
        rows.close()
        return out
    at, columns = found
    columns = _with_groups(head, at, columns, matcher)
    out.header_row = head[at][0]
    header_cells = list(head[at][1])
    for j in columns:
        if j >= len(header_cells):
            header_cells += [None] * (j + 1 - len(header_cells))
    seen: dict[str, tuple[int, str]] = {}
    plan = []  # (file column, our index, converter, header text as the file writes it, mode)
    for j, (col, alias) in sorted(columns.items()):
        text = clip(show(header_cells[j]).strip(), HEADER_CHARS) or (alias.name if alias else col.header)
        if col.skipped:
            why = "由程序计算，导入时不读" if col.computed else (_why(col) or "本程序不保存此项")
            out.left_out.append((text, why))
            continue
        mode = SET
        if col.key in seen:
            if alias is not None and alias.append:
                mode = APPEND
            elif merge_duplicates:
                mode = MERGE
            else:
                issues.add(name, out.header_row, text, "",
                           f"与第 {seen[col.key][0] + 1} 列同为“{col.header}”，不知以哪一列为准")
                continue
        else:
            seen[col.key] = (j, text)
        out.present.add(col.key)
        out.headers.setdefault(col.key, text)
        if col.key in ("household_no", "household.household_no") and out.key_column is None:
            out.key_column = j  # (fingerprint.py groups the sheet's rows by it)
        convert = alias.convert if alias is not None else None
        if convert in ("not", "household_type") or col.virtual:  # (virtual: read to work out another field)
            out.converted.append(text)
        conv = converter(col, _max_length(sheet.key, col.key, col.kind), convert,
                         stripped=_stripped_hook(out, text, at_row))
        if conv is not None:
            plan.append((j, col.index, conv, text, mode))
    for j, cell in enumerate(header_cells):
        if j not in columns and not _blank(cell):
            out.ignored.append(clip(show(cell).strip(), HEADER_CHARS))
    for col in sheet.columns:
        if col.required and col.key not in out.present:
            issues.add(name, out.header_row, col.header, "", f"缺少必填列“{col.header}”")
    if any(c.required and c.key not in out.present for c in sheet.columns):
        rows.close()
        return out

    def body():
        yield from head[at + 1:]
        yield from rows

    ctx = _Ctx(out, name, sheet, plan, issues, bad_cells, hidden, at_row, progress, row_numbers, repeated,
               sink(out) if sink is not None else None, _hidden_columns(book, name, plan))
    _convert(ctx, body())
    if len(out.hidden_columns) > 1:
        order = {header: k for k, (_j, _idx, _conv, header, _mode) in reversed(list(enumerate(plan)))}
        out.hidden_columns.sort(key=order.__getitem__)  # in the order of the columns, as the file has them
    return out


@dataclass
class _Ctx:
    """What converting the rows of one sheet needs."""

    out: ParsedSheet
    name: str
    sheet: Sheet
    plan: list
    issues: Issues
    bad_cells: dict
    hidden: set
    at_row: list
    progress: Callable[[int], None] | None
    row_numbers: Callable[[int], int] | None
    repeated: Callable[[Column], bool] | None
    sink: Callable[[int, list, bool], None] | None  # takes each row instead of out.rows (the national grouping),
    # told whether its household cells are those of the row it took last; a row it takes has one more place at the
    # end, always None (what the sink picks out in one call reads it for the places the sheet lacks)
    watch: dict[int, tuple[int, str]]  # columns the file hides: file column → (index, header), until a row has a value


def _getter(columns: list[int]) -> Callable[[list], tuple]:
    """The cells of these columns of a row as a tuple, in one C call."""
    if len(columns) > 1:
        return itemgetter(*columns)
    if columns:
        only = columns[0]
        return lambda row: (row[only],)
    return lambda row: ()


def _convert(ctx: _Ctx, body) -> None:
    """Every cell of every row through its column's converter, one row at a time. (Converting a column at a time,
    each distinct value once, was tried and measured: no faster at 20,000 households, since the cost is converting
    the distinct values — ID numbers, names, amounts — not the loop.)"""
    out, name, sheet, plan, issues = ctx.out, ctx.name, ctx.sheet, ctx.plan, ctx.issues
    bad_cells, hidden, at_row, progress = ctx.bad_cells, ctx.hidden, ctx.at_row, ctx.progress
    row_numbers, repeated = ctx.row_numbers, ctx.repeated
    watch = dict(ctx.watch)
    file_header = {idx: header for _j, idx, _conv, header, _m in plan}
    plan_headers = {j: (idx, header) for j, idx, _conv, header, _m in plan}
    required = [(col.index, file_header.get(col.index, col.header)) for col in sheet.columns if col.required]
    required_of = _getter([idx for idx, _h in required])
    width = len(sheet.columns)
    last = max(j for j, *_ in plan) if plan else 0
    key_col = next((j for j, idx, *_ in plan if sheet.columns[idx].kind == "key"), None)
    blank_words = _skip_words().blank
    sink = ctx.sink
    room = width + 1 if sink is not None else width  # (a sink's rows end in a spare None: see _Ctx)
    keep = out.rows.append
    count = 0
    # Columns whose cells repeat on every member row of a household (national layout): converted once per
    # household, the next rows share the values when their raw cells are the same (a copy of the household's values,
    # taken in C; the sink is told, and need not compare them again).
    # Each column remembers what its few distinct cells convert to (codes, 是/否, villages, dates): a repeated cell
    # costs one lookup instead of strip, blank words and its converter. Only values that cannot change under a
    # later reader (immutable) and printable text (a cell whose invisible characters are removed is told each
    # time); a column with many distinct values (names, ID numbers) stops remembering. The dictionary is the last
    # item of the column's entry (None when it does not remember).
    cols = [[j, idx, conv, header, mode, {} if mode != APPEND else None] for j, idx, conv, header, mode in plan]
    by_column = {e[0]: e for e in cols}
    h_plan = [e for e in cols if repeated is not None and repeated(sheet.columns[e[1]])]
    m_plan = [e for e in cols if e not in h_plan]
    h_idx = [p[1] for p in h_plan]
    h_get = _getter(h_idx)
    h_raw = _getter([p[0] for p in h_plan])  # a tuple, one C call a row
    h_set = set(h_idx)
    m_idx = [i for i in range(width) if i not in h_set]
    prev_raw: tuple | None = None
    prev_vals: list = []
    template: list | None = None  # the household's values alone, for its next member rows
    sunk = None  # the household cells of the last row given to the sink
    prev_filled, prev_errored = False, None

    for excel_row, row in body:
        if len(row) <= last:
            row = list(row) + [None] * (last + 1 - len(row))
        if key_col is not None:
            key = row[key_col]
            if key is None or key == "" or (key.__class__ is str and not key.isascii()):
                what = _not_data(row)
                if what is not None:
                    out.skipped.append((excel_row, what))
                    continue
        file_row = excel_row
        if row_numbers is not None:
            excel_row = row_numbers(excel_row)
        at_row[0] = excel_row
        filled = False
        errored = None
        bad_here = None
        if bad_cells and file_row in bad_cells:
            row, bad_here, _f = _bad_cells(row, bad_cells[file_row], plan_headers, issues, name, excel_row)
        todo = cols
        same = False
        if h_plan:
            raw = h_raw(row)
            if raw == prev_raw:  # the household's cells repeated on its next member row: read once
                if template is None:
                    template = prev_vals.copy()
                    for idx in m_idx:
                        template[idx] = None
                vals = template.copy()
                filled = prev_filled
                errored = set(prev_errored) if prev_errored else None
                todo = m_plan
                same = sunk is prev_raw
            else:
                prev_raw = raw
                vals = prev_vals = [None] * room
                template = None
        else:
            vals = [None] * room
        if bad_here:
            errored = (errored or set()) | bad_here
            filled = True
        for j, idx, conv, header, mode, seen in todo:
            v = row[j]
            if v is None or v == "":
                continue
            if v.__class__ is bool:
                seen = None  # (True would find 1.0)
            elif seen is not None:
                got = seen.get(v, _MISS)
                if got is not _MISS:
                    if got is _BLANK:
                        continue
                    filled = True
                    if mode == SET or vals[idx] is None:
                        vals[idx] = got
                    elif got != vals[idx]:  # MERGE (APPEND columns are never remembered)
                        issues.add(name, excel_row, header, v,
                                   f"与同一行“{out.headers.get(sheet.columns[idx].key, '')}”列的值不一致")
                    continue
            raw_cell = v
            if v.__class__ is str:
                v = v.strip()
                if not v or v in blank_words:
                    if seen is not None:
                        seen[raw_cell] = _BLANK
                    continue
            filled = True
            try:
                got = conv(v)
            except Bad as exc:
                if errored is None:
                    errored = set()
                errored.add(idx)
                issues.add(name, excel_row, header, v, str(exc))
                continue
            if seen is not None and got.__class__ in _IMMUTABLE and raw_cell.__class__ in _RAW \
                    and (raw_cell.__class__ is not str or raw_cell.isprintable()):
                if len(seen) < MEMO_VALUES:
                    seen[raw_cell] = got
                else:
                    by_column[j][5] = None  # many distinct values: converting each is as cheap as remembering
            if mode == SET or vals[idx] is None:
                vals[idx] = got
            elif mode == APPEND:
                vals[idx] = vals[idx] + [x for x in got if x not in vals[idx]]
            elif got != vals[idx]:
                issues.add(name, excel_row, header, v,
                           f"与同一行“{out.headers.get(sheet.columns[idx].key, '')}”列的值不一致")
        if h_plan and todo is cols:
            h_vals = h_get(vals)
            prev_filled = h_vals.count(None) != len(h_vals)
            prev_errored = {i for i in errored if i in h_set} if errored else None
        if not filled:
            continue
        if hidden and file_row in hidden:
            out.hidden_rows.append(excel_row)
        if required and None in required_of(vals):
            for idx, header in required:
                if vals[idx] is None and (errored is None or idx not in errored):
                    issues.add(name, excel_row, header, "", f"必填项“{header}”为空")
        if watch:
            for j in [j for j, (i, _h) in watch.items() if vals[i] is not None]:
                header = watch.pop(j)[1]
                if header not in out.hidden_columns:
                    out.hidden_columns.append(header)
        if sink is None:
            keep((excel_row, vals))
        else:
            sink(excel_row, vals, same)
            sunk = prev_raw
        count += 1
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)


def _hidden_columns(book: Book, name: str, plan: list) -> dict[int, tuple[int, str]]:
    """Columns read as data that the file hides: file column → (index, header). Those that hold a value in some row
    read are named, as hidden rows are (hidden.questions asks about them)."""
    hidden = book.hidden_cols(name) if book.kind != "csv" else set()
    return {j: (idx, header) for j, idx, _conv, header, _mode in plan if j in hidden}


def _bad_cells(row, bad: list[tuple[int, str]], plan_headers: dict, issues: Issues, name: str,
               excel_row) -> tuple[list, set | None, bool]:
    """Error cells and formulas saved without a value, in columns that are read: each an error (calamine
    reads them as blank, which would silently drop the value), and blanked so that nothing else is said."""
    row = list(row)
    errored = None
    for j, what in bad:
        got = plan_headers.get(j)
        if got is None:
            continue
        idx, header = got
        if j < len(row):
            row[j] = None
        errored = errored or set()
        errored.add(idx)
        if what:
            issues.add(name, excel_row, header, what,
                       f"单元格是错误值 {clip(what, 20)}（公式出错）：请改正公式或直接填写数值")
        else:
            issues.add(name, excel_row, header, "（公式）", "公式没有保存计算结果（文件由不计算公式的程序生成）："
                       "请用 Excel 或 WPS 打开、计算后保存，或直接填写数值")
    return row, errored, errored is not None


def _stripped_hook(out: ParsedSheet, header: str, at_row: list):
    """The converter's report of removed characters, noted against the row being converted."""
    def stripped(found: list[str]) -> None:
        _note_stripped(out, header, at_row[0], found)
    return stripped


def _note_stripped(out: ParsedSheet, header: str, row, found: list[str]) -> None:
    seen = out.stripped.get(header)
    if seen is None:
        out.stripped[header] = [row, 1, set(found)]
    else:
        seen[1] += 1
        seen[2].update(found)


def _why(col: Column) -> str | None:
    from .layout import national_columns
    for nc in national_columns():
        if nc.sheet is None and col.key == f"skip.{nc.header}":
            return nc.why
    return None


__all__ = ["Alias", "Book", "Issue", "Issues", "ParsedSheet", "Row", "SheetInfo", "WorkbookError", "norm_header",
           "parse_sheet"]
