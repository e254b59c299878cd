"""到户政策享受清单 per household [002 §二]: the assistance measures in effect during the year's
统计期 (services.measures.measures: category, item, member, dates, amount, responsible unit,
developmental or not, state), the members' insurance, 低保 and 特困 flags, and both signatures
(采集人 / 被采集人). 低保 and 特困供养 that members enjoy (A20, A21) are listed under A48 even
when no measure row was recorded for them, as the 信息采集表 ticks them. Landscape: the measure
table is wide.
"""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether

from .. import access, rules
from .. import measures as measures_mod
from ..codes import codes, measure_catalog
from .base import SHADE, Document, Page, iso, yes_no
from .common import MONITORED, household_ids, measure_window, year_settings
from .households import assistance_from_members, load

TITLE = "到户政策享受清单"
MEASURE_HEAD = ["序号", "措施类别", "措施项目", "受益成员", "开始日期", "结束日期", "金额（元）", "责任单位", "开发式",
                "状态"]
MEASURE_WIDTHS = (0.05, 0.12, 0.15, 0.11, 0.09, 0.09, 0.09, 0.14, 0.06, 0.10)
MEMBER_HEAD = ["序号", "姓名", "与户主关系", "基本医疗保险", "大病保险", "基本养老保险", "享受低保", "特困供养",
               "易地扶贫搬迁"]
MEMBER_WIDTHS = (0.06, 0.18, 0.11, 0.11, 0.09, 0.11, 0.12, 0.11, 0.11)
DATE_BLANK = "        年      月      日"
SIGNED = "本清单一式两份，采集人与被采集人（户主）签字确认后各留存一份。"


def _state(m, as_of) -> str:
    if m.ended_on is not None and m.ended_on <= as_of:
        return f"已中止（{m.ended_reason}）" if m.ended_reason else "已中止"
    if m.active:
        return "实施中"
    if m.start_date and m.start_date > as_of:
        return "未开始"
    return "已结束"


def add(session, d: Document, h, year: int, as_of, window) -> None:
    access.household(session, h.hh.id)
    d.begin(f"户 {h.no}", h.mark)
    s = d.story
    s += d.heading(f"{TITLE}（{year} 年度）")
    w = d.width
    hh = h.hh
    a = h.assessment
    status = codes("monitoring_status").name(hh.monitoring_status)
    category = codes("category").name(hh.a3_category) or "—"
    info = [["户编号", h.no, "户主姓名", h.head, "家庭人口", f"{a.size if a else len(h.members)} 人"],
            ["家庭住址", h.address, "监测状态", status, "监测对象类别", category],
            ["脱贫户", {True: "是", False: "否"}.get(hh.a4_poverty_alleviated, "未登记"), "识别监测时间",
             iso(hh.identified_on),
             "监测联系人", f"{hh.a55_contact_person or ''} {hh.contact_phone or ''}".strip()]]
    s.append(d.table(info, [w * 0.08, w * 0.34, w * 0.10, w * 0.16, w * 0.11, w * 0.21], header=0,
                     extra=[("ALIGN", (0, 0), (-1, -1), "LEFT")] +
                     [("BACKGROUND", (c, 0), (c, -1), SHADE) for c in (0, 2, 4)]))

    start, end = window
    rows = [list(MEASURE_HEAD)]
    shown = [m for m in measures_mod.measures(session, hh.id, as_of)
             if (m.start_date is None or m.start_date <= end) and (m.end_date is None or m.end_date >= start)
             and (m.ended_on is None or m.ended_on >= start)]
    for i, m in enumerate(shown, 1):
        rows.append([str(i), f"{m.category} {m.category_name}", m.item or "—", m.member_name or "全户",
                     iso(m.start_date), iso(m.end_date) or "—", rules.yuan(m.amount) if m.amount is not None else "",
                     m.responsible_unit, "是" if m.developmental else "否", _state(m, as_of)])
    recorded = {(m.category, m.item) for m in shown}
    a48 = next(c["name"] for c in measure_catalog() if c["code"] == "A48")
    dibao, tekun = codes("dibao"), codes("tekun")
    for cat, item in sorted(assistance_from_members(h.members) - recorded):
        who = [m.name for m in h.members
               if (item == "低保" and m.a20_dibao not in (None, "", "00"))
               or (item == "特困供养" and m.a21_tekun not in (None, "", "00"))]
        source = "A20 享受低保" if item == "低保" else "A21 特困供养"
        rows.append([str(len(rows)), f"{cat} {a48}", item, "、".join(who), "", "", "", f"（成员信息 {source}）", "否",
                     "享受中"])
    empty = len(rows) == 1
    if empty:
        rows.append(["", "统计期内无帮扶措施"] + [""] * 8)
    heading = f"一、享受的帮扶措施（统计期 {start.isoformat()} 至 {end.isoformat()} 内实施）"
    s.append(KeepTogether([d.gap(2), d.p(heading, "h")]))
    s.append(d.table(rows, [w * x for x in MEASURE_WIDTHS], header=1,
                     extra=([("SPAN", (1, 1), (-1, 1))] if empty else [])
                     + [("ALIGN", (6, 1), (6, -1), "RIGHT")]))

    names = {k: codes(k) for k in ("relation", "dibao", "tekun")}
    mrows = [list(MEMBER_HEAD)]
    for i, m in enumerate(h.members, 1):
        mrows.append([str(i), m.name, names["relation"].name(m.relation), yes_no(m.a17_medical),
                      yes_no(m.a18_serious_illness), yes_no(m.a19_pension), dibao.name(m.a20_dibao),
                      tekun.name(m.a21_tekun), yes_no(m.a22_relocated)])
    s.append(d.gap(2))
    s.append(d.p("二、家庭成员参保和社会保障情况", "h"))
    s.append(d.table(mrows, [w * x for x in MEMBER_WIDTHS], header=1))
    s.append(KeepTogether([d.gap(2), d.p(SIGNED, "small"), d.gap(2),
                           d.signatures([("采集人签字：", None), ("日期：", DATE_BLANK),
                                         ("被采集人（户主）签字：", None), ("日期：", DATE_BLANK)], columns=2)]))


def make(session, sc, kind: str, year: int, as_of):
    access.report_scope(session, sc)
    ids = household_ids(session, sc, MONITORED, poverty_alleviated_too=True)
    window = measure_window(year_settings(session, year))
    d = Document(TITLE, sc.township_name,
                 Page(landscape=True, left=15 * mm, right=15 * mm, top=16 * mm, bottom=14 * mm))
    n = 0
    for h in load(session, sc, ids, year, as_of, with_measures=False):
        add(session, d, h, year, as_of, window)
        n += 1
    d.end()
    if not n:
        d.nobody()
    return d, n
