"""到户政策享受清单 per household [002 §二]: the assistance measures in effect during the year
(services.measures.measures: category, item, member, dates, amount, responsible unit,
developmental or not, state), the members' insurance, 低保 and 特困 flags, and both signatures
(采集人 / 被采集人). Landscape: the measure table is wide.
"""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, PageBreak

from .. import access, rules
from .. import measures as measures_mod
from ..codes import codes
from .base import SHADE, Document, Mark, Page, iso, yes_no
from .common import MONITORED, household_ids, year_window
from .households import load

TITLE = "到户政策享受清单"


def _state(m, as_of) -> str:
    if m.ended_on is not None and m.ended_on <= as_of:
        return f"已中止（{m.ended_reason}）" if m.ended_reason else "已中止"
    if m.active:
        return "实施中"
    if m.start_date and m.start_date > as_of:
        return "未开始"
    return "已结束"


def add(session, d: Document, h, year: int, as_of) -> None:
    access.household(session, h.hh.id)
    d.glyphs.where = f"户 {h.no}"
    s = d.story
    s.append(Mark(d.t(h.mark)))
    s += d.heading(f"{TITLE}（{year} 年度）")
    w = d.width
    hh = h.hh
    status = codes("monitoring_status").name(hh.monitoring_status)
    category = codes("category").name(hh.a3_category) or "—"
    info = [["户编号", h.no, "户主姓名", h.head, "家庭人口", f"{len(h.members)} 人"],
            ["家庭住址", d.p(h.address, "cell"), "监测状态", status, "监测对象类别", category],
            ["脱贫户", "是" if hh.a4_poverty_alleviated else "否", "识别监测时间", iso(hh.identified_on),
             "监测联系人", f"{hh.a55_contact_person or ''} {hh.contact_phone or ''}".strip()]]
    s.append(d.table(info, [w * 0.08, w * 0.34, w * 0.09, w * 0.17, w * 0.10, w * 0.22], header=0, size=9,
                     extra=[("ALIGN", (0, 0), (-1, -1), "LEFT")] +
                     [("BACKGROUND", (c, 0), (c, -1), SHADE) for c in (0, 2, 4)]))

    start, end = year_window(year, as_of)
    rows = [["序号", "措施类别", "措施项目", "受益成员", "开始日期", "结束日期", "金额（元）", "责任单位", "开发式",
             "状态"]]
    shown = [m for m in measures_mod.measures(session, hh.id, as_of)
             if (m.start_date is None or m.start_date <= end) and (m.end_date is None or m.end_date >= start)
             and (m.ended_on is None or m.ended_on >= start)]
    for i, m in enumerate(shown, 1):
        rows.append([str(i), f"{m.category} {m.category_name}", d.p(m.item or "—", "cell"), m.member_name or "全户",
                     iso(m.start_date), iso(m.end_date) or "—", rules.yuan(m.amount) if m.amount is not None else "",
                     d.p(m.responsible_unit, "cell"), "是" if m.developmental else "否", d.p(_state(m, as_of), "cell")])
    if not shown:
        rows.append(["", f"{year} 年度无帮扶措施"] + [""] * 8)
    widths = [w * x for x in (0.05, 0.13, 0.15, 0.09, 0.09, 0.09, 0.09, 0.14, 0.06, 0.11)]
    s.append(KeepTogether([d.gap(2),
                           d.p(f"一、享受的帮扶措施（{start.isoformat()} 至 {end.isoformat()} 期间实施）", "h")]))
    s.append(d.table(rows, widths, header=1, size=8,
                     extra=([("SPAN", (1, 1), (-1, 1))] if not shown else []) + [("ALIGN", (6, 1), (6, -1), "RIGHT")]))

    names = {k: codes(k) for k in ("relation", "dibao", "tekun")}
    mrows = [["序号", "姓名", "与户主关系", "基本医疗保险", "大病保险", "基本养老保险", "享受低保", "特困供养",
              "易地扶贫搬迁"]]
    for i, m in enumerate(h.members, 1):
        mrows.append([str(i), m.name, names["relation"].name(m.relation), yes_no(m.a17_medical),
                      yes_no(m.a18_serious_illness), yes_no(m.a19_pension), names["dibao"].name(m.a20_dibao),
                      names["tekun"].name(m.a21_tekun), yes_no(m.a22_relocated)])
    mw = [w * x for x in (0.06, 0.14, 0.12, 0.12, 0.1, 0.12, 0.12, 0.11, 0.11)]
    s.append(KeepTogether([d.gap(2), d.p("二、家庭成员参保和社会保障情况", "h"), d.table(mrows, mw, header=1, size=8.5),
                           d.gap(2), d.p("本清单一式两份，采集人与被采集人（户主）签字确认后各留存一份。", "small"),
                           d.gap(2),
                           d.signatures([("采集人签字：", None), ("日期：", "        年      月      日"),
                                         ("被采集人（户主）签字：", None), ("日期：", "        年      月      日")],
                                        columns=2)]))
    s.append(PageBreak())


def make(session, sc, kind: str, year: int, as_of):
    access.report_scope(session, sc)
    ids = household_ids(session, sc, MONITORED, poverty_alleviated_too=True)
    d = Document(TITLE, sc.township_name,
                 Page(landscape=True, left=15 * mm, right=15 * mm, top=16 * mm, bottom=14 * mm))
    n = 0
    for h in load(session, sc, ids, year, as_of, with_measures=False):
        add(session, d, h, year, as_of)
        n += 1
    if d.story:
        d.story.pop()
    else:
        d.nobody()
    d.glyphs.where = ""
    return d, n
