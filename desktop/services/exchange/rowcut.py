"""The fingerprints' cut of a sheet's XML into rows (fingerprint.py): each row's number taken out and the rest hashed,
its 户编号 cell kept (Tap), then the rows grouped into households (Tap.scan → Scan).

Standard library only, besides measure.py: a large sheet's second pass runs in a process of its own (taps.py), which
imports this and nothing of the database or the register."""

from __future__ import annotations

import hashlib
import re
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .measure import _ROW_CANON as _ROWNO
from .measure import sheet_pieces

HOLD_BYTES = 96 << 20  # rows of households to be read that the first pass keeps (more: read again on the second)
_EMPTY_ROW = re.compile(rb"<row\b[^>]*/>")


class _NotPlain(Exception):
    """The sheet's XML is not written as Excel, WPS and every library write it: no shortcut."""


@dataclass
class Scan:
    """The rows of a file's household sheets, grouped by their 户编号 cell and fingerprinted."""

    file_digest: bytes
    sheets: dict[str, tuple[int, str]]  # sheet → (header row, letters of the 户编号 column)
    groups: dict[bytes, bytes] = field(default_factory=dict)  # 户编号 cell → blake2b digest of its rows
    sizes: dict[bytes, int] = field(default_factory=dict)  # 户编号 cell → its rows
    rows: dict[str, RowKeys] = field(default_factory=dict)  # sheet → row → 户编号 cell
    poisoned: set[bytes] = field(default_factory=set)  # households with a row whose number could not be taken out
    held: dict[str, list] = field(default_factory=dict)  # sheet → rows kept by the scan: (n, n as bytes, XML, plain)
    holds: set[bytes] = field(default_factory=set)  # households whose rows the scan kept
    held_bytes: int = 0
    overflow: bool = False  # more to keep than HOLD_BYTES: every household read is read on the second pass
    first_on: str | None = None  # the sheet whose order is the households' order (户信息; national: all)

    def digest(self, key: bytes) -> bytes:
        return self.groups[key]


class RowKeys:
    """One sheet's 户编号 cell by row number: a list indexed by the number, not a dict (a county's million rows as
    int keys of dicts were 70 MB at the import's peak). An Excel sheet has at most EXCEL_ROWS rows, so the list is
    bounded; a number past them (a file the guards will refuse) goes to a dict."""

    __slots__ = ("_at", "_far")
    EXCEL_ROWS = 1_048_576

    def __init__(self):
        self._at: list[bytes | None] = []
        self._far: dict[int, bytes] = {}

    def put(self, n: int, key: bytes) -> None:
        at = self._at
        if n == len(at):  # (the common case: the rows in order, none left out)
            at.append(key)
            return
        if n > self.EXCEL_ROWS:
            self._far[n] = key
            return
        if n > len(at):
            at.extend([None] * (n + 1 - len(at)))
        at[n] = key

    def get(self, n: int, default: bytes | None = None) -> bytes | None:
        at = self._at
        if n < len(at):
            got = at[n]
            return default if got is None else got
        return self._far.get(n, default)

    def items(self) -> Iterator[tuple[int, bytes]]:
        """(row, cell) by ascending row."""
        for n, key in enumerate(self._at):
            if key is not None:
                yield n, key
        yield from sorted(self._far.items())


_AGAIN = object()


class _Rows:
    """One sheet's rows as the tap saw them, in file order, compactly (a county's national list has 300,000 rows,
    held while the whole file is read): their numbers, a 16-byte digest each in one bytearray, the 户编号 cell of
    each under each candidate column (None: no such cell)."""

    def __init__(self, name: str, letters: list[bytes]):
        self.name = name
        self.plain = True
        self.numbers = array("q")
        self.digests = bytearray()  # blake2b of each row's XML without its number (zeros: not taken out)
        self.unnumbered: set[int] = set()  # positions of the rows whose number could not be taken out
        self.keys: dict[bytes, list[bytes | None]] = {col: [] for col in letters}  # column → 户编号 cell a row
        self.seen: dict[bytes, bytes] = {}  # one bytes object a household
        self.armed: bytes | None = None  # the 户编号 column whose households' rows are kept (a re-import)
        self.held: list = []  # rows kept: (n, n as bytes, XML, plain, keyed)
        self.holds: dict[bytes, bool] = {}


class Tap:
    """The fingerprints' share of the guards' pass over a sheet (measure._scan_sheet hands it each piece of rows the
    guards have passed; Book.tap): each row cut out, its number taken out and hashed on its own, its 户编号 cell kept
    under each candidate column — the header is not known yet, so the column where the file's layout (told by its
    sheet names) puts 户编号 (candidates()) and, at a re-import, the last import's. scan() groups the rows into
    households once the header is known; a sheet whose 户编号 stands elsewhere is read once more. One decompression
    and one cut of each sheet instead of two (a county's national list is 508 MB of XML)."""

    def __init__(self, letters):
        self.letters = sorted({x.encode() for x in letters})
        self.sheets: dict[str, _Rows] = {}
        self.hold: Callable[[bytes], bool] | None = None
        self.armed: dict[str, bytes] = {}
        self.held_bytes = 0
        self.overflow = False
        self.pending: dict[str, Callable[[], None]] = {}  # sheet → what fills in its rows, cut elsewhere (taps.py)

    def settle(self) -> None:
        """The rows of the sheets cut elsewhere, in place (waited for: taps.Apart)."""
        while self.pending:
            _name, fill = self.pending.popitem()
            fill()

    def arm(self, hold: Callable[[bytes], bool] | None, sheets: dict[str, tuple[int, str]]) -> None:
        """Keep the rows of the households `hold` names (under the 户编号 column of `sheets`), and the rows with no
        户编号 (title, header), for a shortened read (reduced())."""
        if hold is None:
            return
        self.hold = hold
        self.armed = {name: letters.encode() for name, (_h, letters) in sheets.items()}
        self.letters = sorted(set(self.letters) | set(self.armed.values()))

    def __call__(self, name: str) -> Callable[[bytes], None]:
        rows = self.sheets[name] = _Rows(name, self.letters)
        rows.armed = self.armed.get(name)
        return lambda piece, plain=False: self._feed(rows, piece, plain)

    def cut_again(self, name: str, path: Path, part: str, limits, words: list[bool]) -> _Rows:
        """The rows of a sheet the guards have passed, from its pieces cut as their pass cut them (measure.
        sheet_pieces), each with the guards' word on it (reader.Book._tap_again; in a child process, taps.cut)."""
        feed = self(name)
        pieces = sheet_pieces(path, part, limits)
        try:
            for piece, word in zip(pieces, words, strict=True):
                feed(piece, word)
        finally:
            pieces.close()
        return self.sheets[name]

    def _feed(self, rows: _Rows, piece: bytes, plain: bool) -> None:
        if not rows.plain:
            return
        try:
            self._cut(rows, piece, plain)
        except _NotPlain:
            rows.plain = False
            rows.numbers, rows.digests, rows.keys, rows.held, rows.seen = array("q"), bytearray(), {}, [], {}

    def _cut(self, rows: _Rows, piece: bytes, plain: bool) -> None:
        if rows.armed is None and plain and self._cut_plain(rows, piece):
            return
        numbers, digests, seen, armed = rows.numbers, rows.digests, rows.seen, rows.armed
        keyed = [(b'<c r="' + col, rows.keys[col], col == armed) for col in self.letters]
        blake = hashlib.blake2b
        blank = bytes(16)
        for number, row, canon in _rows_of(piece, plain):
            n = int(number)
            mine = None
            if canon is not None:
                digests += blake(canon, digest_size=16).digest()
                for tag, keys, is_armed in keyed:
                    key = _key(canon, tag + b'"')
                    if key is not None:
                        key = seen.setdefault(key, key)
                    keys.append(key)
                    if is_armed:
                        mine = key
            else:
                rows.unnumbered.add(len(numbers))
                digests += blank
                end = number + b'"'
                for tag, keys, is_armed in keyed:
                    key = _key(row, tag + end)
                    if key is not None:
                        key = seen.setdefault(key, key)
                    keys.append(key)
                    if is_armed:
                        mine = key
            numbers.append(n)
            if armed is None:
                continue
            if mine is None:
                rows.held.append((n, number, row, canon is not None, False))
                continue
            if self.hold is None:
                continue
            h = rows.holds.get(mine)
            if h is None:
                h = rows.holds[mine] = self.hold(mine)
            if h:
                rows.held.append((n, number, row, canon is not None, True))
                self.held_bytes += len(row)
                if self.held_bytes > HOLD_BYTES:  # many households to read: their rows on the second pass instead
                    self.hold = None
                    self.overflow = True
                    for other in self.sheets.values():
                        other.held[:] = [r for r in other.held if not r[4]]
                        other.holds = {}

    def _cut_plain(self, rows: _Rows, piece: bytes) -> bool:
        """_cut for the common case, in one loop: no rows to keep (a first import, or a file whose digest differs),
        every cell of the piece written `<c r="…` (the guards' word) and every row `<row r="N"` ending in `</row>`.
        The same rows, digests and 户编号 cells as _rows_of and _key give, without a generator and a call a row
        (a county file in our layout has about a million rows on four sheets), and each row's number read where the
        row begins instead of by an expression over the whole piece. False: nothing done (or undone), the piece is
        for the general loop."""
        parts = piece.split(b"</row>")
        if _row_tags(piece) != len(parts) - 1:
            return False  # (rows without cells, or a row not written so: the general loop's own checks)
        numbers, digests, seen = rows.numbers, rows.digests, rows.seen
        keyed = [(b'<c r="' + col + b'"', len(col) + 7, rows.keys[col].append) for col in self.letters]
        empty = hashlib.blake2b(digest_size=16)  # (a copy of it a row: no arguments parsed a row)
        put = numbers.append
        start = len(numbers)
        parts.pop()  # (after the last </row>: no row, by the count above once every other part holds one)
        for row in parts:
            if not row.startswith(b'<row r="'):
                at = row.find(b'<row r="')  # (what comes before the first row of a sheet)
                if at < 0:
                    return _undo(rows, start)
                row = row[at:]
            q = row.find(b'"', 8)
            number = row[8:q]
            if not number.isdigit():
                return _undo(rows, start)
            end = row[8:q + 1]
            canon = row.replace(end, b'"')
            if len(row) - len(canon) != len(number) * (row.count(b'<c r="') + 1):
                canon = _canon_apart(number, row)
                if canon is None:  # (its number not taken out: as the general loop)
                    rows.unnumbered.add(len(numbers))
                    digests += bytes(16)
                    for tag, _lt, add in keyed:
                        key = _key(row, tag[:-1] + end)
                        add(key if key is None else seen.setdefault(key, key))
                    put(int(number))
                    continue
            h = empty.copy()
            h.update(canon)
            digests += h.digest()
            for tag, lt, add in keyed:  # (_key, inline)
                k = canon.find(tag)
                if k < 0:
                    add(None)
                    continue
                gt = canon.find(b">", k)
                if gt < 0 or canon[gt - 1] == 0x2F:
                    add(None)
                    continue
                e = canon.find(b"</c>", gt)
                if e < 0:
                    raise _NotPlain
                attrs = canon[k + lt:gt]
                t = attrs.find(b' t="')
                key = (attrs[t + 4:attrs.find(b'"', t + 4)] if t >= 0 else b"") + b"|" + canon[gt + 1:e]
                add(seen.setdefault(key, key))
            put(int(number))
        return True

    def scan(self, sheets: dict[str, tuple[int, str]], order: list[str], digest: bytes, first_on: str | None,
             hold) -> Scan | None | object:
        """The rows grouped into households under the 户编号 column of each sheet; _AGAIN when a sheet was not
        seen under its column (or not kept for a shortened read that `hold` asks for)."""
        self.settle()
        for name in order:
            rows = self.sheets.get(name)
            col = sheets[name][1].encode()
            if rows is None or (rows.plain and col not in rows.keys):
                return _AGAIN
            if hold is not None and rows.armed != col:
                return _AGAIN
        if not all(self.sheets[name].plain for name in order):
            return None
        out = Scan(digest, dict(sheets), first_on=first_on)
        groups, sizes, poisoned = out.groups, out.sizes, out.poisoned
        blake = hashlib.blake2b
        for name in order:
            rows = self.sheets.pop(name)
            keys = rows.keys[sheets[name][1].encode()]
            mark = b"\0sheet " + name.encode() + b"\0"
            put = out.rows.setdefault(name, RowKeys()).put
            digests, unnumbered = rows.digests, rows.unnumbered
            for i, (n, key) in enumerate(zip(rows.numbers, keys, strict=True)):
                if key is None:
                    continue
                h = groups.get(key)
                if h is None:
                    h = groups[key] = blake(digest_size=16)
                    sizes[key] = 1
                else:
                    sizes[key] += 1
                if i in unnumbered:
                    poisoned.add(key)
                else:
                    h.update(mark + digests[16 * i:16 * i + 16])
                put(n, key)
            if rows.armed is not None:
                out.held[name] = rows.held
                if not self.overflow:
                    out.holds.update(k for k, v in rows.holds.items() if v)
        for key, h in groups.items():
            groups[key] = h.digest()  # (a hash object is 450 bytes, its digest 49: 40 MB for a county)
        out.held_bytes, out.overflow = self.held_bytes, self.overflow
        self.sheets.clear()
        return out


def _undo(rows: _Rows, start: int) -> bool:
    """Back to the rows before a piece that Tap._cut_plain began but cannot follow (the general loop takes it)."""
    del rows.numbers[start:]
    del rows.digests[16 * start:]
    for keys in rows.keys.values():
        del keys[start:]
    rows.unnumbered = {i for i in rows.unnumbered if i < start}
    return False


def _rows_of(piece: bytes, plain: bool = False):
    """(row number as bytes, the row's XML, the row's XML without its number or None) of each row of a piece ending
    at </row>. The number is taken out of `<row r="N"` and every `<c r="XN"` by one replace of `N"`, when exactly
    those hold it (else None: such a row is read, never skipped — a style number or a text that ends as N does).
    `plain`: the guards found every cell of the piece written `<c r="…` and no element with a prefix (measure:
    the same bytes need not be looked through again here)."""
    if not plain:
        if b":row" in piece or b":c " in piece or b":c>" in piece:
            raise _NotPlain
        if piece.count(b"<c") != piece.count(b'<c r="') + piece.count(b"<col"):
            raise _NotPlain  # a cell that does not name its place as Excel writes it
    numbers = _ROWNO.findall(piece)
    parts = piece.split(b"</row>")
    if len(numbers) != len(parts) - 1 or len(numbers) != _row_tags(piece):
        if b"<row/" in piece:
            raise _NotPlain
        if b"/>" in piece and _EMPTY_ROW.search(piece):
            piece = _EMPTY_ROW.sub(b"", piece)  # rows without cells hold nothing
            numbers = _ROWNO.findall(piece)
            parts = piece.split(b"</row>")
        if len(numbers) != len(parts) - 1 or len(numbers) != _row_tags(piece):
            raise _NotPlain  # a row that does not name its place as Excel writes it
    for number, part in zip(numbers, parts, strict=False):
        row = part if part.startswith(b"<row") else part[part.find(b"<row"):]
        end = number + b'"'
        canon = row.replace(end, b'"')
        cells = row.count(b'<c r="')
        # each `N"` replaced by `"` is len(N) bytes shorter: the row's own and one a cell, no more
        if len(row) - len(canon) == len(number) * (cells + 1):
            yield number, row, canon
        else:
            yield number, row, _canon_apart(number, row)


def _canon_apart(number: bytes, row: bytes) -> bytes | None:
    """A row whose number is not taken out by one replace: another `N"` in the row's own tag (spans="1:88" in row
    88), its cells apart; None when its cells do not hold it exactly once each either."""
    end = number + b'"'
    at = row.find(b">") + 1
    tail = row[at:]
    canon = tail.replace(end, b'"')
    if len(tail) - len(canon) == len(number) * tail.count(b'<c r="'):
        return row[:at].replace(b' r="' + end, b' r=""', 1) + canon
    return None


def _row_tags(piece: bytes) -> int:
    """`<row` tags in a piece: not the page breaks (`<rowBreaks>`, after the rows, when the clerk set where printed
    pages break — a sheet with them was never fingerprinted and so read whole on every re-import)."""
    n = piece.count(b"<row")
    return n - piece.count(b"<rowBreaks") if n and b"<rowBreaks" in piece else n


def _key(row: bytes, tag: bytes) -> bytes | None:
    k = row.find(tag)
    if k < 0:
        return None
    gt = row.find(b">", k)
    if gt < 0 or row[gt - 1] == 0x2F:  # <c r="B" s="1"/>: no value
        return None
    end = row.find(b"</c>", gt)
    if end < 0:
        raise _NotPlain
    # its type and value, not its style: the same 户编号 styled differently on two sheets is one household
    attrs = row[k + len(tag):gt]
    t = attrs.find(b' t="')
    kind = attrs[t + 4:attrs.find(b'"', t + 4)] if t >= 0 else b""
    return kind + b"|" + row[gt + 1:end]
