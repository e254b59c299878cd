"""防止返贫监测帮扶汇总表 per village and for the township: households and persons by category
and by monitoring status, newly identified and removed in the year, green channel, measures by
type (A39–A52), and the village ratio with the 2% flag (services.warnings.village_ratios and
services.rules.village_ratio). Counted in SQL; persons are the members of status 正常 (the
register's household size, as the ratio counts them). The same figures feed summary_xlsx.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether
from sqlalchemy import func, or_, select

from ...models import Household, Measure, Member
from .. import access, income, rules, warnings
from ..codes import codes, measure_catalog
from ..db import among
from .base import FLAG, GRID, TOTAL, Document, Page, cn_date
from .common import Scope, measure_window, village_list, year_settings, year_window
from .households import assistance_from_members

TITLE = "防止返贫监测帮扶汇总表"
IDENTIFIED = ("monitoring", "removing", "removed")  # 监测对象 (identified), 已消除风险 included
STATUSES = ("identifying", "monitoring", "removing", "removed", "green", "cleared")
CATEGORIES = ("01", "02", "03")
FLAG_MARK = "▲"  # a village above 2 %: a mark that survives black-and-white copies


@dataclass
class Row:
    village_id: int | None
    village: str
    households: int = 0  # all households of the register
    persons: int = 0
    identified: list[int] = field(default_factory=lambda: [0, 0])  # 户, 人
    by_category: dict[str, list[int]] = field(default_factory=lambda: {c: [0, 0] for c in CATEGORIES})
    unremoved: list[int] = field(default_factory=lambda: [0, 0])  # rules.UNREMOVED: 监测中、消除中、绿色通道
    by_status: dict[str, list[int]] = field(default_factory=lambda: {s: [0, 0] for s in STATUSES})
    new: list[int] = field(default_factory=lambda: [0, 0])
    removed_in_year: list[int] = field(default_factory=lambda: [0, 0])
    green: list[int] = field(default_factory=lambda: [0, 0])
    measures: Counter = field(default_factory=Counter)
    ratio: rules.VillageRatio | None = None

    def add(self, other: "Row") -> None:
        self.households += other.households
        self.persons += other.persons
        for mine, theirs in ((self.identified, other.identified), (self.unremoved, other.unremoved),
                             (self.new, other.new), (self.removed_in_year, other.removed_in_year),
                             (self.green, other.green)):
            mine[0] += theirs[0]
            mine[1] += theirs[1]
        for c in CATEGORIES:
            self.by_category[c][0] += other.by_category[c][0]
            self.by_category[c][1] += other.by_category[c][1]
        for s in STATUSES:
            self.by_status[s][0] += other.by_status[s][0]
            self.by_status[s][1] += other.by_status[s][1]
        self.measures.update(other.measures)


@dataclass
class Summary:
    year: int
    as_of: date
    window: tuple[date, date]  # 本年: new identifications and removals
    period: tuple[date, date]  # 统计期: the measures
    place: str
    rows: list[Row]
    total: Row


def compute(session, sc: Scope, year: int, as_of: date) -> Summary:
    access.report_scope(session, sc)
    villages = village_list(session, sc)
    rows = {vid: Row(vid, name) for vid, name, _ in villages}
    start, end = year_window(year, as_of)
    ys = year_settings(session, year)
    m_start, m_end = measure_window(ys)

    def narrow(q):
        if sc.household_ids is not None:
            return q.where(among(Household.id, sc.household_ids))
        if sc.village_id is not None:
            return q.where(Household.village_id == sc.village_id)
        return q
    size = func.coalesce(func.sum(Household.size), 0)
    base = (select(Household.village_id, Household.monitoring_status, Household.a3_category, func.count(), size)
            .group_by(Household.village_id, Household.monitoring_status, Household.a3_category))
    for vid, status, category, n, persons in session.execute(narrow(base)):
        r = rows.get(vid)
        if r is None:
            continue
        r.households += n
        r.persons += persons
        if status in r.by_status:
            r.by_status[status][0] += n
            r.by_status[status][1] += persons
        if status in IDENTIFIED:
            r.identified[0] += n
            r.identified[1] += persons
            if category in r.by_category:
                r.by_category[category][0] += n
                r.by_category[category][1] += persons
        if status in rules.UNREMOVED:
            r.unremoved[0] += n
            r.unremoved[1] += persons
        if status == "green":
            r.green[0] += n
            r.green[1] += persons
    for col, target in ((Household.identified_on, "new"), (Household.a54_removed_on, "removed_in_year")):
        q = (select(Household.village_id, func.count(), size).where(col >= start, col <= end)
             .group_by(Household.village_id))
        if target == "new":
            q = q.where(Household.monitoring_status.in_(IDENTIFIED))
        for vid, n, persons in session.execute(narrow(q)):
            if vid in rows:
                getattr(rows[vid], target)[:] = [n, persons]
    q = (select(Household.village_id, Measure.category, func.count())
         .join(Household, Household.id == Measure.household_id)
         .where(or_(Measure.start_date.is_(None), Measure.start_date <= m_end),
                or_(Measure.end_date.is_(None), Measure.end_date >= m_start),
                or_(Measure.ended_on.is_(None), Measure.ended_on >= m_start))
         .group_by(Household.village_id, Measure.category))
    for vid, category, n in session.execute(narrow(q)):
        if vid in rows:
            rows[vid].measures[category] += n
    # A48 低保 / 特困供养 that members enjoy (A20, A21) count as on the 采集表, unless recorded as a measure.
    for vid, n in _assistance_from_members(session, narrow, ys.status_time_point, (m_start, m_end)).items():
        if vid in rows:
            rows[vid].measures["A48"] += n
    population = {vid: pop for vid, _, pop in villages}
    if sc.household_ids is None:
        ratios = {v.village_id: v for v in warnings.village_ratios(session, as_of)}
        for vid, r in rows.items():
            r.ratio = ratios.get(vid) or rules.village_ratio(vid, r.village, 0, population.get(vid))
    else:  # listed households: the ratio of what is listed, by the same rule
        excluded = defaultdict(int)
        q = (select(Household.village_id, func.coalesce(func.sum(Household.size), 0))
             .where(among(Household.id, sc.household_ids), Household.monitoring_status.in_(rules.UNREMOVED),
                    Household.whole_no_labor_guarantee.is_(False)).group_by(Household.village_id))
        for vid, persons in session.execute(q):
            excluded[vid] = int(persons)
        for vid, r in rows.items():
            r.ratio = rules.village_ratio(vid, r.village, excluded[vid], population.get(vid))
    shown = [r for r in rows.values() if sc.household_ids is None or r.households]
    total = Row(None, "合计" if sc.village_id is not None or sc.household_ids is not None else "全镇合计")
    for r in shown:
        total.add(r)
    pops = [population.get(r.village_id) for r in shown]
    total_pop = sum(p for p in pops if p) or None
    total.ratio = rules.village_ratio(0, total.village, sum(r.ratio.persons for r in shown if r.ratio), total_pop)
    return Summary(year, as_of, (start, end), (m_start, m_end), sc.place, shown, total)


def _assistance_from_members(session, narrow, point: date, window: tuple[date, date]) -> Counter:
    """village → A48 items (低保, 特困供养) households have by their members' A20/A21 and not as a
    recorded measure of the 统计期: the same rule as households.assistance_from_members."""
    start, end = window
    has = defaultdict(set)  # household → items by its members
    where = {}
    q = (select(Member.household_id, Household.village_id, Member.a20_dibao, Member.a21_tekun)
         .join(Household, Household.id == Member.household_id)
         .where(income.alive_at(point), or_(Member.a20_dibao.not_in(("00", "")), Member.a21_tekun.not_in(("00", "")))))
    for hid, vid, dibao, tekun in session.execute(narrow(q)):
        members = [SimpleNamespace(a20_dibao=dibao, a21_tekun=tekun)]
        has[hid] |= {item for _, item in assistance_from_members(members)}
        where[hid] = vid
    if not has:
        return Counter()
    recorded = set()
    q = (select(Measure.household_id, Measure.item).join(Household, Household.id == Measure.household_id)
         .where(Measure.category == "A48", Measure.item.in_(("低保", "特困供养")),
                or_(Measure.start_date.is_(None), Measure.start_date <= end),
                or_(Measure.end_date.is_(None), Measure.end_date >= start),
                or_(Measure.ended_on.is_(None), Measure.ended_on >= start)))
    for hid, item in session.execute(narrow(q)):
        recorded.add((hid, item))
    out = Counter()
    for hid, items in has.items():
        out[where[hid]] += sum(1 for item in items if (hid, item) not in recorded)
    return out


def pct(ratio) -> str:
    return "—" if ratio is None else f"{ratio * 100:.2f}%"


def table_rows(s: Summary) -> dict[str, tuple[list[list], list[list]]]:
    """Headers (two rows) and body rows of the three tables, shared by the PDF and the workbook.
    Counts are ints; the village ratio is the exact Decimal (None without a population)."""
    cat = codes("category")
    st = codes("monitoring_status")
    all_rows = s.rows + [s.total]
    t1_head = [["序号", "行政村", "总户数", "总人数", "监测对象合计", "",
                *sum(([cat.name(c), ""] for c in CATEGORIES), []),
                "未消除风险（含绿色通道）", "", "本年新识别", "", "本年风险消除", "", "绿色通道", ""],
               ["", "", "", "", *(["户", "人"] * 8)]]
    t1 = []
    for i, r in enumerate(all_rows, 1):
        seq = str(i) if r.village_id is not None else ""
        t1.append([seq, r.village, r.households, r.persons, *r.identified,
                   *sum((r.by_category[c] for c in CATEGORIES), []), *r.unremoved, *r.new, *r.removed_in_year,
                   *r.green])
    t2_head = [["序号", "行政村", *sum(([st.name(x), ""] for x in STATUSES), []), "农村户籍人口",
                "未消除风险人数", "占比", "超过 2%"],
               ["", "", *(["户", "人"] * len(STATUSES)), "", "（不含整户无劳动能力兜底保障户）", "", ""]]
    t2 = []
    for i, r in enumerate(all_rows, 1):
        seq = str(i) if r.village_id is not None else ""
        ratio = r.ratio
        t2.append([seq, r.village, *sum((r.by_status[x] for x in STATUSES), []),
                   ratio.population if ratio and ratio.population else "—", ratio.persons if ratio else 0,
                   ratio.ratio if ratio else None, "是" if ratio and ratio.flagged else "否"])
    cats = measure_catalog()
    t3_head = [["序号", "行政村", *[f"{c['code']}\n{c['name']}" for c in cats], "合计"]]
    t3 = []
    for i, r in enumerate(all_rows, 1):
        seq = str(i) if r.village_id is not None else ""
        counts = [r.measures.get(c["code"], 0) for c in cats]
        t3.append([seq, r.village, *counts, sum(counts)])
    return {"category": (t1_head, t1), "status": (t2_head, t2), "measures": (t3_head, t3)}


def _spans(head: list[list], first_single: int, pairs_from: int, pairs: int, tail_single: int = 0) -> list:
    out = [("SPAN", (c, 0), (c, 1)) for c in range(first_single)]
    for k in range(pairs):
        c = pairs_from + 2 * k
        out.append(("SPAN", (c, 0), (c + 1, 0)))
    start = pairs_from + 2 * pairs
    out += [("SPAN", (c, 0), (c, 1)) for c in range(start, start + tail_single) if head[1][c] == ""]
    return out


def make(session, sc: Scope, kind: str, year: int, as_of: date):
    access.report_scope(session, sc)
    s = compute(session, sc, year, as_of)
    title = f"{s.place}{TITLE}（{year} 年度）"
    d = Document(title, sc.township_name, Page(landscape=True, left=12 * mm, right=12 * mm, top=16 * mm,
                                                 bottom=14 * mm))
    st = d.story
    st += d.heading(title, f"统计截至 {cn_date(as_of)}；本年指 {cn_date(s.window[0])}至{cn_date(s.window[1])}；"
                           f"帮扶措施按统计期 {cn_date(s.period[0])}至{cn_date(s.period[1])}；人数为正常状态家庭成员")
    t = table_rows(s)
    w = d.width

    def grid(head, body, widths, spans, extra=()):
        data = [[c if isinstance(c, str) else pct(c) if c is None or isinstance(c, Decimal) else str(c)
                 for c in row] for row in head + body]
        cmds = list(spans) + [("ALIGN", (0, 0), (-1, -1), "CENTER"), ("ALIGN", (1, len(head)), (1, -1), "LEFT"),
                              ("BACKGROUND", (0, -1), (-1, -1), TOTAL)] + list(extra)
        return d.table(data, widths, header=len(head), padding=1.6, extra=cmds)

    head, body = t["category"]
    widths = [w * 0.035, w * 0.125, w * 0.05, w * 0.05] + [w * 0.74 / 16] * 16
    st.append(d.p("一、监测对象户数、人数（按类别）", "h"))
    st.append(grid(head, body, widths, _spans(head, 4, 4, 8)))

    head, body = t["status"]
    body = [row[:-1] + [FLAG_MARK + row[-1] if row[-1] == "是" else row[-1]] for row in body]
    widths = [w * 0.035, w * 0.125] + [w * 0.5 / 12] * 12 + [w * 0.08, w * 0.12, w * 0.06, w * 0.08]
    # A village above 2 %: "▲是", a heavy frame round its row and a light fill (not colour alone:
    # the sheet is copied and scanned in black and white).
    flagged = []
    for i, r in enumerate(s.rows + [s.total]):
        if r.ratio and r.ratio.flagged:
            flagged += [("BACKGROUND", (15, 2 + i), (-1, 2 + i), FLAG), ("BOX", (0, 2 + i), (-1, 2 + i), 1.8, GRID)]
    st.append(d.p(f"二、按监测状态；未消除风险人数占农村户籍人口比例（超过 2% 的村标 {FLAG_MARK} 并加粗框线）", "h"))
    st.append(grid(head, body, widths, _spans(head, 2, 2, 6, 4), flagged))

    head, body = t["measures"]
    widths = [w * 0.035, w * 0.125] + [w * 0.84 / 15] * 15
    st.append(d.p("三、帮扶措施（项，统计期内实施的措施按类型统计）", "h"))
    st.append(grid(head, body, widths, []))
    st.append(d.gap(1.5))
    st.append(d.p("说明：监测对象指已识别的监测中、消除中、已消除风险户；未消除风险指监测中、消除中和绿色通道户"
                  "（与预警中心、2% 占比同一口径）；本年新识别按识别监测时间、本年风险消除按风险消除时间（A54）统计；"
                  "帮扶措施按统计期统计；占比 = 未消除风险人数（不含整户无劳动能力兜底保障户）÷ 农村户籍人口。",
                  "small"))
    st.append(KeepTogether([d.gap(3), d.signatures([("填表人：", None), ("审核人：", None),
                                                    ("填报日期：", cn_date(as_of))], columns=3, stamp="单位（盖章）")]))
    return d, s.total.households
