"""Writing workbooks people read: XlsxWriter in constant-memory mode, a bold frozen header, column
widths, number formats, dropdown lists from a hidden sheet — and text that can never become a formula.

This is the one writer of every .xlsx the program makes (exchange export, national export, template,
error workbook, 汇总表, on-screen lists): data rows through SheetWriter.row, any other cell through
Book.write / Book.merge with a Style. Text is always a text cell; text that starts like a formula
(= + - @, their full-width and Unicode-minus forms, tab, carriage return) also gets Excel's quote prefix,
so that editing the cell later cannot turn it into one; text longer than Excel's 32,767 characters is cut.

XlsxWriter's per-cell call costs about 5 µs (type dispatch, escaping, a namedtuple per cell); a
county export has some ten million cells. Rows of data therefore go through `SheetWriter.row`,
which writes the row's XML straight into XlsxWriter's row file the way its own constant-memory
writer does, at about a fifth of the cost. Everything else (styles, widths, panes, validation,
comments, the zip package) is XlsxWriter's own. Should its internals ever differ, `row` falls back
to the public write_* calls; tests compare both paths.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from .values import excel_serial

# First characters that make a cell a formula when a person edits it (= + - @, full-width and
# Unicode minus forms, and the tab / carriage return that CSV tools also treat so).
DANGEROUS = frozenset("=+-@\t\r＝＋－＠\u2212\ufe63\ufe62")
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")
# Anything that needs more than the plain text in <t>…</t>: escaping, or xml:space="preserve".
_NOT_PLAIN = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_|^\s|\s$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ESCAPE_OF_ESCAPE = re.compile(r"(_x[0-9A-Fa-f]{4}_)")

SHARED_CACHE = 20_000  # distinct values remembered per shared column
CELL_CHARS = 32_767  # Excel's limit for the text of one cell
HEADER_BLUE = "#DDEBF7"
HEADER_REQUIRED = "#FCE4D6"
HEADER_COMPUTED = "#EDEDED"
BORDER_GREY = "#A6A6A6"

# Column kinds of a sheet: how a cell is written.
TEXT, DATE, MONEY, INT, GENERAL = "text", "date", "money", "int", "general"


def _xml_text(s: str) -> tuple[str, bool]:
    """XML-escaped text as Excel writes it (control characters as _xHHHH_), and whether its
    leading or trailing white space must be preserved."""
    if _NEEDS_ESCAPE.search(s):
        s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        s = _ESCAPE_OF_ESCAPE.sub(r"_x005F\1", s)
        s = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", s)
        s = s.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    return s, (s[:1].isspace() or s[-1:].isspace())


class Book:
    def __init__(self, path: Path | str, constant_memory: bool = True):
        self.path = Path(path)
        self.constant_memory = constant_memory
        self.wb = xlsxwriter.Workbook(str(self.path), {
            "constant_memory": constant_memory, "strings_to_numbers": False, "strings_to_formulas": False,
            "strings_to_urls": False, "tmpdir": str(self.path.parent)})
        self.wb.set_size(1600, 1000)
        font = {"font_name": "等线", "font_size": 11}
        border = {"border": 1, "border_color": BORDER_GREY}
        head = {**font, **border, "bold": True, "text_wrap": True, "valign": "vcenter", "align": "center"}
        self.header = self.wb.add_format({**head, "bg_color": HEADER_BLUE})
        self.header_required = self.wb.add_format({**head, "bg_color": HEADER_REQUIRED, "font_color": "#C00000"})
        self.header_computed = self.wb.add_format({**head, "bg_color": HEADER_COMPUTED, "italic": True,
                                                   "font_color": "#595959"})
        self.formats = {
            TEXT: self.wb.add_format({**font, "num_format": "@"}),
            DATE: self.wb.add_format({**font, "num_format": "yyyy-mm-dd", "align": "left"}),
            MONEY: self.wb.add_format({**font, "num_format": "#,##0.00"}),
            INT: self.wb.add_format({**font, "num_format": "0"}),
            GENERAL: self.wb.add_format({**font}),
        }
        self.quoted = self.wb.add_format({**font, "num_format": "@", "quote_prefix": True})
        self.wrap = self.wb.add_format({**font, "text_wrap": True, "valign": "top"})
        self.title = self.wb.add_format({"font_name": "等线", "font_size": 14, "bold": True})
        self.bold = self.wb.add_format({**font, "bold": True})
        self._lists: dict[str, str] = {}
        self._list_sheet = ""
        self._pending: dict | None = None
        self._styles: dict[tuple, Style] = {}
        self._text = self.style(font_name="等线", font_size=11)

    def style(self, **props) -> "Style":
        """A cell format (XlsxWriter's properties) with its quote-prefixed twin, made once per set of
        properties."""
        key = tuple(sorted(props.items()))
        got = self._styles.get(key)
        if got is None:
            got = self._styles[key] = Style(self.wb, props)
        return got

    def write(self, ws, row: int, col: int, value, style: "Style | None" = None) -> None:
        """One cell of any kind, text as text: None and "" are left blank, bool as 是/否, str → text
        (quote-prefixed when it starts like a formula, cut at 32,767 characters), Decimal/int/float →
        number, date → date serial in the style's number format."""
        if value is None or value == "":
            if style is not None:
                ws.write_blank(row, col, None, style.plain)
            return
        if isinstance(value, bool):
            value = "是" if value else "否"
        if isinstance(value, str):
            text = value[:CELL_CHARS]
            fmt = (style or self._text).quoted if text[0] in DANGEROUS else (style.plain if style else None)
            ws.write_string(row, col, text, fmt)
        elif isinstance(value, (Decimal, int, float)):
            ws.write_number(row, col, float(value), style.plain if style else None)
        elif isinstance(value, date):
            ws.write_number(row, col, excel_serial(value), style.plain if style else self.formats[DATE])
        else:
            raise TypeError(f"cannot write {type(value).__name__} to a cell")

    def merge(self, ws, first_row: int, first_col: int, last_row: int, last_col: int, value,
              style: "Style | None" = None) -> None:
        """A merged range holding one value, written as Book.write writes it."""
        fmt = (style or self._text).plain
        if isinstance(value, str) and value and value[0] in DANGEROUS:
            fmt = (style or self._text).quoted
        ws.merge_range(first_row, first_col, last_row, last_col, "", fmt)
        self.write(ws, first_row, first_col, value, style or self._text)

    def sheet(self, name: str, columns: list["Col"], freeze_cols: int = 1,
              above: list[list[tuple[int, int, str]]] | None = None) -> "SheetWriter":
        """A sheet with its header; `above`: rows written over the header, each a list of
        (first column, last column, text) — merged when it spans columns (title and group rows)."""
        ws = self.wb.add_worksheet(name)
        return SheetWriter(self, ws, columns, freeze_cols, above or [])

    def plan_lists(self, name: str, lists: dict[str, tuple[str, list[str]]]) -> None:
        """Dropdown lists (key → title, values) kept on a hidden sheet written by close(), so
        that the data sheets come first; validations can refer to them at once."""
        self._list_sheet = name
        self._pending = lists
        for c, (key, (_title, values)) in enumerate(lists.items()):
            col = xl_col_to_name(c)
            self._lists[key] = f"='{name}'!${col}$2:${col}${max(len(values), 1) + 1}"

    def _write_lists(self) -> None:
        ws = self.wb.add_worksheet(self._list_sheet)
        lists = list(self._pending.values())
        text = self.style(font_name="等线", font_size=11, num_format="@")
        for c, (title, _values) in enumerate(lists):
            ws.write_string(0, c, title, self.bold)
            ws.set_column(c, c, 18)
        for r in range(max((len(v) for _t, v in lists), default=0)):
            for c, (_title, values) in enumerate(lists):
                if r < len(values):
                    self.write(ws, r + 1, c, values[r], text)  # a village named "=…" is a list value too
        ws.hide()

    def list_source(self, key: str) -> str | None:
        return self._lists.get(key)

    def close(self) -> None:
        if self._pending is not None:
            self._write_lists()
            self._pending = None
        self.wb.close()


class Style:
    """A format and its quote-prefixed twin (made when first needed)."""

    def __init__(self, wb, props: dict):
        self.wb, self.props = wb, props
        self.plain = wb.add_format(props)
        self._quoted = None

    @property
    def quoted(self):
        if self._quoted is None:
            self._quoted = self.wb.add_format({**self.props, "quote_prefix": True})
        return self._quoted


class Col:
    """A column as written: header, cell kind, width, header style, dropdown and a header note."""

    def __init__(self, header: str, kind: str = TEXT, width: float = 10, style: str = "normal",
                 dropdown: str | None = None, strict: bool = True, note: str | None = None, shared: bool = False):
        self.header = header
        self.shared = shared  # few distinct values on many rows: kept once in the shared-string table
        self.kind = kind
        self.width = width
        self.style = style
        self.dropdown = dropdown
        self.strict = strict
        self.note = note


class SheetWriter:
    def __init__(self, book: Book, ws, columns: list[Col], freeze_cols: int,
                 above: list[list[tuple[int, int, str]]] | None = None):
        self.book = book
        self.ws = ws
        self.columns = columns
        top = len(above or [])
        self.next_row = top + 1
        styles = {"normal": book.header, "required": book.header_required, "computed": book.header_computed}
        for c, col in enumerate(columns):
            ws.set_column(c, c, col.width, book.formats[col.kind])
        for r, cells in enumerate(above or []):
            ws.set_row(r, 28 if r == 0 else 20)
            style = book.title if r == 0 else book.header
            for first, last, text in cells:
                if last > first:
                    ws.merge_range(r, first, r, last, text[:CELL_CHARS], style)
                else:
                    ws.write_string(r, first, text[:CELL_CHARS], style)
        ws.set_row(top, 36)
        for c, col in enumerate(columns):
            ws.write_string(top, c, col.header, styles[col.style])
            if col.note:
                ws.write_comment(top, c, col.note, {"x_scale": 1.6, "y_scale": 1.4, "author": ""})
        ws.freeze_panes(top + 1, freeze_cols)
        if columns:
            ws.autofilter(top, 0, top, len(columns) - 1)
        self.formats = [book.formats[col.kind] for col in columns]
        self.kinds = [col.kind for col in columns]
        self.fast = book.constant_memory and all(
            hasattr(ws, a) for a in ("_write_single_row", "_check_dimensions", "fh", "previous_row"))
        if self.fast:
            self.fast = getattr(getattr(ws, "str_table", None), "_get_shared_string_index", None) is not None
        if self.fast:
            self.refs = [xl_col_to_name(c) for c in range(len(columns))]
            self.xf = [f._get_xf_index() for f in self.formats]
            self.quoted_xf = book.quoted._get_xf_index()
            self.sst = ws.str_table
            # column → {text: the rest of its <c> element after the row number}, for shared columns
            self.tails = [{} if col.shared else None for col in columns]

    def dropdowns(self, last_row: int = 1_048_575) -> None:
        """List validation below the header for every column that has a list."""
        for c, col in enumerate(self.columns):
            source = self.book.list_source(col.dropdown) if col.dropdown else None
            if source is None:
                continue
            first = self.next_row
            options = {"validate": "list", "source": source, "ignore_blank": True}
            if col.strict:
                options.update(error_type="stop", error_title="不在列表中", error_message="请从下拉列表中选择")
            else:
                options.update(error_type="information", error_title="提示",
                               error_message="可从下拉列表中选择；多项之间用“、”分隔")
            self.ws.data_validation(first, c, last_row, c, options)

    def row(self, values: list) -> None:
        """One row of data below the header, in column order; None and "" are left blank.
        str → text, Decimal/int/float → number, date → date; bool must be converted by the caller."""
        r = self.next_row
        self.next_row += 1
        if self.fast:
            self._fast_row(r, values)
        else:
            self._public_row(r, values)

    def _fast_row(self, r: int, values: list) -> None:
        ws = self.ws
        ws._write_single_row(r)  # flushes a row still held by XlsxWriter (the header) and moves on
        n = str(r + 1)
        refs, xf = self.refs, self.xf
        not_plain = _NOT_PLAIN.search
        parts = []
        first = last = -1
        for c, v in enumerate(values):
            if v is None or v == "":
                continue
            if first < 0:
                first = c
            last = c
            cls = v.__class__
            if cls is str:
                if len(v) > CELL_CHARS:
                    v = v[:CELL_CHARS]
                tails = self.tails[c]
                if tails is not None:
                    tail = tails.get(v)
                    if tail is None:
                        style = self.quoted_xf if v[0] in DANGEROUS else xf[c]
                        tail = f'" s="{style}" t="s"><v>{self.sst._get_shared_string_index(v)}</v></c>'
                        if len(tails) < SHARED_CACHE:
                            tails[v] = tail
                    else:
                        self.sst.count += 1
                    parts.append(f'<c r="{refs[c]}{n}{tail}')
                    continue
                style = self.quoted_xf if v[0] in DANGEROUS else xf[c]
                if not_plain(v) is None:
                    parts.append(f'<c r="{refs[c]}{n}" s="{style}" t="inlineStr"><is><t>{v}</t></is></c>')
                else:
                    s, preserve = _xml_text(v)
                    space = ' xml:space="preserve"' if preserve else ""
                    parts.append(f'<c r="{refs[c]}{n}" s="{style}" t="inlineStr"><is><t{space}>{s}</t></is></c>')
            elif cls is Decimal:
                parts.append(f'<c r="{refs[c]}{n}" s="{xf[c]}"><v>{v:f}</v></c>')
            elif cls is int:
                parts.append(f'<c r="{refs[c]}{n}" s="{xf[c]}"><v>{v}</v></c>')
            elif cls is float:
                parts.append(f'<c r="{refs[c]}{n}" s="{xf[c]}"><v>{v:.16G}</v></c>')
            elif cls is date:
                parts.append(f'<c r="{refs[c]}{n}" s="{xf[c]}"><v>{excel_serial(v)}</v></c>')
            else:
                raise TypeError(f"cannot write {cls.__name__} to a cell")
        if first < 0:
            return
        ws._check_dimensions(r, first)
        ws._check_dimensions(r, last)
        ws.fh.write(f'<row r="{n}">{"".join(parts)}</row>')

    def _public_row(self, r: int, values: list) -> None:
        ws = self.ws
        for c, v in enumerate(values):
            if v is None or v == "":
                continue
            if isinstance(v, str):
                v = v[:CELL_CHARS]
                ws.write_string(r, c, v, self.book.quoted if v[0] in DANGEROUS else self.formats[c])
            elif isinstance(v, (Decimal, int, float)) and not isinstance(v, bool):
                ws.write_number(r, c, float(v), self.formats[c])
            elif isinstance(v, date):
                ws.write_number(r, c, excel_serial(v), self.formats[c])
            else:
                raise TypeError(f"cannot write {type(v).__name__} to a cell")
