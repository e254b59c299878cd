"""What an old .xls hides, read from its BIFF records: hidden rows, hidden columns and error cells.

python-calamine reads an .xls's values but says nothing of hidden rows or columns, and an error cell
(#DIV/0!, #N/A …) is no value to it. Those facts are a few fixed-layout records of the BIFF stream:

- ROW (0x0208): bit 5 of its option flags (fDyZero) is a hidden row;
- COLINFO (0x007D): bit 0 of its option flags is a hidden column range;
- BOOLERR (0x0205) with fError set: an error constant typed into a cell;
- FORMULA (0x0006) whose cached result is marked as an error (0xFFFF in its last two bytes, type 2).

So they are read here directly, rather than with xlrd: a walk over record headers that looks into
five record types needs a compound-document reader (the Workbook stream inside the OLE2 file) and
about a hundred lines, where xlrd would parse every cell into Python objects a second time after
calamine (seconds and hundreds of MB for a 65,536-row sheet) and add a runtime dependency. It runs in
the .xls child process (_xls_child.py), under its memory limit: every offset and chain is checked,
and a file that does not hold together raises Damaged.

Only the standard library is imported: the child starts without the rest of the program.
"""

from __future__ import annotations

import struct

ERRORS = {0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?", 0x24: "#NUM!",
          0x2A: "#N/A", 0x2B: "#GETTING_DATA"}
MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
END = 0xFFFFFFFE  # ENDOFCHAIN
MARKS_KEPT = 100_000  # hidden rows and error cells kept a sheet (as the .xlsx scan keeps them)

BOF, EOF, BOUNDSHEET, CODEPAGE, FILEPASS = 0x0809, 0x000A, 0x0085, 0x0042, 0x002F
ROW, COLINFO, BOOLERR, FORMULA = 0x0208, 0x007D, 0x0205, 0x0006
WANTED = frozenset((BOF, EOF, BOUNDSHEET, CODEPAGE, FILEPASS, ROW, COLINFO, BOOLERR, FORMULA))


class Damaged(Exception):
    """The compound document or its BIFF stream does not hold together."""


class Encrypted(Exception):
    """The workbook stream is encrypted (FILEPASS): it has an opening password."""


class Marks:
    """What one sheet hides: row numbers (1-based), column indexes (0-based) and error cells."""

    __slots__ = ("hidden_rows", "hidden_cols", "bad", "bad_count")

    def __init__(self):
        self.hidden_rows: list[int] = []
        self.hidden_cols: set[int] = set()
        self.bad: dict[int, list[tuple[int, str]]] = {}  # row (1-based) → [(column 0-based, error text)]
        self.bad_count = 0

    def as_tuple(self):
        return self.hidden_rows, sorted(self.hidden_cols), self.bad


# ---------------------------------------------------------------- the compound document (OLE2 / CFB)

def workbook_stream(data: bytes) -> bytes:
    """The "Workbook" (BIFF8) or "Book" (BIFF5) stream of a compound document."""
    if len(data) < 512 or data[:8] != MAGIC:
        raise Damaged("not a compound document")
    shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
    if shift not in (9, 12) or mini_shift != 6:
        raise Damaged("sector size")
    size = 1 << shift
    n_fat, first_dir = struct.unpack_from("<II", data, 0x2C)
    cutoff, first_minifat, n_minifat, first_difat, n_difat = struct.unpack_from("<IIIII", data, 0x38)
    sectors = -(-(len(data) - size) // size)  # sectors the file really holds (some writers cut the last one short)

    def sector(n: int) -> bytes:
        if n >= sectors:
            raise Damaged("sector beyond the file")
        start = (n + 1) * size
        return data[start:start + size]

    per = size // 4
    fat_sectors = [n for n in struct.unpack_from("<109I", data, 0x4C) if n < END - 2]
    nxt, seen = first_difat, 0
    while nxt < END - 2 and seen <= sectors and len(fat_sectors) < n_fat:
        entries = struct.unpack(f"<{per}I", sector(nxt))
        fat_sectors += [n for n in entries[:-1] if n < END - 2]
        nxt, seen = entries[-1], seen + 1
    fat_sectors = fat_sectors[:n_fat]
    fat: list[int] = []
    for n in fat_sectors:
        fat.extend(struct.unpack(f"<{per}I", sector(n)))

    def chain(start: int, table: list[int]) -> list[int]:
        out = []
        while start < END - 2:
            if start >= len(table) or len(out) > len(table):
                raise Damaged("broken chain")
            out.append(start)
            start = table[start]
        return out

    def read(start: int, length: int) -> bytes:
        # a stream cut short is what it is: the record walk stops at the first record that does not fit
        return b"".join(sector(n) for n in chain(start, fat))[:length]

    directory = b"".join(sector(n) for n in chain(first_dir, fat))
    root = None
    found = None
    for at in range(0, len(directory) - 127, 128):
        entry = directory[at:at + 128]
        name_len = min(struct.unpack_from("<H", entry, 0x40)[0], 64)
        name = entry[:max(name_len - 2, 0)].decode("utf-16-le", "replace")
        kind = entry[0x42]
        start, length = struct.unpack_from("<IQ", entry, 0x74)
        if shift == 9:
            length &= 0xFFFFFFFF  # version 3: the high half may hold anything
        if kind == 5 and root is None:
            root = (start, length)
        elif kind == 2 and name.lower() in ("workbook", "book") and (found is None or name.lower() == "workbook"):
            found = (start, length)
    if found is None or root is None:
        raise Damaged("no workbook stream")
    start, length = found
    if length > len(data):
        raise Damaged("stream larger than the file")
    if length >= cutoff:
        return read(start, length)
    minifat: list[int] = []
    for n in chain(first_minifat, fat)[:max(n_minifat, 0)]:
        minifat.extend(struct.unpack(f"<{per}I", sector(n)))
    ministream = read(root[0], root[1])
    return b"".join(ministream[n * 64:(n + 1) * 64] for n in chain(start, minifat))[:length]


# ---------------------------------------------------------------- the BIFF records

def _sheet_name(body: bytes, biff8: bool, codepage: str) -> str:
    cch = body[6]
    if biff8:
        flags = body[7]
        raw = body[8:8 + (2 * cch if flags & 1 else cch)]
        return raw.decode("utf-16-le" if flags & 1 else "latin-1", "replace")
    return body[7:7 + cch].decode(codepage, "replace")


_CODEPAGES = {936: "gbk", 1252: "cp1252", 950: "big5", 1200: "utf-16-le", 367: "ascii", 65001: "utf-8"}


def read_marks(data: bytes) -> dict[str, Marks]:
    """Sheet name → its Marks, for every worksheet of an .xls file's bytes, in the workbook's order."""
    stream = workbook_stream(data)
    n = len(stream)
    unpack = struct.unpack_from
    pos = 0
    biff8 = True
    codepage = "cp1252"
    sheets: dict[int, str] = {}  # offset of the sheet's BOF → name
    out: dict[str, Marks] = {}
    current: Marks | None = None
    depth = 0
    wanted = WANTED
    while pos + 4 <= n:
        rtype, length = unpack("<HH", stream, pos)
        body_at = pos + 4
        if rtype not in wanted:  # the cells' own records, millions of them: only stepped over
            pos = body_at + length
            continue
        if body_at + length > n:
            break  # a truncated last record: what came before stands
        if rtype == BOF:
            if depth == 0:
                if pos == 0 and length >= 2:
                    biff8 = unpack("<H", stream, body_at)[0] == 0x0600
                name = sheets.get(pos)
                current = None
                if name is not None:
                    current = out.setdefault(name, Marks())
            depth += 1
        elif rtype == EOF:
            depth = max(depth - 1, 0)
            if depth == 0:
                current = None
        elif rtype == FILEPASS and current is None and not sheets:
            raise Encrypted()
        elif rtype == CODEPAGE and length >= 2:
            codepage = _CODEPAGES.get(unpack("<H", stream, body_at)[0], "cp1252")
        elif rtype == BOUNDSHEET and length >= 8:
            body = stream[body_at:body_at + length]
            offset, _state, kind = unpack("<IBB", body, 0)
            if kind == 0:  # a worksheet (not a chart, macro or VB module sheet)
                name = sheets[offset] = _sheet_name(body, biff8, codepage)
                out.setdefault(name, Marks())  # in the workbook's order, read or not
        elif current is not None and depth == 1:
            if rtype == ROW and length >= 14:
                row, flags = unpack("<H", stream, body_at)[0], unpack("<H", stream, body_at + 12)[0]
                if flags & 0x20 and len(current.hidden_rows) < MARKS_KEPT:
                    current.hidden_rows.append(row + 1)
            elif rtype == COLINFO and length >= 10:
                first, last = unpack("<HH", stream, body_at)
                if unpack("<H", stream, body_at + 8)[0] & 1:
                    current.hidden_cols.update(range(first, min(last, 255) + 1))
            elif rtype == BOOLERR and length >= 8:
                if stream[body_at + 7] == 1:
                    _bad(current, stream, body_at, ERRORS.get(stream[body_at + 6], "#错误"))
            elif rtype == FORMULA and length >= 14:
                if stream[body_at + 12:body_at + 14] == b"\xff\xff" and stream[body_at + 6] == 2:
                    _bad(current, stream, body_at, ERRORS.get(stream[body_at + 8], "#错误"))
        pos = body_at + length
    return out


def _bad(marks: Marks, stream: bytes, at: int, what: str) -> None:
    row, col = struct.unpack_from("<HH", stream, at)
    marks.bad_count += 1
    if marks.bad_count <= MARKS_KEPT:
        marks.bad.setdefault(row + 1, []).append((col, what))
