"""Key-check lists for a concentrated screening (集中排查, SPEC §6.3; [000 §一(一)], [003] 五个必查 /
四个必到 / 六个必核, [004 §一(二)]).

Each listed household carries every reason it is listed, in Chinese, naming the numbers.
Thresholds are settings of the year (settings.DEFAULT_THRESHOLDS).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Clue, Household, Measure, Member, ScreeningVisit
from . import access, dataversion, income, rules, settings
from . import assess as assess_mod
from .codes import codes
from .db import among
from .errors import ServiceError
from .idnumber import age_on, parse_id


class ScreeningError(ServiceError):
    pass

REASONS = {
    # 000 §一(一) 五类对象, 003 五个必查, SPEC §6.3
    "new_guarantee": "本年度新纳入低保或特困",
    "income_fell": "人均纯收入较上年下降",
    "income_fell_twice": "脱贫户人均纯收入连续两年下降",
    "quarter_drop": "季度收入明显下降",
    "risk_type": "存在务工不稳、产业失败或意外事故风险",
    "relief_channel": "通过申报或预警渠道反映困难",
    "disabled_member": "有残疾家庭成员",
    "unstable_wage": "工资性收入占比高且务工不稳定",
    "rigid_expense": "刚性支出较大",
    # 003 四个必到
    "unemployed": "有失业人口",
    "sick_member": "有大病、重症或慢性病成员",
    "incapacitated_elderly": "有失能老年人",
    "on_guarantee": "低保或特困供养家庭",
    "petition": "舆情信访户",
    "guarantee_risk": "“三保障”和饮水安全存在隐患",
    # 003 六个必核
    "illness_risk": "存在因病致贫返贫风险",
    "guarantee_gap": "兜底保障不到位",
    "disabled_child": "有残疾（含智障）儿童",
    "studying_away": "有在外就读学生",
    "newly_disabled": "有新发生残疾的成员",
    # 004 §一(二)
    "new_with_student": "今年新增低保、大病或残疾且有学生",
    "policy_excluded_watch": "脱贫不享受政策户出现困难情形",
}
WATCHED_RISKS = ("05", "06", "07")  # 因意外事故, 因产业项目失败, 因务工就业不稳
ILLNESS_RISK = "01"  # 因病
RELIEF_SOURCES = ("01", "03", "04")  # 农户申报, 部门预警, 12317平台
CLUE_SOURCE = "02"  # 干部排查: a risk found on a screening visit
OUTCOMES = {"no_risk": "无风险", "clue": "发现风险，已登记线索", "already_monitored": "已是监测对象",
            "other": "其他"}
SICK = ("02", "03")  # 长期慢性病, 患有大病
SERIOUS_ILLNESS, DISABLED = "03", "04"
PRESCHOOL = "02"  # 学前教育: in school, but not a 学生 of 004's key group
ELDERLY_AGE, CHILD_AGE = 60, 18


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


def _age(id_number: str | None, point: date) -> int | None:
    born = parse_id(id_number).birth_date
    return age_on(born, point) if born is not None and born <= point else None


def key_checks(session: Session, year: int, as_of: date) -> list[KeyCheck]:
    """Every household a concentrated screening must visit, with every reason (SPEC §6.3). Kept for unchanged data
    (dataversion.cached: 集中排查 shown again, or after a check recorded in the ledger, reads no household again;
    seconds at county scale). The list is the caller's; treat its KeyChecks as read-only."""
    return list(dataversion.cached(session, "key_checks", (year, as_of, access.scope(session)),
                                   lambda: _key_checks(session, year, as_of)))


def _key_checks(session: Session, year: int, as_of: date) -> list[KeyCheck]:
    villages = access.scope(session)
    ys = assess_mod.year_settings(session, year)
    th = ys.thresholds
    start, end = ys.period_start, ys.period_end
    since, until = start, max(as_of, start)  # "本年度新增 / 今年以来": from the statistical year's start to now
    point = ys.status_time_point
    hh = {r.id: r for r in session.execute(select(
        Household.id, Household.household_no, Household.village_id, Household.head_name,
        Household.a4_poverty_alleviated, Household.a27_risk_types, Household.a23_housing_unsafe,
        Household.a24_school_dropout, Household.a25_water_unsafe, Household.petition,
        Household.policy_excluded_on).where(Household.closed_on.is_(None)))}  # closed (户注销): not visited
    out: dict[int, KeyCheck] = {}

    def add(hid: int, key: str, detail: str = "") -> None:
        h = hh[hid]
        kc = out.setdefault(hid, KeyCheck(hid, h.household_no, h.village_id, h.head_name or ""))
        if key in kc.reasons and detail and detail not in kc.reasons[key]:
            kc.reasons[key] = f"{kc.reasons[key]}、{detail}" if kc.reasons[key] else detail
        else:
            kc.reasons.setdefault(key, detail)

    members = defaultdict(list)
    for m in session.execute(select(Member.household_id, Member.name, Member.id_number, Member.health,
                                    Member.labor, Member.school, Member.work_months, Member.a17_medical,
                                    Member.a20_dibao, Member.a21_tekun, Member.a20_dibao_since,
                                    Member.a21_tekun_since, Member.unemployed, Member.incapacitated,
                                    Member.studying_away, Member.health_since)
                             .where(Member.status == "normal")):
        if m.household_id in hh:
            members[m.household_id].append(m)

    # New 低保 / 特困 [000 ①, 003 五个必查 ②]: the start date of a member's 低保 / 特困 (an unknown date
    # is not new — never the date it was typed or imported), or a 综合保障 measure starting in the period.
    new_guarantee: dict[int, list[str]] = defaultdict(list)
    for hid, ms in members.items():
        for m in ms:
            for enjoys, started, what in ((rules.enjoys_dibao(m.a20_dibao), m.a20_dibao_since, "低保"),
                                          (rules.enjoys_tekun(m.a21_tekun), m.a21_tekun_since, "特困供养")):
                if enjoys and started is not None and since <= started <= until:
                    new_guarantee[hid].append(f"{m.name}自 {started} 享受{what}")
    q = select(Measure.household_id, Measure.item, Measure.start_date).where(
        Measure.category == "A48", Measure.item.in_(("低保", "特困供养")), Measure.start_date >= since,
        Measure.start_date <= until)
    for hid, item, started in session.execute(q):
        if hid in hh:
            new_guarantee[hid].append(f"{item}措施自 {started} 开始")
    for hid, texts in new_guarantee.items():
        add(hid, "new_guarantee", "；".join(texts))

    # Per-capita income against last year, every household [003 ①, SPEC §6.3]; 脱贫户 two years running [000 ②].
    sizes = {y: income.sizes_at(session, s.status_time_point) for y, s in
             ((y, settings.get_year(session, y)) for y in (year, year - 1, year - 2)) if s}
    totals = {y: income.totals_for_year(session, y) for y in sizes}
    drop = _d(th["income_drop_ratio"])

    computed: dict[tuple[int, int], income.IncomeResult | None] = {}

    def result(hid, y):  # income.compute once per household and year (the rigid expenses below read it again)
        if (hid, y) not in computed:
            t, n = totals.get(y, {}).get(hid), sizes.get(y, {}).get(hid, 0)
            computed[hid, y] = income.compute(t, n) if t is not None and n else None
        return computed[hid, y]

    def per_capita(hid, y):
        r = result(hid, y)
        return r.exact("A34") if r is not None else None

    def fell(new, old) -> bool:
        return new is not None and old is not None and (new < old * (1 - drop) if old > 0 else new < old)

    def shown(value) -> str:
        return f"{rules.yuan(income.money(value))} 元"

    fell_now: set[int] = set()
    for hid, h in hh.items():
        now, last, before = per_capita(hid, year), per_capita(hid, year - 1), per_capita(hid, year - 2)
        if fell(now, last):
            fell_now.add(hid)
            add(hid, "income_fell", f"{year - 1} 年 {shown(last)} → {year} 年 {shown(now)}")
            if h.a4_poverty_alleviated and fell(last, before):
                add(hid, "income_fell_twice",
                    f"{year - 2} 年 {shown(before)} → {year - 1} 年 {shown(last)} → {year} 年 {shown(now)}")

    # Between quarterly collections of the year [000 ③] (services.income.clear_falls, also the removal warning).
    falls = income.clear_falls(session, _d(th["quarter_drop_ratio"]), start, until, last_only=True)
    for hid, f in falls.items():
        if hid in hh:
            add(hid, "quarter_drop", f.text)

    risk_names = codes("risk_type")
    for hid, h in hh.items():
        risks = h.a27_risk_types or []
        hit = [c for c in risks if c in WATCHED_RISKS]
        if hit:
            add(hid, "risk_type", "、".join(risk_names.name(c) for c in hit))
        if ILLNESS_RISK in risks:
            add(hid, "illness_risk", "登记了因病风险")
        bad = [name for name, v in (("住房", h.a23_housing_unsafe), ("义务教育", h.a24_school_dropout),
                                    ("饮水", h.a25_water_unsafe)) if v]
        if any(m.a17_medical is False for m in members.get(hid, ())):
            bad.append("基本医疗保险")
        if bad:
            add(hid, "guarantee_risk", "、".join(bad))
        if h.petition:
            add(hid, "petition")

    # Members: 四个必到 / 六个必核 / 五个必查 ③ / 004's key groups.
    months, wage_share, rigid = int(th["unstable_work_months"]), _d(th["wage_share"]), _d(th["rigid_expense_ratio"])
    in_school = codes("school").codes_with("in_school") - {PRESCHOOL}
    health = codes("health")
    unstable = defaultdict(list)
    for hid, ms in members.items():
        h = hh[hid]
        students = [m.name for m in ms if m.school in in_school]
        new_hardship = list(new_guarantee.get(hid, ()))
        for m in ms:
            # the age matters only for a disabled child or an incapacitated elder: the ID is read only for them
            age = _age(m.id_number, point) if m.health == DISABLED or m.incapacitated else None
            if m.health == DISABLED:
                add(hid, "disabled_member", m.name)
                if age is not None and age < CHILD_AGE:
                    add(hid, "disabled_child", f"{m.name}（{age} 周岁）")
            if m.health in SICK:
                add(hid, "sick_member", f"{m.name}（{health.name(m.health)}）")
            new = m.health_since is not None and since <= m.health_since <= until
            if m.health in (SERIOUS_ILLNESS, DISABLED) and new:
                new_hardship.append(f"{m.name}自 {m.health_since} {health.name(m.health)}")
                if m.health == DISABLED:
                    add(hid, "newly_disabled", f"{m.name}自 {m.health_since}")
            if m.unemployed:
                add(hid, "unemployed", m.name)
            if m.incapacitated and age is not None and age >= ELDERLY_AGE:
                add(hid, "incapacitated_elderly", f"{m.name}（{age} 周岁）")
            if m.studying_away:
                add(hid, "studying_away", m.name)
            if m.work_months is not None and 0 < m.work_months < months:
                unstable[hid].append(f"{m.name}务工 {m.work_months} 个月")
        guaranteed = [m.name for m in ms if rules.enjoys_dibao(m.a20_dibao) or rules.enjoys_tekun(m.a21_tekun)]
        if guaranteed:
            add(hid, "on_guarantee", "、".join(guaranteed))
        facts = [rules.MemberFacts(m.labor, m.a17_medical, m.a20_dibao, m.a21_tekun) for m in ms]
        if rules.whole_household_cannot_work(facts) and not guaranteed:
            add(hid, "guarantee_gap", "整户无劳动能力，无人享受低保或特困供养")
        if students and new_hardship:
            add(hid, "new_with_student", f"{'；'.join(new_hardship)}；学生：{'、'.join(students)}")
        if h.policy_excluded_on is not None:
            watch = []
            if students:
                watch.append(f"学生 {'、'.join(students)}")
            if guaranteed:
                watch.append(f"低保或特困 {'、'.join(guaranteed)}")
            watch += [f"{m.name}{health.name(m.health)}" for m in ms if m.health in (SERIOUS_ILLNESS, DISABLED)]
            if unstable.get(hid):
                watch.append("务工不稳定")
            if hid in fell_now or hid in falls:
                watch.append("收入下降")
            if watch:
                add(hid, "policy_excluded_watch", f"{h.policy_excluded_on} 认定不享受政策；{'；'.join(watch)}")

    # Wage share and unstable work; rigid expenses [003 五个必查 ④⑤].
    for hid, t in totals.get(year, {}).items():
        if hid not in hh:
            continue
        gross = t.A28 + t.A29 + t.A30 + t.A31
        if hid in unstable and gross > 0 and t.A28 / gross > wage_share:
            add(hid, "unstable_wage", f"工资性收入占 {t.A28 / gross:.0%}，{'；'.join(unstable[hid])}")
        n = sizes.get(year, {}).get(hid, 0)
        if not n:
            continue
        a33 = result(hid, year).A33
        if t.A36 > 0 and (a33 <= 0 or t.A36 > a33 * rigid):
            add(hid, "rigid_expense", f"合规自付支出 {rules.yuan(t.A36)} 元，家庭纯收入 {rules.yuan(a33)} 元")

    src = codes("clue_source")
    for hid, source, on in session.execute(select(Clue.household_id, Clue.source, Clue.reported_on)
                                           .where(Clue.household_id.is_not(None), Clue.source.in_(RELIEF_SOURCES),
                                                  Clue.reported_on >= start, Clue.reported_on <= end)):
        if hid in hh:
            add(hid, "relief_channel", f"{on} {src.name(source)}")

    for v in session.scalars(select(ScreeningVisit).where(ScreeningVisit.year == year,
                                                         among(ScreeningVisit.household_id, list(out)))):
        kc = out[v.household_id]
        kc.visited_on, kc.outcome, kc.note = v.visited_on, v.outcome, v.note
    return sorted((k for k in out.values() if villages is None or k.village_id in villages),
                  key=lambda k: k.household_no)


@dataclass(frozen=True)
class KeyCheckList:
    checks: list[KeyCheck]
    village_names: dict[int, str]


def key_check_list(session: Session, year: int, as_of: date, user=None) -> KeyCheckList:
    """The screening page's list: the key checks a user may see (their villages), with village names."""
    access.logged_in(session)  # key_checks narrows to the user's villages
    from . import regions
    checks = key_checks(session, year, as_of)
    if user is not None and user.village_ids is not None:
        checks = [k for k in checks if k.village_id in user.village_ids]
    return KeyCheckList(checks, regions.names(session))


def validate_visit(household_ids: list[int], visited_on: date | None, outcome: str | None,
                   as_of: date | None = None) -> list[str]:
    """Everything wrong with a visit before it is recorded (the dialog shows this list)."""
    problems = []
    if not household_ids:
        problems.append("请先选择要标记的户")
    if visited_on is None:
        problems.append("请填写走访日期")
    elif as_of is not None and visited_on > as_of:
        problems.append(f"走访日期 {visited_on} 晚于今天 {as_of}")
    if outcome not in OUTCOMES:
        problems.append("请选择排查结果")
    return problems


def mark_visits(session: Session, household_ids: list[int], year: int, visited_on: date, outcome: str,
                note: str | None = None, *, user=None, as_of: date | None = None) -> list[int]:
    """One user action: every selected household marked visited in one transaction. Returns the ids
    of the clues registered (one per household whose visit found a risk)."""
    access.households(session, household_ids, write=True)
    from .register import check_access
    problems = validate_visit(household_ids, visited_on, outcome, as_of)
    if problems:
        raise ScreeningError("；".join(problems))
    clues = []
    for hid in household_ids:
        hh = session.get(Household, hid)
        if hh is None:
            raise ScreeningError(f"户 #{hid} 不存在")
        check_access(session, user, hh.village_id)
        clue = mark_visited(session, hid, year, visited_on, outcome, note)
        if clue is not None:
            clues.append(clue)
    return clues


def mark_visited(session: Session, household_id: int, year: int, visited_on: date, outcome: str,
                 note: str | None = None) -> int | None:
    """Record the visit of a listed household. A visit that found a risk registers a clue (线索, source
    干部排查) naming why the household was listed, to be taken to identification in 认定流程.
    Returns the new clue's id, if one was registered."""
    access.household(session, household_id, write=True)
    if outcome not in OUTCOMES:
        raise ScreeningError(f"未知的排查结果：{outcome}")
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
