"""脱贫不享受政策 classification (SPEC §6.4, seed 004 annex 2).

A 脱贫户 meeting any of the 8 criteria is proposed as 不再享受政策, unless one of the 4
exceptions holds. Criterion 1 compares per-capita income (exactly) with the county's rural
per-capita disposable income of the year; criteria 2–8 are yes/no facts of the household
(entered on the household editor, imported as columns, printed on the collection form; NULL
is unknown and meets nothing). Exceptions 1 (低保) and 3 (重度残疾) are read from the members;
2 and 4 are recorded facts, or else derived: 2 from a 大病 member and the year's medical
self-pay against the year setting "policy_large_self_pay" (较大 — the seed gives no figure, so
while it is unset the exception is undecided and nothing is proposed), 4 from the risk types.
The proposal goes through the procedure "policy_exclusion" (services.workflow).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Household, IncomeLine, Member
from . import access, income, rules
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
# The recorded facts and their household columns (models.Household).
FACT_COLUMNS = {
    "c2": "policy_c2_cause_gone", "c3": "policy_c3_luxury_car", "c4": "policy_c4_urban_home",
    "c5": "policy_c5_business", "c6": "policy_c6_public_servant", "c7": "policy_c7_child_business",
    "c8": "policy_c8_child_support", "e2": "policy_e2_medical_burden", "e4": "policy_e4_disaster",
}
RECORDED = tuple(FACT_COLUMNS)
SEVERE_DISABILITY = ("01", "02")  # 一级, 二级
SERIOUS_ILLNESS = "03"  # 患有大病
DISASTER_RISKS = ("04", "05")  # 因自然灾害, 因意外事故
MEDICAL_LINE = "医疗自付"  # the A36 detail line of medical self-pay
SELF_PAY_SETTING = "policy_large_self_pay"


class PolicyError(ServiceError):
    pass


@dataclass
class PolicyProposal:
    household_id: int
    household_no: str
    met: dict[str, str] = field(default_factory=dict)  # criterion → why
    exceptions: dict[str, str] = field(default_factory=dict)  # exception → why
    undecided: dict[str, str] = field(default_factory=dict)  # exception that cannot be decided → why

    @property
    def proposed(self) -> bool:
        """不再享受政策 is proposed: some criterion holds, no exception does, none is undecided."""
        return bool(self.met) and not self.exceptions and not self.undecided

    @property
    def reasons(self) -> list[str]:
        out = [f"符合第 {k[1]} 条：{CRITERIA[k]}（{v}）" if v else f"符合第 {k[1]} 条：{CRITERIA[k]}"
               for k, v in self.met.items()]
        out += [f"但属例外第 {k[1]} 条：{EXCEPTIONS[k]}（{v}）" if v else f"但属例外第 {k[1]} 条：{EXCEPTIONS[k]}"
                for k, v in self.exceptions.items()]
        out += [f"例外第 {k[1]} 条无法判断：{v}" for k, v in self.undecided.items()]
        return out


def facts_of(hh: Household) -> dict[str, bool | None]:
    """The recorded facts of a household (None: not known)."""
    return {k: getattr(hh, col) for k, col in FACT_COLUMNS.items()}


def validate_facts(facts: dict) -> list[str]:
    problems = []
    unknown = set(facts) - set(RECORDED)
    if unknown:
        problems.append(f"未知的认定事项：{'、'.join(sorted(unknown))}")
    for k, v in facts.items():
        if k in FACT_COLUMNS and v is not None and not isinstance(v, bool):
            problems.append(f"“{(CRITERIA | EXCEPTIONS)[k]}”应为是、否或未知")
    return problems


def set_facts(session: Session, household_id: int, facts: dict[str, bool | None], user=None) -> None:
    """Record facts of criteria 2–8 / exceptions 2 and 4 (None clears one back to unknown)."""
    access.household(session, household_id, write=True)
    from .register import check_access
    problems = validate_facts(facts)
    if problems:
        raise PolicyError("；".join(problems))
    hh = session.get(Household, household_id)
    if hh is None:
        raise PolicyError(f"户 #{household_id} 不存在")
    check_access(session, user, hh.village_id)
    for k, v in facts.items():
        setattr(hh, FACT_COLUMNS[k], v)
    session.flush()


def medical_self_pay(session: Session, record_ids: dict[int, int]) -> dict[int, tuple[Decimal, bool]]:
    """household id → (the year's medical self-pay, whether it is only the A36 total): the A36 lines
    named 医疗自付; an A36 recorded only as a total (an import without detail lines) counts whole."""
    access.logged_in(session)
    access.households(session, list(record_ids))
    from .exchange.layout import setting  # the line an import writes for an item given only as a total
    by_record = {rid: hid for hid, rid in record_ids.items()}
    sums: dict[int, Decimal] = {}
    totals: dict[int, Decimal] = {}
    itemised: set[int] = set()
    ids = list(by_record)
    for start in range(0, len(ids), 900):
        for rid, line, amount in session.execute(select(IncomeLine.record_id, IncomeLine.line, IncomeLine.amount)
                                                 .where(IncomeLine.record_id.in_(ids[start:start + 900]),
                                                        IncomeLine.item == "A36")):
            hid = by_record[rid]
            totals[hid] = totals.get(hid, income.ZERO) + amount
            if line != setting("total_line"):
                itemised.add(hid)
            if line == MEDICAL_LINE:
                sums[hid] = sums.get(hid, income.ZERO) + amount
    return {hid: (sums.get(hid, income.ZERO), False) if hid in itemised else (total, True)
            for hid, total in totals.items()}


def proposals(session: Session, year: int, as_of: date, household_ids: list[int] | None = None
              ) -> list[PolicyProposal]:
    """Every 脱贫户 not closed (户注销), or those given, with the criteria it meets and the exceptions that hold."""
    whole_register = household_ids is None
    household_ids = access.within(session, household_ids)
    ys = assess_mod.year_settings(session, year)
    q = select(Household).where(Household.a4_poverty_alleviated.is_(True))
    if whole_register:
        q = q.where(Household.closed_on.is_(None))
    if household_ids is not None:
        q = q.where(Household.id.in_(household_ids))
    households = {h.id: h for h in session.scalars(q)}
    ids = list(households)
    if not ids:
        return []
    assessed = {a.household_id: a for a in assess_mod.assess(session, year, as_of, household_ids=ids)}
    members: dict[int, list] = {}
    for m in session.execute(select(Member.household_id, Member.name, Member.a20_dibao, Member.health,
                                    Member.disability_grade).where(Member.household_id.in_(ids),
                                                                   Member.status == "normal")):
        members.setdefault(m.household_id, []).append(m)
    self_pay = medical_self_pay(session, income.latest_record_ids(session, year, ids))
    large = ys.thresholds.get(SELF_PAY_SETTING)
    large = Decimal(str(large)) if large not in (None, "") else None
    out = []
    for hid in ids:
        hh, a = households[hid], assessed[hid]
        facts = facts_of(hh)
        p = PolicyProposal(hid, a.household_no)
        if ys.county_income is not None and a.income is not None and not a.income.below(ys.county_income, "A34"):
            p.met["c1"] = (f"家庭人均纯收入 {a.income.shown('A34', ys.county_income)}，县农民人均可支配收入 "
                           f"{rules.line_text(ys.county_income)} 元")
        for k in RECORDED:
            if k.startswith("c") and facts[k]:
                p.met[k] = ""
        ms = members.get(hid, [])
        on_dibao = [m.name for m in ms if rules.enjoys_dibao(m.a20_dibao)]
        if on_dibao:
            p.exceptions["e1"] = "、".join(on_dibao)
        ill = [m.name for m in ms if m.health == SERIOUS_ILLNESS]
        if facts["e2"] is not None:
            if facts["e2"]:
                p.exceptions["e2"] = ""
        elif ill:
            paid, whole = self_pay.get(hid, (income.ZERO, False))
            what = f"{'合规自付支出（A36，未分明细）' if whole else '医疗自付'} {rules.yuan(paid)} 元"
            if large is None and paid > 0:
                p.undecided["e2"] = (f"{'、'.join(ill)}患大病，{what}；未在年度设置中填写“个人自付费用较大”的金额，"
                                     f"请设置或在户信息中登记")
            elif large is not None and paid >= large:
                p.exceptions["e2"] = f"{'、'.join(ill)}患大病，{what}，不低于 {rules.line_text(large)} 元"
        severe = [m.name for m in ms if m.disability_grade in SEVERE_DISABILITY]
        if severe:
            p.exceptions["e3"] = "、".join(severe)
        if facts["e4"] if facts["e4"] is not None else any(c in DISASTER_RISKS for c in a.risk_types):
            p.exceptions["e4"] = "" if facts["e4"] else "登记了因自然灾害或因意外事故风险"
        out.append(p)
    return out
