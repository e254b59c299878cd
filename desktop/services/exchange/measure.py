"""Measuring a workbook before it is read: what reading it would cost, and what it hides.

A village's workbook is input from outside. python-calamine, which reads .xlsx fast, holds a sheet as a
dense grid over the cells' real extent (about 32 bytes a cell, whatever `<dimension>` claims) and loads
the shared strings and every XML text run whole; a Rust allocation that fails aborts the process, the
window with it. So before a sheet is loaded the package itself is measured here, streaming, with
limits (Limits, one place) that an honest file — a county's 100,000 households, about 400,000 person
rows in the national layout — never reaches:

- the zip: no duplicate part names, each part's uncompressed size read (not believed) and held to a
  ratio to its compressed size, CRCs checked;
- each sheet: the real extent of its cells (the largest row and column any cell names, not the
  `<dimension>`), the number of cells, the longest run of text between two tags (padding), hidden
  rows, error cells (#DIV/0!, #N/A …) and formulas saved without a value — calamine reads both of
  those as blank;
- the shared strings: size and longest run as above.

The sheet scan is a byte scan, not an XML parse: a regular expression that only matches a cell whose
reference lies beyond the extent seen so far, so an honest sheet costs about one pass of C over its
XML. A dense grid that the cells do not fill (a stray cell far below or right) is read row by row
instead (reader.Book), never as a grid; a file past a limit is refused with a Chinese reason.
"""

from __future__ import annotations

import queue
import re
import threading
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..errors import ServiceError

CHUNK = 8 << 20
SPLIT_FROM = 64 << 20  # a sheet whose XML is claimed this large is measured in two parts at once (_scan_apart)
SPLIT_SHARE = 0.58  # of its pieces, those measured here (the child inflates them too, unmeasured: about a fifth of the
# cost of measuring them; it also has to start)
BESIDE_FROM = 2 * CHUNK  # a deflated part this large is inflated on a thread of its own, a piece ahead (_beside)


@dataclass(frozen=True)
class Limits:
    """What an input file may cost. Each figure is an order of magnitude above an honest county file;
    they scale with what the file really holds (cells per compressed byte, text runs), not with what
    it claims."""

    file_bytes: int = 1 << 30  # on disk, any kind (a county's national list is about 100 MB)
    part_bytes: int = 4 << 30  # one uncompressed part of an .xlsx
    part_ratio: int = 100  # uncompressed : compressed, for parts over ratio_floor (honest XML: 5–30)
    ratio_floor: int = 16 << 20
    cells: int = 100_000_000  # cells of one sheet (a county's national list: about 400,000 × 80)
    cells_per_byte: float = 2.0  # cells per compressed byte of the sheet (honest: 0.05–0.3)
    dense_slack: int = 4  # the grid may be this many times the cells it holds …
    dense_floor: int = 4_000_000  # … or this many cells, before it is read row by row instead
    run_bytes: int = 32 << 20  # XML read before a row ends (sheets) or a tag closes (other parts)
    cell_chars: int = 32_767  # Excel's own limit for one cell
    echo_chars: int = 60  # characters of a value shown back (error list, stderr, wizard)
    xls_bytes: int = 256 << 20  # .xls holds at most 65,536 rows a sheet
    child_memory: int = 3 << 30  # address space of the process that reads an .xls (Linux)
    csv_bytes: int = 1 << 30
    csv_field: int = 1 << 20  # characters of one CSV field


LIMITS = Limits()


class FileRefused(ServiceError):
    """The file is refused before reading: too large for what it holds, or damaged."""


def mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB" if n >= 2**20 else f"{n / 1024:,.0f} KB"


def col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def col_letters(n: int) -> str:
    s = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


# ---------------------------------------------------------------- numbers beyond a threshold

def _greater_digits(n: int) -> tuple[bytes, int]:
    """A regular expression for a row number (leading zeros allowed) that may exceed n, and the bound
    below which it does not look: numbers with more digits, or as many digits and a larger first one or
    two (308,101 → beyond 309,999). Two digits keep the check cheap (few alternatives, most fail at the
    first character) and the bound within 10% of n."""
    s = str(max(n, 0))
    k = len(s)
    alts = [rb"[1-9]\d{%d,}" % k]
    if k <= 2:
        for i, ch in enumerate(s):
            d = int(ch)
            if d < 9:
                rest = k - i - 1
                alts.append(s[:i].encode() + (b"[%d-9]" % (d + 1)) + (rb"\d{%d}" % rest if rest else b""))
        bound = n
    else:
        a, b = int(s[0]), int(s[1])
        if a < 9:
            alts.append(rb"[%d-9]\d{%d}" % (a + 1, k - 1))
        if b < 9:
            alts.append(rb"%d[%d-9]\d{%d}" % (a, b + 1, k - 2))
        bound = (a * 10 + b + 1) * 10 ** (k - 2) - 1
    return rb"0*+(?:" + b"|".join(alts) + rb")", bound


def _greater_letters(n: int) -> bytes:
    """A regular expression for column letters (either case) greater than column n."""
    s = col_letters(n) if n > 0 else ""
    k = len(s)
    alts = [rb"[A-Za-z]{%d,}+" % (k + 1)]  # possessive: a cell is tried once, never backtracked into
    for i, ch in enumerate(s):
        if ch < "Z":
            rest = k - i - 1
            nxt = chr(ord(ch) + 1)
            prefix = b"".join(b"[%s%s]" % (c.encode(), c.lower().encode()) for c in s[:i])
            alts.append(prefix + b"[%s-Z%s-z]" % (nxt.encode(), nxt.lower().encode())
                        + (rb"[A-Za-z]{%d}" % rest if rest else b""))
    return b"(?:" + b"|".join(alts) + b")"


class _Beyond:
    """Finds a cell whose reference lies beyond the extent seen so far. `canonical`: cells written
    `<c r="A1"` as Excel, WPS and every library write them (a literal prefix: fast); otherwise any
    quoting, spacing and attribute order."""

    def __init__(self, max_row: int, max_col: int):
        self.max_row, self.max_col = max_row, max_col
        rows, self.row_bound = _greater_digits(max_row)
        self.body = rb"(?:" + _greater_letters(max_col) + rb"\d|[A-Za-z]{1,3}+" + rows + rb"[\"'])"
        self.canonical = re.compile(rb'<c r="' + self.body)
        self._general = None

    @property
    def general(self):
        """Compiled when first needed: files that are not written as Excel writes them are rare."""
        if self._general is None:
            self._general = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br\s*=\s*[\"']" + self.body)
        return self._general


_ROW_R = re.compile(rb"""<(?:\w+:)?row\b[^>]*?\br\s*=\s*["'](\d+)["']""")
_ROW_CANON = re.compile(rb'<row r="(\d+)"')
_HIDDEN_ROW = re.compile(rb"""<(?:\w+:)?row\b[^>]*?\bhidden\s*=\s*["'](?:1|true)["'][^>]*>""")
_HIDDEN_COL = re.compile(rb"""<(?:\w+:)?col\s[^>]*?\bhidden\s*=\s*["'](?:1|true)["'][^>]*>""")
_COL_SPAN = re.compile(rb"""\b(min|max)\s*=\s*["'](\d{1,9})["']""")
_PREFIXED = re.compile(rb":(?:c|row)[\s/>]")  # a cell or row element with a namespace prefix
_NOT_CANON = re.compile(rb'<c(?![A-Za-z]| r=")')
_CELL_ANY = re.compile(rb"<(?:\w+:)?c[\s/>]")
_CELL_NO_REF = re.compile(rb"""<(?:\w+:)?c(?:\s(?![^>]*\br\s*=)[^>]*)?/?>""")
_REF = re.compile(rb"""\br\s*=\s*["']([A-Za-z]{1,3})(\d+)["']""")
_REF_ANY = re.compile(rb"""\br\s*=\s*["']([A-Za-z]+)(\d+)["']""")  # any number of letters: past XFD is refused
_ERROR = re.compile(rb"""<(?:\w+:)?c\b([^>]*\bt\s*=\s*["']e["'][^>]*)(?:/>|>(.{0,300}?)</(?:\w+:)?c>)""", re.S)
# a formula cell with no cached value: no <v>, or an empty one (openpyxl writes <v></v>); an empty value of a
# text formula (t="str") is a formula whose result is "", and is not matched (see _bad)
_NO_VALUE = re.compile(rb"""<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f\b(?:[^>]*/>|[^>]*>[^<]*</(?:\w+:)?f>)\s*"""
                       rb"""(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>""")
_TEXT_TYPE = re.compile(rb"""\bt\s*=\s*["'](?:str|inlineStr|s)["']""")
_V = re.compile(rb"<(?:\w+:)?v>([^<]{0,60})")
_DIMENSION = re.compile(rb"""<(?:\w+:)?dimension\s+ref\s*=\s*["']([A-Za-z]+\d+(?::[A-Za-z]+\d+)?)["']""")


@dataclass
class SheetScan:
    """What one sheet's XML really holds."""

    name: str
    part: str
    xml_bytes: int = 0
    compressed: int = 0
    max_row: int = 0  # 1-based, 0 for an empty sheet
    max_col: int = 0
    cells: int = 0
    hidden_rows: list[int] = field(default_factory=list)
    hidden_count: int = 0
    hidden_cols: set[int] = field(default_factory=set)  # 0-based, from <cols><col min max hidden="1"> (before the rows)
    bad: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # row → [(column 0-based, what)]
    bad_count: int = 0
    claimed: str = ""  # the <dimension> the sheet claims
    rows_seen: int = 0  # the largest row number met (max_row is the bound the grid is reckoned to)

    @property
    def grid(self) -> int:
        return self.max_row * self.max_col

    def dense(self, limits: Limits = LIMITS) -> bool:
        """Whether calamine's grid is in proportion to the cells (else the sheet is read row by row)."""
        return self.grid <= max(limits.dense_floor, limits.dense_slack * self.cells)

    def far_cell(self) -> str:
        return f"{col_letters(self.max_col)}{self.rows_seen}"


@dataclass
class BookScan:
    sheets: dict[str, SheetScan] = field(default_factory=dict)  # by sheet name
    parts: dict[str, zipfile.ZipInfo] = field(default_factory=dict)


def _refuse(reason: str) -> FileRefused:
    return FileRefused(f"文件被拒绝（未读取任何数据）：{reason}")


def check_size(path: Path, kind: str, limits: Limits = LIMITS) -> None:
    size = path.stat().st_size
    cap = {"xls": limits.xls_bytes, "csv": limits.csv_bytes}.get(kind, limits.file_bytes)
    if size > cap:
        raise _refuse(f"文件有 {mb(size)}，超过本程序读取的上限 {mb(cap)}：一个县的全部农户也远小于此，"
                      "请检查是否选错了文件，或分村导出后分别导入")


def open_zip(path: Path, limits: Limits = LIMITS) -> BookScan:
    """The package's parts, checked: no duplicates, no part beyond the size limits by its own claim."""
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _refuse("不是有效的 Excel 工作簿（.xlsx），或文件已损坏") from None
    with z:
        infos = z.infolist()
        seen: set[str] = set()
        out = BookScan()
        for info in infos:
            key = info.filename.lower()
            if key in seen:
                raise _refuse(f"工作簿中有两个同名的部件“{info.filename[:80]}”，文件已损坏或被改动过")
            seen.add(key)
            _check_part(info, info.file_size, limits)
            out.parts[info.filename] = info
    return out


def _check_part(info: zipfile.ZipInfo, size: int, limits: Limits) -> None:
    name = info.filename[:80]
    if size > limits.part_bytes:
        raise _refuse(f"工作簿的部件“{name}”解压后超过 {mb(limits.part_bytes)}")
    if size > limits.ratio_floor and size > limits.part_ratio * max(info.compress_size, 1):
        raise _refuse(f"工作簿的部件“{name}”压缩后只有 {mb(info.compress_size)}，解压后却有 {mb(size)}"
                      f"（超过 {limits.part_ratio} 倍）：内容是大量填充的空白或重复，不像正常的表格")


class _Stream:
    """A part read in pieces that end at a boundary (the last `</row>`, or `>`): the regular
    expressions never see half an element. Its real size is counted, not believed.

    A deflated part is inflated here with zlib directly (zipfile checks the local header, then hands over
    its compressed bytes): no read loop of ZipExtFile, and its CRC taken once a piece. As in zipfile, the
    inflated bytes stop at the size the directory claims and a wrong CRC or a truncated stream is damage."""

    def __init__(self, z: zipfile.ZipFile, info: zipfile.ZipInfo, what: str, limits: Limits, boundary: bytes):
        self.z, self.info, self.what, self.limits, self.boundary = z, info, what, limits, boundary
        self.size = 0

    def __iter__(self):
        carry = b""
        limits = self.limits
        try:
            with self.z.open(self.info) as f:
                for data in _inflated(f, self.info):
                    self.size += len(data)
                    _check_part(self.info, self.size, limits)
                    cut = data.rfind(self.boundary)
                    if cut >= 0:  # (the last boundary of carry + data: carry holds none)
                        cut += len(self.boundary)
                        piece = b"".join((carry, memoryview(data)[:cut])) if carry else (
                            data if cut == len(data) else data[:cut])  # (one copy of the piece, not two)
                        carry = data[cut:]
                        data = None
                        yield piece
                        piece = None
                        continue
                    buf = carry + data if carry else data  # (none in data: perhaps one across the seam)
                    cut = buf.rfind(self.boundary)
                    if cut < 0:
                        if len(buf) > limits.run_bytes:
                            raise _refuse(f"{self.what}中有一段超过 {mb(limits.run_bytes)} 的内容没有分行，"
                                          "不像正常的表格")
                        carry = buf
                        continue
                    cut += len(self.boundary)
                    carry = buf[cut:]
                    yield buf[:cut]
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise _refuse(f"{self.what}已损坏，读不出来（{type(exc).__name__}）") from None
        if carry:
            yield carry


def _inflated(f, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The bytes of a part opened as `f`, CHUNK at most at a time; a large deflated part inflated on a thread of its
    own (_beside)."""
    raw = getattr(f, "_fileobj", None)
    left = getattr(f, "_compress_left", None)
    if info.compress_type != zipfile.ZIP_DEFLATED or raw is None or not isinstance(left, int):
        while True:  # (stored, or another method: zipfile's own loop)
            data = f.read(CHUNK)
            if not data:
                return
            yield data
    inflate = _deflated(raw, left, info)
    yield from (_beside(inflate) if info.file_size >= BESIDE_FROM else inflate)


def _deflated(raw, left: int, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """_inflated of a deflated part: its compressed bytes (`left` of them, from `raw`) inflated CHUNK at most
    at a time, the CRC checked before the last bytes are given."""
    d = zlib.decompressobj(-15)
    room = info.file_size  # zipfile stops at the claimed size (and the CRC then tells)
    crc = 0
    last = b""
    while room > 0:
        if d.unconsumed_tail:
            data = d.decompress(d.unconsumed_tail, min(CHUNK, room))
        else:
            got = raw.read(min(CHUNK, left)) if left > 0 and not d.eof else b""
            if not got:
                break
            left -= len(got)
            data = d.decompress(got, min(CHUNK, room))
        room -= len(data)
        crc = zlib.crc32(data, crc)
        if room <= 0 or d.eof and not d.unconsumed_tail:
            last = data  # (the end, as zipfile sees it: the CRC checked before the last bytes go on)
            break
        if data:
            yield data
    if crc != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
    if last:
        yield last


_END = object()


def _beside(pieces: Iterator[bytes], ahead: int = 1) -> Iterator[bytes]:
    """The same pieces, in the same order, made on a thread of its own at most `ahead` pieces before the one taken:
    zlib inflates and the file is read without the GIL, so a large sheet's XML is inflated on the second core while
    this thread runs the guards (or the fingerprints) over the piece before. An exception in the thread is raised
    here, in its turn, as it was. Closed early (a refusal, a cancelled read), it stops the thread and waits for it:
    nothing reads the file after the caller has closed it."""
    out: queue.SimpleQueue = queue.SimpleQueue()
    room = threading.Semaphore(ahead)
    stop = []

    def run():
        try:
            for piece in pieces:
                room.acquire()
                if stop:
                    return
                out.put((piece, None))
                piece = None
            out.put((_END, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, raised there
            out.put((_END, exc))
        finally:
            pieces.close()

    thread = threading.Thread(target=run, name="inflate", daemon=True)
    thread.start()
    try:
        while True:
            piece, exc = out.get()
            if piece is _END:
                if exc is not None:
                    raise exc
                return
            room.release()
            yield piece
            piece = None
    finally:
        stop.append(True)
        room.release()  # (a thread waiting for room wakes, sees stop and ends)
        thread.join()


def scan_xlsx(path: Path, sheet_parts: dict[str, str], limits: Limits = LIMITS, *,
              skip: set[str] | frozenset[str] = frozenset(), parts_done: bool = False,
              tap: Callable[[str], Callable[[bytes, bool], None] | None] | None = None,
              words: list[bool] | None = None) -> BookScan:
    """Measure the package and every sheet in `sheet_parts` (sheet name → part); refuse past a limit.
    Unless `parts_done`, every other XML part (but those in `skip`, the sheets measured when they are
    read) is read through once as well: its real size, and no run longer than limits.run_bytes without
    a tag (a reader that buffers a text run whole would pay for it). `tap(sheet)`: what else is to see each
    piece of that sheet's rows once the guards have passed it (fingerprint.Tap: one pass over the XML, not two).
    `words`: the guards' word on each piece of the one sheet measured, and nothing else (_scan_sheet)."""
    if not parts_done:
        check_size(path, "xlsx", limits)
    book = open_zip(path, limits)
    with zipfile.ZipFile(path) as z:
        if not parts_done:
            for name, info in book.parts.items():
                if name in skip or name in sheet_parts.values() or not name.lower().endswith((".xml", ".rels")):
                    continue
                for _piece in _Stream(z, info, f"工作簿的部件“{name[:80]}”", limits, b">"):
                    pass
        for sheet, part in sheet_parts.items():
            info = book.parts.get(part)
            if info is not None:
                book.sheets[sheet] = _scan_sheet(z, info, sheet, limits, tap(sheet) if tap is not None else None,
                                                 words)
    return book


def sheet_pieces(path: Path, part: str, limits: Limits = LIMITS) -> Iterator[bytes]:
    """The pieces of a sheet's XML exactly as its scan saw them (the same cuts): for what is to see them later than
    the guards' pass, once that pass has measured the sheet (reader.Book.prefetch: the fingerprints beside calamine's
    parse)."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(part)
        yield from _Stream(z, info, f"工作表的部件“{part[:80]}”", limits, b"</row>")


def part_bytes(path: Path, part: str) -> Iterator[bytes]:
    """A part's bytes as they are inflated, uncut (reader.Book._blocks, once the part has passed its scan), a large one
    on a thread of its own while the caller works on the bytes before; damage is zipfile's error, as from its own
    reader."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(part)
        with z.open(info) as f:
            yield from _inflated(f, info)


def _scan_sheet(z: zipfile.ZipFile, info: zipfile.ZipInfo, sheet: str, limits: Limits,
                feed: Callable[[bytes, bool], None] | None = None, words: list[bool] | None = None) -> SheetScan:
    """`feed`: what else sees each piece of rows once the guards have passed it, with their word on it (canonical:
    every cell written <c r="…, nothing prefixed). `words`: only the words are wanted, a piece each, in order — then a
    large sheet is measured in two parts, the later one in a child process (_scan_apart)."""
    if feed is None and info.file_size >= SPLIT_FROM:
        got = _scan_apart(z, info, _Pass(SheetScan(sheet, info.filename, compressed=info.compress_size), limits),
                          words)
        if got is not None:
            return got
    scan = _Pass(SheetScan(sheet, info.filename, compressed=info.compress_size), limits)
    stream = _Stream(z, info, scan.what, limits, b"</row>")
    for piece in stream:
        canonical = scan.piece(piece)
        if feed is not None:
            feed(piece, canonical)
        if words is not None:
            words.append(canonical)
    return scan.done(stream.size, info)


def _scan_apart(z: zipfile.ZipFile, info: zipfile.ZipInfo, scan: _Pass, words: list[bool] | None
                ) -> SheetScan | None:
    """A large sheet measured in two parts at once: its first SPLIT_SHARE of pieces here, the rest in a child process
    (apart.py; it inflates the pieces before too, unmeasured, to cut the same pieces). The first part's refusal is
    said first, then the child's; the counts, extents, hidden rows and error cells are put together as one pass over
    the whole sheet gives them. None: no child to be had, or it gave nothing — then the sheet is measured again,
    whole, as before (`scan` is not used again)."""
    from .apart import Child
    k = max(1, int(-(-info.file_size // CHUNK) * SPLIT_SHARE))  # (pieces measured here: the stream cuts about one
    try:  # piece a CHUNK of what the part claims to hold)
        child = Child(_scan_rest, z.filename, info.filename, scan.out.name, scan.limits, k, CHUNK, name="guards")
    except Exception:  # noqa: BLE001 - no process to be had
        return None
    mine: list[bool] = []
    try:
        stream = _Stream(z, info, scan.what, scan.limits, b"</row>")
        pieces = iter(stream)
        try:
            for piece in pieces:
                mine.append(scan.piece(piece))
                if len(mine) == k:
                    break
            else:
                return scan.done(stream.size, info)  # (all of it here: fewer pieces than claimed)
        finally:
            pieces.close()
        got = child.result()
    finally:
        child.close()
    if got is None or got[0] not in ("ok", "FileRefused"):
        return None
    if got[0] == "FileRefused":
        raise FileRefused(got[1])
    rest, max_row, max_col, theirs, size = got[1]
    scan.join(rest, max_row, max_col)
    if words is not None:
        words += mine + theirs
    return scan.done(size, info)


def _scan_rest(path: str, part: str, sheet: str, limits: Limits, k: int, chunk: int) -> tuple:
    """In the child (_scan_apart): the pieces of a sheet from the k-th on, measured (cut as the importer cuts them:
    its CHUNK)."""
    global CHUNK
    CHUNK = chunk
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(part)
        scan = _Pass(SheetScan(sheet, part, compressed=info.compress_size), limits, first=False)
        stream = _Stream(z, info, scan.what, limits, b"</row>")
        words = []
        for i, piece in enumerate(stream):
            if i >= k:
                words.append(scan.piece(piece))
        return scan.out, scan.max_row, scan.max_col, words, stream.size


class _Pass:
    """The guards' pass over a sheet's rows, a piece at a time (_scan_sheet). `first`: its first piece is the sheet's
    first (the claimed extent, hidden columns); a pass over the later pieces of a sheet starts without it
    (_scan_apart)."""

    def __init__(self, out: SheetScan, limits: Limits, first: bool = True):
        self.out, self.limits, self.first = out, limits, first
        self.what = f"工作表“{out.name[:40]}”"
        self.max_row = self.max_col = 0
        self.beyond = _Beyond(0, 0)

    def piece(self, piece: bytes) -> bool:
        """One piece measured (refused past a limit); whether its cells are all written `<c r="…` (canonical)."""
        out, limits, what = self.out, self.limits, self.what
        max_row, max_col, beyond = self.max_row, self.max_col, self.beyond
        if self.first:
            m = _DIMENSION.search(piece, 0, 4096)
            out.claimed = m.group(1).decode() if m else ""
            self.first = False
            _hidden_cols(out, piece)
        canonical = _PREFIXED.search(piece) is None
        if canonical:
            cells = piece.count(b'<c r="')
            # every other "<c" is <col>/<cols> (before the rows) or a tag after them: one pass to count, the
            # expression only where the counts differ
            if piece.count(b"<c") != cells and _NOT_CANON.search(piece):
                canonical = False
        if not canonical:
            cells = len(_CELL_ANY.findall(piece))
            if _CELL_NO_REF.search(piece):
                raise _refuse(f"{what}的单元格没有写明位置（不是 Excel 或 WPS 保存的文件）："
                              "请用 Excel 或 WPS 打开后另存为 .xlsx 再导入")
        out.cells += cells
        if out.cells > limits.cells:
            raise _refuse(_too_many_cells(what, limits))
        if cells:
            # the rows reached so far, from the last row of the piece (where Excel writes the largest): only a
            # hint for the expression below, which looks at every cell past it — a cell of an earlier row with a
            # larger number is found there like any cell beyond the extent
            top = _last_row(piece) if canonical else max(map(int, _ROW_R.findall(piece)), default=0)
            if top > max_row:
                max_row = top
                beyond = _Beyond(max_row, max_col)
            find = beyond.canonical if canonical else beyond.general
            pos = 0
            while True:
                m = find.search(piece, pos)
                if m is None:
                    break
                # every cell of the rest of this row at once (the first row of a sheet is all beyond): one
                # new expression a row, not one a cell
                end = piece.find(b"</row>", m.start())
                end = len(piece) if end < 0 else end
                for letters, digits in _REF_ANY.findall(piece, m.start(), end):
                    col, row = col_number(letters.decode()), int(digits)
                    if col > 16384 or row > 1_048_576:
                        raise _refuse(f"{what}的单元格位置 {letters.decode()[:5]}{str(row)[:8]} 超出 Excel 的范围，"
                                      "文件已损坏或被改动过")
                    max_col, max_row = max(max_col, col), max(max_row, row)
                beyond = _Beyond(max_row, max_col)
                find = beyond.canonical if canonical else beyond.general
                pos = max(end, m.start() + 1)
            self.max_row, self.max_col, self.beyond = max_row, max_col, beyond
            if b't="e"' in piece or not canonical:
                for m in _ERROR.finditer(piece):
                    v = _V.search(m.group(2) or b"")
                    _bad(out, m.group(1), v.group(1).decode("utf-8", "replace").strip() if v else "#错误")
            if b"<f" in piece or not canonical:
                for m in _NO_VALUE.finditer(piece):
                    if _TEXT_TYPE.search(m.group(1)) is None:
                        _bad(out, m.group(1), "")
        if b"hidden" in piece:
            for m in _HIDDEN_ROW.finditer(piece):
                r = _ROW_R.match(m.group(0))
                if r is not None:
                    out.hidden_count += 1
                    if len(out.hidden_rows) < 100_000:
                        out.hidden_rows.append(int(r.group(1)))
        return canonical

    def join(self, rest: SheetScan, max_row: int, max_col: int) -> None:
        """The pass over the later pieces (_scan_rest) added to this one over the pieces before."""
        out = self.out
        out.cells += rest.cells
        if out.cells > self.limits.cells:
            raise _refuse(_too_many_cells(self.what, self.limits))
        self.max_row, self.max_col = max(self.max_row, max_row), max(self.max_col, max_col)
        self.beyond = _Beyond(self.max_row, self.max_col)
        out.hidden_count += rest.hidden_count
        out.hidden_rows += rest.hidden_rows[:max(0, 100_000 - len(out.hidden_rows))]
        for row, cells in rest.bad.items():
            for cell in cells:
                out.bad_count += 1
                if out.bad_count <= 100_000:
                    out.bad.setdefault(row, []).append(cell)
        out.bad_count += rest.bad_count - sum(map(len, rest.bad.values()))

    def done(self, size: int, info: zipfile.ZipInfo) -> SheetScan:
        out = self.out
        out.xml_bytes = size
        # rows below beyond.row_bound were not looked at one by one: the grid is reckoned to that bound
        out.max_row, out.max_col = max(self.max_row, min(self.beyond.row_bound, 1_048_576)), self.max_col
        out.rows_seen = self.max_row
        if out.cells > max(100_000, self.limits.cells_per_byte * info.compress_size):
            raise _refuse(f"{self.what}压缩后只有 {mb(info.compress_size)}，却有 {out.cells:,} 个单元格："
                          "内容是大量重复的空单元格，不像正常的表格")
        return out


def _too_many_cells(what: str, limits: Limits) -> str:
    return f"{what}有超过 {limits.cells:,} 个单元格，超过本程序读取的上限"


def _last_row(piece: bytes) -> int:
    """The number of the last `<row r="…">` in a piece (0 when it has none written so)."""
    at = piece.rfind(b'<row r="')
    m = _ROW_CANON.match(piece, at) if at >= 0 else None
    return int(m.group(1)) if m is not None else 0


def _hidden_cols(out: SheetScan, piece: bytes) -> None:
    """<cols> comes before <sheetData>, so within the first piece (which ends at the first </row>)."""
    end = piece.find(b"sheetData")
    for m in _HIDDEN_COL.finditer(piece, 0, end if end >= 0 else len(piece)):
        span = dict(_COL_SPAN.findall(m.group(0)))
        lo = int(span.get(b"min", 0))
        hi = min(int(span.get(b"max", lo)), 16_384)
        if 1 <= lo <= hi:
            out.hidden_cols.update(range(lo - 1, hi))


def _bad(out: SheetScan, attrs: bytes, what: str) -> None:
    ref = _REF.search(attrs)
    if ref is None:
        return
    row, col = int(ref.group(2)), col_number(ref.group(1).decode()) - 1
    out.bad_count += 1
    if out.bad_count <= 100_000:
        out.bad.setdefault(row, []).append((col, what))


MMAP_FROM = 256 << 10  # glibc: an allocation this large or larger is a mapping of its own (large_allocations_apart)
_MMAP_SET: list[bool] = []


def large_allocations_apart() -> None:
    """On Linux with glibc, before the first block of a large sheet (issue 20): every allocation of MMAP_FROM bytes or
    more is a memory mapping of its own, given back to the system when freed. glibc's default threshold starts at
    128 KB but rises to the size of each large block it frees, up to 32 MB — after the first blocks, the buffers of
    each block's parse (calamine's copy of the workbook, its shared strings and cells, growing by doubling) and the
    rows' lists come from the heap instead, and the heap keeps what is freed between the register's rows that stay:
    at 100,000 households the peak was 955–990 MB, about 90 MB more than with the threshold fixed. Once a process
    (mallopt also stops the rising); elsewhere (Windows, macOS, musl) nothing is done."""
    if _MMAP_SET:
        return
    _MMAP_SET.append(True)
    import platform
    import sys
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return
    import ctypes
    try:
        ctypes.CDLL(None).mallopt(-3, MMAP_FROM)  # (M_MMAP_THRESHOLD, <malloc.h>)
    except (OSError, AttributeError):  # pragma: no cover - no mallopt to call
        pass
