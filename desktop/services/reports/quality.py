"""数据质量检查报告 (SPEC §10): the findings of services.checks.run_checks grouped by code with
counts, then the list. An internal working paper."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from reportlab.platypus import KeepTogether
from sqlalchemy import select

from ...models import Household
from .. import access, checks
from .base import TOTAL, Document, cn_date
from .common import in_scope, region_names

TITLE = "数据质量检查报告"


def make(session, sc, kind: str, year: int, as_of: date):
    access.report_scope(session, sc)
    title = f"{sc.place}{TITLE}（{year} 年度）"
    d = Document(title, sc.township_name)
    allowed = in_scope(session, sc)
    findings = checks.run_checks(session, year, as_of, household_ids=None if allowed is None else sorted(allowed))
    info = {no: (hid, head, vid) for hid, no, head, vid in session.execute(
        select(Household.id, Household.household_no, Household.head_name, Household.village_id))}
    names = region_names(session)
    s = d.story
    households = {f.household_no for f in findings}
    s += d.heading(title, f"检查日期 {cn_date(as_of)}；共 {len(findings)} 条问题，涉及 {len(households)} 户")
    count = Counter(f.code for f in findings)
    hh_by_code = defaultdict(set)
    for f in findings:
        hh_by_code[f.code].add(f.household_no)
    rows = [["序号", "问题代码", "问题类型", "问题条数", "涉及户数"]]
    for i, code in enumerate(checks.CODES, 1):
        rows.append([str(i), code, checks.TITLES[code], str(count[code]), str(len(hh_by_code[code]))])
    rows.append(["", "", "合计", str(len(findings)), str(len(households))])
    w = d.width
    s.append(d.p("一、问题分类统计", "h"))
    s.append(d.table(rows, [w * 0.08, w * 0.32, w * 0.34, w * 0.13, w * 0.13], header=1, padding=1.6,
                     extra=[("ALIGN", (0, 0), (-1, -1), "CENTER"), ("ALIGN", (1, 1), (2, -1), "LEFT"),
                            ("BACKGROUND", (0, -1), (-1, -1), TOTAL)]))
    lrows = [["序号", "户编号", "户主", "行政村", "问题类型", "问题说明"]]
    for i, f in enumerate(findings, 1):
        _, head, vid = info.get(f.household_no, (None, "", None))
        lrows.append([str(i), f.household_no, head or "", names.get(vid, ""), d.p(f.title, "cell"),
                      d.p(f.message, "cell")])
    if not findings:
        lrows.append(["", "（未发现问题）"] + [""] * 4)
    s.append(d.p("二、问题清单", "h"))
    s.append(d.table(lrows, [w * x for x in (0.06, 0.17, 0.08, 0.11, 0.14, 0.44)], header=1,
                     extra=[("ALIGN", (1, 1), (-1, -1), "LEFT")]
                     + ([("SPAN", (1, 1), (-1, 1))] if not findings else [])))
    s.append(KeepTogether([d.gap(3), d.signatures([("检查人：", None), ("审核人：", None), ("日期：", cn_date(as_of))],
                                                  columns=3)]))
    return d, len(households)
