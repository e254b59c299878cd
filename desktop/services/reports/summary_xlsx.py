"""The 汇总表 as a styled Excel workbook: the same figures as the PDF (summary.compute), one sheet
per table, bold shaded two-row headers, column widths, frozen panes, numbers as numbers, the
ratio as a percentage and villages above 2% highlighted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from .. import access
from ..exchange.xlsx import Book
from ..files import written_whole
from .common import scope as make_scope
from .common import year_settings
from .summary import TITLE, compute, table_rows

SHEETS = (("category", "监测对象（按类别）"), ("status", "监测状态和占比"), ("measures", "帮扶措施"))
FONT = {"font_name": "等线", "font_size": 11}
BOX = {"border": 1, "border_color": "#808080"}


def write(session: Session, path: Path, year: int, as_of: date, *, village: str | None = None,
          household_nos: list[str] | None = None) -> Path:
    """Write the workbook to `path` (replaced only when complete). Same scope rules as render(). Written by
    the program's one xlsx writer (exchange/xlsx.py): a village named "=…" stays text, never a formula."""
    access.logged_in(session)
    sc = make_scope(session, village, household_nos)
    year_settings(session, year)
    s = compute(session, sc, year, as_of)
    tables = table_rows(s)
    title = f"{s.place}{TITLE}（{year} 年度）"
    note = (f"{sc.township_name}  统计截至 {as_of.isoformat()}；本年指 {s.window[0].isoformat()} 至 "
            f"{s.window[1].isoformat()}；人数为正常状态家庭成员")
    path = Path(path)
    with written_whole(path, ".tmp.xlsx") as tmp:
        book = Book(tmp, constant_memory=False)
        title_style = book.style(font_name="等线", font_size=14, bold=True, align="center")
        note_style = book.style(**FONT)
        head_style = book.style(**FONT, **BOX, bold=True, bg_color="#D9D9D9", align="center", valign="vcenter",
                                text_wrap=True)
        for key, name in SHEETS:
            head, body = tables[key]
            ws = book.wb.add_worksheet(name)
            ncol = len(head[0])
            book.merge(ws, 0, 0, 0, ncol - 1, title, title_style)
            book.merge(ws, 1, 0, 1, ncol - 1, note, note_style)
            top = 2
            merged: set[tuple[int, int]] = set()
            if len(head) == 2:  # merge pair labels across 户/人 and single labels down both rows
                c = 0
                while c < ncol:
                    if head[0][c] and c + 1 < ncol and head[0][c + 1] == "" and head[1][c]:
                        book.merge(ws, top, c, top, c + 1, head[0][c].replace("\n", ""), head_style)
                        merged |= {(0, c), (0, c + 1)}
                        c += 2
                        continue
                    if head[0][c] and head[1][c] == "":
                        book.merge(ws, top, c, top + 1, c, head[0][c].replace("\n", ""), head_style)
                        merged |= {(0, c), (1, c)}
                    c += 1
            for r, row in enumerate(head):
                for c, value in enumerate(row):
                    if (r, c) not in merged:
                        book.write(ws, top + r, c, value.replace("\n", "") if isinstance(value, str) else value,
                                   head_style)
            first = top + len(head)
            for r, row in enumerate(body):
                total = r == len(body) - 1
                flagged = key == "status" and row[-1] == "是"
                for c, value in enumerate(row):
                    props = {**FONT, **BOX, "align": "left" if c == 1 else "center", "valign": "vcenter"}
                    if total:
                        props.update(bold=True, bg_color="#EDEDED")
                    if flagged and c >= ncol - 4:
                        props.update(bold=True, bg_color="#FFC7CE", font_color="#9C0006")
                    if isinstance(value, Decimal):
                        props["num_format"] = "0.00%"
                        value = float(value)
                    elif value is None and key == "status":
                        value = "—"
                    elif isinstance(value, str) and c == 0 and value.isdigit():
                        value = int(value)
                    book.write(ws, first + r, c, value, book.style(**props))
            widths = {0: 6, 1: 18}
            for c in range(ncol):
                ws.set_column(c, c, widths.get(c, 9 if key != "status" or c < ncol - 4 else 14))
            ws.set_row(top, 32)
            ws.freeze_panes(first, 2)
            ws.repeat_rows(top, first - 1)
            ws.set_landscape()
            ws.set_paper(9)  # A4
            ws.fit_to_pages(1, 0)
        book.close()
    return path
