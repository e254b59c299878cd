"""The rules of SPEC §6: suggested category with reasons (§6.1) and the flags of §6.2.

Each rule is one function here; the windows, the CLI, the reports and the checks call them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

from .codes import codes, measure_catalog
from .dates import add_months, months_between
from .income import IncomeResult

# Monitored households whose risk is not removed (for warnings, ratio, developmental rule).
UNREMOVED = frozenset({"monitoring", "removing", "green"})
GUARANTEES = ("住房安全", "义务教育", "饮水安全", "基本医疗保险")
GUARANTEE_CODES = ("A23", "A24", "A25", "A26")  # the form's fields, in the order of GUARANTEES
WARNING_CODES = {"红": "red", "黄": "yellow", "蓝": "blue"}


def yuan(amount: Decimal | None) -> str:
    """12,345.60 — money as the forms print it."""
    return "—" if amount is None else f"{amount:,.2f}"


@lru_cache(maxsize=64)  # the same few lines and averages, written once per household
def line_text(amount: Decimal) -> str:
    """A monitoring line or average reads as 7,100 when whole, else with 2 decimals."""
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"


@dataclass(frozen=True)
class Suggestion:
    category: str | None  # code of the "category" list
    needs_review: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def category_name(self) -> str | None:
        return codes("category").name(self.category) or None if self.category else None


def guarantee_problems(a23: bool | None, a24: bool | None, a25: bool | None, a26: bool) -> list[str]:
    """G of §6.1: which of housing, schooling, water and basic medical insurance are not secure."""
    return [name for name, bad in zip(GUARANTEES, (a23, a24, a25, a26), strict=True) if bad]


def category_by_a34(result: IncomeResult, line: Decimal, poverty_alleviated: bool) -> str:
    """Seed 004 note 2: "A34 是区分前两类还是第三类对象的参考". A34 below the line → one of the first
    two (脱贫不稳定户 for a 脱贫户, else 边缘易致贫户); not below → 突发严重困难户."""
    return _by_a34(result, line, poverty_alleviated)[0]


def _by_a34(result: IncomeResult, line: Decimal, poverty_alleviated: bool) -> tuple[str, str]:
    """category_by_a34 with the reason that says why."""
    below, a34 = result.versus(line, "A34")
    if below:
        who = "脱贫户" if poverty_alleviated else "一般农户"
        return ("01" if poverty_alleviated else "02"), f"家庭人均纯收入 {a34}低于监测线，且为{who}"
    return "03", f"家庭人均纯收入 {a34}不低于监测线：属刚性支出较大或收入大幅缩减导致的严重困难"


_new, _set = object.__new__, object.__setattr__


def _suggestion(category: str | None, needs_review: bool, reasons: list[str]) -> Suggestion:
    """Suggestion(category, needs_review, reasons) without the frozen dataclass's __init__ (one per household)."""
    s = _new(Suggestion)
    _set(s, "__dict__", {"category": category, "needs_review": needs_review, "reasons": reasons})
    return s


def suggest_category(*, year: int, result: IncomeResult, line: Decimal, rural_average: Decimal | None,
                     poverty_alleviated: bool, guarantees: list[str], risk_types: list[str]) -> Suggestion:
    """§6.1. A suggestion only: people decide through the procedure. "Below" is strictly less, on the
    exact per-capita values. A38 decides whether to monitor, A34 which category (seed 004 note 2)."""
    return suggester(year, line, rural_average)(result, poverty_alleviated, guarantees, risk_types)


@lru_cache(maxsize=64)
def suggester(year: int, line: Decimal, rural_average: Decimal | None):
    """suggest_category for one year's line and average: a function (result, poverty_alleviated, guarantees,
    risk_types) → Suggestion, with the texts of the line and the average written once (assess asks it for every
    household of a county)."""
    below_line = f"低于 {year} 年监测线 {line_text(line)} 元"
    not_below_line = f"不低于 {year} 年监测线 {line_text(line)} 元"
    if rural_average is not None:
        above_average = (f"人均收入参考值明显高于当地农村人均纯收入 {line_text(rural_average)} 元，可依靠自身能力解决："
                         f"暂不建议纳入，需研判并持续跟踪，督促尽快解决")
        average = f"人均收入参考值不高于当地农村人均纯收入 {line_text(rural_average)} 元"
    else:
        average = "未设置当地农村人均纯收入"

    def suggest(result: IncomeResult, poverty_alleviated: bool, guarantees, risk_types) -> Suggestion:
        below, a38 = result.versus(line, "A38")
        a38_vs = f"人均收入参考值 {a38}{below_line if below else not_below_line}"
        if below:
            if guarantees or risk_types:
                reasons = [a38_vs]
                if guarantees:
                    reasons.append(f"“三保障”和饮水安全存在问题：{'、'.join(guarantees)}")
                if risk_types:
                    reasons.append(_risk_text(risk_types))
                category, why = _by_a34(result, line, poverty_alleviated)
                reasons.append(why)
                return _suggestion(category, False, reasons)
            return _suggestion(None, True, [a38_vs, NOTHING_ELSE_BELOW])
        if guarantees:
            g_text = f"“三保障”和饮水安全存在问题：{'、'.join(guarantees)}"
            if rural_average is not None and result.exact("A38") > rural_average:
                return _suggestion(None, True, [a38_vs, g_text, above_average])
            category, why = _by_a34(result, line, poverty_alleviated)
            return _suggestion(category, False, [a38_vs, g_text, average, why])
        if risk_types:
            return _suggestion(None, True, [a38_vs, _risk_text(risk_types),
                                            "需研判是否因刚性支出较大或收入大幅缩减导致基本生活出现严重困难"])
        s = new(Suggestion)  # _suggestion(None, False, …) inline: the common answer, nearly every household's
        set_(s, "__dict__", {"category": None, "needs_review": False, "reasons": [a38_vs, NOTHING_ELSE]})
        return s
    new, set_ = _new, _set
    suggest.line_texts = (below_line, not_below_line)  # assess writes the reasons below without a Suggestion
    return suggest


# A household with neither guarantee problems nor risk types is suggested no category, whatever its income: A38
# below the line asks for a visit (needs_review), not below says nothing is wrong; its reasons are the A38 sentence
# (人均收入参考值 … 元 and suggest.line_texts) and one of these two. assess's JSON writes them so for most households
# of a county (assess._json_lines; tests/services/test_assess_fast.py compares them with suggest's).
NOTHING_ELSE_BELOW = ("“三保障”和饮水安全无问题且未登记风险类型：收入低于监测线是识别的重要条件但不是唯一条件，"
                      "需入户研判")
NOTHING_ELSE = "“三保障”和饮水安全无问题"


def _risk_text(risk_types) -> str:
    return f"存在返贫致贫风险：{'、'.join(codes('risk_type').name(c, c) for c in risk_types)}"


def category_problem(category: str | None, poverty_alleviated: bool, result: IncomeResult | None,
                     line: Decimal) -> str | None:
    """CATEGORY_INCONSISTENT (§6.1, §10): a registered category that contradicts the 脱贫户 flag or
    A34 (seed 004 note 2); None when it fits or cannot be judged."""
    if not category:
        return None
    name = codes("category").name(category)
    if category == "01" and not poverty_alleviated:
        return "类别为脱贫不稳定户，但不是脱贫户"
    if category == "02" and poverty_alleviated:
        return "类别为边缘易致贫户，但是脱贫户（应为脱贫不稳定户）"
    if result is None:
        return None
    a34, lt = result.shown("A34", line), line_text(line)
    if category in ("01", "02") and not result.below(line, "A34"):
        return f"类别为{name}，但家庭人均纯收入 {a34}不低于监测线 {lt} 元"
    if category == "03" and result.below(line, "A34"):
        right = codes("category").name(category_by_a34(result, line, poverty_alleviated))
        return (f"类别为突发严重困难户，但家庭人均纯收入 {a34}低于监测线 {lt} 元（A34 低于监测线应为"
                f"{right}，见采集表注 2）")
    return None


# ---------------------------------------------------------------- §6.2 flags

@dataclass(frozen=True)
class MemberFacts:
    """What the flags need to know of one member of status 正常 (at the time point)."""

    labor: str | None
    a17_medical: bool | None
    a20_dibao: str | None
    a21_tekun: str | None


def can_work(labor: str | None) -> bool:
    return labor in codes("labor").codes_with("can_work")


def cannot_work(labor: str | None) -> bool:
    return labor in codes("labor").codes_with("cannot_work")


def derived_a26(members: list[MemberFacts]) -> bool:
    """A26 for the rules: yes when any member of status 正常 lacks basic medical insurance (A17 否); a member whose
    A17 is unknown counts as insured (a26_stated keeps that unknown for what is written out)."""
    return a26_stated(members) is True


def a26_stated(members: list[MemberFacts]) -> bool | None:
    """A26 as a file or form states it: 是 when a member of status 正常 lacks basic medical insurance (A17 否);
    否 only when every such member's A17 is 是; unknown (blank) when none lacks it but some member's A17 is not
    known, or there is no member. `derived_a26` (two-valued, for the rules) reads the unknown ones as insured."""
    if any(m.a17_medical is False for m in members):
        return True
    if not members or any(m.a17_medical is None for m in members):
        return None
    return False


def medical_flags(a17: bool | None, resident: bool | None, employee: bool | None) -> tuple[bool | None, bool | None]:
    """The two national 医保 flags (城乡居民, 城镇职工) with what A17 implies filled in where a flag is unknown:
    A17 否 means in neither; A17 是 with one flag 否 means in the other. Nothing else is guessed."""
    if a17 is False:
        return (False if resident is None else resident), (False if employee is None else employee)
    if a17 is True:
        if resident is False and employee is None:
            return resident, True
        if employee is False and resident is None:
            return True, employee
    return resident, employee


def small_wage(result: IncomeResult) -> Decimal | None:
    """A wage income (A28) above 0 and below 100 yuan, a figure to verify (our INCOME_IMPLAUSIBLE and the
    national 5_15_023): the amount, else None."""
    a28 = result.item("A28")
    return a28 if 0 < a28 < 100 else None


def whole_household_cannot_work(members: list[MemberFacts]) -> bool:
    """Every member of status 正常 cannot work (丧失劳动力 or 无劳动力)."""
    return bool(members) and all(cannot_work(m.labor) for m in members)


def enjoys_tekun(code: str | None) -> bool:
    return code is not None and code != "00"


def enjoys_dibao(code: str | None) -> bool:
    return code is not None and code != "00"


def whole_no_labor_candidate(members: list[MemberFacts], dibao_tier: str | None) -> bool:
    """整户无劳动能力兜底保障户 candidate: nobody can work, and 特困供养, or 低保 at the full/highest tier."""
    if not whole_household_cannot_work(members):
        return False
    top = dibao_tier in codes("dibao_tier").codes_with("top")
    return any(enjoys_tekun(m.a21_tekun) for m in members) or (top and any(enjoys_dibao(m.a20_dibao)
                                                                         for m in members))


def is_developmental(category: str, item: str | None, override: bool | None = None,
                     raises_working_ability: bool = False) -> bool:
    """§3: the default of the item, 技能培训 only when it directly raises working ability, or the override."""
    if override is not None:
        return override
    if category == "A40" and item == "技能培训":
        return raises_working_ability
    for cat in measure_catalog():
        if cat["code"] == category:
            return any(it["name"] == item and it["developmental"] for it in cat["items"])
    return False


def developmental_required(monitored_or_suggested: bool, members: list[MemberFacts]) -> bool:
    """[001 §20]: a monitored (or suggested) household with a member who can work needs one."""
    return monitored_or_suggested and any(can_work(m.labor) for m in members)


def warning_color(status: str, identified_on: date | None, as_of: date) -> str | None:
    """[003] three colours for monitored households whose risk is not removed, by calendar months
    since identification: under 6 蓝, 6 to under 12 黄, 12 or more 红."""
    if status not in UNREMOVED or identified_on is None:
        return None
    months = months_between(identified_on, as_of)
    if months < 6:
        return "蓝"
    if months < 12:
        return "黄"
    return "红"


# ---------------------------------------------------------------- §7 risk removal: the half-year

REMOVAL_STABLE_MONTHS = 6
ASSISTED, NATURAL = "01", "02"  # removal_way: 帮扶消除, 自然消除


def removal_earliest(way: str | None, identified_on: date | None) -> date | None:
    """[001 §27] "除风险自然消除外，收入持续稳定原则上不少于半年": the first day a 帮扶消除 may be
    marked is 6 calendar months after identification; 自然消除 has no such day (None)."""
    if way == NATURAL or identified_on is None:
        return None
    return add_months(identified_on, REMOVAL_STABLE_MONTHS)


def removal_too_soon(way: str | None, identified_on: date | None, removed_on: date) -> str | None:
    """The one rule of the half-year, used by the workflow's eligibility and by REMOVED_TOO_SOON:
    a message when a 帮扶消除 on `removed_on` comes less than 6 months after identification."""
    earliest = removal_earliest(way, identified_on)
    if earliest is None or removed_on >= earliest:
        return None
    return (f"{identified_on} 识别，帮扶消除须在识别满 {REMOVAL_STABLE_MONTHS} 个月后（{earliest} 起），"
            f"{removed_on} 不足 {REMOVAL_STABLE_MONTHS} 个月")


RATIO_LIMIT = Decimal("0.02")


@dataclass(frozen=True)
class VillageRatio:
    village_id: int
    village: str
    persons: int
    population: int | None
    ratio: Decimal | None
    flagged: bool


def village_ratio(village_id: int, village: str, persons: int, population: int | None) -> VillageRatio:
    """[001 §32] persons in unremoved monitored households (without 整户无劳动能力兜底保障户) over the
    village's rural registered population; above 2 % flags the village."""
    if not population:
        return VillageRatio(village_id, village, persons, population, None, False)
    ratio = Decimal(persons) / Decimal(population)
    return VillageRatio(village_id, village, persons, population, ratio, ratio > RATIO_LIMIT)
