"""集中排查 summary [000 §一(一), 003 五个必查]: households screened per village (the year's
visits), key-check households by reason (services.screening.key_checks) with how many were
visited, new identifications in the year, then the list of key-check households and why.
An internal working paper: household numbers appear, as on the work lists.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether
from sqlalchemy import func, select

from ...models import Household, ScreeningVisit
from .. import access, screening
from .base import TOTAL, Document, Page, cn_date, iso
from .common import in_scope, region_names, village_list, year_window

TITLE = "防止返贫监测帮扶集中排查情况汇总"


def make(session, sc, kind: str, year: int, as_of: date):
    access.report_scope(session, sc)
    title = f"{sc.place}{TITLE}（{year} 年度）"
    d = Document(title, sc.township_name, Page(landscape=True, left=14 * mm, right=14 * mm, top=16 * mm,
                                                 bottom=14 * mm))
    allowed = in_scope(session, sc)
    start, end = year_window(year, as_of)
    villages = village_list(session, sc)
    names = region_names(session)

    def narrow(q):
        return q if allowed is None else q.where(Household.id.in_(sorted(allowed)))
    households = Counter()
    for vid, n in session.execute(narrow(select(Household.village_id, func.count()).group_by(Household.village_id))):
        households[vid] = n
    visits = defaultdict(Counter)
    q = (select(Household.village_id, ScreeningVisit.outcome, func.count())
         .join(Household, Household.id == ScreeningVisit.household_id)
         .where(ScreeningVisit.year == year, ScreeningVisit.visited_on.is_not(None))
         .group_by(Household.village_id, ScreeningVisit.outcome))
    for vid, outcome, n in session.execute(narrow(q)):
        visits[vid][outcome or "other"] += n
        visits[vid]["_all"] += n
    new = Counter()
    q = (select(Household.village_id, func.count())
         .where(Household.identified_on >= start, Household.identified_on <= end,
                Household.monitoring_status.in_(("monitoring", "removing", "removed")))
         .group_by(Household.village_id))
    for vid, n in session.execute(narrow(q)):
        new[vid] = n
    checks = [k for k in screening.key_checks(session, year, as_of) if allowed is None or k.household_id in allowed]
    key_by_village = Counter(k.village_id for k in checks)

    s = d.story
    s += d.heading(title, f"统计截至 {cn_date(as_of)}；本年新识别按识别监测时间（{iso(start)} 至 {iso(end)}）统计")
    outcomes = list(screening.OUTCOMES)
    rows = [["序号", "行政村", "农户数", "已排查户数", "排查覆盖率", *[screening.OUTCOMES[o] for o in outcomes],
             "重点核查户数", "本年新识别户数"]]
    tot = Counter()
    for i, (vid, vname, _) in enumerate(villages, 1):
        if allowed is not None and not households[vid]:
            continue
        v = visits[vid]
        cover = f"{v['_all'] / households[vid] * 100:.1f}%" if households[vid] else "—"
        rows.append([str(i), vname, str(households[vid]), str(v["_all"]), cover, *[str(v[o]) for o in outcomes],
                     str(key_by_village[vid]), str(new[vid])])
        tot["h"] += households[vid]
        tot["all"] += v["_all"]
        for o in outcomes:
            tot[o] += v[o]
        tot["key"] += key_by_village[vid]
        tot["new"] += new[vid]
    cover = f"{tot['all'] / tot['h'] * 100:.1f}%" if tot["h"] else "—"
    rows.append(["", "合计", str(tot["h"]), str(tot["all"]), cover, *[str(tot[o]) for o in outcomes],
                 str(tot["key"]), str(tot["new"])])
    w = d.width
    widths = [w * 0.05, w * 0.17] + [w * 0.78 / (len(rows[0]) - 2)] * (len(rows[0]) - 2)
    s.append(d.p("一、排查户数", "h"))
    s.append(d.table(rows, widths, header=1,
                     extra=[("ALIGN", (0, 0), (-1, -1), "CENTER"), ("ALIGN", (1, 1), (1, -1), "LEFT"),
                            ("BACKGROUND", (0, -1), (-1, -1), TOTAL)]))

    by_reason = Counter()
    visited_by_reason = Counter()
    for k in checks:
        for key in k.reasons:
            by_reason[key] += 1
            visited_by_reason[key] += k.visited_on is not None
    rrows = [["序号", "核查原因", "户数", "已走访户数", "未走访户数"]]
    for i, (key, label) in enumerate(screening.REASONS.items(), 1):
        rrows.append([str(i), label, str(by_reason[key]), str(visited_by_reason[key]),
                      str(by_reason[key] - visited_by_reason[key])])
    visited = sum(1 for k in checks if k.visited_on)
    rrows.append(["", "重点核查户合计（一户可有多个原因）", str(len(checks)), str(visited), str(len(checks) - visited)])
    s.append(KeepTogether([d.p("二、重点核查户（按原因）", "h"),
                           d.table(rrows, [w * 0.06, w * 0.46, w * 0.16, w * 0.16, w * 0.16], header=1,
                                   extra=[("ALIGN", (0, 0), (-1, -1), "CENTER"), ("ALIGN", (1, 1), (1, -1), "LEFT"),
                                          ("BACKGROUND", (0, -1), (-1, -1), TOTAL)])]))

    lrows = [["序号", "行政村", "户编号", "户主", "核查原因", "走访日期", "排查结果"]]
    for i, k in enumerate(checks, 1):
        lrows.append([str(i), names.get(k.village_id, ""), k.household_no, k.head_name,
                      d.p("；".join(k.reason_texts), "cell"), iso(k.visited_on) or "未走访",
                      d.p(screening.OUTCOMES.get(k.outcome, "") + (f"（{k.note}）" if k.note else ""), "cell")])
    if not checks:
        lrows.append(["", "（无重点核查户）"] + [""] * 5)
    s.append(d.p("三、重点核查户名单", "h"))
    s.append(d.table(lrows, [w * x for x in (0.05, 0.11, 0.14, 0.08, 0.42, 0.08, 0.12)], header=1,
                     extra=[("ALIGN", (1, 1), (-1, -1), "LEFT")] + ([("SPAN", (1, 1), (-1, 1))] if not checks else [])))
    s.append(KeepTogether([d.gap(3), d.signatures([("填表人：", None), ("审核人：", None),
                                                   ("填报日期：", cn_date(as_of))], columns=3, stamp="单位（盖章）")]))
    return d, tot["h"]
