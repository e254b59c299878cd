"""收入核算明细表 per household [002 §二, 004 §四]: every detail line of the year's record
grouped by A28…A36 with amounts and 说明, the subtotals, A33/A34/A37/A38 (services.income via
services.assess), the household size at the status time point, collection date and collector,
and the two signatures (采集人 / 被采集人) with dates: the sheet is signed by both and kept in two
copies. A household without a record for the year gets the blank sheet of the default lines,
to be filled in by hand.

Layout: each item is its own table whose first row names the item; a long item breaks across
pages between its lines (a long 说明 within its row) with the item's name repeated at the top of
the next page. The results (A33, A34, A37, A38), the notes and both signatures are kept together
on the last page, so the household never signs a page without the figures.
"""

from __future__ import annotations

from collections import defaultdict

from reportlab.platypus import KeepTogether

from .. import access, income, rules
from .base import SHADE, Document, cn_date
from .common import MONITORED, household_ids, year_settings
from .households import load

TITLE = "收入核算明细表"
FIRST = ("A28", "A29", "A30", "A31", "A32")
SECOND = ("A35", "A36")
COLUMNS = (0.30, 0.20, 0.50)  # 明细, 金额, 说明
DATE_BLANK = "        年      月      日"
SIGNATURES = [("采集人签字：", None), ("日期：", DATE_BLANK), ("被采集人（户主）签字：", None), ("日期：", DATE_BLANK)]
SIGNED = "本表一式两份，采集人与被采集人（户主）签字确认后各留存一份。"


def add(session, d: Document, h, year: int, ys) -> None:
    access.household(session, h.hh.id)
    d.begin(f"户 {h.no}", h.mark)
    s = d.story
    s += d.heading(f"{TITLE}（{year} 年度）")
    a = h.assessment
    r = h.result
    rid = income.latest_record_ids(session, year, [h.hh.id]).get(h.hh.id)
    record = next((x for x in income.records(session, h.hh.id, year) if x.id == rid), None)
    w = d.width
    size = a.size if a else len(h.members)
    info = [["户编号", h.no, "户主姓名", h.head],
            ["家庭住址", h.address, "联系电话", h.hh.phone or ""],
            ["统计期", f"{ys.period_start.isoformat()} 至 {ys.period_end.isoformat()}", "家庭人口",
             f"{size} 人（{ys.status_time_point.isoformat()} 状态时点）"],
            ["采集日期", cn_date(record.collected_on, "") if record else "",
             "采集人", (record.collected_by or "") if record else ""]]
    s.append(d.table(info, [w * 0.13, w * 0.42, w * 0.13, w * 0.32], header=0,
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
    widths = [w * x for x in COLUMNS]
    s.append(d.table([["明细", "金额（元）", "说明"]], widths, header=1))
    pad = 1.5 if blank else 2.2

    def item(code: str) -> None:
        rows = [[f"{code} {names[code]}", "", ""]]
        lines = by_item.get(code, [])
        if blank:
            rows += [[name, "", ""] for name in catalog.get(code, [])]
        elif not lines:
            rows.append(["（无）", rules.yuan(income.ZERO), ""])
        for ln in lines:
            rows.append([ln.line, rules.yuan(ln.amount), d.p(ln.note or "", "cell")])
        if len(rows) == 1:  # an item without catalog lines: one empty line to write on
            rows.append(["", "", ""])
        subtotal = "" if blank or totals is None else rules.yuan(getattr(totals, code))
        rows.append([f"{code} 小计", subtotal, ""])
        # Row 0 (the item's name) is repeated at the top of a page when the item breaks there.
        s.append(d.table(rows, widths, header=1, padding=pad,
                         extra=[("SPAN", (0, 0), (-1, 0)), ("ALIGN", (0, 0), (-1, 0), "LEFT"),
                                ("ALIGN", (0, 1), (0, -1), "LEFT"), ("ALIGN", (1, 1), (1, -1), "RIGHT"),
                                ("ALIGN", (2, 1), (2, -1), "LEFT"),
                                ("BACKGROUND", (0, -1), (-1, -1), SHADE)]))

    for code in FIRST + SECOND:
        item(code)

    results = []
    for code, label, value in (
            ("A33", "家庭纯收入 = A28+A29+A30+A31−A32", r.A33 if r else None),
            ("A34", f"家庭人均纯收入 = A33 ÷ {size} 人", r.A34 if r else None),
            ("A37", "纳入监测对象的收入参考范围 = A33+A35−A36", r.A37 if r else None),
            ("A38", f"纳入监测对象的人均收入参考范围 = A37 ÷ {size} 人", r.A38 if r else None)):
        results.append([f"{code} {label}", "" if value is None else rules.yuan(value)])
    if blank:
        note = f"尚无 {year} 年收入记录：请入户采集后手工填写金额。"
    elif r is None:
        note = (a.suggestion.reasons[0] if a and a.suggestion.reasons else "无法计算人均收入") + "。"
    else:
        below = "低于" if r.below(a.line, "A38") else "不低于"  # the exact value, as assess compares
        note = f"{year} 年省定防止返贫监测线 {rules.line_text(a.line)} 元/人·年；人均收入参考范围（A38）{below}监测线。"
    # The results, the notes and the signatures stay together: a signature never stands alone.
    s.append(KeepTogether([
        d.gap(2),
        d.table([["核算结果", "金额（元）"]] + results, [w * 0.70, w * 0.30], header=1, padding=pad,
                extra=[("ALIGN", (0, 1), (0, -1), "LEFT"), ("ALIGN", (1, 1), (1, -1), "RIGHT")]),
        d.gap(1.5), d.p(note, "small"), d.p(SIGNED, "small"),
        d.gap(3), d.signatures(SIGNATURES, columns=2)]))


def make(session, sc, kind: str, year: int, as_of):
    access.report_scope(session, sc)
    ys = year_settings(session, year)
    ids = household_ids(session, sc, MONITORED, poverty_alleviated_too=True)
    d = Document(TITLE, sc.township_name)
    n = 0
    for h in load(session, sc, ids, year, as_of, with_measures=False):
        add(session, d, h, year, ys)
        n += 1
    d.end()
    if not n:
        d.nobody()
    return d, n
