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

from .errors import ServiceError
from .files import written_whole


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


def write_xlsx(listing: Listing, path: Path) -> Path:
    """The list as one sheet: title row, header row (bold, frozen), then the rows; replaced only when whole.
    Written by the program's one xlsx writer (exchange/xlsx.py): text is text, never a formula."""
    from .exchange.xlsx import Book

    listing.check()
    with written_whole(Path(path), ".tmp.xlsx") as tmp:
        book = Book(tmp, constant_memory=False)
        ws = book.wb.add_worksheet("名单")
        title = book.style(font_name="等线", bold=True, font_size=13)
        plain = book.style(font_name="等线", font_size=11)
        head_style = book.style(font_name="等线", font_size=11, bold=True, bg_color="#D9D9D9", align="center",
                                valign="vcenter", text_wrap=True)
        money = book.style(font_name="等线", font_size=11, num_format="#,##0.00")
        day = book.style(font_name="等线", font_size=11, num_format="yyyy-mm-dd")
        book.write(ws, 0, 0, listing.title, title)
        if listing.subtitle:
            book.write(ws, 1, 0, listing.subtitle, plain)
        head = 2
        for j, h in enumerate(listing.headers):
            book.write(ws, head, j, h, head_style)
        widths = [len(h) * 2 + 2 for h in listing.headers]
        for i, row in enumerate(listing.rows, head + 1):
            for j, v in enumerate(row):
                if isinstance(v, str):
                    book.write(ws, i, j, v, plain)
                    widths[j] = min(60, max(widths[j], len(v) * 2 + 2))
                elif isinstance(v, Decimal):
                    book.write(ws, i, j, v, money)
                elif isinstance(v, (date, datetime)) and not isinstance(v, bool):
                    book.write(ws, i, j, v if not isinstance(v, datetime) else v.date(), day)
                    widths[j] = max(widths[j], 12)
                elif v is None or isinstance(v, (bool, int, float)):
                    book.write(ws, i, j, v, plain)
                else:
                    book.write(ws, i, j, str(v), plain)
        for j, w in enumerate(widths):
            ws.set_column(j, j, w)
        ws.freeze_panes(head + 1, 0)
        book.close()
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

