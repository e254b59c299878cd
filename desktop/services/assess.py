"""Assessment of every household for a year: income (§4), suggested category (§6.1), flags (§6.2).

One pass of a few set-based queries, so the whole county is assessed in seconds. The CLI
`assess`, the windows and the checks all take their facts from here.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import Household, Measure, Member
from . import access, income, rules, settings
from .errors import ServiceError
from .income import IncomeResult, Totals
from .rules import MemberFacts, Suggestion


class AssessError(ServiceError):
    pass


@dataclass
class Assessment:
    household_id: int
    household_no: str
    village_id: int
    year: int
    status: str
    category: str | None  # the household's current A3
    poverty_alleviated: bool
    identified_on: date | None
    size: int
    income: IncomeResult | None
    suggestion: Suggestion
    guarantee_problems: list[str]
    whole_household_no_labor: bool
    whole_no_labor_candidate: bool
    developmental_measure_required: bool
    developmental_measure_missing: bool
    warning_color: str | None
    line: Decimal
    risk_types: list[str] = field(default_factory=list)
    members: list[MemberFacts] = field(default_factory=list, repr=False)

    def to_json(self) -> dict:
        """The object of `assess` (SPEC §11); money stays Decimal for dumps() to print with 2 decimals."""
        r = self.income
        return {
            "household_no": self.household_no, "year": self.year, "size": self.size,
            "A33": r.A33 if r else None, "A34": r.A34 if r else None,
            "A37": r.A37 if r else None, "A38": r.A38 if r else None,
            "suggested_category": self.suggestion.category_name,
            "needs_review": self.suggestion.needs_review,
            "reasons": list(self.suggestion.reasons),
            "guarantee_problems": list(self.guarantee_problems),
            "whole_household_no_labor": self.whole_household_no_labor,
            "developmental_measure_required": self.developmental_measure_required,
            "developmental_measure_missing": self.developmental_measure_missing,
            "warning_color": self.warning_color,
        }

    def snapshot(self) -> dict:
        """A frozen copy of the facts a decision is based on (JSON-safe, money as text)."""
        data = self.to_json()
        for k in ("A33", "A34", "A37", "A38"):
            data[k] = None if data[k] is None else f"{data[k]:.2f}"
        if self.income:
            data["totals"] = {k: f"{getattr(self.income.totals, k):.2f}" for k in income.ITEMS}
        data["monitoring_line"] = f"{self.line:.2f}"
        return data




def dumps(objs: list) -> str:
    """A JSON array, one object a line, with Decimal money written as numbers with exactly 2
    decimals (5200.00, not 5200.0). Each object goes through the C encoder (no indent)."""
    def default(o):
        if isinstance(o, Decimal):
            return f"\x00D{o:.2f}"
        if isinstance(o, date):
            return o.isoformat()
        raise TypeError(type(o).__name__)
    encode = json.JSONEncoder(ensure_ascii=False, default=default).encode
    body = ",\n".join(encode(o) for o in objs)
    return re.sub(r'"\\u0000D(-?\d+\.\d{2})"', r"\1", f"[\n{body}\n]" if objs else "[]")


def year_settings(session: Session, year: int) -> settings.YearSettingsData:
    access.logged_in(session)
    ys = settings.get_year(session, year)
    if ys is None or ys.monitoring_line is None:
        raise AssessError(f"{year} 年度未设置监测线：请在“年度设置”中填写，"
                          f"或运行 config --year {year} --monitoring-line 金额")
    return ys


def member_facts(session: Session, point: date, household_ids: list[int] | None = None
                 ) -> dict[int, list[MemberFacts]]:
    """Members of status 正常 at the time point, per household."""
    household_ids = access.within(session, household_ids)
    q = (select(Member.household_id, Member.labor, Member.a17_medical, Member.a20_dibao, Member.a21_tekun)
         .where(income.alive_at(point)))
    if household_ids is not None and len(household_ids) < 5000:
        q = q.where(Member.household_id.in_(household_ids))
    out: dict[int, list[MemberFacts]] = defaultdict(list)
    for hid, labor, a17, a20, a21 in session.execute(q):
        out[hid].append(MemberFacts(labor, a17, a20, a21))
    return out


def active_measure_filter(as_of: date):
    return (or_(Measure.start_date.is_(None), Measure.start_date <= as_of),
            or_(Measure.end_date.is_(None), Measure.end_date >= as_of),
            or_(Measure.ended_on.is_(None), Measure.ended_on > as_of))


def households_with_developmental(session: Session, as_of: date) -> set[int]:
    access.logged_in(session)
    q = select(Measure.household_id, Measure.category, Measure.item, Measure.developmental_override,
               Measure.raises_working_ability).where(*active_measure_filter(as_of))
    return {hid for hid, cat, item, ov, raises in session.execute(q)
            if rules.is_developmental(cat, item, ov, raises)}


def assess(session: Session, year: int, as_of: date, household_nos: list[str] | None = None,
           household_ids: list[int] | None = None) -> list[Assessment]:
    household_ids = access.within(session, household_ids)
    ys = year_settings(session, year)
    line, point = ys.monitoring_line, ys.status_time_point
    cols = (Household.id, Household.household_no, Household.village_id, Household.monitoring_status,
            Household.a3_category, Household.a4_poverty_alleviated, Household.identified_on,
            Household.a23_housing_unsafe, Household.a24_school_dropout, Household.a25_water_unsafe,
            Household.a27_risk_types, Household.dibao_tier)
    q = select(*cols).order_by(Household.household_no)
    if household_nos is not None:
        q = q.where(Household.household_no.in_(household_nos))
    if household_ids is not None:
        q = q.where(Household.id.in_(household_ids))
    rows = session.execute(q).all()
    if household_nos is not None:
        missing = sorted(set(household_nos) - {r.household_no for r in rows})
        if missing:
            raise AssessError(f"户编号不存在：{'、'.join(missing)}")
    ids = [r.id for r in rows] if (household_nos is not None or household_ids is not None) else None
    facts = member_facts(session, point, ids)
    totals = income.totals_for_year(session, year, ids)
    developmental = households_with_developmental(session, as_of)
    return [_one(r, year, line, ys.rural_average, as_of, facts.get(r.id, []), totals.get(r.id), r.id in developmental)
            for r in rows]


def _one(r, year: int, line: Decimal, rural_average: Decimal | None, as_of: date, members: list[MemberFacts],
         totals: Totals | None, has_developmental: bool) -> Assessment:
    size = len(members)
    g = rules.guarantee_problems(r.a23_housing_unsafe, r.a24_school_dropout, r.a25_water_unsafe,
                                 rules.derived_a26(members))
    risks = list(r.a27_risk_types or [])
    result = None
    if totals is None:
        suggestion = Suggestion(None, True, [f"没有 {year} 年收入记录，无法判断"])
    elif size == 0:
        suggestion = Suggestion(None, True, [f"{year} 年状态时点无正常状态的家庭成员，无法计算人均收入"])
    else:
        result = income.compute(totals, size)
        suggestion = rules.suggest_category(year=year, a34=result.A34, a38=result.A38, line=line,
                                            rural_average=rural_average,
                                            poverty_alleviated=bool(r.a4_poverty_alleviated),
                                            guarantees=g, risk_types=risks)
    if r.a4_poverty_alleviated is None:  # unknown, e.g. a national list without 户类型: never taken as 否
        unsure = suggestion.category in ("01", "02")
        why = "是否脱贫户未知（未登记）：" + ("无法判断是脱贫不稳定户还是边缘易致贫户，" if unsure else "")
        suggestion = Suggestion(None if unsure else suggestion.category, True,
                                [*suggestion.reasons, why + "请核实后在户信息中填写"])
    monitored = r.monitoring_status in rules.UNREMOVED or suggestion.category is not None
    required = rules.developmental_required(monitored, members)
    return Assessment(
        household_id=r.id, household_no=r.household_no, village_id=r.village_id, year=year,
        status=r.monitoring_status, category=r.a3_category, poverty_alleviated=bool(r.a4_poverty_alleviated),
        identified_on=r.identified_on, size=size, income=result, suggestion=suggestion, guarantee_problems=g,
        whole_household_no_labor=rules.whole_household_cannot_work(members),  # cheap: stops at a worker
        whole_no_labor_candidate=rules.whole_no_labor_candidate(members, r.dibao_tier),
        developmental_measure_required=required,
        developmental_measure_missing=required and not has_developmental,
        warning_color=rules.warning_color(r.monitoring_status, r.identified_on, as_of),
        line=line, risk_types=risks, members=members)
