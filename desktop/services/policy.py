"""脱贫不享受政策 classification (SPEC §6.4, seed 004 annex 2).

A 脱贫户 meeting any of the 8 criteria is proposed as 不再享受政策, unless one of the 4
exceptions holds. Criterion 1 compares per-capita income with the county's rural per-capita
disposable income of the year; criteria 2–8 are yes/no facts recorded per household and
year. Exceptions 1 (低保) and 3 (重度残疾) are read from the members; 2 and 4 are derived
hints that a recorded fact can confirm or overrule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Household, Member, PolicyFacts
from . import access, rules
from . import assess as assess_mod
from .errors import ServiceError

CRITERIA = {
    "c1": "户年人均可支配收入达到所在县农民人均可支配收入水平",
    "c2": "家庭致贫原因消失，生产生活条件不低于当地一般农户",
    "c3": "户内家庭成员拥有并经常使用高档乘用车辆",
    "c4": "户内家庭成员在城镇购买商品房（搬迁、迁建、避险解困货币化安置的除外）",
    "c5": "户内家庭成员注册公司、企业并雇佣他人从事经营性活动",
    "c6": "户内家庭成员或分户子女及配偶有财政供养人员或在国有大中型企业任中层及以上领导",
    "c7": "分户子女家庭成员注册公司、企业并雇佣他人经营且收益较高",
    "c8": "分户子女赡养能力强，子女较多且家庭生活生产条件较好",
}
EXCEPTIONS = {
    "e1": "户内家庭成员正在享受低保政策",
    "e2": "户内家庭成员患大病，且经各项医疗保障报销后个人自付费用较大",
    "e3": "户内家庭成员有重度残疾人",
    "e4": "因灾因意外等造成家庭生活困难",
}
RECORDED = ("c2", "c3", "c4", "c5", "c6", "c7", "c8", "e2", "e4")
SEVERE_DISABILITY = ("01", "02")  # 一级, 二级
SERIOUS_ILLNESS = "03"  # 患有大病
DISASTER_RISKS = ("04", "05")  # 因自然灾害, 因意外事故


class PolicyError(ServiceError):
    pass


@dataclass
class PolicyProposal:
    household_id: int
    household_no: str
    met: dict[str, str] = field(default_factory=dict)  # criterion → why
    exceptions: dict[str, str] = field(default_factory=dict)  # exception → why

    @property
    def proposed(self) -> bool:
        """不再享受政策 is proposed: some criterion holds and no exception does."""
        return bool(self.met) and not self.exceptions

    @property
    def reasons(self) -> list[str]:
        out = [f"符合第 {k[1]} 条：{CRITERIA[k]}（{v}）" if v else f"符合第 {k[1]} 条：{CRITERIA[k]}"
               for k, v in self.met.items()]
        out += [f"但属例外第 {k[1]} 条：{EXCEPTIONS[k]}（{v}）" if v else f"但属例外第 {k[1]} 条：{EXCEPTIONS[k]}"
                for k, v in self.exceptions.items()]
        return out


def set_facts(session: Session, household_id: int, year: int, facts: dict[str, bool], note: str | None = None) -> None:
    access.household(session, household_id, write=True)
    unknown = set(facts) - set(RECORDED)
    if unknown:
        raise PolicyError(f"未知的认定事项：{'、'.join(sorted(unknown))}")
    row = session.scalar(select(PolicyFacts).where(PolicyFacts.household_id == household_id,
                                                   PolicyFacts.year == year))
    if row is None:
        row = PolicyFacts(household_id=household_id, year=year, facts={})
        session.add(row)
    row.facts = {**(row.facts or {}), **{k: bool(v) for k, v in facts.items()}}
    row.note = (note or "").strip() or row.note
    session.flush()


def proposals(session: Session, year: int, as_of: date, household_ids: list[int] | None = None
              ) -> list[PolicyProposal]:
    """Every 脱贫户 (or those given) with the criteria it meets and the exceptions that hold."""
    household_ids = access.within(session, household_ids)
    ys = assess_mod.year_settings(session, year)
    q = select(Household.id).where(Household.a4_poverty_alleviated.is_(True))
    if household_ids is not None:
        q = q.where(Household.id.in_(household_ids))
    ids = list(session.scalars(q))
    if not ids:
        return []
    assessed = {a.household_id: a for a in assess_mod.assess(session, year, as_of, household_ids=ids)}
    recorded = {f.household_id: f.facts or {} for f in session.scalars(
        select(PolicyFacts).where(PolicyFacts.year == year, PolicyFacts.household_id.in_(ids)))}
    members: dict[int, list] = {}
    for m in session.execute(select(Member.household_id, Member.name, Member.a20_dibao, Member.health,
                                    Member.disability_grade).where(Member.household_id.in_(ids),
                                                                   Member.status == "normal")):
        members.setdefault(m.household_id, []).append(m)
    out = []
    for hid in ids:
        a = assessed[hid]
        facts = recorded.get(hid, {})
        p = PolicyProposal(hid, a.household_no)
        if ys.county_income is not None and a.income is not None and a.income.A34 >= ys.county_income:
            p.met["c1"] = (f"家庭人均纯收入 {rules.yuan(a.income.A34)} 元，县农民人均可支配收入 "
                           f"{rules.line_text(ys.county_income)} 元")
        for k in RECORDED:
            if k.startswith("c") and facts.get(k):
                p.met[k] = ""
        ms = members.get(hid, [])
        on_dibao = [m.name for m in ms if rules.enjoys_dibao(m.a20_dibao)]
        if on_dibao:
            p.exceptions["e1"] = "、".join(on_dibao)
        ill = [m.name for m in ms if m.health == SERIOUS_ILLNESS]
        if facts.get("e2", bool(ill and a.income is not None and a.income.totals.A36 > 0)):
            p.exceptions["e2"] = "、".join(ill)
        severe = [m.name for m in ms if m.disability_grade in SEVERE_DISABILITY]
        if severe:
            p.exceptions["e3"] = "、".join(severe)
        if facts.get("e4", any(c in DISASTER_RISKS for c in a.risk_types)):
            p.exceptions["e4"] = ""
        out.append(p)
    return out
