"""A small .xlsx writer that can lie: it writes the package XML itself, so a test can build what no
spreadsheet program would — a `<dimension>` that claims A1:I3 over a cell at XFD1048576, sheets hidden
and veryHidden, sheet XML padded to gigabytes, a shared string of a gigabyte, error cells, formulas with
no cached value, hidden rows — in a file of a few kilobytes.

    write_xlsx(path, [XSheet("户信息", rows), XSheet("家庭成员", rows, state="veryHidden")])

Cell values: str (a shared string), int/float (a number), Err("#DIV/0!") (an error cell), Formula("1/0")
(a formula with no cached value), Raw("<c …/>") (written as given).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Err:
    text: str  # #DIV/0!, #N/A, #REF!, #VALUE!


@dataclass(frozen=True)
class Formula:
    text: str
    cached: object = None  # None: no cached value (as a program that never calculated writes it)


@dataclass(frozen=True)
class Raw:
    xml: str


@dataclass
class XSheet:
    name: str
    rows: list[list] = field(default_factory=list)
    state: str = "visible"  # visible, hidden or veryHidden
    dimension: str | None = None  # None: the true extent; a string: what <dimension ref=…> claims
    hidden_rows: set[int] = field(default_factory=set)  # 1-based row numbers
    hidden_cols: set[int] = field(default_factory=set)  # 1-based column numbers (<cols><col … hidden="1"/>)
    extra: list[str] = field(default_factory=list)  # raw <row> elements written after the rows
    pad: int = 0  # bytes of white space written inside <sheetData> (compresses to almost nothing)


def col_letters(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


class _Strings:
    def __init__(self):
        self.items: list[str] = []
        self.index: dict[str, int] = {}

    def add(self, s: str) -> int:
        if s not in self.index:
            self.index[s] = len(self.items)
            self.items.append(s)
        return self.index[s]


def _cell(ref: str, v, strings: _Strings) -> str:
    if v is None:
        return ""
    if isinstance(v, Raw):
        return v.xml
    if isinstance(v, Err):
        return f'<c r="{ref}" t="e"><v>{escape(v.text)}</v></c>'
    if isinstance(v, Formula):
        if v.cached is None:
            return f'<c r="{ref}"><f>{escape(v.text)}</f></c>'
        return f'<c r="{ref}"><f>{escape(v.text)}</f><v>{v.cached}</v></c>'
    if isinstance(v, bool):
        return f'<c r="{ref}" t="b"><v>{int(v)}</v></c>'
    if isinstance(v, (int, float)):
        return f'<c r="{ref}"><v>{v}</v></c>'
    return f'<c r="{ref}" t="s"><v>{strings.add(str(v))}</v></c>'


NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
NS_R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


# kept between runs, shared with tests/views/test_no_freeze.py's database (test.sh names it: its own temporary folder
# is a RAM disk's, emptied after each run)
CACHE = Path(os.environ.get("FANPIN_TEST_CACHE") or Path(tempfile.gettempdir()) / "fanpin-tests")
CACHED_FROM = 64 << 20  # packages that unpack to this much or more are kept between runs
KEEP_DAYS = 2


def write_xlsx(path: Path, sheets: list[XSheet], *, huge_string: int = 0, shared_pad: int = 0) -> Path:
    """Write the package. `huge_string`: a shared string of that many characters, used by no cell
    (a reader that loads the shared strings whole pays for it anyway); `shared_pad`: white space
    inside the shared-string table.

    A package that unpacks to a gigabyte takes 1.5–2 s of CPU to pack, and three test modules (command line,
    import window, its memory) each pack the same two: such a package is packed once and kept in the system's
    temporary folder under a key of everything that makes it (the sheets, the sizes, this file's source, the
    Python version whose zlib packs it); each test gets its own copy of the file."""
    path = Path(path)
    if huge_string + shared_pad + sum(sh.pad for sh in sheets) < CACHED_FROM:
        return _write_xlsx(path, sheets, huge_string=huge_string, shared_pad=shared_pad)
    digest = hashlib.sha256(repr((sheets, huge_string, shared_pad, sys.version)).encode())
    digest.update(Path(__file__).read_bytes())
    kept = CACHE / f"xlsx-{digest.hexdigest()[:16]}.xlsx"
    if not kept.exists():
        CACHE.mkdir(exist_ok=True)
        partial = kept.with_name(f"{kept.stem}.{os.getpid()}.partial")
        _write_xlsx(partial, sheets, huge_string=huge_string, shared_pad=shared_pad)
        os.replace(partial, kept)  # whole or not at all, also with two test processes at once
        for old in CACHE.glob("xlsx-*.xlsx"):
            if old != kept and time.time() - old.stat().st_mtime > KEEP_DAYS * 86400:
                old.unlink(missing_ok=True)
    os.utime(kept)
    shutil.copyfile(kept, path)
    return path


def _write_xlsx(path: Path, sheets: list[XSheet], *, huge_string: int, shared_pad: int) -> Path:
    strings = _Strings()
    bodies = []
    for sh in sheets:
        rows_xml = []
        max_r, max_c = 1, 1
        for r, row in enumerate(sh.rows, 1):
            cells = "".join(_cell(f"{col_letters(c)}{r}", v, strings) for c, v in enumerate(row, 1))
            hidden = ' hidden="1"' if r in sh.hidden_rows else ""
            rows_xml.append(f'<row r="{r}"{hidden}>{cells}</row>')
            max_r, max_c = max(max_r, r), max(max_c, len(row) or 1)
        dim = sh.dimension or f"A1:{col_letters(max_c)}{max_r}"
        bodies.append((sh, dim, rows_xml))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _content_types(len(sheets), True))
        z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                   'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        sheet_els = "".join(
            f'<sheet name="{escape(sh.name)}" sheetId="{i}"'
            + (f' state="{sh.state}"' if sh.state != "visible" else "") + f' r:id="rId{i}"/>'
            for i, sh in enumerate(sheets, 1))
        z.writestr("xl/workbook.xml", f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                   f'<workbook {NS} {NS_R}><sheets>{sheet_els}</sheets></workbook>')
        n = len(sheets)
        rels = "".join(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                       f'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
        rels += (f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                 f'relationships/sharedStrings" Target="sharedStrings.xml"/>'
                 f'<Relationship Id="rId{n + 2}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                 f'relationships/styles" Target="styles.xml"/>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   f'{rels}</Relationships>')
        z.writestr("xl/styles.xml", f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet {NS}>'
                   '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
                   '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
                   '<borders count="1"><border/></borders>'
                   '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                   '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
                   '</styleSheet>')
        for i, (sh, dim, rows_xml) in enumerate(bodies, 1):
            z.compresslevel = _level(sh.pad)
            with z.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as f:
                f.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet {NS} {NS_R}>'
                        f'<dimension ref="{dim}"/>{_cols(sh.hidden_cols)}<sheetData>'.encode())
                _pad(f, sh.pad)
                for row in rows_xml:
                    f.write(row.encode())
                for row in sh.extra:
                    f.write(row.encode())
                f.write(b"</sheetData></worksheet>")
        z.compresslevel = _level(huge_string + shared_pad)
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
            count = len(strings.items) + (1 if huge_string else 0)
            f.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    f'<sst {NS} count="{count}" uniqueCount="{count}">'.encode())
            for s in strings.items:
                space = ' xml:space="preserve"' if s != s.strip() else ""
                f.write(f"<si><t{space}>{escape(s)}</t></si>".encode())
            _pad(f, shared_pad)
            if huge_string:
                f.write(b"<si><t>")
                block = b"A" * (1 << 20)
                left = huge_string
                while left > 0:
                    f.write(block[:min(left, len(block))])
                    left -= len(block)
                f.write(b"</t></si>")
            f.write(b"</sst>")
    return path


def _level(padding: int) -> int:
    """Deflate level of a part: a gigabyte of one repeated byte takes 5 s of CPU at level 9 and 1.5 s at level 1,
    and packs into 4.5 MB instead of 1 MB: still a small file that unpacks to a gigabyte."""
    return 1 if padding >= 1 << 20 else 9


def _cols(hidden: set[int]) -> str:
    """<cols>, as Excel writes it when a column is hidden: one <col> a run of adjacent columns."""
    if not hidden:
        return ""
    runs: list[list[int]] = []
    for c in sorted(hidden):
        if runs and runs[-1][1] == c - 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return "<cols>" + "".join(f'<col min="{a}" max="{b}" width="9" hidden="1" customWidth="1"/>'
                              for a, b in runs) + "</cols>"


def _pad(f, n: int) -> None:
    block = b" " * (1 << 20)
    while n > 0:
        f.write(block[:min(n, len(block))])
        n -= len(block)


def _content_types(n: int, shared: bool) -> str:
    sheets = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                     f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, n + 1))
    sst = ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
           'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>') if shared else ""
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f'{sheets}{sst}</Types>')


# ---------------------------------------------------------------- old .xls (BIFF8)

@dataclass(frozen=True)
class FormulaErr:
    """A formula whose saved result is an error (as Excel saves =B2/0: a FORMULA record, result #DIV/0!)."""

    text: str
    error: str


BIFF_ERRORS = {"#NULL!": 0x00, "#DIV/0!": 0x07, "#VALUE!": 0x0F, "#REF!": 0x17, "#NAME?": 0x1D,  # [MS-XLS] 2.5.10
               "#NUM!": 0x24, "#N/A": 0x2A}


def write_xls(path: Path, sheets: list[XSheet]) -> Path:
    """An .xls written by xlwt (an independent BIFF8 writer): hidden and veryHidden sheets, hidden rows (the ROW
    record's fDyZero bit), hidden columns (COLINFO's fHidden bit), error cells
    (Err: a BOOLERR record with fError) and formulas whose saved result is an error (FormulaErr). xlwt saves
    every formula with an empty-text result; a FormulaErr's record is patched afterwards to the error result
    Excel saves (type 2 and the error code in the result's first bytes, 0xFFFF in its last two: [MS-XLS]
    2.5.133 FormulaValue)."""
    import xlwt
    path = Path(path)
    wb = xlwt.Workbook(encoding="utf-8")
    patch: list[tuple[int, int, int]] = []  # (row, column, error code) of FormulaErr cells, 0-based
    for sh in sheets:
        ws = wb.add_sheet(sh.name)
        ws.visibility = {"visible": 0, "hidden": 1, "veryHidden": 2}[sh.state]
        for r, row in enumerate(sh.rows):
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, Err):
                    ws.row(r).set_cell_error(c, BIFF_ERRORS[v.text])  # the code: xlwt's own text map is wrong for some
                elif isinstance(v, FormulaErr):
                    ws.write(r, c, xlwt.Formula(v.text))
                    patch.append((r, c, BIFF_ERRORS[v.error]))
                else:
                    ws.write(r, c, v)
            if r + 1 in sh.hidden_rows:
                ws.row(r).hidden = True
        for c in sh.hidden_cols:
            ws.col(c - 1).hidden = True
    wb.save(str(path))
    if patch:
        data = bytearray(path.read_bytes())
        for r, c, code in patch:
            # FORMULA record: type 0x0006, then row, column, xf, and the 8-byte result xlwt writes as empty text
            head = bytes([0x06, 0x00]) + b"??" + r.to_bytes(2, "little") + c.to_bytes(2, "little")
            at = _find_record(data, head)
            result = at + 4 + 6
            assert data[result:result + 8] == bytes([3, 0, 0, 0, 0, 0, 0xFF, 0xFF]), data[result:result + 8]
            data[result:result + 8] = bytes([2, 0, code, 0, 0, 0, 0xFF, 0xFF])
        path.write_bytes(bytes(data))
    return path


def _find_record(data: bytearray, head: bytes) -> int:
    """The offset of the one record whose type and first four body bytes are `head` ("??": its length)."""
    found = [i for i in range(len(data) - 8) if data[i:i + 2] == head[:2] and data[i + 4:i + 8] == head[4:]]
    assert len(found) == 1, found
    return found[0]
