"""What a workbook hides, and which sheet was read as what (issue: hostile workbooks).

A village's workbook can carry sheets the clerk never sees — hidden, or "very hidden", which Excel's own
menus cannot show — and hidden rows. Whatever is read as data from them is never imported silently: each
such sheet and each sheet with hidden data rows is a question (Preview.questions["hidden"]) that the
command line answers with --include-hidden and the wizard asks; so is each column read as data that the file
hides (.xlsx <col hidden="1">, .xls COLINFO), named by its header. Hidden sheets that are not read as data
(our own 代码表 of dropdown lists, any sheet no layout matches) are only named in the notes, so that our own
export and template import as they are. Visible sheets always win: a hidden sheet whose name matches a sheet
that is also visible is not read at all, and said so.
"""

from __future__ import annotations

from .layout import match_sheet
from .plan import Data
from .reader import Issues, SheetInfo
from .values import clip

ROWS_SHOWN = 10
SHEETS_SHOWN = 30


def choose_sheets(sheets: list[SheetInfo]) -> tuple[dict[str, str], list[str]]:
    """Our sheet key → the file's sheet to read: visible sheets first, a hidden one only where no visible
    sheet matches. Also the hidden sheets passed over because a visible one has their role."""
    visible = [sh.name for sh in sheets if sh.visible]
    hidden = [sh.name for sh in sheets if not sh.visible]
    found = match_sheet(visible)
    passed_over = []
    for key, name in match_sheet(hidden).items():
        if key in found:
            passed_over.append(name)
        else:
            found[key] = name
    return found, passed_over


def questions(data: Data, issues: Issues) -> None:
    """Hidden sheets read as data and hidden rows read as data: one question each sheet."""
    states = {sh.name: sh for sh in data.book_sheets}
    for ps in data.read:
        info = states.get(ps.name)
        if info is not None and not info.visible:
            issues.add(ps.name, None, "", "", f"这张工作表是{info.state_text or '隐藏'}的，打开文件时看不到，"
                       f"却会作为“{data.roles.get(ps.name, '数据')}”导入：请先在 Excel 中取消隐藏、核对内容；"
                       "确认无误可在导入窗口中确认，或在命令行加 --include-hidden")
        if ps.hidden_rows:
            shown = "、".join(str(int(r)) for r in ps.hidden_rows[:ROWS_SHOWN])
            rows = f"第 {shown} 等 {len(ps.hidden_rows):,} 行" if len(ps.hidden_rows) > ROWS_SHOWN else f"第 {shown} 行"
            issues.add(ps.name, ps.hidden_rows[0], "", "", f"{rows}是隐藏行，打开文件时看不到，"
                       "却会被导入：请先在 Excel 中取消隐藏、核对内容；确认无误可在导入窗口中确认，"
                       "或在命令行加 --include-hidden")
        for header in ps.hidden_columns:
            issues.add(ps.name, None, header, "", f"“{clip(header, 40)}”列是隐藏列，打开文件时看不到，却会被导入："
                       "请先在 Excel 中取消隐藏、核对内容；确认无误可在导入窗口中确认，或在命令行加 --include-hidden")


def notes(data: Data) -> list[str]:
    """Which sheet was read as what; hidden sheets not read; characters removed from free text."""
    out = []
    read = {ps.name for ps in data.read}
    for n, sh in enumerate(data.book_sheets):
        if n == SHEETS_SHOWN:
            out.append(f"……另有 {len(data.book_sheets) - SHEETS_SHOWN:,} 张工作表未列出")
            break
        hidden = f"（{sh.state_text}）" if not sh.visible else ""
        name = clip(sh.name, 40)
        if sh.name in data.roles:
            out.append(f"工作表“{name}”{hidden}读作：{data.roles[sh.name]}")
        elif sh.name not in read:
            why = "与可见的同名工作表重复" if sh.name in data.passed_over else "不是本程序或全国系统格式的数据表"
            out.append(f"工作表“{name}”{hidden}未读取：{why}")
    for ps in data.read:
        for header, (row, count, found) in ps.stripped.items():
            where = f"第 {int(row)} 行" + (f"等 {count:,} 处" if count > 1 else "")
            chars = "、".join(sorted(found)[:5])
            out.append(f"“{clip(ps.name, 40)}”【{header}】{where}含有控制字符或不可见字符（{chars}），已删除后导入")
    return out
