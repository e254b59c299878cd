"""Any on-screen list as an Excel workbook or a printable PDF: a title, a header row, rows of plain values.

The window hands over exactly what the table shows (after its filters), so what is exported or printed is what
the clerk saw. Text is always written as text (never a formula, whatever it starts with); numbers and dates keep
their types so Excel can sum and sort them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .errors import ServiceError
from .files import written_whole

XLSX_CELL_LIMIT = 32767  # Excel's own limit for one cell's text


class ListingError(ServiceError):
    pass


@dataclass
class Listing:
    title: str  # e.g. "建议纳入监测（疑似应纳未纳）名单"
    headers: list[str]
    rows: list[Sequence[object]]
    subtitle: str = ""  # scope and date, e.g. "稷下街道 东村 · 2024 年度 · 截至 2024-11-20"
    widths: list[float] = field(default_factory=list)  # relative column widths; equal when empty

    def check(self) -> None:
        if not self.headers:
            raise ListingError("列表没有列，无法导出")
        for i, row in enumerate(self.rows, 1):
            if len(row) != len(self.headers):
                raise ListingError(f"第 {i} 行有 {len(row)} 个值，表头有 {len(self.headers)} 列")


def _cell_value(v: object) -> object:
    if v is None:
        return None
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, (int, float, Decimal, date, datetime)):
        return v
    text = str(v)
    return text[:XLSX_CELL_LIMIT]


def write_xlsx(listing: Listing, path: Path) -> Path:
    """The list as one sheet: title row, header row (bold, frozen), then the rows; replaced only when whole."""
    listing.check()
    wb = Workbook()
    ws = wb.active
    ws.title = "名单"
    ws.cell(row=1, column=1, value=listing.title).font = Font(bold=True, size=13)
    if listing.subtitle:
        ws.cell(row=2, column=1, value=listing.subtitle)
    head = 3
    for j, h in enumerate(listing.headers, 1):
        c = ws.cell(row=head, column=j, value=h)
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="D9D9D9")
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    widths = [len(h) * 2 + 2 for h in listing.headers]
    for i, row in enumerate(listing.rows, head + 1):
        for j, v in enumerate(row, 1):
            value = _cell_value(v)
            c = ws.cell(row=i, column=j, value=value)
            if isinstance(value, str):
                c.data_type = "s"  # text stays text: "=1+1" or "+86…" is never a formula
                widths[j - 1] = min(60, max(widths[j - 1], len(value) * 2 + 2))
            elif isinstance(value, Decimal):
                c.number_format = "#,##0.00"
            elif isinstance(value, date):
                c.number_format = "yyyy-mm-dd"
                widths[j - 1] = max(widths[j - 1], 12)
    for j, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.freeze_panes = ws.cell(row=head + 1, column=1)
    with written_whole(Path(path)) as tmp:
        wb.save(tmp)
    return Path(path)


def write_pdf(listing: Listing, path: Path, township: str) -> int:
    """The list as an A4 landscape PDF with the header row repeated on every page; returns the page count."""
    from reportlab.platypus import Paragraph

    from .reports.base import Document, Page, style

    listing.check()
    page = Page()
    page.landscape = True
    doc = Document(listing.title, township, page=page)
    doc.story += doc.heading(listing.title, listing.subtitle or None)
    weights = listing.widths or [1.0] * len(listing.headers)
    total = sum(weights)
    widths = [doc.width * w / total for w in weights]
    cell = style("cell9")

    def text(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, bool):
            return "是" if v else "否"
        if isinstance(v, Decimal):
            return f"{v:,.2f}"
        return str(v)

    rows = [[Paragraph(doc.t(h), cell) for h in listing.headers]]
    rows += [[Paragraph(escape_text(doc.t(text(v))), cell) for v in row] for row in listing.rows]
    doc.story.append(doc.table(rows, widths, size=9, fit_header=False, zebra=True))
    doc.story.append(doc.gap(2))
    doc.story.append(doc.p(f"共 {len(listing.rows)} 条"))
    doc.story.append(doc.gap(6))
    doc.story.append(doc.signatures([("制表人：", None), ("审核人：", None), ("日期：", None)], columns=3))
    with written_whole(Path(path)) as tmp:
        pages = doc.build(tmp)
    return pages


def escape_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

