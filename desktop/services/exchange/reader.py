"""Reading a workbook: python-calamine for speed, header row found below any title rows, every
cell converted or its error collected.

calamine holds a sheet as a dense grid, so a sheet with one stray value at row 1,000,000 would
take gigabytes. Such a sheet is recognised before it is loaded — its declared extent is far larger
than its XML could hold — and streamed with openpyxl's read-only reader instead, which only ever
sees the rows that exist.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator
from xml.etree import ElementTree

from ...models import Household, IncomeLine, Measure, Member, Region
from ..errors import ServiceError
from .layout import HeaderMatcher, Sheet
from .values import Bad, converter, show

HEADER_SCAN = 30  # rows searched for the header
SPARSE_CELLS = 1_000_000  # a sheet declaring more cells than this is checked for sparseness
MAX_ERRORS = 50_000  # errors kept for the list; the count goes on
PROGRESS_EVERY = 5000

_MODELS = {"household": Household, "member": Member, "measure": Measure, "income_line": IncomeLine}
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


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


class Issues:
    def __init__(self, limit: int = MAX_ERRORS):
        self.items: list[Issue] = []
        self.count = 0
        self.limit = limit

    def add(self, sheet: str, row: int | None, column: str, value: object, reason: str) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append(Issue(sheet, row, column, show(value) if not isinstance(value, str) else value, reason))

    def __bool__(self) -> bool:
        return self.count > 0


# ---------------------------------------------------------------- the workbook

def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


class Book:
    """A workbook open for reading: sheet names, and the rows of one sheet at a time."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise WorkbookError(f"文件不存在：{self.path}")
        from python_calamine import CalamineWorkbook
        try:
            self._wb = CalamineWorkbook.from_path(str(self.path))
            self.sheet_names = list(self._wb.sheet_names)
        except Exception as exc:  # noqa: BLE001 - calamine raises its own types for every kind of damage
            kind = type(exc).__name__
            if "Password" in kind:
                raise WorkbookError("工作簿设有打开密码，请先在 Excel 中取消密码后再导入") from None
            raise WorkbookError("不是有效的 Excel 工作簿（.xlsx），或文件已损坏") from None
        self._zip_parts = self._sheet_parts() if zipfile.is_zipfile(self.path) else {}

    def close(self) -> None:
        try:
            self._wb.close()
        except Exception:  # noqa: BLE001 - closing twice is harmless
            pass

    def _sheet_parts(self) -> dict[str, str]:
        """Sheet name → its XML part inside the .xlsx (empty for other formats)."""
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

    def is_sparse(self, name: str) -> bool:
        """A declared extent far beyond what the sheet's XML could hold (a stray cell far below)."""
        part = self._zip_parts.get(name)
        if part is None:
            return False
        with zipfile.ZipFile(self.path) as z:
            size = z.getinfo(part).file_size
            with z.open(part) as f:
                head = f.read(8192)
        m = _DIMENSION.search(head)
        if not m or not m.group(3):
            return False
        rows = int(m.group(4)) - int(m.group(2)) + 1
        cols = _col_number(m.group(3).decode()) - _col_number(m.group(1).decode()) + 1
        cells = rows * cols
        return cells > SPARSE_CELLS and size < cells

    def rows(self, name: str) -> Iterator[tuple[int, list]]:
        """(Excel row number, cell values) of every row of a sheet, blank cells as "" or None."""
        if self.is_sparse(name):
            yield from self._rows_streamed(name)
            return
        sheet = self._wb.get_sheet_by_name(name)
        try:
            for i, row in enumerate(sheet.iter_rows()):
                yield i + 1, row
        finally:
            del sheet

    def _rows_streamed(self, name: str) -> Iterator[tuple[int, list]]:
        import openpyxl
        wb = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        try:
            ws = wb[name]
            start = ws.min_row or 1
            for i, row in enumerate(ws.iter_rows(values_only=True), start=start):
                yield i, row
        finally:
            wb.close()


# ---------------------------------------------------------------- one sheet

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

    def has(self, key: str) -> bool:
        return key in self.present

    def header(self, key: str) -> str:
        return self.headers.get(key) or self.sheet.column(key).header


def _max_length(sheet_key: str, col_key: str, kind: str) -> int | None:
    if kind in ("village", "group"):
        return Region.__table__.c.name.type.length
    model = _MODELS.get(sheet_key)
    if model is None or col_key not in model.__table__.c:
        return None
    return getattr(model.__table__.c[col_key].type, "length", None)


def _find_header(rows: list[tuple[int, list]], matcher: HeaderMatcher) -> tuple[int, dict[int, object]] | None:
    """The row with the most known headers (at least one required one): (index in rows, col → column)."""
    best = None
    required = {c.key for c in matcher.sheet.columns if c.required}
    for i, (_n, row) in enumerate(rows):
        found = {}
        for j, cell in enumerate(row):
            if cell is None or cell == "":
                continue
            col = matcher.match(cell)
            if col is not None:
                found[j] = col
        keys = {c.key for c in found.values()}
        if keys & required and (best is None or len(found) > len(best[1])):
            best = (i, found)
    return best


def parse_sheet(book: Book, name: str, sheet: Sheet, issues: Issues,
                progress: Callable[[int], None] | None = None) -> ParsedSheet:
    """Find the header, then convert every cell of every non-blank row below it."""
    out = ParsedSheet(sheet, name)
    matcher = HeaderMatcher(sheet)
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
    out.header_row = head[at][0]
    header_cells = head[at][1]
    seen: dict[str, int] = {}
    plan = []  # (file column, our index, converter, header text as the file writes it)
    for j, col in sorted(columns.items()):
        text = show(header_cells[j]).strip()
        if col.key in seen:
            issues.add(name, out.header_row, text, "",
                       f"与第 {seen[col.key] + 1} 列同为“{col.header}”，不知以哪一列为准")
            continue
        seen[col.key] = j
        out.present.add(col.key)
        out.headers[col.key] = text or col.header
        conv = converter(col, _max_length(sheet.key, col.key, col.kind))
        if conv is not None:
            plan.append((j, col.index, conv, text or col.header))
    for j, cell in enumerate(header_cells):
        if j not in columns and cell is not None and show(cell).strip():
            out.ignored.append(show(cell).strip())
    for col in sheet.columns:
        if col.required and col.key not in out.present:
            issues.add(name, out.header_row, col.header, "", f"缺少必填列“{col.header}”")
    if any(c.required and c.key not in out.present for c in sheet.columns):
        rows.close()
        return out

    file_header = {idx: header for _j, idx, _conv, header in plan}
    required = [(col.index, file_header.get(col.index, col.header)) for col in sheet.columns if col.required]
    width = len(sheet.columns)
    last = max(j for j, *_ in plan) if plan else 0
    parsed = out.rows
    count = 0

    def body():
        yield from head[at + 1:]
        yield from rows

    for excel_row, row in body():
        if len(row) <= last:
            row = list(row) + [None] * (last + 1 - len(row))
        vals = [None] * width
        filled = False
        errored = None
        for j, idx, conv, header in plan:
            v = row[j]
            if v is None or v == "":
                continue
            if v.__class__ is str:
                v = v.strip()
                if not v:
                    continue
            filled = True
            try:
                vals[idx] = conv(v)
            except Bad as exc:
                if errored is None:
                    errored = set()
                errored.add(idx)
                issues.add(name, excel_row, header, v, str(exc))
        if not filled:
            continue
        for idx, header in required:
            if vals[idx] is None and (errored is None or idx not in errored):
                issues.add(name, excel_row, header, "", f"必填项“{header}”为空")
        parsed.append((excel_row, vals))
        count += 1
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
    return out
