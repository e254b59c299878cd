"""Data-quality checks (SPEC §10): the suspect-data (疑点) rules of the national system, run
here first so the township finds the problems before the county does.

Each finding has a stable code, the household, the member where there is one, and a Chinese
message that says what and where. Our own 24 codes run here; the national numbered rules run in
services.national_rules, and the two are merged: one finding per (rule, household or member), with our
code where one of ours finds the same thing (its `rule` then says which national rule fits), else N_ and
the national number.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Case, CaseStep, Household, Measure, Member
from . import access, gcpause, national_rules, rules
from . import assess as assess_mod
from .codes import codes
from .dates import add_months
from .db import among
from .idnumber import age_on, birth_date_error, normalize_id, parse_id

CODES = ("ID_CHECKSUM", "ID_DUPLICATE", "ID_BIRTHDATE", "SEX_MISMATCH", "HEAD_MISSING", "HEAD_MULTIPLE",
         "SCHOOL_AGE_OUT", "MEDICAL_INSURANCE_MISSING", "INCOME_MISSING", "INCOME_NEGATIVE", "WORK_MONTHS_INVALID",
         "GUARANTEE_MISSING", "CATEGORY_INCONSISTENT", "MEASURE_MISSING", "DEVELOPMENTAL_MISSING", "PLAN_OVERDUE",
         "STEP_OVERDUE", "WHOLE_NO_LABOR_REMOVED", "REMOVED_TOO_SOON", "NO_MEASURE_AFTER_MONTH",
         "HEAD_SPOUSE_SAME_SEX", "PUBLIC_POST_AGE", "INCOME_IMPLAUSIBLE", "SIGNATURES_MISSING")

class _Titles(dict):
    """Our codes' titles; an N_ code (a national rule none of ours covers) answers with the rule's wording."""

    def __missing__(self, code: str) -> str:
        if code.startswith("N_"):
            rule = national_rules.by_number().get(code[2:])
            if rule is not None:
                return rule.title
        raise KeyError(code)


TITLES = _Titles({
    "ID_CHECKSUM": "身份证号校验错误", "ID_DUPLICATE": "身份证号重复", "ID_BIRTHDATE": "出生日期不可能",
    "SEX_MISMATCH": "性别与身份证号不符", "HEAD_MISSING": "无户主", "HEAD_MULTIPLE": "多个户主",
    "SCHOOL_AGE_OUT": "适龄儿童少年失学辍学", "MEDICAL_INSURANCE_MISSING": "未参加基本医疗保险",
    "INCOME_MISSING": "监测对象无收入信息", "INCOME_NEGATIVE": "收入为负", "WORK_MONTHS_INVALID": "务工时间超出范围",
    "GUARANTEE_MISSING": "三保障和饮水安全未填", "CATEGORY_INCONSISTENT": "监测对象类别与收入不符",
    "MEASURE_MISSING": "监测对象无有效帮扶措施", "DEVELOPMENTAL_MISSING": "缺少开发式帮扶措施",
    "PLAN_OVERDUE": "帮扶计划逾期", "STEP_OVERDUE": "流程步骤逾期",
    "WHOLE_NO_LABOR_REMOVED": "整户无劳动能力兜底保障户被消除风险", "REMOVED_TOO_SOON": "帮扶消除时间过短",
    "NO_MEASURE_AFTER_MONTH": "识别满一个月无帮扶措施", "HEAD_SPOUSE_SAME_SEX": "户主与配偶性别相同",
    "PUBLIC_POST_AGE": "公益岗位人员年龄不符", "INCOME_IMPLAUSIBLE": "收入疑点",
    "SIGNATURES_MISSING": "收入核算未双签字",
})

HEAD, SPOUSE = "01", "02"
PLAN_DAYS = 10
PUBLIC_POST_AGES = (16, 70)
MONITORED = rules.UNREMOVED | {"identifying"}


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    household_no: str
    member_id_number: str | None
    message: str
    rule: str | None = None  # the national 疑点 rule number (SPEC §10), None for a check of our own

    @property
    def title(self) -> str:
        """The national rule's official wording when the finding has a rule, else our code's title."""
        if self.rule is not None:
            return national_rules.by_number()[self.rule].title
        return TITLES[self.code]

    @property
    def severity(self) -> str:
        return national_rules.by_number()[self.rule].severity if self.rule is not None else "疑点"

    def to_json(self) -> dict:
        return {"code": self.code, "rule": self.rule, "household_no": self.household_no,
                "member_id_number": self.member_id_number, "message": self.message}


STAGES = ("读取户、成员和帮扶措施", "测算收入", "本程序的检查", "全国疑点规则")


def run_checks(session: Session, year: int, as_of: date, household_ids: list[int] | None = None,
               progress: Callable[[int, int, str], object] | None = None) -> list[Finding]:
    """All findings for the year as of a date, ordered by household number then code order.

    household_ids limits the findings to those households (after an import, for one village's
    report); an ID they share with a household outside them is still found. Closed households (户注销) are not
    checked unless named, nor counted as holding an ID. progress(done, total, stage) is told each stage (STAGES)
    as it starts, for a window to show."""
    with gcpause.paused():
        return _run_checks(session, year, as_of, household_ids, progress)


def _run_checks(session: Session, year: int, as_of: date, household_ids: list[int] | None,
                progress: Callable[[int, int, str], object] | None) -> list[Finding]:
    def stage(i: int) -> None:
        if progress is not None:
            progress(i, len(STAGES), STAGES[i])

    whole_register = household_ids is None
    household_ids = access.within(session, household_ids)
    ys = assess_mod.year_settings(session, year)
    point = ys.status_time_point
    thresholds = ys.thresholds
    stage(0)
    # one pass over the households and members for our codes, the national rules and assess: load_facts reads them,
    # and assess, when it is not cached, takes its households and its members' facts from them instead of reading
    # them again
    facts = national_rules.load_facts(session, year, as_of, None, household_ids, point, ys.monitoring_line,
                                      thresholds, open_only=whole_register)
    stage(1)
    assessments = {a.household_id: a for a in assess_mod.assess(
        session, year, as_of, household_ids=household_ids, members=lambda: national_rules.assess_members(facts),
        households=lambda: national_rules.assess_households(facts))}
    national_rules.attach_assessments(facts, assessments)
    hh = {hid: h for hid, h in facts.households.items() if not (whole_register and h.closed)}
    stage(2)
    out: list[Finding] = []
    out += _member_findings(session, hh, facts, as_of, household_ids is not None)
    out += _household_findings(hh, assessments, year, thresholds)
    out += _measure_findings(session, hh, as_of)
    out += _case_findings(session, hh, as_of)
    out += _signature_findings(session, hh, year)
    stage(3)
    hits = national_rules.evaluate(session, facts, national_rules.enabled_rules(session))
    out = _merge(out, hits, {hid: h.no for hid, h in hh.items()})
    order = {c: i for i, c in enumerate(CODES)}
    out.sort(key=lambda f: (f.household_no, order.get(f.code, len(CODES)), f.rule or "", f.member_id_number or ""))
    return out


def _merge(ours: list[Finding], hits: list, numbers: dict[int, str]) -> list[Finding]:
    """Our findings with the national hits: a hit that one of our codes covering its rule also found (same household,
    same member) gives that finding its rule number (a second rule on the same finding: a copy with the rule's own
    message); any other hit is a finding of its own, N_ and the number. One finding per (rule, household or member)."""
    reg = national_rules.by_number()
    index: dict[tuple, list[int]] = defaultdict(list)
    for i, f in enumerate(ours):
        index[(f.household_no, normalize_id(f.member_id_number) if f.member_id_number else None, f.code)].append(i)
    out = list(ours)
    for hit in hits:
        no = numbers.get(hit.household_id)
        if no is None:
            continue
        rule = reg[hit.rule]
        member = normalize_id(hit.member_id_number) if hit.member_id_number else None
        found = None
        for code in rule.codes:
            found = next(iter(index.get((no, member, code), ())), None)
            if found is not None:
                break
        if found is None:
            out.append(Finding(rule.code, no, hit.member_id_number, hit.message, hit.rule))
        elif out[found].rule is None:
            out[found] = replace(out[found], rule=hit.rule)
        else:
            out.append(replace(out[found], message=hit.message, rule=hit.rule))
    return out


class _Holders:
    """ID number → its holders [(household number, member)], in the order first seen; a list only for the numbers held
    more than once (a county has 300,000 numbers and a handful of duplicates). The first holder is kept as the member
    itself (add_member, no tuple per member); its household number is looked up when a second holder appears."""

    __slots__ = ("first", "multi", "households")

    def __init__(self, households: dict):
        self.first: dict[str, object] = {}  # number → a member (add_member) or a (household number, holder) tuple
        self.multi: dict[str, list] = {}
        self.households = households  # household id → household (its .no), for a first holder kept as a member

    def add(self, number: str, holder: tuple) -> None:
        first = self.first.get(number)
        if first is None:
            self.first[number] = holder
        else:
            self._more(number, first, holder)

    def add_member(self, number: str, m) -> None:
        first = self.first.get(number)
        if first is None:
            self.first[number] = m
        else:
            self._more(number, first, (self.households[m.household_id].no, m))

    def _more(self, number: str, first, holder: tuple) -> None:
        xs = self.multi.get(number)
        if xs is None:
            if first.__class__ is not tuple:
                first = (self.households[first.household_id].no, first)
            self.multi[number] = [first, holder]
        else:
            xs.append(holder)

    def __iter__(self):
        return iter(self.first)

    def held_more_than_once(self):
        multi = self.multi
        if multi:
            for number in self.first:
                if number in multi:
                    yield number, multi[number]


def _member_findings(session: Session, hh: dict, facts, as_of: date, subset: bool) -> list[Finding]:
    """Our member codes over the members national_rules.load_facts read (status 正常 ones). An ID number that is
    well formed (18 digits or a 残疾人证 on one, right check digit, a real date) is judged from its parts; only the
    others go through parse_id for the wording of the fault."""
    out = []
    by_id_number = _Holders(hh)
    firsts, more = by_id_number.first, by_id_number.add_member  # add_member written out below: once per member
    household_findings = []  # HEAD_MISSING, HEAD_MULTIPLE, HEAD_SPOUSE_SAME_SEX: after the ID_DUPLICATE ones
    disabled = codes("health").code_of("残疾")
    in_school = codes("school").codes_with("in_school")
    sex = codes("sex")
    point = facts.point
    # only numbers another row may share are indexed (facts.id_twice, id_irregular: see national_rules.Facts)
    twice, irregular = facts.id_twice, facts.id_irregular
    for hid, fh in facts.households.items():
        h = hh.get(hid)
        if h is None:
            continue
        no = h.no
        if fh.light is not None and _quiet(fh.light, no, as_of, point, twice, irregular, in_school, disabled,
                                           by_id_number):
            continue
        heads, spouses, normal = [], [], False
        for m in fh.everyone:
            if m.status != "normal":
                continue
            normal = True
            if m.relation == HEAD:
                heads.append(m)
            elif m.relation == SPOUSE:
                spouses.append(m)
            number = m.norm
            born = m.born
            if m.id_fault is None and born is not None and (len(number) == 18 or number[18:].isdigit()):
                who_sex = "1" if number[16] in "13579" else "2"
                if m.id_number in twice or number in irregular:
                    if number in firsts:
                        more(number, m)
                    else:
                        firsts[number] = m
                if born > as_of or born < EARLIEST_BIRTH:
                    err = birth_date_error(parse_id(m.id_number), as_of)
                    out.append(Finding("ID_BIRTHDATE", no, m.id_number, f"{m.who()}：{err}"))
                elif m.sex and m.sex != who_sex:
                    out.append(Finding("SEX_MISMATCH", no, m.id_number, f"{m.who()}：登记性别“{sex.name(m.sex)}”，"
                                                                        f"身份证号第 17 位为{sex.name(who_sex)}"))
                if born <= point:
                    age = m.age
                    if 6 <= age <= 15 and m.school not in in_school and m.health != disabled:
                        state = codes("school").name(m.school) or "未填"
                        out.append(Finding("SCHOOL_AGE_OUT", no, m.id_number,
                                           f"{m.who()}：状态时点 {age} 周岁，在校生状况为“{state}”，"
                                           f"存在义务教育失学辍学风险（A24）"))
            else:
                out += _id_number_findings(no, m, as_of, point, by_id_number, in_school, disabled, sex)
            if m.a17 is not True:
                state = "未填" if m.a17 is None else "否"
                out.append(Finding("MEDICAL_INSURANCE_MISSING", no, m.id_number,
                                   f"{m.who()}：是否参加基本医疗保险为“{state}”（A17）"))
            if m.work_months is not None and not 0 <= m.work_months <= 12:
                out.append(Finding("WORK_MONTHS_INVALID", no, m.id_number,
                                   f"{m.who()}：务工时间 {m.work_months} 个月，应在 0–12 之间"))
        if normal:
            _head_findings(household_findings, no, heads, spouses, sex)
    if subset:
        _add_outside_holders(session, hh, by_id_number)
    # the holders of a whole run are all checked households' members; a subset's may be outside (_add_outside_holders)
    mine = {h.no for h in hh.values()} if subset else None
    for number, holders in by_id_number.held_more_than_once():
        holders = sorted(holders, key=lambda h: h[0])  # by 户编号: the same text whatever order rows came in
        where = "、".join(f"户 {no}“{m.name}”" for no, m in holders)
        for no in dict.fromkeys(no for no, _ in holders):  # one finding per household holding it
            if mine is None or no in mine:
                out.append(Finding("ID_DUPLICATE", no, number, f"身份证号 {number} 同时登记在 {where}"))
    out += household_findings
    return out


def _quiet(rows: list, no: str, as_of: date, point: date, twice, irregular, in_school, disabled,
           by_id_number: _Holders) -> bool:
    """Whether the loop of _member_findings finds nothing in a household whose members national_rules.load_facts kept
    as rows (national_rules._LAZY_POPS: four in five households of a county), read from the rows without making
    member objects; its members' numbers that another row may share are indexed as that loop indexes them. Any
    member that may be found (a number not 18 plain characters well formed, a birth date or sex at fault, a child of
    6–15 not in school, A17 not yes, work months out of range) or a head other than exactly one, or a spouse of the
    head's sex: False, and nothing indexed (the loop then makes the members and does it all). The rows:
    run, then per member (row, packed cells, normal form, born, age, ID fault) flat, see national_rules.LIGHT."""
    heads = 0
    head_sex = None
    spouse_sexes = []
    index = None
    it = iter(rows)
    next(it)  # the run
    for r, cells, number, born, age, fault in zip(it, it, it, it, it, it, strict=True):
        if cells[11] != "normal":  # status
            continue
        if fault is not None or born is None or len(number) != 18 or born > as_of or born < EARLIEST_BIRTH:
            return False
        sex = cells[0]
        if sex and sex != ("1" if number[16] in "13579" else "2"):
            return False
        if born <= point and 6 <= age <= 15 and cells[4] not in in_school and cells[5] != disabled:
            return False
        if cells[12] is not True:  # A17
            return False
        if (months := r[8]) is not None and not 0 <= months <= 12:
            return False
        if r[3] in twice or number in irregular:
            index = [(number, r[2])] if index is None else [*index, (number, r[2])]
        relation = cells[1]
        if relation == HEAD:
            heads += 1
            head_sex = sex
        elif relation == SPOUSE:
            spouse_sexes.append(sex)
    if heads > 1 or (heads == 0 and (index is not None
                                     or any(c[11] == "normal" for c in rows[2::national_rules.LIGHT]))):
        return False
    if head_sex and head_sex in spouse_sexes:
        return False
    for number, name in index or ():
        by_id_number.add(number, (no, _Holder(name)))
    return True


def _head_findings(out: list, no: str, heads: list, spouses: list, sex) -> None:
    """HEAD_MISSING / HEAD_MULTIPLE / HEAD_SPOUSE_SAME_SEX of a household with normal members: its heads and
    spouses among them, in the members' order."""
    if not heads:
        out.append(Finding("HEAD_MISSING", no, None, f"户 {no} 的正常成员中没有户主"))
    elif len(heads) > 1:
        out.append(Finding("HEAD_MULTIPLE", no, None,
                           f"户 {no} 有 {len(heads)} 名户主：{'、'.join(m.name for m in heads)}"))
    if len(heads) == 1 and heads[0].sex:
        for s in spouses:
            if s.sex == heads[0].sex:
                out.append(Finding("HEAD_SPOUSE_SAME_SEX", no, s.id_number,
                                   f"户主“{heads[0].name}”与配偶“{s.name}”性别相同（{sex.name(s.sex)}）"))


EARLIEST_BIRTH = date(1890, 1, 1)  # idnumber.birth_date_error's default


def _id_number_findings(no: str, m, as_of: date, point: date, by_id_number: _Holders, in_school, disabled,
                        sex) -> list[Finding]:
    """Our ID codes for a number that is not plainly well formed, as parse_id words them (the few)."""
    out = []
    info = parse_id(m.id_number)
    who = m.who()
    if info.error_kind == "date":
        out.append(Finding("ID_BIRTHDATE", no, m.id_number, f"{who}：{info.error}"))
    elif not info.valid:
        out.append(Finding("ID_CHECKSUM", no, m.id_number, f"{who}：{info.error}"))
    else:
        by_id_number.add(info.number, (no, m))
        if (err := birth_date_error(info, as_of)):
            out.append(Finding("ID_BIRTHDATE", no, m.id_number, f"{who}：{err}"))
        elif m.sex and m.sex != info.sex:
            out.append(Finding("SEX_MISMATCH", no, m.id_number,
                               f"{who}：登记性别“{sex.name(m.sex)}”，身份证号第 17 位为{sex.name(info.sex)}"))
        if info.birth_date and info.birth_date <= point:
            age = age_on(info.birth_date, point)
            if 6 <= age <= 15 and m.school not in in_school and m.health != disabled:
                state = codes("school").name(m.school) or "未填"
                out.append(Finding("SCHOOL_AGE_OUT", no, m.id_number,
                                   f"{who}：状态时点 {age} 周岁，在校生状况为“{state}”，"
                                   f"存在义务教育失学辍学风险（A24）"))
    return out


def _add_outside_holders(session: Session, hh: dict, by_id_number: _Holders) -> None:
    """Living members elsewhere in the register who hold an ID of the checked households."""
    numbers = list(by_id_number)
    for start in range(0, len(numbers), 900):
        q = (select(Household.household_no, Member.household_id, Member.name, Member.id_number)
             .join(Household, Household.id == Member.household_id)
             .where(Member.id_number.in_(numbers[start:start + 900]), Member.status == "normal",
                    Household.closed_on.is_(None)))
        for no, hid, name, number in session.execute(q):
            if hid not in hh:
                by_id_number.add(number, (no, _Holder(name)))


@dataclass(frozen=True)
class _Holder:
    name: str


def _household_findings(hh: dict, assessments: dict, year: int, thresholds: dict) -> list[Finding]:
    out = []
    bound = Decimal(str(thresholds.get("new_identified_income_bound", "30000")))
    for hid, h in hh.items():
        no, a = h.no, assessments.get(hid)
        blank = [name for name, v in (("A23 住房", h.a23), ("A24 义务教育", h.a24),
                                      ("A25 饮水", h.a25)) if v is None]
        if blank:
            out.append(Finding("GUARANTEE_MISSING", no, None, f"三保障和饮水安全未填写：{'、'.join(blank)}"))
        monitored = h.status in MONITORED
        # a household whose income result is not made yet (assess defers it for most of a county): its item totals in
        # fen say whether A33 is negative or A28 a small wage (0 < A28 < 100 yuan); only then, or for a code below
        # that reads more of it, is the result made
        fen = a.pending_fen() if a is not None else None
        if fen is None or fen[0] + fen[1] + fen[2] + fen[3] - fen[4] < 0 or 0 < fen[0] < 10_000:
            r, quiet = (a.income if a else None), False
        else:
            r, quiet = None, True  # neither INCOME_NEGATIVE nor the small wage; never INCOME_MISSING (it has one)
        # Households whose risk is removed stay 监测帮扶对象 and are collected yearly [004 一(一), 001 §39].
        collected = monitored or h.status == "removed"
        if collected and a is not None and r is None and not quiet and a.size > 0:
            out.append(Finding("INCOME_MISSING", no, None, f"监测对象没有 {year} 年收入信息"))
        if r is not None and r.A33 < 0:
            out.append(Finding("INCOME_NEGATIVE", no, None,
                               f"家庭纯收入为负数：{rules.yuan(r.A33)} 元（生产经营性支出 {rules.yuan(r.totals.A32)} 元"
                               f"大于各项收入之和），请核实"))
        if r is not None and (wage := rules.small_wage(r)) is not None:
            out.append(Finding("INCOME_IMPLAUSIBLE", no, None,
                               f"工资性收入 {rules.yuan(wage)} 元（大于 0 且不足 100 元），请核实"))
        newly = h.identified_on is not None and h.identified_on.year == year and monitored
        if quiet and (newly or (monitored and h.category)):
            r = a.income
        if r is not None and newly and r.exact("A34") > bound:
            out.append(Finding("INCOME_IMPLAUSIBLE", no, None,
                               f"{year} 年新识别监测对象家庭人均纯收入 {rules.yuan(r.A34)} 元，"
                               f"高于 {rules.line_text(bound)} 元，请核实"))
        if monitored and h.category and a is not None:
            problem = rules.category_problem(h.category, bool(h.poverty), r, a.line)
            if problem:
                out.append(Finding("CATEGORY_INCONSISTENT", no, None, problem))
        if a is not None and a.developmental_measure_missing and h.status in rules.UNREMOVED:
            out.append(Finding("DEVELOPMENTAL_MISSING", no, None,
                               "有劳动能力的监测对象至少要落实一项产业就业等开发式帮扶措施，目前没有有效的开发式措施"))
        whole = h.whole_guarantee or (a is not None and a.whole_no_labor_candidate)
        if h.status == "removed" and whole:
            out.append(Finding("WHOLE_NO_LABOR_REMOVED", no, None,
                               "整户无劳动能力兜底保障户暂不消除风险，但已标注风险消除"))
        too_soon = (rules.removal_too_soon(h.way, h.identified_on, h.removed_on)
                    if h.status == "removed" and h.removed_on else None)
        if too_soon:
            out.append(Finding("REMOVED_TOO_SOON", no, None, too_soon))
    return out


def _measure_findings(session: Session, hh: dict, as_of: date) -> list[Finding]:
    """The households' measures as national_rules.load_facts read them (h.measures: every measure of the household,
    each with whether it is active as of the date, assess.active_measure_filter), not read again here."""
    out = []
    for h in hh.values():
        if h.status not in rules.UNREMOVED:
            continue
        no = h.no
        if not h.measures and h.identified_on is not None:
            if as_of >= add_months(h.identified_on, 1):
                out.append(Finding("NO_MEASURE_AFTER_MONTH", no, None,
                                   f"{h.identified_on} 识别，已满一个月仍未落实帮扶措施"))
            elif as_of > h.identified_on + timedelta(days=PLAN_DAYS):
                out.append(Finding("PLAN_OVERDUE", no, None,
                                   f"{h.identified_on} 识别，帮扶计划应在 "
                                   f"{h.identified_on + timedelta(days=PLAN_DAYS)} 前制定，至今没有帮扶措施"))
        elif not any(x.active for x in h.measures):
            out.append(Finding("MEASURE_MISSING", no, None, f"截至 {as_of} 没有正在实施的帮扶措施"))
    q = (select(Measure.household_id, Measure.item, Member.name, Member.id_number)
         .join(Member, Member.id == Measure.member_id)
         .where(Measure.category == "A42", *assess_mod.active_measure_filter(as_of)))
    low, high = PUBLIC_POST_AGES
    for hid, item, name, number in session.execute(q):
        info = parse_id(number)
        if info.birth_date is None:
            continue
        age = age_on(info.birth_date, as_of)
        if age < low or age > high:
            if hid not in hh:
                continue
            out.append(Finding("PUBLIC_POST_AGE", hh[hid].no, number,
                               f"公益岗位（{item or '其他'}）人员“{name}”{age} 周岁，不在 {low}–{high} 周岁之间"))
    return out


def _case_findings(session: Session, hh: dict, as_of: date) -> list[Finding]:
    """Pending steps past their due date. The revisit is not late on its day: it is due from then
    on (the warnings list it as 回访到期)."""
    from . import workflow
    q = (select(Case.household_id, Case.kind, CaseStep.step, CaseStep.due_on)
         .join(Case, Case.id == CaseStep.case_id)
         .where(Case.closed_on.is_(None), Case.kind != "revisit", CaseStep.done_on.is_(None),
                CaseStep.due_on.is_not(None), CaseStep.due_on < as_of))
    out = []
    for hid, kind, step, due in session.execute(q):
        if hid not in hh:
            continue
        name = f"{workflow.kind_names().get(kind, kind)}：{workflow.step_name(kind, step)}"
        out.append(Finding("STEP_OVERDUE", hh[hid].no, None,
                           f"流程步骤“{name}”应于 {due} 前完成，已逾期 {(as_of - due).days} 天"))
    return out


def _signature_findings(session: Session, hh: dict, year: int) -> list[Finding]:
    """SIGNATURES_MISSING [002 §二 "收入核算明细表、到户政策享受清单要由采集人与被采集人共同签字确认"]: the
    year's annual income record is recorded as not signed by both. Unknown (an import whose file did
    not say) is not a finding."""
    from ..models import IncomeRecord
    from .income import latest_record_ids
    subset = list(hh) if len(hh) < 5000 else None
    # the year's records marked unsigned (few), kept where they are the household's standing record: the standing
    # records are looked up for those households only (all 100,000 of a county cost half a second)
    q = select(IncomeRecord.household_id, IncomeRecord.id, IncomeRecord.collected_on).where(
        IncomeRecord.year == year, IncomeRecord.signatures_collected.is_(False)).order_by(IncomeRecord.household_id)
    if subset is not None:
        q = q.where(among(IncomeRecord.household_id, subset))
    unsigned = [r for r in session.connection().execute(q) if r[0] in hh]
    if not unsigned:
        return []
    standing = latest_record_ids(session, year, sorted({r[0] for r in unsigned}))
    out = []
    for hid, rid, collected_on in unsigned:
        if standing.get(hid) != rid:
            continue
        when = f"{collected_on} 采集的" if collected_on else ""
        out.append(Finding("SIGNATURES_MISSING", hh[hid].no, None,
                           f"{year} 年{when}收入记录登记为采集人、被采集人未双签字：收入核算明细表须双方签字确认"))
    return out
