"""Household income exactly as the collection form computes it (seed 004 annex 1, notes 1–2).

    A33 家庭纯收入           = A28 + A29 + A30 + A31 − A32
    A34 家庭人均纯收入       = A33 / size
    A37 纳入监测收入参考范围 = A33 + A35 − A36
    A38 人均收入参考范围     = A37 / size

size = members of status 正常 at the status time point of the year. Money is Decimal, shown
with 2 decimals (half up); inputs are ≥ 0; size 0 is an error, never a division.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..models import Household, IncomeLine, IncomeRecord, Member
from . import access, settings
from .codes import income_items
from .errors import ServiceError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal(10) ** 10  # ten billion yuan: anything larger is a typing error
ITEMS = ("A28", "A29", "A30", "A31", "A32", "A35", "A36")
EXTRA_LINES_KEY = "income_extra_lines"


class IncomeError(ServiceError):
    pass


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_money(value, where: str = "") -> Decimal:
    """A non-negative amount from user text ("12,000元", full-width digits) or a number."""
    import unicodedata
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, (int,)):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(str(value))
    else:
        text = unicodedata.normalize("NFKC", str(value or "")).replace(",", "").replace("元", "").strip()
        if text == "":
            return ZERO
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise IncomeError(f"{where}“{value}”不是有效的金额") from None
    if not amount.is_finite():
        raise IncomeError(f"{where}“{value}”不是有效的金额")
    if amount < 0:
        raise IncomeError(f"{where}金额不能为负数：{value}")
    if amount >= MAX_AMOUNT:
        raise IncomeError(f"{where}金额“{value}”过大，不是有效的金额")
    return money(amount)


@dataclass(frozen=True)
class Totals:
    """Item totals A28–A32, A35, A36 of one household for one period."""

    A28: Decimal = ZERO
    A29: Decimal = ZERO
    A30: Decimal = ZERO
    A31: Decimal = ZERO
    A32: Decimal = ZERO
    A35: Decimal = ZERO
    A36: Decimal = ZERO

    @classmethod
    def from_lines(cls, lines) -> "Totals":
        sums = defaultdict(lambda: ZERO)
        for ln in lines:
            sums[ln.item] += ln.amount
        return cls(**{k: money(v) for k, v in sums.items() if k in ITEMS})


@dataclass(frozen=True)
class IncomeResult:
    size: int
    totals: Totals
    A33: Decimal
    A34: Decimal
    A37: Decimal
    A38: Decimal


def compute(totals: Totals, size: int) -> IncomeResult:
    """The four results of the form. A33 and A37 may be negative (expenses above income)."""
    if size is None or size <= 0:
        raise IncomeError("家庭人口数为 0（状态时点无正常成员），无法计算人均收入")
    for item in ITEMS:
        if getattr(totals, item) < 0:
            raise IncomeError(f"{item} 金额不能为负数")
    a33 = money(totals.A28 + totals.A29 + totals.A30 + totals.A31 - totals.A32)
    a37 = money(a33 + totals.A35 - totals.A36)
    return IncomeResult(size, totals, a33, money(a33 / size), a37, money(a37 / size))


# ---------------------------------------------------------------- detail lines as data

def item_names() -> dict[str, str]:
    return {it["code"]: it["name"] for it in income_items()}


def line_catalog(session: Session | None = None) -> dict[str, list[str]]:
    """Detail lines per item: the national defaults plus the township's own additions."""
    out = {it["code"]: list(it["lines"]) for it in income_items()}
    if session is not None:  # the township's own lines are a setting (read through settings.get_app)
        extra = json.loads(settings.get_app(session, EXTRA_LINES_KEY, "{}") or "{}")
        for item, lines in extra.items():
            out.setdefault(item, [])
            out[item] += [ln for ln in lines if ln not in out[item]]
    return out


def add_line(session: Session, item: str, line: str) -> None:
    access.manager(session, "增加收入明细项")
    line = (line or "").strip()
    if item not in ITEMS:
        raise IncomeError(f"未知的收入项：{item}")
    if not line:
        raise IncomeError("明细名称不能为空")
    if line in line_catalog(session)[item]:
        raise IncomeError(f"{item_names()[item]}下已有明细“{line}”")
    extra = json.loads(settings.get_app(session, EXTRA_LINES_KEY, "{}") or "{}")
    extra.setdefault(item, []).append(line)
    settings.set_app(session, EXTRA_LINES_KEY, json.dumps(extra, ensure_ascii=False))


# ---------------------------------------------------------------- household size at the time point

def alive_at(point: date):
    """SQL condition: a member of status 正常 at the time point (changes dated after it do not count)."""
    return or_(and_(Member.status == "normal", or_(Member.status_date.is_(None), Member.status_date <= point)),
               and_(Member.status != "normal", Member.status_date.is_not(None), Member.status_date > point))


def size_at(session: Session, household_id: int, point: date) -> int:
    access.household(session, household_id)
    return session.scalar(select(func.count()).select_from(Member)
                          .where(Member.household_id == household_id, alive_at(point))) or 0


def sizes_at(session: Session, point: date, household_ids: list[int] | None = None) -> dict[int, int]:
    household_ids = access.within(session, household_ids)
    q = select(Member.household_id, func.count()).where(alive_at(point)).group_by(Member.household_id)
    if household_ids is not None:
        q = q.where(Member.household_id.in_(household_ids))
    return dict(session.execute(q).all())


# ---------------------------------------------------------------- records

@dataclass
class LineData:
    item: str
    line: str
    amount: Decimal
    note: str | None = None


@dataclass
class RecordData:
    household_id: int
    year: int
    id: int | None = None
    quarter: int | None = None
    collected_on: date | None = None
    collected_by: str | None = None
    signatures_collected: bool = False
    note: str | None = None
    size: int | None = None
    lines: list[LineData] = field(default_factory=list)

    @property
    def totals(self) -> Totals:
        return Totals.from_lines(self.lines)


def validate_record(data: RecordData, as_of: date | None = None) -> list[str]:
    problems = []
    if data.quarter is not None and data.quarter not in (1, 2, 3, 4):
        problems.append(f"季度应为 1–4，现为 {data.quarter}")
    if as_of is not None and data.collected_on is not None and data.collected_on > as_of:
        problems.append(f"采集日期 {data.collected_on} 晚于今天 {as_of}")
    for i, ln in enumerate(data.lines, 1):
        if ln.item not in ITEMS:
            problems.append(f"第 {i} 条明细的收入项“{ln.item}”无效")
        if not (ln.line or "").strip():
            problems.append(f"第 {i} 条明细没有名称")
        if ln.amount is None or ln.amount < 0:
            problems.append(f"第 {i} 条明细（{ln.line}）金额不能为负数")
        elif ln.amount >= MAX_AMOUNT:
            problems.append(f"第 {i} 条明细（{ln.line}）金额过大")
    return problems


def save_record(session: Session, data: RecordData, as_of: date | None = None, user=None) -> int:
    """Create or replace a dated income record with its lines, all at once."""
    access.household(session, data.household_id, write=True)
    from .register import check_access
    problems = validate_record(data, as_of)
    hh = session.get(Household, data.household_id)
    if hh is None:
        problems.append("户不存在")
    if problems:
        raise IncomeError("；".join(problems))
    check_access(session, user, hh.village_id)
    if data.id is None:
        rec = IncomeRecord(household_id=data.household_id, year=data.year)
        session.add(rec)
    else:
        rec = session.get(IncomeRecord, data.id)
        if rec is None or rec.household_id != data.household_id:
            raise IncomeError("收入记录不存在")
        for old in session.scalars(select(IncomeLine).where(IncomeLine.record_id == rec.id)):
            session.delete(old)
    rec.year, rec.quarter, rec.collected_on = data.year, data.quarter, data.collected_on
    rec.collected_by = (data.collected_by or "").strip() or None
    rec.signatures_collected = bool(data.signatures_collected)
    rec.note = (data.note or "").strip() or None
    rec.size = data.size
    session.flush()
    for ln in data.lines:
        if ln.amount == 0 and not ln.note:
            continue  # an empty line of the form is not stored
        session.add(IncomeLine(record_id=rec.id, item=ln.item, line=ln.line.strip(), amount=money(ln.amount),
                               note=(ln.note or "").strip() or None))
    session.flush()
    return rec.id


def records(session: Session, household_id: int, year: int | None = None) -> list[RecordData]:
    access.household(session, household_id)
    q = select(IncomeRecord).where(IncomeRecord.household_id == household_id)
    if year is not None:
        q = q.where(IncomeRecord.year == year)
    recs = session.scalars(q.order_by(IncomeRecord.year.desc(), IncomeRecord.collected_on.desc(),
                                      IncomeRecord.id.desc())).all()
    lines = defaultdict(list)
    if recs:
        for ln in session.scalars(select(IncomeLine).where(IncomeLine.record_id.in_([r.id for r in recs]))
                                  .order_by(IncomeLine.id)):
            lines[ln.record_id].append(LineData(ln.item, ln.line, ln.amount, ln.note))
    return [RecordData(r.household_id, r.year, r.id, r.quarter, r.collected_on, r.collected_by,
                       r.signatures_collected, r.note, r.size, lines[r.id]) for r in recs]


def latest_record_ids(session: Session, year: int, household_ids: list[int] | None = None) -> dict[int, int]:
    """household id → the record that stands for the year: the latest collected (then newest)."""
    household_ids = access.within(session, household_ids)
    # Ascending, the last one seen wins: undated records first, so any dated record beats them.
    order = (IncomeRecord.collected_on.is_not(None), IncomeRecord.collected_on, IncomeRecord.id)
    q = select(IncomeRecord.household_id, IncomeRecord.id).where(IncomeRecord.year == year).order_by(*order)
    if household_ids is not None:
        q = q.where(IncomeRecord.household_id.in_(household_ids))
    out: dict[int, int] = {}
    for hid, rid in session.execute(q):
        out[hid] = rid  # ascending order: the last one seen wins
    return out


def totals_for_year(session: Session, year: int, household_ids: list[int] | None = None) -> dict[int, Totals]:
    """household id → item totals of its record for the year (households without one are absent)."""
    household_ids = access.within(session, household_ids)
    rec = latest_record_ids(session, year, household_ids)
    if not rec:
        return {}
    by_record = {rid: hid for hid, rid in rec.items()}
    sums: dict[int, dict[str, Decimal]] = defaultdict(dict)
    q = (select(IncomeLine.record_id, IncomeLine.item, func.sum(IncomeLine.amount))
         .group_by(IncomeLine.record_id, IncomeLine.item))
    if len(by_record) < 5000:
        q = q.where(IncomeLine.record_id.in_(list(by_record)))
    for rid, item, total in session.execute(q):  # Money's result processor turns the fen sum into yuan
        if rid in by_record and item in ITEMS:
            sums[by_record[rid]][item] = total
    return {hid: Totals(**sums.get(hid, {})) for hid in rec}


# ---------------------------------------------------------------- what the calculator window needs

@dataclass(frozen=True)
class CalculatorFacts:
    """One household's facts for the calculator of a year: who, how many, the line, and the facts
    of §6.1 other than income (taken from the assessment, not worked out again)."""

    household_id: int
    household_no: str
    head_name: str
    village: str
    year: int
    size: int
    status_time_point: date
    monitoring_line: Decimal
    rural_average: Decimal | None
    poverty_alleviated: bool
    guarantee_problems: list[str]
    risk_types: list[str]


def calculator_facts(session: Session, household_id: int, year: int, as_of: date) -> CalculatorFacts:
    access.household(session, household_id)
    from ..models import Region
    from . import assess  # assess builds on this module
    ys = assess.year_settings(session, year)
    hh = session.get(Household, household_id)
    if hh is None:
        raise IncomeError(f"户 #{household_id} 不存在")
    a = assess.assess(session, year, as_of, household_ids=[household_id])[0]
    village = session.get(Region, hh.village_id)
    return CalculatorFacts(household_id, hh.household_no, hh.head_name or "", village.name if village else "", year,
                           size_at(session, household_id, ys.status_time_point), ys.status_time_point,
                           ys.monitoring_line, ys.rural_average, a.poverty_alleviated, list(a.guarantee_problems),
                           list(a.risk_types))


def editable_lines(catalog: dict[str, list[str]], lines: list[LineData] = ()) -> list[LineData]:
    """Every line of the catalog (amount 0 unless recorded) in form order, with a record's lines filled in.

    A recorded line the catalog does not know (an old or imported one), or a second line of the same
    name, is kept as a line of its own after its item's lines, so editing never loses an amount."""
    rows: dict[str, list[LineData]] = {item: [LineData(item, name, ZERO) for name in catalog.get(item, [])]
                                       for item in ITEMS}
    free = {(ln.item, ln.line): ln for item_rows in rows.values() for ln in item_rows}
    for ln in lines:
        slot = free.pop((ln.item, ln.line), None)
        if slot is not None:
            slot.amount, slot.note = ln.amount, ln.note
        else:
            rows.setdefault(ln.item, []).append(LineData(ln.item, ln.line, ln.amount, ln.note))
    return [ln for item in rows for ln in rows[item]]
