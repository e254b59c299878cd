"""A small .xlsx writer that can lie: it writes the package XML itself, so a test can build what no
spreadsheet program would — a `<dimension>` that claims A1:I3 over a cell at XFD1048576, sheets hidden
and veryHidden, sheet XML padded to gigabytes, a shared string of a gigabyte, error cells, formulas with
no cached value, hidden rows — in a file of a few kilobytes.

    write_xlsx(path, [XSheet("户信息", rows), XSheet("家庭成员", rows, state="veryHidden")])

Cell values: str (a shared string), int/float (a number), Err("#DIV/0!") (an error cell), Formula("1/0")
(a formula with no cached value), Raw("<c …/>") (written as given).
"""

from __future__ import annotations

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


def write_xlsx(path: Path, sheets: list[XSheet], *, huge_string: int = 0, shared_pad: int = 0) -> Path:
    """Write the package. `huge_string`: a shared string of that many characters, used by no cell
    (a reader that loads the shared strings whole pays for it anyway); `shared_pad`: white space
    inside the shared-string table."""
    path = Path(path)
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
            with z.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as f:
                f.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet {NS} {NS_R}>'
                        f'<dimension ref="{dim}"/><sheetData>'.encode())
                _pad(f, sh.pad)
                for row in rows_xml:
                    f.write(row.encode())
                for row in sh.extra:
                    f.write(row.encode())
                f.write(b"</sheetData></worksheet>")
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
