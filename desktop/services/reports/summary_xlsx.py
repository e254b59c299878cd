"""The 汇总表 as a styled Excel workbook: the same figures as the PDF (summary.compute), one sheet
per table, bold shaded two-row headers, column widths, frozen panes, numbers as numbers, the
ratio as a percentage and villages above 2% highlighted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from .. import access
from ..files import written_whole
from .common import scope as make_scope
from .common import year_settings
from .summary import TITLE, compute, table_rows

SHEETS = (("category", "监测对象（按类别）"), ("status", "监测状态和占比"), ("measures", "帮扶措施"))
BOLD = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
HEAD_FILL = PatternFill("solid", fgColor="D9D9D9")
TOTAL_FILL = PatternFill("solid", fgColor="EDEDED")
FLAG_FILL = PatternFill("solid", fgColor="FFC7CE")
FLAG_FONT = Font(bold=True, color="9C0006")
THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def write(session: Session, path: Path, year: int, as_of: date, *, village: str | None = None,
          household_nos: list[str] | None = None) -> Path:
    """Write the workbook to `path` (replaced only when complete). Same scope rules as render()."""
    access.logged_in(session)
    sc = make_scope(session, village, household_nos)
    year_settings(session, year)
    s = compute(session, sc, year, as_of)
    tables = table_rows(s)
    wb = Workbook()
    wb.remove(wb.active)
    title = f"{s.place}{TITLE}（{year} 年度）"
    note = (f"{sc.township_name}  统计截至 {as_of.isoformat()}；本年指 {s.window[0].isoformat()} 至 "
            f"{s.window[1].isoformat()}；人数为正常状态家庭成员")
    for key, name in SHEETS:
        head, body = tables[key]
        ws = wb.create_sheet(name)
        ncol = len(head[0])
        ws.cell(1, 1, title).font = TITLE_FONT
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncol)
        ws.cell(1, 1).alignment = Alignment(horizontal="center")
        ws.cell(2, 1, note)
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=ncol)
        top = 3
        for r, row in enumerate(head):
            for c, value in enumerate(row, 1):
                cell = ws.cell(top + r, c, value.replace("\n", "") if isinstance(value, str) else value)
                cell.font, cell.fill, cell.border, cell.alignment = BOLD, HEAD_FILL, BOX, CENTER
        if len(head) == 2:  # merge pair labels across 户/人 and single labels down both rows
            c = 0
            while c < ncol:
                if head[0][c] and c + 1 < ncol and head[0][c + 1] == "" and head[1][c]:
                    ws.merge_cells(start_row=top, start_column=c + 1, end_row=top, end_column=c + 2)
                    c += 2
                    continue
                if head[0][c] and head[1][c] == "":
                    ws.merge_cells(start_row=top, start_column=c + 1, end_row=top + 1, end_column=c + 1)
                c += 1
        first = top + len(head)
        for r, row in enumerate(body):
            total = r == len(body) - 1
            for c, value in enumerate(row, 1):
                if isinstance(value, Decimal):
                    cell = ws.cell(first + r, c, float(value))
                    cell.number_format = "0.00%"
                else:
                    if value is None and key == "status":
                        value = "—"
                    elif isinstance(value, str) and c == 1 and value.isdigit():
                        value = int(value)
                    cell = ws.cell(first + r, c, value)
                cell.border = BOX
                cell.alignment = Alignment(horizontal="left" if c == 2 else "center", vertical="center")
                if total:
                    cell.fill, cell.font = TOTAL_FILL, BOLD
            if key == "status" and row[-1] == "是":
                for c in range(ncol - 3, ncol + 1):
                    ws.cell(first + r, c).fill = FLAG_FILL
                    ws.cell(first + r, c).font = FLAG_FONT
        widths = {1: 6, 2: 18}
        for c in range(1, ncol + 1):
            ws.column_dimensions[get_column_letter(c)].width = widths.get(c, 9 if key != "status" or c < ncol - 3
                                                                          else 14)
        ws.row_dimensions[top].height = 32
        ws.freeze_panes = ws.cell(first, 3)
        ws.print_title_rows = f"{top}:{first - 1}"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    path = Path(path)
    with written_whole(path) as tmp:
        wb.save(tmp)
    return path
