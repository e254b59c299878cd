"""收入核算明细表 per household [002 §二, 004 §四]: every detail line of the year's record
grouped by A28…A36 with amounts and 说明, the subtotals, A33/A34/A37/A38 (services.income via
services.assess), the household size at the status time point, collection date and collector,
and the two signatures (采集人 / 被采集人) with dates: the sheet is signed by both and kept in two
copies. A household without a record for the year gets the blank sheet of the default lines,
to be filled in by hand.
"""

from __future__ import annotations

from collections import defaultdict

from reportlab.platypus import KeepTogether, PageBreak

from .. import access, income, rules
from .base import SHADE, Document, Mark, cn_date
from .common import MONITORED, household_ids, year_settings
from .households import load

TITLE = "收入核算明细表"
FIRST = ("A28", "A29", "A30", "A31", "A32")
SECOND = ("A35", "A36")


def add(session, d: Document, h, year: int, ys) -> None:
    access.household(session, h.hh.id)
    d.glyphs.where = f"户 {h.no}"
    s = d.story
    s.append(Mark(d.t(h.mark)))
    s += d.heading(f"{TITLE}（{year} 年度）")
    a = h.assessment
    r = h.result
    rid = income.latest_record_ids(session, year, [h.hh.id]).get(h.hh.id)
    record = next((x for x in income.records(session, h.hh.id, year) if x.id == rid), None)
    w = d.width
    size = a.size if a else len(h.members)
    info = [["户编号", h.no, "户主姓名", h.head],
            ["家庭住址", d.p(h.address, "cell"), "联系电话", h.hh.phone or ""],
            ["统计期", f"{ys.period_start.isoformat()} 至 {ys.period_end.isoformat()}", "家庭人口",
             f"{size} 人（{ys.status_time_point.isoformat()} 状态时点）"],
            ["采集日期", cn_date(record.collected_on, "") if record else "", "采集人",
             (record.collected_by or "") if record else ""]]
    s.append(d.table(info, [w * 0.14, w * 0.42, w * 0.14, w * 0.30], header=0, size=9,
                     extra=[("ALIGN", (0, 0), (-1, -1), "LEFT"), ("BACKGROUND", (0, 0), (0, -1), SHADE),
                            ("BACKGROUND", (2, 0), (2, -1), SHADE)]))
    s.append(d.gap(2))

    names = income.item_names()
    by_item = defaultdict(list)
    if record is not None:
        for ln in record.lines:
            by_item[ln.item].append(ln)
    blank = record is None
    catalog = income.line_catalog(session) if blank else {}
    totals = r.totals if r else (record.totals if record else None)
    rows = [["项目", "明细", "金额（元）", "说明"]]
    extra = []

    def group(code: str) -> None:
        first = len(rows)
        lines = by_item.get(code, [])
        if blank:
            rows.extend(["", name, "", ""] for name in catalog.get(code, []))
        elif not lines:
            rows.append(["", "（无）", rules.yuan(income.ZERO), ""])
        for ln in lines:
            rows.append(["", ln.line, rules.yuan(ln.amount), d.p(ln.note or "", "cell")])
        if len(rows) == first:  # an item without catalog lines: one empty line to write on
            rows.append(["", "", "", ""])
        rows[first][0] = f"{code} {names[code]}"
        subtotal = "" if blank or totals is None else rules.yuan(getattr(totals, code))
        rows.append(["", "小计", subtotal, ""])  # the lines first, then their sum, as on a ledger
        extra.append(("BACKGROUND", (1, len(rows) - 1), (-1, len(rows) - 1), SHADE))
        if not blank:  # the blank sheet is long: no spans, so it may break between any two lines
            extra.append(("SPAN", (0, first), (0, len(rows) - 1)))
            extra.append(("VALIGN", (0, first), (0, len(rows) - 1), "MIDDLE"))

    def result(target: list, cmds: list, code: str, label: str, value) -> None:
        n = len(target)
        target.append([f"{code} {label}", "", "" if value is None else rules.yuan(value), ""])
        cmds.extend([("SPAN", (0, n), (1, n)), ("BACKGROUND", (0, n), (-1, n), SHADE)])

    for code in FIRST:
        group(code)
    result(rows, extra, "A33", "家庭纯收入 = A28+A29+A30+A31−A32", r.A33 if r else None)
    result(rows, extra, "A34", f"家庭人均纯收入 = A33 ÷ {size} 人", r.A34 if r else None)
    for code in SECOND:
        group(code)
    tail, tail_cmds = [], []
    result(tail, tail_cmds, "A37", "纳入监测对象的收入参考范围 = A33+A35−A36", r.A37 if r else None)
    result(tail, tail_cmds, "A38", f"纳入监测对象的人均收入参考范围 = A37 ÷ {size} 人", r.A38 if r else None)
    widths = [w * 0.24, w * 0.28, w * 0.18, w * 0.30]
    align = [("ALIGN", (0, 1), (1, -1), "LEFT"), ("ALIGN", (2, 1), (2, -1), "RIGHT")]
    pad = 1.5 if blank else 2.2
    s.append(d.table(rows, widths, header=1, size=9, padding=pad, extra=extra + align))
    if blank:
        note = f"尚无 {year} 年收入记录：请入户采集后手工填写金额。"
    elif r is None:
        note = (a.suggestion.reasons[0] if a and a.suggestion.reasons else "无法计算人均收入") + "。"
    else:
        below = "低于" if r.A38 < a.line else "不低于"
        note = f"{year} 年省定防止返贫监测线 {rules.line_text(a.line)} 元/人·年；人均收入参考范围（A38）{below}监测线。"
    # The last results, the notes and the signatures stay together: a signature never stands alone.
    s.append(KeepTogether([
        d.table(tail, widths, header=0, size=9, padding=pad,
                extra=tail_cmds + [("ALIGN", (0, 0), (1, -1), "LEFT"), ("ALIGN", (2, 0), (2, -1), "RIGHT")]),
        d.gap(1.5), d.p(note, "small"), d.p("本表一式两份，采集人与被采集人（户主）签字确认后各留存一份。", "small"),
        d.gap(3), d.signatures([("采集人签字：", None), ("日期：", "        年      月      日"),
                                ("被采集人（户主）签字：", None), ("日期：", "        年      月      日")],
                               columns=2)]))
    s.append(PageBreak())


def make(session, sc, kind: str, year: int, as_of):
    access.report_scope(session, sc)
    ys = year_settings(session, year)
    ids = household_ids(session, sc, MONITORED, poverty_alleviated_too=True)
    d = Document(TITLE, sc.township_name)
    n = 0
    for h in load(session, sc, ids, year, as_of, with_measures=False):
        add(session, d, h, year, ys)
        n += 1
    if d.story:
        d.story.pop()
    else:
        d.nobody()
    d.glyphs.where = ""
    return d, n
