"""Assistance measures (帮扶措施, A39–A52) and the assistance plan of a household.

The plan is due within 10 days of identification [001 §23]; the developmental rule of §6.2
is a warning, never a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Household, Measure, Member
from . import access, concurrency, rules
from .codes import measure_catalog
from .errors import ServiceError
from .income import IncomeError, parse_money

PLAN_DAYS = 10
TERM_ITEMS = {("A41", "小额信贷"), ("A47", "雨露计划")}  # continue to their end after removal [001 §19]


class MeasureError(ServiceError):
    pass


@dataclass
class MeasureData:
    household_id: int
    category: str
    item: str | None = None
    id: int | None = None
    member_id: int | None = None
    start_date: date | None = None
    end_date: date | None = None
    amount: Decimal | None = None
    responsible_unit: str | None = None
    developmental_override: bool | None = None
    developmental_note: str | None = None
    raises_working_ability: bool = False
    case_id: int | None = None
    version: int | None = None  # as read (get_measure): a save over a newer change is refused (concurrency)


@dataclass(frozen=True)
class MeasureRow:
    id: int
    category: str
    category_name: str
    item: str
    member_name: str
    start_date: date | None
    end_date: date | None
    amount: Decimal | None
    responsible_unit: str
    developmental: bool
    overridden: bool
    developmental_note: str
    active: bool
    ended_on: date | None
    ended_reason: str
    continues_after_removal: bool


def categories() -> dict[str, dict]:
    return {c["code"]: c for c in measure_catalog()}


def validate(data: MeasureData) -> list[str]:
    problems = []
    cat = categories().get(data.category)
    if cat is None:
        return [f"帮扶措施类别“{data.category}”无效"]
    items = [i["name"] for i in cat["items"]]
    if items and data.item not in items:
        problems.append(f"“{cat['name']}”的措施项目应为：{'、'.join(items)}")
    if data.start_date and data.end_date and data.end_date < data.start_date:
        problems.append(f"结束日期 {data.end_date} 早于开始日期 {data.start_date}")
    if data.amount is not None:
        try:
            parse_money(data.amount, "金额")
        except IncomeError as e:
            problems.append(str(e))
    if data.developmental_override is not None and not (data.developmental_note or "").strip():
        problems.append("改变“是否开发式”的默认判断须写明理由")
    return problems


def save_measure(session: Session, data: MeasureData, user=None) -> int:
    access.household(session, data.household_id, write=True)
    from .register import check_access
    problems = validate(data)
    hh = concurrency.lock_household(session, data.household_id)  # one seat at a time changes its measures
    if hh is None:
        problems.append("户不存在")
    else:
        check_access(session, user, hh.village_id)
    if data.member_id is not None:
        m = session.get(Member, data.member_id)
        if m is None or m.household_id != data.household_id:
            problems.append("受益成员不属于本户")
    if problems:
        raise MeasureError("；".join(problems))
    row = session.get(Measure, data.id) if data.id is not None else None
    if data.id is not None and (row is None or row.household_id != data.household_id):
        raise MeasureError("帮扶措施不存在")
    if row is not None:
        concurrency.expect_version(session, row, data.version)
    else:
        _refuse_twin(session, hh, data)
        row = Measure(household_id=data.household_id, category=data.category)
        session.add(row)
    row.category, row.item, row.member_id = data.category, data.item or None, data.member_id
    row.start_date, row.end_date, row.case_id = data.start_date, data.end_date, data.case_id
    row.amount = parse_money(data.amount) if data.amount is not None else None
    row.responsible_unit = (data.responsible_unit or "").strip() or None
    row.developmental_override = data.developmental_override
    row.developmental_note = (data.developmental_note or "").strip() or None
    row.raises_working_ability = bool(data.raises_working_ability)
    session.flush()
    return row.id


def _refuse_twin(session: Session, hh: Household, data: MeasureData) -> None:
    """A new measure the same as one the household already has running (same category, item, member and start):
    another seat saved it first; a second copy would count twice."""
    twin = session.scalars(select(Measure).where(
        Measure.household_id == hh.id, Measure.category == data.category,
        Measure.item.is_(None) if not data.item else Measure.item == data.item,
        Measure.member_id.is_(None) if data.member_id is None else Measure.member_id == data.member_id,
        Measure.start_date.is_(None) if data.start_date is None else Measure.start_date == data.start_date,
        Measure.ended_on.is_(None))).first()
    if twin is not None:
        who = concurrency.describe_change(session, "measure", twin.id) or "已登记"
        raise concurrency.Conflict(f"户 {hh.household_no} 的帮扶措施“{data.item or data.category}”"
                                   f"（开始日期 {data.start_date or '未填'}）{who}，不再重复登记。{concurrency.RELOAD}")


def end_measure(session: Session, measure_id: int, on: date, reason: str, user=None) -> None:
    access.owned(session, Measure, measure_id, write=True)
    from .register import check_access
    hid = session.scalar(select(Measure.household_id).where(Measure.id == measure_id))
    if hid is None:
        raise MeasureError("帮扶措施不存在")
    concurrency.lock_household(session, hid)  # then read as stored now: another seat may have ended it
    row = session.get(Measure, measure_id, populate_existing=True)
    check_access(session, user, session.get(Household, row.household_id).village_id)
    if row.ended_on is not None:
        raise MeasureError(f"该措施已于 {row.ended_on} 中止")
    if not (reason or "").strip():
        raise MeasureError("请填写中止原因")
    row.ended_on, row.ended_reason = on, reason.strip()


def is_active(m: Measure, as_of: date) -> bool:
    return ((m.start_date is None or m.start_date <= as_of) and (m.end_date is None or m.end_date >= as_of)
            and (m.ended_on is None or m.ended_on > as_of))


def measures(session: Session, household_id: int, as_of: date) -> list[MeasureRow]:
    access.household(session, household_id)
    cats = categories()
    names = dict(session.execute(select(Member.id, Member.name).where(Member.household_id == household_id)).all())
    out = []
    for m in session.scalars(select(Measure).where(Measure.household_id == household_id)
                             .order_by(Measure.start_date, Measure.id)):
        out.append(MeasureRow(
            m.id, m.category, cats.get(m.category, {}).get("name", m.category), m.item or "",
            names.get(m.member_id, ""), m.start_date, m.end_date, m.amount, m.responsible_unit or "",
            rules.is_developmental(m.category, m.item, m.developmental_override, m.raises_working_ability),
            m.developmental_override is not None, m.developmental_note or "", is_active(m, as_of), m.ended_on,
            m.ended_reason or "", (m.category, m.item) in TERM_ITEMS or m.category == "A42"))
    return out


@dataclass(frozen=True)
class PlanStatus:
    due_on: date | None
    measures: int
    overdue: bool
    developmental_missing: bool
    message: str


def plan_status(session: Session, household_id: int, year: int, as_of: date) -> PlanStatus:
    """The assistance plan: due 10 days after identification; developmental rule as a warning."""
    access.household(session, household_id)
    from . import assess as assess_mod
    hh = session.get(Household, household_id)
    rows = measures(session, household_id, as_of)
    due = hh.identified_on + timedelta(days=PLAN_DAYS) if hh.identified_on else None
    overdue = due is not None and not rows and as_of > due
    try:
        [a] = assess_mod.assess(session, year, as_of, household_ids=[household_id])
        dev_missing = a.developmental_measure_missing
    except assess_mod.AssessError:
        dev_missing = False
    parts = []
    if due is not None:
        parts.append(f"帮扶计划应于 {due} 前制定" + ("，已逾期" if overdue else ""))
    parts.append(f"共 {len(rows)} 项措施，其中 {sum(r.active for r in rows)} 项正在实施")
    if dev_missing:
        parts.append("有劳动能力，至少应落实一项产业就业等开发式帮扶措施")
    return PlanStatus(due, len(rows), overdue, dev_missing, "；".join(parts))


def get_measure(session: Session, measure_id: int) -> MeasureData:
    """A measure as the edit form shows it (the inverse of save_measure)."""
    access.owned(session, Measure, measure_id)
    m = session.get(Measure, measure_id)
    if m is None:
        raise MeasureError("帮扶措施不存在")
    return MeasureData(m.household_id, m.category, m.item, m.id, m.member_id, m.start_date, m.end_date, m.amount,
                       m.responsible_unit, m.developmental_override, m.developmental_note,
                       bool(m.raises_working_ability), m.case_id, m.version)
