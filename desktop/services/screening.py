"""Key-check lists for a concentrated screening (集中排查, SPEC §6.3; [000 §一(一)], [003] 五个必查).

Each listed household carries every reason it is listed, in Chinese, naming the numbers.
Thresholds are settings of the year (settings.DEFAULT_THRESHOLDS).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEntry, Clue, Household, IncomeRecord, Measure, Member, ScreeningVisit
from . import access, income, rules
from . import assess as assess_mod
from .codes import codes

REASONS = {
    "new_guarantee": "本年度新纳入低保或特困",
    "income_fell": "脱贫户人均纯收入较上年下降",
    "income_fell_twice": "脱贫户人均纯收入连续两年下降",
    "quarter_drop": "季度收入明显下降",
    "risk_type": "存在务工不稳、产业失败或意外事故风险",
    "disabled_member": "有残疾家庭成员",
    "unstable_wage": "工资性收入占比高且务工不稳定",
    "rigid_expense": "刚性支出较大",
    "relief_channel": "通过申报或预警渠道反映困难",
}
WATCHED_RISKS = ("05", "06", "07")  # 因意外事故, 因产业项目失败, 因务工就业不稳
RELIEF_SOURCES = ("01", "03", "04")  # 农户申报, 部门预警, 12317平台
CLUE_SOURCE = "02"  # 干部排查: a risk found on a screening visit
OUTCOMES = {"no_risk": "无风险", "clue": "发现风险，已登记线索", "already_monitored": "已是监测对象",
            "other": "其他"}


@dataclass
class KeyCheck:
    household_id: int
    household_no: str
    village_id: int
    head_name: str
    reasons: dict[str, str] = field(default_factory=dict)  # reason key → Chinese detail
    visited_on: date | None = None
    outcome: str | None = None
    note: str | None = None

    @property
    def reason_texts(self) -> list[str]:
        return [f"{REASONS[k]}：{v}" if v else REASONS[k] for k, v in self.reasons.items()]


def _d(x) -> Decimal:
    return Decimal(str(x))


def key_checks(session: Session, year: int, as_of: date) -> list[KeyCheck]:
    villages = access.scope(session)
    ys = assess_mod.year_settings(session, year)
    th = ys.thresholds
    start, end = ys.period_start, ys.period_end
    hh = {r.id: r for r in session.execute(select(Household.id, Household.household_no, Household.village_id,
                                                  Household.head_name, Household.a4_poverty_alleviated,
                                                  Household.a27_risk_types))}
    out: dict[int, KeyCheck] = {}

    def add(hid: int, key: str, detail: str = "") -> None:
        h = hh[hid]
        kc = out.setdefault(hid, KeyCheck(hid, h.household_no, h.village_id, h.head_name or ""))
        kc.reasons[key] = detail

    # New 低保 / 特困 in the period: a 综合保障 measure starting in it, or an audited change of A20/A21.
    q = select(Measure.household_id, Measure.item).where(Measure.category == "A48",
                                                         Measure.item.in_(("低保", "特困供养")),
                                                         Measure.start_date >= start, Measure.start_date <= end)
    for hid, item in session.execute(q):
        add(hid, "new_guarantee", f"{item}措施自统计期内开始")
    q = (select(AuditEntry.household_id, AuditEntry.field, AuditEntry.new)
         .where(AuditEntry.table_name == "member", AuditEntry.field.in_(("a20_dibao", "a21_tekun")),
                AuditEntry.at >= datetime.combine(start, time.min),
                AuditEntry.at < datetime.combine(end + timedelta(days=1), time.min)))
    for hid, fld, new in session.execute(q):
        if hid in hh and new not in (None, "00"):
            add(hid, "new_guarantee", f"{'低保' if fld == 'a20_dibao' else '特困'}身份于统计期内登记")

    # Per-capita income this year against the two before (脱贫户 only).
    sizes = {y: income.sizes_at(session, s.status_time_point) for y, s in
             ((y, assess_mod.settings.get_year(session, y)) for y in (year, year - 1, year - 2)) if s}
    totals = {y: income.totals_for_year(session, y) for y in sizes}

    def per_capita(hid, y):
        t, n = totals.get(y, {}).get(hid), sizes.get(y, {}).get(hid, 0)
        return income.compute(t, n).A34 if t is not None and n else None
    drop = _d(th["income_drop_ratio"])
    for hid, h in hh.items():
        if not h.a4_poverty_alleviated:
            continue
        now, last, before = per_capita(hid, year), per_capita(hid, year - 1), per_capita(hid, year - 2)
        if now is None or last is None or last <= 0:
            continue
        if now < last * (1 - drop):
            add(hid, "income_fell", f"{year - 1} 年 {rules.yuan(last)} 元 → {year} 年 {rules.yuan(now)} 元")
            if before is not None and last < before:
                add(hid, "income_fell_twice", f"{year - 2} 年 {rules.yuan(before)} 元起连续下降")

    # Between quarterly collections of the year (quarter None is the annual record, not a collection of a quarter).
    qdrop = _d(th["quarter_drop_ratio"])
    recs = defaultdict(list)
    for hid, rid, _on in session.execute(select(IncomeRecord.household_id, IncomeRecord.id, IncomeRecord.collected_on)
                                        .where(IncomeRecord.year == year, IncomeRecord.quarter.is_not(None),
                                               IncomeRecord.collected_on.is_not(None))
                                        .order_by(IncomeRecord.collected_on, IncomeRecord.id)):
        recs[hid].append(rid)
    several = {hid: rids[-2:] for hid, rids in recs.items() if len(rids) >= 2}
    if several:
        by_record = _record_a33(session, [r for rids in several.values() for r in rids])
        for hid, (prev, last) in several.items():
            a, b = by_record.get(prev), by_record.get(last)
            if a is not None and b is not None and a > 0 and b < a * (1 - qdrop):
                add(hid, "quarter_drop", f"家庭纯收入由 {rules.yuan(a)} 元降至 {rules.yuan(b)} 元")

    risk_names = codes("risk_type")
    for hid, h in hh.items():
        hit = [c for c in (h.a27_risk_types or []) if c in WATCHED_RISKS]
        if hit:
            add(hid, "risk_type", "、".join(risk_names.name(c) for c in hit))

    disabled = codes("health").code_of("残疾")
    for hid, name in session.execute(select(Member.household_id, Member.name)
                                     .where(Member.status == "normal", Member.health == disabled)):
        add(hid, "disabled_member", name)

    # Wage share and unstable work; rigid expenses.
    wage_share, months, rigid = _d(th["wage_share"]), int(th["unstable_work_months"]), _d(th["rigid_expense_ratio"])
    unstable = defaultdict(list)
    for hid, name, m in session.execute(select(Member.household_id, Member.name, Member.work_months)
                                        .where(Member.status == "normal", Member.work_months.is_not(None),
                                               Member.work_months > 0, Member.work_months < months)):
        unstable[hid].append(f"{name}务工 {m} 个月")
    for hid, t in totals.get(year, {}).items():
        gross = t.A28 + t.A29 + t.A30 + t.A31
        if hid in unstable and gross > 0 and t.A28 / gross > wage_share:
            add(hid, "unstable_wage", f"工资性收入占 {t.A28 / gross:.0%}，{'；'.join(unstable[hid])}")
        a33 = gross - t.A32
        if t.A36 > 0 and (a33 <= 0 or t.A36 > a33 * rigid):
            add(hid, "rigid_expense", f"合规自付支出 {rules.yuan(t.A36)} 元，家庭纯收入 {rules.yuan(a33)} 元")

    src = codes("clue_source")
    for hid, source, on in session.execute(select(Clue.household_id, Clue.source, Clue.reported_on)
                                           .where(Clue.household_id.is_not(None), Clue.source.in_(RELIEF_SOURCES),
                                                  Clue.reported_on >= start, Clue.reported_on <= end)):
        add(hid, "relief_channel", f"{on} {src.name(source)}")

    for v in session.scalars(select(ScreeningVisit).where(ScreeningVisit.year == year,
                                                         ScreeningVisit.household_id.in_(list(out)))):
        kc = out[v.household_id]
        kc.visited_on, kc.outcome, kc.note = v.visited_on, v.outcome, v.note
    return sorted((k for k in out.values() if villages is None or k.village_id in villages),
                  key=lambda k: k.household_no)


def _record_a33(session: Session, record_ids: list[int]) -> dict[int, Decimal]:
    from ..models import IncomeLine
    lines = defaultdict(list)
    for rid, item, amount in session.execute(select(IncomeLine.record_id, IncomeLine.item, IncomeLine.amount)
                                             .where(IncomeLine.record_id.in_(record_ids))):
        lines[rid].append(income.LineData(item, "", amount))
    out = {}
    for rid in record_ids:
        t = income.Totals.from_lines(lines.get(rid, []))
        out[rid] = t.A28 + t.A29 + t.A30 + t.A31 - t.A32
    return out


def mark_visited(session: Session, household_id: int, year: int, visited_on: date, outcome: str,
                 note: str | None = None) -> int | None:
    """Record the visit of a listed household. A visit that found a risk registers a clue (线索, source
    干部排查) naming why the household was listed, to be taken to identification in 认定流程.
    Returns the new clue's id, if one was registered."""
    access.household(session, household_id, write=True)
    if outcome not in OUTCOMES:
        raise ValueError(f"未知的排查结果：{outcome}")
    v = session.scalar(select(ScreeningVisit).where(ScreeningVisit.household_id == household_id,
                                                    ScreeningVisit.year == year))
    if v is None:
        v = ScreeningVisit(household_id=household_id, year=year)
        session.add(v)
    found_before = v.outcome == "clue"
    v.visited_on, v.outcome, v.note = visited_on, outcome, (note or "").strip() or None
    v.visited_by = session.info.get("user")
    session.flush()
    if outcome != "clue" or found_before:
        return None
    from . import workflow
    description = f"{year} 年集中排查走访发现风险" + (f"：{v.note}" if v.note else "")
    return workflow.record_clue(session, CLUE_SOURCE, visited_on, household_id=household_id,
                                description=description, reporter=v.visited_by)
