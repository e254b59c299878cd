"""The national system's numbered 疑点 rules (SPEC §10) as checks.

One place lists every rule: resources/national_rules.json holds a row for each rule of shared/NATIONAL_CHECKS.md
(number, official wording, severity, whether it is checked here and, if not, why). Simple rules are data there (a
population and field conditions, `when`); the others are the functions of CODE_RULES below. Each township may turn a
rule off (list_rules / set_rule_enabled).

Facts come in a few set-based queries (households, members with the status at the time point, measures) plus the
year's assessment (services.assess), then every rule runs over plain Python objects in one pass. Ages are taken at
the year's status time point; lines and amounts from the year's settings.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property, lru_cache
from operator import itemgetter

from sqlalchemy import String, Text, and_, case, cast, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session

from ..models import Household, Measure, Member
from ..paths import resource_path
from . import access, gcpause, income, rules, settings
from .codes import codes
from .dates import add_months, months_between
from .db import among
from .errors import ServiceError
from .idnumber import _CHECK, age_on, check_digit, normalize_id
from .idnumber import _WEIGHTS as _ID_WEIGHTS

MONITORED = rules.UNREMOVED | {"removed"}  # 监测对象类别 non-empty in the national system
OFF_KEY = "national_rules_off"  # AppSetting: JSON list of the rule numbers a township turned off
STATUSES = {"checked": "已检查", "same_as": "同另一条规则", "local": "地方规则（不检查）",
            "not_held": "需要登记册以外的数据（不检查）", "impossible": "条件不可能成立（不检查）"}
WHO = {"A": "全部", "P": "脱贫户", "M": "监测对象", "U": "未消除风险的监测对象", "R": "已消除风险的监测对象",
       "N": "未纳入监测的户"}
MALE_RELATIONS = frozenset({"03", "06", "07", "09", "11", "13", "15", "17", "19", "22", "24", "27"})
FEMALE_RELATIONS = frozenset({"04", "05", "08", "10", "12", "14", "16", "18", "20", "23", "25", "26"})
MOBILE = re.compile(r"^1[3-9]\d{9}$")
COUNTY_LEVEL = ("县", "区", "市", "旗")
AFTER_FIELDS = (("after_dropout", "风险消除后是否义务教育阶段适龄儿童少年失学辍学"),
                ("after_housing_damaged", "风险消除后是否住房损毁"),
                ("after_medical_missing", "风险消除后是否有家庭成员未参加基本医疗保险"),
                ("after_water_damaged", "风险消除后是否饮水设施损毁"), ("after_a28", "风险消除后工资性收入"),
                ("after_a30", "风险消除后财产性收入"), ("after_a31", "风险消除后转移性收入"),
                ("after_a29", "风险消除后生产经营性收入"), ("after_a32", "风险消除后生产经营性支出"),
                ("after_a33", "风险消除后家庭纯收入"), ("after_a34", "风险消除后家庭人均纯收入"),
                ("after_a35", "风险消除后理赔收入"), ("after_a36", "风险消除后合规自付支出"))
AFTER_KEYS = tuple(f for f, _ in AFTER_FIELDS)


class RulesError(ServiceError):
    pass


# ---------------------------------------------------------------- the registry

@dataclass(frozen=True)
class NationalRule:
    number: str
    family: str
    title: str  # the official wording
    applies: str  # the catalogue's verdict: yes / partly / no
    status: str  # checked / same_as / local / not_held / impossible
    severity: str  # 错误 / 疑点
    reason: str | None = None  # why it is not checked (or which rule checks it)
    same_as: str | None = None
    data: str | None = None  # not_held: the collection the facts belong to
    codes: tuple[str, ...] = ()  # our own codes (SPEC §10) that cover it
    subject: str | None = None  # household / member
    when: dict | None = None  # the condition of a simple rule

    @property
    def checked(self) -> bool:
        return self.status == "checked"

    @property
    def code(self) -> str:
        """The finding code when none of ours finds it: N_ and the number (SPEC §11)."""
        return f"N_{self.number}"


@lru_cache(maxsize=1)
def registry() -> tuple[NationalRule, ...]:
    """Every rule of the catalogue, checked or not, validated: each checked rule has exactly one evaluator."""
    with open(resource_path("national_rules.json"), encoding="utf-8") as f:
        raw = json.load(f)["rules"]
    out = tuple(NationalRule(number=r["number"], family=r["family"], title=r["title"], applies=r["applies"],
                             status=r["status"], severity=r["severity"], reason=r.get("reason"),
                             same_as=r.get("same_as"), data=r.get("data"), codes=tuple(r.get("codes", ())),
                             subject=r.get("subject"), when=r.get("when")) for r in raw)
    numbers = [r.number for r in out]
    if len(set(numbers)) != len(numbers):
        raise RulesError("resources/national_rules.json：规则编号重复")
    for r in out:
        if r.status not in STATUSES:
            raise RulesError(f"规则 {r.number}：未知状态 {r.status}")
        if r.checked and (r.when is None) == (r.number not in CODE_RULES):
            raise RulesError(f"规则 {r.number}：应当恰有一种检查方式（数据条件或函数）")
        if not r.checked and (r.when is not None or r.number in CODE_RULES):
            raise RulesError(f"规则 {r.number}：不检查的规则不应有检查条件")
        if r.status == "same_as" and r.same_as not in numbers:
            raise RulesError(f"规则 {r.number}：同规则 {r.same_as} 不存在")
    if set(CODE_RULES) - set(numbers):
        raise RulesError(f"函数规则不在目录中：{sorted(set(CODE_RULES) - set(numbers))}")
    return out


@lru_cache(maxsize=1)
def by_number() -> dict[str, NationalRule]:
    return {r.number: r for r in registry()}


# ---------------------------------------------------------------- on/off per township

@dataclass(frozen=True)
class RuleSetting:
    number: str
    title: str
    severity: str
    status: str
    status_name: str
    enabled: bool
    code: str | None  # the code its findings carry (ours or N_…), None when not checked
    reason: str | None


def _off(session: Session) -> frozenset[str]:
    text = settings.get_app(session, OFF_KEY)
    return frozenset(json.loads(text)) if text else frozenset()


def list_rules(session: Session) -> list[RuleSetting]:
    """Every rule of the catalogue with its state in this township."""
    access.logged_in(session)
    off = _off(session)
    out = []
    for r in registry():
        code = None
        if r.checked:
            code = "/".join(r.codes) if r.codes else r.code
        out.append(RuleSetting(r.number, r.title, r.severity, r.status, STATUSES[r.status],
                               r.checked and r.number not in off, code, r.reason))
    return out


def set_rule_enabled(session: Session, number: str, enabled: bool) -> None:
    """Turn a checked rule on or off for the township (管理员, 乡镇审核员; audited as a setting)."""
    access.manager(session, "设置疑点规则")
    rule = by_number().get(number)
    if rule is None:
        raise RulesError(f"没有编号为 {number} 的疑点规则")
    if not rule.checked:
        raise RulesError(f"规则 {number} 本程序不检查（{rule.reason}），不能开启")
    off = set(_off(session))
    was_on = number not in off
    (off.discard if enabled else off.add)(number)
    settings.set_app(session, OFF_KEY, json.dumps(sorted(off)) if off else None)
    if was_on != enabled:  # its open ledger entries are 已停用 while it is off (services.rectification)
        from . import rectification  # late: rectification reads the checks, which read this module
        rectification.rule_switched(session, number, enabled)


def enabled_rules(session: Session) -> list[NationalRule]:
    access.logged_in(session)
    off = _off(session)
    return [r for r in registry() if r.checked and r.number not in off]


# ---------------------------------------------------------------- facts

class _Run:
    """What the derived facts of a member need: the time point, and per run indexes."""

    __slots__ = ("point", "in_school", "head_sex", "per_member")

    def __init__(self, point: date):
        self.point = point
        self.in_school = codes("school").codes_with("in_school")
        self.head_sex: dict[int, list] = defaultdict(list)
        self.per_member: dict[int, list] = {}  # member id → its active measures


class Mem:
    """One member as the rules see it: the register's fields as read, and the derived facts (age at the time point,
    ID faults, …) worked out on first use only — most members never meet a rule that needs them. Slots only (a
    county has 300,000 members): an unset derived slot falls through to __getattr__, which fills it."""

    __slots__ = ("id", "household_id", "name", "id_number", "sex", "relation", "ethnicity", "education", "school",
                 "health", "disability_grade", "labor", "work_region", "work_place_raw", "a17", "res", "emp", "a18",
                 "a19", "a19e", "a20", "a21", "phone_raw", "post_months", "absence_raw", "status", "work_months",
                 "alive", "run", "works", "post", "post_kinds", "items",
                 "norm", "phone", "work_place", "absence", "age", "born", "in_school", "card", "limb_severe",
                 "id_fault", "id_placeholder", "mobile", "place_county", "medical", "resident_no", "spouse_same_sex",
                 "relation_sex", "fx")

    def __getattr__(self, name):  # a derived fact not worked out yet: once, on first use
        derive = _DERIVED.get(name)
        if derive is None:
            raise AttributeError(name)
        value = derive(self)
        setattr(self, name, value)
        return value

    def who(self) -> str:
        return f"成员“{self.name}”（{self.id_number}）"


def _rows(session: Session, q):
    """A plain select of columns through Core (no ORM row processing): tuples, each column's type applied."""
    return session.connection().execute(q)


def _raw_rows(session: Session, q, chunk: int = 20_000):
    """The rows of a Core statement as the driver hands them over (no Row objects, no result processing: only for
    columns whose driver value is already the value, text and integers), a chunk at a time so that a county's
    300,000 rows are never all held at once. On PostgreSQL through a server-side cursor, a chunk of Rows at a time
    (a plain cursor would have libpq hold the whole result, some 140 MB of member rows, before the first row is
    read; and SQLAlchemy reads a streamed cursor's first row itself, so its driver cursor is not read directly).
    psycopg's values are already the values."""
    if session.get_bind().dialect.name == "postgresql":
        result = session.connection().execute(q.execution_options(stream_results=True, max_row_buffer=chunk))
        try:
            for rows in result.partitions(chunk):
                yield from rows
        finally:
            result.close()
        return
    result = session.connection().execute(q)
    cursor = result.cursor
    try:
        while rows := cursor.fetchmany(chunk):
            yield from rows
    finally:
        result.close()


def _norm(number: str) -> str:
    return number.replace(" ", "").upper() if number.isascii() else normalize_id(number)


def _born(m: Mem):
    core = m.norm[:18]
    if len(core) < 14 or not core[:14].isdigit():
        return None
    try:
        return date(int(core[6:10]), int(core[10:12]), int(core[12:14]))
    except ValueError:
        return None


def _age(m: Mem):
    born = m.born
    return age_on(born, m.run.point) if born is not None and born <= m.run.point else None


def _id_fault(m: Mem):
    number = m.norm
    n = len(number)
    if n not in (18, 20, 22):
        return "length"
    core = number[:18]
    if not core[:17].isdigit() or check_digit(core[:17]) != core[17]:
        return "checksum_card" if n != 18 else "checksum18"
    return None


class _IdParts:
    """Birth date, age at the time point and ID fault of a member (what _born, _age and _id_fault work out), from
    the parts of the number that many members share: the birth date (8 digits) gives the birth date and the age,
    worked out once per distinct date (a county has some 30,000); the area (first 6 digits), the birth date and the
    serial (3) each give their share of the check digit's weighted sum, once per distinct part (only the numbers
    load_facts does not read the fast way ask for these). Numbers that are not 18/20/22 ASCII characters with 17
    leading digits go the plain way."""

    __slots__ = ("point", "areas", "dates", "date_shares", "serials")

    def __init__(self, point: date):
        self.point = point
        self.areas: dict[str, int] = _Shares(0)
        self.dates: dict[str, tuple] = _Dates(point)  # YYYYMMDD → (born, age)
        self.date_shares: dict[str, int] = _Shares(6)
        self.serials: dict[str, int] = _Shares(14)

    def parts(self, m: Mem) -> tuple:
        number = m.norm
        n = len(number)
        if (n == 18 or n == 20 or n == 22) and number.isascii() and number[:17].isdigit():
            key = number[6:14]
            got = self.dates[key]  # each a dict that works out a part it has not seen (__missing__)
            if _CHECK[(self.areas[number[:6]] + self.date_shares[key] + self.serials[number[14:17]]) % 11] \
                    == number[17]:
                fault = None
            else:
                fault = "checksum_card" if n != 18 else "checksum18"
            return got[0], got[1], fault
        born = _born(m)
        return born, (age_on(born, self.point) if born is not None and born <= self.point else None), _id_fault(m)


class _Shares(dict):
    """Digits at a place of the number → their share of the weighted sum, worked out on first sight."""

    def __init__(self, start: int):
        super().__init__()
        self.start = start

    def __missing__(self, digits: str) -> int:
        out = self[digits] = _share(digits, self.start)
        return out


class _Dates(dict):
    """YYYYMMDD (ASCII digits) → (born, age at the time point), worked out on first sight: (None, None) for a date
    that does not exist, age None for one after the time point. The age as idnumber.age_on works it out, from the
    digits (month and day as one number MMDD)."""

    def __init__(self, point: date):
        super().__init__()
        self.point = point
        self.point_md = point.month * 100 + point.day

    def __missing__(self, key: str) -> tuple:
        year, md = int(key[:4]), int(key[4:8])
        try:
            born = date(year, md // 100, md % 100)
        except ValueError:
            out = self[key] = (None, None)
            return out
        point = self.point
        out = self[key] = (born, point.year - year - (self.point_md < md) if born <= point else None)
        return out


def _share(digits: str, start: int) -> int:
    """The share of ASCII digits at positions start… in the check digit's weighted sum (GB 11643)."""
    return sum(int(d) * w for d, w in zip(digits, _ID_WEIGHTS[start:start + len(digits)], strict=True))



def _medical(m: Mem) -> str:
    return _medical_of(m.res, m.emp, m.a17)


def _spouse_same_sex(m: Mem) -> bool:
    heads = m.run.head_sex.get(m.household_id, ())
    return bool(m.relation == "02" and len(heads) == 1 and heads[0] and m.sex == heads[0])


_DERIVED = {
    "norm": lambda m: _norm(m.id_number),
    "phone": lambda m: _text(m.phone_raw),
    "work_place": lambda m: _text(m.work_place_raw),
    "absence": lambda m: _text(m.absence_raw),
    "age": _age,
    "born": _born,
    "in_school": lambda m: m.school in m.run.in_school,
    "card": lambda m: len(m.norm) in (20, 22),
    "limb_severe": lambda m: len(m.norm) in (20, 22) and m.norm[18] == "4" and m.norm[19] in "12",
    "id_fault": _id_fault,
    "id_placeholder": lambda m: not m.norm or m.norm.startswith("999999"),
    "mobile": lambda m: m.phone is not None and bool(MOBILE.match(m.phone)),
    "place_county": lambda m: m.work_place is not None and any(w in m.work_place for w in COUNTY_LEVEL),
    "medical": _medical,
    "resident_no": lambda m: m.res is False or (m.res is None and m.emp is None and m.a17 is False),
    "spouse_same_sex": _spouse_same_sex,
    "relation_sex": lambda m: _relation_sex(m),
}


def _relation_sex(m: Mem) -> bool:
    return m.spouse_same_sex or bool(m.sex and ((m.relation in MALE_RELATIONS and m.sex == "2") or (
        m.relation in FEMALE_RELATIONS and m.sex == "1")))
_NO_ITEMS: frozenset = frozenset()
_NO_AFTER: dict = {}  # shared by every household without a 风险消除后 block (read only)
RAW_FIELDS = frozenset({"id", "household_id", "name", "id_number", "sex", "relation", "ethnicity", "education",
                        "school", "health", "disability_grade", "labor", "work_region", "a17", "res", "emp", "a18",
                        "a19", "a19e", "a20", "a21", "post_months", "alive", "works", "post", "post_kinds", "items"})


class HH:
    __slots__ = ("id", "no", "status", "poverty", "a23", "a24", "a25", "a26", "risks", "other_note", "disasters",
                 "identified_on", "way", "removed_on", "whole_guarantee", "phone", "contact_person", "contact_phone",
                 "after", "pops", "members", "everyone", "measures", "measure_cats", "assessment", "phone_11",
                 "phone_mobile", "watch", "category", "closed", "mmask", "light")

    def __getattr__(self, name):
        if name == "members" or name == "everyone":  # a household whose members load_facts left as rows (_LAZY_POPS)
            _build_members(self)
            return getattr(self, name)
        if name.startswith("after_"):  # the 风险消除后 facts by their field names (after_a28 …)
            return self.after.get(name)
        raise AttributeError(name)


# The households whose members load_facts keeps as the rows read (h.light) and makes member objects of only when
# something asks for h.members / h.everyone: the plain ones (not 脱贫户, not monitored), four in five of a county. No
# function rule of theirs reads a member unless its own household facts say so, their member rules only where the
# living members' masks say one may hold (evaluate), our member codes only where a member may be found
# (services.checks._quiet), and assess takes its member facts from the rows (assess_members).
_LAZY_POPS = frozenset({"A", "N"})
# h.light of such a household: the run, then per member its row, packed cells, normal form of the number, birth date,
# age and ID fault, one after another in one flat list (no tuple per member: fewer objects to make and to free)
LIGHT = 6


def _member(r: tuple, h: HH, run: _Run, cells: tuple, norm: str, born, age, fault, phone, mobile) -> Mem:
    """One member object from its row (_member_select), its packed cells (_Packed) and what load_facts worked out
    while reading it (the normal form of the number, birth date, age, fault, phone; mobile only for a worker)."""
    m = Mem()
    (m.id, _, m.name, number, m.work_place_raw, m.phone_raw, m.post_months, m.absence_raw, m.work_months, _) = r
    m.household_id = h.id  # the household's own int object, not one more per member
    (m.sex, m.relation, m.ethnicity, m.education, m.school, m.health, m.disability_grade, m.labor, m.work_region,
     m.a20, m.a21, m.status, m.a17, m.res, m.emp, m.a18, m.a19, m.a19e, m.alive, m.in_school, m.medical,
     m.resident_no, _masks, m.fx) = cells
    m.id_number = number or ""
    # the text cells as the rules read them (_text): stripped, blank as none
    m.phone = phone
    m.work_place = (m.work_place_raw.strip() or None) if m.work_place_raw else None
    m.absence = (m.absence_raw.strip() or None) if m.absence_raw else None
    m.norm, m.born, m.age, m.id_fault = norm, born, age, fault
    m.run = run
    m.id_placeholder = not norm or norm.startswith("999999")  # read by a rule for every 脱贫户 member
    if mobile is None:
        m.works = False
    else:
        m.works = True
        m.mobile = mobile  # read by 2_12_007 for every worker
    mine = run.per_member.get(m.id)
    if mine:
        posts = {x.item or "其他" for x in mine if x.category == "A42"}
        m.post, m.post_kinds = bool(posts), len(posts)
        m.items = frozenset([f"{x.category}:{x.item}" for x in mine] + [f"{x.category}:*" for x in mine])
    else:
        m.post, m.post_kinds, m.items = False, 0, _NO_ITEMS
    return m


def _phone_of(r: tuple, cells: tuple) -> tuple[str | None, bool | None]:
    """A member row's phone (None when blank) and, for one who works (务工地区 or 务工所在地), whether it is a mobile
    number (read by 2_12_007 for every worker); None for one who does not: read while loading and when a kept row
    becomes a member object alike."""
    phone = (phone_raw.strip() or None) if (phone_raw := r[5]) else None
    if cells[8] is not None or r[4] is not None:
        return phone, phone is not None and bool(MOBILE.match(phone))
    return phone, None


def _build_members(h: HH) -> None:
    """The member objects of a household whose members load_facts kept as rows (h.light), in the rows' order: the
    phone and whether a worker's is a mobile one (what load_facts works out for a member object) from the row."""
    it = iter(h.light)
    run = next(it)
    everyone = []
    for r, cells, norm, born, age, fault in zip(it, it, it, it, it, it, strict=True):
        everyone.append(_member(r, h, run, cells, norm, born, age, fault, *_phone_of(r, cells)))
    h.everyone, h.members, h.light = everyone, [m for m in everyone if m.alive], None


def _watch_of(h: HH) -> dict:
    """The should-be-monitored rules the household meets ({rule number: fact}), worked out once for the three rules
    that ask (load_facts sets h.watch None: worked out when first asked, see _watch)."""
    a = h.assessment
    if a is None:
        return _NO_AFTER
    found = should_be_monitored(a)
    return dict(found) if found else _NO_AFTER  # the shared empty dict for the many that meet none


def _watch(h: HH) -> dict:
    w = h.watch
    if w is None:
        w = h.watch = _watch_of(h)
    return w


@dataclass(frozen=True, slots=True)
class Meas:
    category: str
    item: str | None
    member_id: int | None
    start_date: date | None
    active: bool
    developmental: bool


@dataclass
class Facts:
    year: int
    point: date
    as_of: date
    line: Decimal
    thresholds: dict
    households: dict[int, HH]
    by_number: dict  # ID number → [(household id, household number, name)] of living members (1_01_001, 1_12_001)
    by_phone: dict  # member phone → {household id} for the phones of more than one household
    shared_phone: set  # households with a member phone that another household's member also has (5_15_022)
    lines: dict  # year → monitoring line (4_11_010)
    id_year_totals: dict  # (year, household id) → Totals (5_15_020)
    # ID numbers as stored that more than one member row holds (any status, any household: a superset of every
    # duplicate), from the covering index in one grouped query; and the normalised forms of the numbers that are
    # not plain 18 ASCII digits (normalising may make two different stored texts one number). A holder index only
    # needs the members whose stored number is in the first or whose normalised one is in the second.
    id_twice: frozenset = frozenset()
    id_irregular: frozenset = frozenset()
    # the distinct rules.MemberFacts of the members read (what assess reads of a member); a member's `fx` is its place
    member_table: list = dataclasses.field(default_factory=list)
    # what assess reads of each household read (SQLite only, else None): (id, 户编号, village, profile) with the
    # profile's cells as the driver gave them (assess_households)
    profiles: list | None = None

    @cached_property
    def low_income(self) -> Decimal | None:
        """The year's 家庭人均纯收入低于 threshold (3_11_010), None when not set."""
        bound = self.thresholds.get("national_low_income")
        return None if bound is None else _decimal(bound)


_BOOL = {None: None, 0: False, 1: True}  # a yes/no cell as the driver gives it (True and False are 1 and 0 here)


def _text(v):
    if v is None:
        return None
    v = str(v).strip()
    return v or None


def _json_list(text) -> tuple:
    if isinstance(text, list):  # PostgreSQL: psycopg has already decoded the json column
        return tuple(text)
    return tuple(json.loads(text)) if text and text != "[]" else ()


def _household_select(household_ids: list[int] | None, open_only: bool):
    """The households' cells a check reads (load_facts; bench/bench_rules.py times the driver's rows of it alone)."""
    H = Household
    q = select(H.id, H.household_no, H.monitoring_status, H.a4_poverty_alleviated, H.a23_housing_unsafe,
               H.a24_school_dropout, H.a25_water_unsafe, type_coerce(H.a27_risk_types, String),
               H.a27_other_note, type_coerce(H.a27a_disaster_types, String), H.identified_on, H.a53_removal_way,
               H.a54_removed_on, H.whole_no_labor_guarantee, H.phone, H.a55_contact_person, H.contact_phone,
               or_(*[getattr(H, f).is_not(None) for f in AFTER_KEYS]), H.a3_category, H.closed_on.is_not(None),
               H.village_id, H.dibao_tier)
    if household_ids is not None:
        return q.where(among(H.id, household_ids))
    return q.where(H.closed_on.is_(None)) if open_only else q


def _member_select(point: date, dialect: str):
    """The members' cells a check reads, the code and yes/no cells as one packed text (_packed), every member of the
    register (load_facts narrows it for a small subset; bench/bench_rules.py times the driver's rows of it alone)."""
    M = Member
    return select(M.id, M.household_id, M.name, M.id_number, M.work_place, M.phone, M.public_post_months,
                  M.school_absence_reason, M.work_months, _packed(point, dialect))


def load_facts(session: Session, year: int, as_of: date, assessments: dict | None, household_ids: list[int] | None,
               point: date, line: Decimal, thresholds: dict, *, open_only: bool = False) -> Facts:
    """Households, members and measures in three queries (JSON cells read as text, parsed only when not empty).
    open_only: a whole-register run leaves closed households (户注销) out, their members too (as holders of an ID).
    The members read here are the only member pass of a check: services.checks runs its own member codes over them,
    and a check that has to assess first gives assess these members (assess_members) and then the assessments
    (attach_assessments): assessments None leaves them to that.
    The cyclic collector is paused meanwhile (services.gcpause: none of these objects is in a cycle)."""
    with gcpause.paused():
        return _load_facts(session, year, as_of, assessments, household_ids, point, line, thresholds, open_only)


def _load_facts(session: Session, year: int, as_of: date, assessments: dict | None, household_ids: list[int] | None,
                point: date, line: Decimal, thresholds: dict, open_only: bool) -> Facts:
    H = Household
    q = _household_select(household_ids, open_only)
    households: dict[int, HH] = {}
    with_after: list[HH] = []  # households with a 风险消除后 block (the removed ones), read in a second query
    unremoved = rules.UNREMOVED
    pop_sets: dict[tuple, frozenset] = {}
    risk_sets: dict[str, frozenset] = {}  # A27 JSON text → its codes; A27a JSON text → its tuple (or None)
    disaster_lists: dict[str, tuple | None] = {}
    # assess's households (assess_households), on SQLite whose driver values are those assess's own read decodes
    profiles = [] if session.get_bind().dialect.name == "sqlite" else None
    for r in _raw_rows(session, q):  # the driver's values: SQLite's yes/no cells 0/1 and dates text (_bool, _day)
        h = HH()
        (h.id, h.no, h.status, poverty, a23, a24, a25, risks, note, disasters, identified_on, h.way,
         removed_on, whole, phone, person, cphone, has_after, h.category, closed, village, tier) = r
        if profiles is not None:
            profiles.append((h.id, h.no, village, (h.status, h.category, poverty, identified_on, a23, a24, a25, risks,
                                                   tier)))
        h.poverty = _BOOL[poverty] if poverty in _BOOL else bool(poverty)
        h.a23 = _BOOL[a23] if a23 in _BOOL else bool(a23)
        h.a24 = _BOOL[a24] if a24 in _BOOL else bool(a24)
        h.a25 = _BOOL[a25] if a25 in _BOOL else bool(a25)
        h.whole_guarantee = _BOOL[whole] if whole in _BOOL else bool(whole)
        h.closed = bool(closed)
        h.identified_on = date.fromisoformat(identified_on) if identified_on.__class__ is str else identified_on
        h.removed_on = date.fromisoformat(removed_on) if removed_on.__class__ is str else removed_on
        h.after = _NO_AFTER
        if has_after:
            with_after.append(h)
        if not risks or risks == "[]":
            h.risks = _NO_ITEMS
        elif risks.__class__ is str:  # SQLite's JSON text: the few distinct lists decoded once each
            got = risk_sets.get(risks)
            if got is None:
                got = risk_sets[risks] = frozenset(_json_list(risks))
            h.risks = got
        else:
            h.risks = frozenset(_json_list(risks))
        h.other_note = _text(note)
        if disasters.__class__ is str:
            got = disaster_lists.get(disasters)
            if got is None:
                got = disaster_lists[disasters] = _json_list(disasters) or None
            h.disasters = got
        else:
            h.disasters = _json_list(disasters) or None
        h.phone, h.contact_person, h.contact_phone = _text(phone), _text(person), _text(cphone)
        h.phone_11 = h.phone is not None and len(h.phone) == 11 and h.phone.isdigit()
        h.phone_mobile = h.phone is not None and bool(MOBILE.match(h.phone))
        key = (h.poverty is True, h.status in MONITORED, h.status in unremoved)
        pops = pop_sets.get(key)
        if pops is None:
            pops = {"A"}
            if key[0]:
                pops.add("P")
            if key[1]:
                pops |= {"M", "U" if key[2] else "R"}
            else:
                pops.add("N")
            pops = pop_sets[key] = frozenset(pops)
        h.pops = pops
        h.measures = []
        h.light = None  # _LAZY_POPS households: [run, *rows] below (LIGHT entries per member)
        h.assessment = None  # attach_assessments
        h.watch = None  # worked out when a should-be-monitored rule asks (_watch)
        h.mmask = 0  # the living members' masks ORed (_member_masks)
        households[h.id] = h

    aq = select(H.id, *[getattr(H, f) for f in AFTER_KEYS])
    if household_ids is None and with_after:  # the whole register: by the same condition, no list of ids to bind
        for r in _rows(session, aq.where(or_(*[getattr(H, f).is_not(None) for f in AFTER_KEYS]))):
            h = households.get(r[0])
            if h is not None:
                h.after = dict(zip(AFTER_KEYS, r[1:], strict=True))
        with_after = []
    for start in range(0, len(with_after), 5000):
        part = {h.id: h for h in with_after[start:start + 5000]}
        for r in _rows(session, aq.where(among(H.id, list(part)))):
            part[r[0]].after = dict(zip(AFTER_KEYS, r[1:], strict=True))
    mq = select(Measure.household_id, Measure.member_id, Measure.category, Measure.item, Measure.start_date,
                Measure.developmental_override, Measure.raises_working_ability,
                and_(*_active(as_of)).label("active"))
    run = _Run(point)
    per_member = run.per_member
    developmental: dict[tuple, bool] = {}  # (category, item, override, raises) → rules.is_developmental, once each
    for hid, mid, cat, item, start, override, raises, active in _rows(session, mq):
        h = households.get(hid)
        if h is None:
            continue
        key = (cat, item, override, bool(raises))
        dev = developmental.get(key)
        if dev is None:
            dev = developmental[key] = rules.is_developmental(*key)
        meas = Meas(cat, item, mid, start, bool(active), dev)
        h.measures.append(meas)
        if mid is not None and active:
            per_member.setdefault(mid, []).append(meas)
    for h in households.values():
        if h.pops == _LAZY_POPS:
            h.light = [run]
        else:
            h.members, h.everyone = [], []
    subset = household_ids is not None
    M = Member
    # the code and yes/no cells of a member as ONE JSON array text (the database builds it): a county has a few thousand
    # distinct combinations, each decoded once (_Packed), instead of 19 cells per member turned into objects
    dialect = session.get_bind().dialect.name
    mq = _member_select(point, dialect)
    if subset and len(households) < 5000:
        mq = mq.where(M.household_id.in_(list(households)))
    by_number: dict[str, list] = defaultdict(list)
    by_phone: dict[str, object] = {}  # phone → the household id, or the set of them once a second one has it
    head_sex = run.head_sex
    # ID numbers held by more than one living member (1_01_001 / 1_12_001). A run that reads every member counts
    # them as it goes (a grouped query costs as much again as the read); a small subset asks the index about its
    # own members' numbers only.
    whole = not (subset and len(households) < 5000)
    twice = select(M.id_number).group_by(M.id_number).having(func.count() > 1)  # the covering index, no sort
    if not whole:
        own = select(M.id_number).where(M.household_id.in_(list(households)))
        shared = set(session.scalars(select(M.id_number).where(income.alive_at(point), M.id_number.in_(own))
                                     .group_by(M.id_number).having(func.count() > 1)))
        twice = twice.where(M.id_number.in_(own))
    twice = frozenset(session.scalars(twice))
    irregular = set()
    # whole: ID number → the place in `seen` of its first living holder; `multi`: ID number → the places of every
    # living holder once a second one is seen. `seen` lists the living holders in the order the rows came (a member
    # itself, or (number, entry) for one of a household not checked). Only numbers that more than one row holds
    # (`twice`) are indexed: a set look-up per member instead of an entry per member
    holders: dict[str, int] = {}
    multi: dict[str, list] = {}
    seen: list = []
    outside = subset or not open_only
    ids = _IdParts(point)
    id_dates = ids.dates
    unpack = _Packed(run.in_school)
    for r in _raw_rows(session, mq):
        h = households.get(r[1])
        if h is None:  # a member of a household not checked (a subset run): only for the duplicate index
            if whole and r[3] in twice and unpack[r[9]][18]:
                _hold(holders, multi, r[3], len(seen))
                seen.append((r[3], (r[1], None, r[2]) if outside else None))
            continue
        cells = unpack[r[9]]
        number = r[3] or ""
        # what every member's checks read (our ID codes, ages): worked out here rather than on first use. A number of
        # 18, 20 or 22 ASCII digits, X only as the check digit (nearly all: one in eleven ends in X, cards are 20
        # long), is its own normal form: worked out the way _IdParts.parts does it, written out, once per member
        n = len(number)
        if (n == 18 or n == 20 or n == 22) and number.isascii() and number[:17].isdigit() and (
                (tail := number[17:]).isdigit() or (tail[0] == "X" and (n == 18 or tail[1:].isdigit()))):
            norm = number
            born, age = id_dates[number[6:14]]
            # the check digit's weighted sum mod 11: the weights are 2**(17-i) mod 11 and 13 ≡ 2 (mod 11), so it is
            # twice the first 17 digits read in base 13 (one int() in C instead of 17 products)
            if _CHECK[2 * int(number[:17], 13) % 11] == number[17]:
                fault = None
            else:
                fault = "checksum18" if n == 18 else "checksum_card"
            if n != 18 or tail == "X":  # not plain 18 digits: normalize_id(number) is number itself
                irregular.add(number)
            card = n != 18
        else:
            card = True  # for the masks below: a number spelt oddly may be any card
            if number.isascii():
                norm = number if number.isdigit() else number.replace(" ", "").upper()
            else:
                norm = normalize_id(number)
            probe = Mem()
            probe.norm = norm
            born, age, fault = ids.parts(probe)
            irregular.add(norm)
            irregular.add(normalize_id(number))
        phone, mobile = _phone_of(r, cells)
        masks = cells[22]
        mask = masks[0] if mobile is None else masks[1] if mobile else masks[2]
        if card:  # the masks are those of a member without a 残疾人证 (card, limb_severe false)
            mask = -1
        if r[0] in per_member:
            mask = -1  # measures of their own: every rule may hold
        if (light := h.light) is None:
            m = _member(r, h, run, cells, norm, born, age, fault, phone, mobile)
            h.everyone.append(m)
            if cells[18]:
                h.members.append(m)
        else:
            light += (r, cells, norm, born, age, fault)  # flat: no tuple per member to keep (and free)
            m = None
        if cells[18]:  # alive at the time point
            h.mmask |= mask
            if whole:
                if number in twice:  # _hold, written out
                    first = holders.get(number)
                    if first is None:
                        holders[number] = len(seen)
                    elif (xs := multi.get(number)) is None:
                        multi[number] = [first, len(seen)]
                    else:
                        xs.append(len(seen))
                    seen.append(m if m is not None else (norm, (h.id, h.no, r[2]), True))
            elif number in shared:
                by_number[norm].append((h.id, h.no, r[2]))
            if phone:
                held = by_phone.get(phone)
                if held is None:
                    by_phone[phone] = h.id
                elif held.__class__ is int:
                    if held != h.id:
                        by_phone[phone] = {held, h.id}
                else:
                    held.add(h.id)
            if cells[1] == "01":
                head_sex[h.id].append(cells[0])
    if whole:  # in the order the rows came
        for i in sorted(i for xs in multi.values() for i in xs):
            x = seen[i]
            if x.__class__ is Mem:
                by_number[x.norm].append((x.household_id, households[x.household_id].no, x.name))
            elif len(x) == 3:  # a member of a household whose members are kept as rows: its normal form as read
                by_number[x[0]].append(x[1])
            elif x[1] is not None:
                by_number[_norm(x[0])].append(x[1])
    else:
        _outside_holders(session, households, by_number)
    for xs in by_number.values():  # the same words on every engine: the rows come in no promised order
        xs.sort()
    del seen, holders, multi

    for h in households.values():
        h.measure_cats = frozenset(x.category for x in h.measures) if h.measures else _NO_ITEMS
        if "P" in h.pops or "M" in h.pops:  # rules of these read both for every member: here, not on first use
            for m in h.members:
                m.spouse_same_sex = _spouse_same_sex(m)
                m.relation_sex = _relation_sex(m)
    by_phone = {phone: ids for phone, ids in by_phone.items() if ids.__class__ is set}  # only shared ones matter
    shared = {hid for ids in by_phone.values() for hid in ids}
    facts = Facts(year, point, as_of, line, thresholds, households, by_number, by_phone, shared, {}, {}, twice,
                  frozenset(irregular), unpack.table, profiles)
    if assessments is not None:
        attach_assessments(facts, assessments)
    return facts


def attach_assessments(facts: Facts, assessments: dict) -> None:
    """Each household's assessment (household id → assess.Assessment; a household without one has None) and the A26
    the rules read: 基本医疗保险 among its guarantee problems, or without an assessment a living member whose A17 is
    no as the check reads it (_flag)."""
    for h in facts.households.values():
        h.assessment = a = assessments.get(h.id)
        h.a26 = ("基本医疗保险" in a.guarantee_problems) if a is not None else any(m.a17 is False for m in h.members)


def assess_members(facts: Facts) -> tuple[list, list]:
    """What assess reads of the members, from the members read here (assess.assess's `members`): (household id, the
    places in facts.member_table of its members of status 正常 at the time point, in member order) for every household
    read that has any, and that table of distinct rules.MemberFacts. assess's own read (_member_situations) takes
    A17 as bool of its JSON value: _Packed gives each combination of cells that MemberFacts."""
    out = []
    for hid, h in facts.households.items():
        if h.light is not None:  # members kept as rows: the place is the packed cells' last
            fx = tuple([c[-1] for c in h.light[2::LIGHT] if c[18]])
        else:
            fx = tuple([m.fx for m in h.members])
        if fx:
            out.append((hid, fx))
    return out, facts.member_table


def assess_households(facts: Facts) -> list | None:
    """What assess reads of the households, from the households read here (assess.assess's `households`): (id,
    户编号, village, profile) in 户编号 order, the profile the cells of assess._PROFILE as SQLite's driver gave them
    (assess._Profiles decodes the same cells from its own read's JSON text); None on another database."""
    if facts.profiles is None:
        return None
    return sorted(facts.profiles, key=itemgetter(1))


PACKED_CODES = ("sex", "relation", "ethnicity", "education", "school", "health", "disability_grade", "labor",
                "work_region", "a20_dibao", "a21_tekun", "status")
PACKED_FLAGS = ("a17_medical", "a17_resident_medical", "a17_employee_medical", "a18_serious_illness", "a19_pension",
                "a19_employee_pension")


def _packed(point: date, dialect: str):
    """SQL: a member's code cells, yes/no cells and whether they are alive at the time point (1 or 0, last), as one
    JSON array text: each cell as stored, NULL as null (SQLite: its numbers as numbers, a text as text; PostgreSQL:
    yes/no as true/false). SQLite's json_array costs about 0.3 s less at county scale than one printf of the cells
    (each through ifnull) did, and no cell's characters can be taken for a separator."""
    cells = [getattr(Member, c) for c in PACKED_CODES + PACKED_FLAGS]
    alive = case((income.alive_at(point), literal(1)), else_=literal(0))
    if dialect == "sqlite":
        return func.json_array(*cells, alive).label("packed")
    return cast(func.json_build_array(*cells, alive), Text).label("packed")


def _flag(v) -> bool:
    """A yes/no cell (not NULL) as SQLite's CASE WHEN would take it: a nonzero number is yes, a text that reads as a
    nonzero number too (an old import's '是'/'否' are no)."""
    if v.__class__ is not str:  # a number, or PostgreSQL's true/false
        return v != 0
    try:
        return float(v) != 0
    except ValueError:
        return False


def _medical_of(res, emp, a17) -> str:
    """The two 医保 flags and A17 as the national rules read them (both_yes / ok / both_no / both_empty)."""
    if res is True and emp is True:
        return "both_yes"
    if res is True or emp is True:
        return "ok"
    if (res is False and emp is False) or a17 is False:
        return "both_no"
    if res is None and emp is None and a17 is None:
        return "both_empty"
    return "ok"


class _Packed(dict):
    """Packed text (_packed's JSON array) → the cells: code cells as text (None when empty, a blank relation too),
    yes/no cells as True/False/None (_flag), alive as True/False, then what depends on these cells only (in school,
    the 医保 verdict, 城乡居民医保 no); worked out once per distinct text."""

    def __init__(self, in_school: frozenset):
        super().__init__()
        self.in_school = in_school
        self.cells: dict[str, str] = {}
        self.mask_cache: dict[tuple, tuple] = {}
        self.table: list[rules.MemberFacts] = []  # Facts.member_table
        self.places: dict[tuple, int] = {}

    def __missing__(self, text: str) -> tuple:
        cells = json.loads(text)
        alive = cells[-1] == 1
        stored = cells[len(PACKED_CODES):-1]
        flags = [None if v is None else _flag(v) for v in stored]
        one = self.cells  # one string object per distinct code value across the combinations
        codes_ = [None if v is None else one.setdefault(v, v) for v in cells[:len(PACKED_CODES)]]
        if not codes_[1]:  # relation: a required column an old import may have left blank
            codes_[1] = None
        a17, res, emp = flags[0], flags[1], flags[2]
        derived = (codes_[4] in self.in_school, _medical_of(res, emp, a17),
                   res is False or (res is None and emp is None and a17 is False))
        out = (*codes_, *flags, alive, *derived)
        # what assess reads of the member (labor, A17, A20, A21), A17 as assess reads it: bool of its JSON value
        # (SQLite: A17 is a BOOLEAN column of NUMERIC affinity, so a text stays a text only when it is not a number,
        # and a text other than "" is true there, while _flag reads a text that is not a number as no: an old
        # import's '是'/'否'): each keeps its own reading
        a17_json = None if stored[0] is None else bool(stored[0])
        key = (codes_[7], a17_json, codes_[9], codes_[10])
        place = self.places.get(key)
        if place is None:
            place = self.places[key] = len(self.table)
            self.table.append(rules.MemberFacts(*key))
        out = self[text] = (*out, self.masks(out), place)
        return out

    def masks(self, facts: tuple) -> tuple[int, int, int]:
        """The relaxed member conditions' masks (_member_masks) of a member with these packed facts and no measures of
        their own: (not working, working with a mobile phone, working without one); worked out once per distinct
        value of the few facts those conditions read (a county's 10,000 combinations have a few dozen)."""
        fn, _bits, _b007, read = _member_masks()
        key = tuple([facts[i] for i in read])
        got = self.mask_cache.get(key)
        if got is not None:
            return got
        p = _Probe()
        for i in read:
            setattr(p, PACKED_FACTS[i], facts[i])
        p.post, p.post_kinds, p.items = False, 0, _NO_ITEMS
        p.card = p.limb_severe = False
        p.id_number = ""
        p.works = False
        p.mobile = True
        idle = fn(p)
        p.mobile = False
        idle |= fn(p)
        p.works = True
        no_mobile = fn(p)
        p.mobile = True
        got = self.mask_cache[key] = (idle, fn(p), no_mobile)
        return got


def _hold(holders: dict, multi: dict, number: str, x) -> None:
    """One living holder of an ID number: the first is kept aside, from the second on the number's holders are
    listed in `multi` (so only numbers held more than once cost a list)."""
    first = holders.get(number)
    if first is None:
        holders[number] = x
    elif (xs := multi.get(number)) is None:
        multi[number] = [first, x]
    else:
        xs.append(x)


def _outside_holders(session: Session, households: dict, by_number: dict) -> None:
    """Living members elsewhere in the register who hold an ID number of the checked households."""
    numbers = list(by_number)
    for start in range(0, len(numbers), 900):
        q = (select(Member.household_id, Household.household_no, Member.name, Member.id_number)
             .join(Household, Household.id == Member.household_id)
             .where(Member.id_number.in_(numbers[start:start + 900]), Member.status == "normal"))
        for hid, no, name, number in session.execute(q):
            if hid not in households:
                by_number[_norm(number)].append((hid, no, name))


def _active(as_of: date):
    from .assess import active_measure_filter
    return active_measure_filter(as_of)


# ---------------------------------------------------------------- simple rules: conditions as data

# field → (label, code list or kind) for the message that names the triggering facts
FIELD_LABELS = {
    "ethnicity": ("民族", "ethnicity"), "health": ("健康状况", "health"), "labor": ("劳动技能", "labor"),
    "school": ("在校生状况", "school"), "education": ("文化程度", "education"), "relation": ("与户主关系", "relation"),
    "a20": ("享受低保政策情况", "dibao"), "a21": ("享受特困供养政策情况", "tekun"),
    "a18": ("是否参加大病保险", "bool"), "a19": ("是否参加城乡居民基本养老保险", "bool"),
    "a19e": ("是否参加城镇职工基本养老保险", "bool"), "age": ("状态时点年龄", "age"),
    "absence": ("义务教育阶段未上学原因", "text"), "post_months": ("公益性岗位（月数）", "text"),
    "id_fault": ("证件号码", "id_fault"), "id_placeholder": ("证件号码", "placeholder"),
    "medical": ("是否参加城乡居民/城镇职工基本医疗保险", "medical"),
    "resident_no": ("是否参加城乡居民基本医疗保险", "resident"),
    "in_school": ("在校生状况", "in_school"), "card": ("证件类型", "card"), "limb_severe": ("残疾人证", "limb"),
    "post": ("公益性岗位", "post"), "post_kinds": ("公益性岗位", "post_kinds"), "items": ("帮扶措施", "items"),
    "works": ("务工", "works"), "mobile": ("联系电话", "mobile"), "place_county": ("务工所在地", "place"),
    "relation_sex": ("与户主关系和性别", "relation_sex"), "spouse_same_sex": ("户主与配偶", "spouse"),
    "a23": ("住房出现安全问题（A23）", "bool"), "a24": ("义务教育阶段适龄儿童少年失学辍学（A24）", "bool"),
    "a25": ("饮水安全问题（A25）", "bool"), "a26": ("有家庭成员未参加基本医疗保险（A26）", "bool"),
    "risks": ("致贫/返贫风险", "risks"), "other_note": ("风险类型“其他”的备注", "text"),
    "disasters": ("自然灾害子项", "text"), "way": ("风险消除方式", "removal_way"),
    "measures": ("帮扶措施", "measures"), "contact_person": ("监测联系人", "text"),
    "contact_phone": ("监测联系人电话", "text"), "phone_11": ("户联系电话", "phone"),
    "phone_mobile": ("户联系电话", "phone"),
    **{f: (label, "bool") for f, label in AFTER_FIELDS[:4]},
}


# a cheap test on the register's fields that must hold for a derived fact to be true (skips deriving it)
GUARDS = {"limb_severe": "len(m.id_number) >= 20", "card": "len(m.id_number) >= 20"}


def _compile_many(rules_: list[NationalRule]):
    """The conditions of several simple household rules as one function (m, h) → the positions of those that hold
    (an empty tuple mostly): one call per household instead of one per rule."""
    consts: dict = {}
    lines = ["def f(m, h):", "    out = ()"]
    for i, rule in enumerate(rules_):
        lines.append(f"    if {_condition(rule, consts)}:")
        lines.append(f"        out += ({i},)")
    return _compiled(lines, consts)


def _compile_members(rules_: list[NationalRule]):
    """The conditions of several simple member rules as one function (h) → [(position, member)] of those that hold,
    member by member in the household's order and for each member in the rules' order (None when none holds): one
    call per household, the loop over its members inside, instead of one call per member."""
    consts: dict = {}
    lines = ["def f(h):", "    out = None", "    for m in h.members:"]
    for i, rule in enumerate(rules_):
        lines.append(f"        if {_condition(rule, consts)}:")
        lines.append(f"            if out is None: out = [({i}, m)]")
        lines.append(f"            else: out.append(({i}, m))")
    return _compiled(lines, consts)


# The member facts a combination of packed cells fixes (_Packed, in its order), and those set to the same value for
# every member without measures of their own (post, post_kinds, items) and every one whose number is 18 characters
# read the fast way (card, limb_severe: false) or known per member as the cells are read (works, mobile): what a
# relaxed member condition reads (_member_masks). load_facts gives any other member every bit.
PACKED_FACTS = ("sex", "relation", "ethnicity", "education", "school", "health", "disability_grade", "labor",
                "work_region", "a20", "a21", "status", "a17", "res", "emp", "a18", "a19", "a19e", "alive", "in_school",
                "medical", "resident_no")
MASK_FACTS = frozenset(PACKED_FACTS) | {"post", "post_kinds", "items", "card", "limb_severe", "works", "mobile"}
# 1_02_007's member part (_r_1_02_007: 大病保险 not yes, or a child of 6–16 with neither 在校生状况 nor 未上学原因)
# as a condition, for its bit of the masks only: the rule itself reads the members
_MEMBERS_1_02_007 = {"any_of": [{"a18": {"except": [True]}}, {"school": None, "absence": None, "age": [6, 17]}]}


class _Probe:
    """A stand-in member with only the MASK_FACTS, for the relaxed member conditions (_member_masks)."""

    __slots__ = (*MASK_FACTS, "id_number")  # id_number: GUARDS read its length


def _or(bits) -> int:
    out = 0
    for b in bits:
        out |= b
    return out


@lru_cache(maxsize=1)
def _member_masks() -> tuple:
    """(fn, bits, bit of 1_02_007, read): fn(probe) → an int with a bit set for each member rule of the plain
    households (who A or N) whose relaxed condition (_condition with known=MASK_FACTS) holds for the probe, and bit 1
    always; bits: rule number → its bit (bit 1 for the rules of other populations: those households are never
    skipped); read: the places in PACKED_FACTS of the facts those conditions read (_Packed.masks). A rule whose
    relaxed condition is false for a member cannot hold for it, whatever the facts read as true. load_facts ORs the
    masks of a household's living members into h.mmask; evaluate skips the member conditions of a household whose
    mask has none of its rules' bits, 1_02_007 its member loop."""
    member_rules = [r for r in registry() if r.checked and r.when is not None and "member" in r.when]
    masked = [r for r in member_rules if r.when["who"] in ("A", "N")]
    probe_007 = NationalRule("1_02_007", "", "", "", "checked", "", when={"who": "A", "member": _MEMBERS_1_02_007})
    consts: dict = {}
    lines = ["def f(m):", "    out = 1"]
    for i, rule in enumerate([*masked, probe_007]):
        lines += [f"    if {_condition(rule, consts, MASK_FACTS)}:", f"        out |= {1 << (i + 1)}"]
    bits = dict.fromkeys((r.number for r in member_rules), 1)
    bits.update({r.number: 1 << (i + 1) for i, r in enumerate(masked)})
    fields = {f for r in [*masked, probe_007] for f, _spec, of_household in _fields(r.when["member"])
              if not of_household}
    read = tuple(i for i, f in enumerate(PACKED_FACTS) if f in fields)
    return _compiled(lines, consts), bits, 1 << (len(masked) + 1), read


def _compiled(lines: list[str], consts: dict):
    """The function `f` that `lines` define, returning `out`; it sees only the rules' constants, any and len."""
    env = {"__builtins__": {"any": any, "len": len}, **consts}
    exec("\n".join([*lines, "    return out"]), env)  # noqa: S102 - our own data
    return env["f"]


def _condition(rule: NationalRule, consts: dict, known: frozenset | None = None) -> str:
    """The condition of a simple rule as a Python expression over m (member) and h (household); constants go into
    consts under names unique across the rules compiled together. known: the relaxed condition of a member rule
    (_member_masks), every term on a household field or on a member field not in `known` read as true — it holds
    whenever the rule's condition holds (terms are only ever joined by and/or, never negated as a whole)."""

    def const(v):
        name = f"c{len(consts)}"
        consts[name] = v
        return name

    def term(target: str, field: str, spec) -> str:
        x = f"{target}.{field}"
        if spec is None:
            return f"(not {x})" if field in ("risks", "measure_cats", "disasters") else f"({x} is None)"
        if spec == "filled":
            return f"({x} is not None)"
        if spec is True or spec is False:
            guard = GUARDS.get(field) if spec is True and target == "m" else None
            return f"({guard} and {x} is True)" if guard else f"({x} is {spec})"
        if isinstance(spec, list) and (field in ("age", "post_kinds")):
            lo, hi = spec
            return f"({x} is not None and {lo} <= {x}" + (f" < {hi})" if hi is not None else ")")
        if isinstance(spec, list):
            return f"({x} in {const(frozenset(spec))})"
        (op, v), = spec.items()
        if op == "not":
            return f"({x} is not None and {x} not in {const(frozenset(v))})"
        if op == "except":
            return f"({x} not in {const(frozenset(v))})"
        if op == "outside":
            return f"({x} is not None and ({x} < {v[0]} or {x} > {v[1]}))"
        if op == "has":
            return f"({const(v)} in {x})"
        if op == "lacks":
            return f"({const(v)} not in {x})"
        if op == "contains":
            return f"({x} is not None and any(s in {x} for s in {const(tuple(v))}))"
        if op == "none":
            return f"not ({target}.measure_cats & {const(frozenset(v))})"
        raise RulesError(f"规则 {rule.number}：不认识的条件 {spec!r}")

    def cost(item) -> int:  # register fields first, derived facts (age, ID faults …) only when those hold
        field = item[0]
        return 2 if field == "any_of" else 0 if field.startswith("h.") or field in RAW_FIELDS else 1

    def conj(cond: dict, default: str) -> str:
        parts = []
        for field, spec in sorted(cond.items(), key=cost):
            if field == "any_of":
                parts.append("(" + " or ".join(conj(c, default) for c in spec) + ")")
                continue
            target = default
            if field.startswith("h."):
                target, field = "h", field[2:]
            if known is not None and (target == "h" or field not in known):
                parts.append("True")
                continue
            if field == "measures":
                field = "measure_cats"
            parts.append(term(target, field, spec))
        return " and ".join(parts) or "True"

    when = rule.when
    if "member" in when:
        return conj(when["member"], "m")
    return conj(when["household"], "h")


def _fields(cond: dict) -> list[tuple[str, object, bool]]:
    out = []
    for field, spec in cond.items():
        if field == "any_of":
            for c in spec:
                out += _fields(c)
        elif field.startswith("h."):
            out.append((field[2:], spec, True))
        else:
            out.append((field, spec, False))
    return out


def _value_text(field: str, spec, v, subject) -> str:
    label, kind = FIELD_LABELS.get(field, (field, "text"))
    if kind == "age":
        return f"状态时点 {v} 周岁" if v is not None else "年龄不详"
    if kind == "bool":
        return f"{label}“{'未填' if v is None else '是' if v else '否'}”"
    if kind == "in_school":
        return f"{label}“{codes('school').name(subject.school) or '未填'}”（{'在校' if v else '不在校'}）"
    if kind == "card":
        return f"证件号码 {len(subject.id_number)} 位（{'残疾人证' if v else '不是残疾人证'}）"
    if kind == "limb":
        return "残疾人证为一、二级肢体残疾" if v else "不是一、二级肢体残疾"
    if kind == "id_fault":
        return {"length": f"证件号码 {len(subject.id_number)} 位，不是 18/20/22 位",
                "checksum18": "18 位身份证号校验位错误", "checksum_card": "残疾人证号前 18 位校验位错误"}.get(v, "")
    if kind == "placeholder":
        return "证件号码为空" if not subject.id_number else f"证件号码以 999999 开头（{subject.id_number[:6]}…）"
    if kind == "medical":
        return {"both_empty": f"{label}均未填", "both_no": f"{label}均为否", "both_yes": f"{label}均为是"}.get(v, "")
    if kind == "resident":
        return f"{label}“否”" if v else ""
    if kind == "post":
        return "登记了公益性岗位" if v else "未登记公益性岗位（A42）"
    if kind == "post_kinds":
        return f"登记了 {v} 种公益性岗位"
    if kind == "items":
        names = sorted({i for i in v if not i.endswith(":*")})
        return "帮扶措施：" + "、".join(_item_name(i) for i in names) if names else "无帮扶措施"
    if kind == "works":
        where = "、".join(x for x in (codes("work_region").name(subject.work_region), subject.work_place) if x)
        return f"务工（{where}）" if v else "未务工"
    if kind == "mobile":
        return f"联系电话“{subject.phone or '未填'}”不是有效手机号码"
    if kind == "place":
        return f"务工所在地“{subject.work_place or '未填'}”未写到县（区、市、旗）"
    if kind == "relation_sex":
        return (f"与户主关系“{codes('relation').name(subject.relation)}”，性别“{codes('sex').name(subject.sex)}”"
                if v else "")
    if kind == "spouse":
        return f"配偶与户主同为{codes('sex').name(subject.sex)}性"
    if kind == "risks":
        names = "、".join(codes("risk_type").name(c, c) for c in sorted(v)) or "未填"
        if isinstance(spec, dict) and "lacks" in spec:
            return f"{label}为“{names}”，没有“{codes('risk_type').name(spec['lacks'])}”"
        return f"{label}“{names}”"
    if kind == "measures":
        cats = spec.get("none") if isinstance(spec, dict) else None
        if cats:
            return "未登记" + "、".join(_category_name(c) for c in cats) + "措施"
        return "未登记任何帮扶措施"
    if kind == "phone":
        return f"{label}“{subject.phone or '未填'}”"
    if kind == "text":
        return f"{label}“{v if v is not None else '未填'}”"
    name = codes(kind).name(v) if v is not None else ""
    return f"{label}“{name or v or '未填'}”"


def _item_name(i: str) -> str:
    cat, item = i.split(":", 1)
    return f"{_category_name(cat)}（{item}）" if item not in ("None", "*") else _category_name(cat)


@lru_cache(maxsize=None)
def _category_name(cat: str) -> str:
    from .codes import measure_catalog
    return next((c["name"] for c in measure_catalog() if c["code"] == cat), cat)


def _message(rule: NationalRule, m: Mem | None, h: HH) -> str:
    cond = rule.when["member"] if m is not None else rule.when["household"]
    parts = []
    for field, spec, on_household in _fields(cond):
        subject = h if (m is None or on_household) else m
        attr = "measure_cats" if field == "measures" else field
        value = getattr(subject, attr)
        text = _value_text(field, spec, value, subject)
        if text and text not in parts:
            parts.append(text)
    who = f"{m.who()}：" if m is not None else ""
    return who + "，".join(parts)


# ---------------------------------------------------------------- rules as code

@dataclass(frozen=True, slots=True)
class Hit:
    rule: str
    household_id: int
    member_id_number: str | None
    message: str


def _yuan(v) -> str:
    return rules.yuan(v)


def _risk(h: HH, code: str) -> bool:
    return code in h.risks


def _names(ms) -> str:
    return "、".join(f"“{m.name}”" for m in ms)


def _dup(f: Facts, h: HH, pop: str):
    out = []
    for m in h.members:
        holders = f.by_number.get(m.norm, ())
        if len(holders) > 1:
            where = "、".join(f"户 {no or f'#{hid}'}“{name}”" for hid, no, name in holders)
            out.append((m.norm, f"证件号码 {m.norm} 同时登记在 {where}"))
    return out if pop in h.pops else []


def _r_1_01_001(f, h):
    return _dup(f, h, "P")


def _r_1_12_001(f, h):
    return _dup(f, h, "M")


WATCH_RULES = ("1_02_001", "1_02_002", "1_02_006")  # the should-be-monitored rules (should_be_monitored)


def _should_be_monitored_rule(number: str):
    """The rule alone (evaluate asks the three together, from the same h.watch, with the same message)."""
    def rule(f, h):
        fact = _watch(h).get(number)
        return f"{fact}，未纳入监测" if fact else None
    return rule


def should_be_monitored(a) -> list[tuple[str, str]]:
    """The should-be-monitored rules (1_02_001 危房, 1_02_002 饮水, 1_02_006 收入) of one assessment (assess.Assessment)
    whose household is not monitored: [(rule number, fact)]. The same Assessment gives the 疑似应纳未纳 list
    (overview.suggested_not_monitored), so both read one result."""
    if a.status in MONITORED:
        return []
    out = []
    if "住房安全" in a.guarantee_problems:
        out.append(("1_02_001", "住房不安全（危房户）"))
    if "饮水安全" in a.guarantee_problems:
        out.append(("1_02_002", "未解决安全饮用水"))
    if a.a34_not_below(a.line):  # most of a county: known from the fen, its result need not be made
        return out
    if a.income is not None and a.income.below(a.line, "A34"):
        shown = a.income.shown("A34", a.line)
        out.append(("1_02_006", f"家庭人均纯收入 {shown}低于 {a.year} 年监测线 {rules.line_text(a.line)} 元"))
    return out


def _r_1_02_007(f, h):
    problems = []
    uninsured = kids = None  # lists only when someone is (every household meets this rule)
    # the member loop only where the living members' masks say someone may be uninsured or such a child (most
    # households: nobody, see _member_masks; load_facts sets h.mmask)
    for m in h.members if h.mmask & _member_masks()[2] else ():
        if m.a18 is not True:
            uninsured = [m] if uninsured is None else uninsured + [m]
        if m.school is None and m.absence_raw is None and m.age is not None and 6 <= m.age <= 16:
            kids = [m] if kids is None else kids + [m]
    if uninsured:
        problems.append(f"未参加大病保险：{_names(uninsured)}")
    if h.a23:
        problems.append("住房不安全（A23）")
    if h.a25:
        problems.append("未解决安全饮用水（A25）")
    if kids:
        problems.append(f"义务教育适龄儿童在校生状况和未上学原因均为空：{_names(kids)}")
    return "；".join(problems) or None


def _r_1_11_004(f, h):
    if "R" not in h.pops:
        return None
    missing = [label.removeprefix("风险消除后") for field, label in AFTER_FIELDS if h.after.get(field) is None]
    return f"风险消除后情况未填写：{'、'.join(missing)}" if missing else None


def _r_1_11_010(f, h):
    if "M" not in h.pops or h.identified_on is None or h.measures:
        return None
    limit = add_months(h.identified_on.replace(day=1), 2)  # a month (YYYYMM) is more than 1 month old from then on
    if f.as_of >= limit:
        return f"{h.identified_on:%Y年%m月}识别，截至 {f.as_of} 超过 1 个月未登记任何帮扶措施"
    return None


def _r_2_11_001(f, h):
    if "M" in h.pops and _risk(h, "03") and not any(m.health == "04" or m.card for m in h.everyone):
        return "风险类型为“因残”，家庭成员中没有健康状况为残疾或持残疾人证的人"
    return None


REMOVAL_CUTOFF = date(2022, 4, 1)  # the rule's own wording: 2022年4月份以后消除风险


def _r_2_11_002(f, h):
    if "R" not in h.pops or h.identified_on is None or h.removed_on is None or h.removed_on < REMOVAL_CUTOFF:
        return None
    months = months_between(h.identified_on, h.removed_on)
    if months < rules.REMOVAL_STABLE_MONTHS:
        way = codes("removal_way").name(h.way) or "方式未填"
        return f"{h.identified_on} 识别，{h.removed_on} 消除风险（{way}），相隔不足 6 个月"
    return None


def _heads(h: HH):
    return [m for m in h.members if m.relation == "01"]


def _r_3_02_011(f, h):
    heads = _heads(h)
    return f"户内有 {len(heads)} 名户主：{_names(heads)}" if "P" in h.pops and len(heads) > 1 else None


def _r_3_02_012(f, h):
    return "正常成员中没有户主" if "P" in h.pops and h.members and not _heads(h) else None


def _r_3_11_001(f, h):
    return "正常成员中没有户主" if "M" in h.pops and h.members and not _heads(h) else None


def _r_3_11_002(f, h):
    heads = _heads(h)
    return f"户内有 {len(heads)} 名户主：{_names(heads)}" if "M" in h.pops and len(heads) > 1 else None


def _r_3_11_010(f, h):
    a = h.assessment
    bound = f.low_income
    if a is None or bound is None or a.a34_not_below(bound):  # most of a county: known from the fen, no result made
        return None
    if a.income is None:
        return None
    if a.income.below(bound, "A34"):  # the exact quotient compared, in whole fen (IncomeResult.below)
        return f"家庭人均纯收入 {a.income.shown('A34')}低于 {rules.line_text(bound)} 元"
    return None


@lru_cache(maxsize=64)
def _decimal(v) -> Decimal:
    return Decimal(str(v))


def _r_4_11_008(f, h):
    if "M" not in h.pops or not h.a24 or h.identified_on is None or h.identified_on.year != f.year:
        return None
    compulsory = codes("school").codes_with("compulsory")
    out_of_school = [m for m in h.everyone if m.age is not None and 6 <= m.age <= 15 and m.school not in compulsory]
    if not out_of_school:
        return (f"{h.identified_on.year} 年识别，登记有义务教育阶段适龄儿童少年失学辍学（A24 是），但家中（含自然减少）"
                f"没有 6–15 周岁不在义务教育阶段就读的儿童")
    return None


def _r_4_11_009(f, h):
    if "U" not in h.pops or not _risk(h, "08") or not h.members:
        return None
    if all(m.labor is not None and not rules.cannot_work(m.labor) for m in h.members):
        return "风险类型为“缺劳动力”，但家庭成员均有劳动能力（无人为无劳动力或丧失劳动力）"
    return None


def _r_4_11_010(f, h):
    if "R" not in h.pops or h.way != rules.ASSISTED or h.removed_on is None:
        return None
    a34 = h.after.get("after_a34")
    line = f.lines.get(h.removed_on.year)
    if a34 is None or line is None or a34 >= line:
        return None
    return (f"{h.removed_on} 帮扶消除风险，风险消除后家庭人均纯收入 {_yuan(a34)} 元低于 {h.removed_on.year} 年监测线 "
            f"{rules.line_text(line)} 元")


def _r_4_11_011(f, h):
    if "R" in h.pops and h.members and all(rules.cannot_work(m.labor) for m in h.members):
        return "整户无劳动能力（家庭成员均为无劳动力或丧失劳动力），已标注风险消除"
    return None


def _has_item(h: HH, cat: str, items: tuple[str, ...] | None = None) -> bool:
    return any(x.category == cat and (items is None or x.item in items) for x in h.measures)


def _r_4_11_012(f, h):
    if "R" in h.pops and (_has_item(h, "A40") or _has_item(h, "A42")) and h.after.get("after_a28") == 0:
        return "享受就业帮扶或公益性岗位，风险消除后工资性收入为 0"
    return None


def _r_4_11_013(f, h):
    if "R" in h.pops and _has_item(h, "A48", ("低保", "特困供养", "残疾人补贴")) and h.after.get("after_a31") == 0:
        return "享受低保、特困供养或残疾人补贴，风险消除后转移性收入为 0"
    return None


def _enjoys(m: Mem, which: str) -> bool:
    return rules.enjoys_dibao(m.a20) if which == "dibao" else rules.enjoys_tekun(m.a21)


def _r_4_11_015(f, h):
    if "M" in h.pops and _has_item(h, "A48", ("低保", "特困供养")) and not any(
            _enjoys(m, "dibao") or _enjoys(m, "tekun") for m in h.everyone):
        return "帮扶措施登记了低保或特困供养，家中（含自然减少）无享受低保或特困供养的人"
    return None


def _r_4_11_016(f, h):
    if "M" in h.pops and _has_item(h, "A48", ("残疾人补贴",)) and not any(
            m.card or m.health == "04" for m in h.everyone):
        return "帮扶措施登记了残疾人补贴，家中（含自然减少）无残疾人"
    return None


def _r_5_11_013(f, h):
    if "R" in h.pops and _has_item(h, "A39") and h.after.get("after_a29") == 0:
        return "享受产业帮扶，风险消除后生产经营性收入为 0"
    return None


def _r_5_11_029(f, h):
    if "U" not in h.pops or not _risk(h, "08") or len(h.members) < 4:
        return None
    able = [m for m in h.members if rules.can_work(m.labor)]
    if 2 * len(able) >= len(h.members):
        return f"{len(h.members)} 人户中 {len(able)} 人有劳动能力（普通或技能劳动力），风险类型为“缺劳动力”"
    return None


def _r_5_11_030(f, h):
    if "U" not in h.pops or not any(m.labor is not None and m.labor != "05" for m in h.members):
        return None
    dev = [x for x in h.measures if x.category in ("A39", "A40", "A41", "A42") and x.developmental]
    if dev and not any(x.start_date is not None and x.start_date <= f.as_of for x in dev):
        return "登记了开发式帮扶措施，但没有一项已开始实施（开始日期未填或在检查日之后）"
    return None


def _r_5_11_032(f, h):
    if "U" not in h.pops or not any(rules.can_work(m.labor) for m in h.members):
        return None
    active = {x.category for x in h.measures if x.active}
    if active == {"A48"}:
        return "有劳动能力，正在实施的帮扶措施只有综合保障一项"
    return None


def _r_5_11_033(f, h):
    a = h.assessment
    if "U" in h.pops and a is not None and a.whole_no_labor_candidate and h.whole_guarantee is not True:
        return "整户无劳动能力且享受特困供养或全额（最高档）低保，未标记为整户无劳动能力兜底保障户"
    return None


def _r_5_12_007_200(f, h):
    if "U" not in h.pops or not any(m.labor in ("01", "02", "03") for m in h.members):
        return None
    if not any(x.active and x.category in ("A39", "A40", "A41", "A42") for x in h.measures):
        return "家中有劳动力（含弱劳动力或半劳动力），没有正在实施的产业、就业、金融帮扶或公益性岗位"
    return None


WEAK_ITEMS = {"A39": ("其他",), "A40": ("技能培训", "其他"), "A41": ("其他",)}


def _r_5_12_011(f, h):
    if "M" not in h.pops:
        return None
    dev = [x for x in h.measures if x.active and x.developmental]
    if not dev or not all(x.category in WEAK_ITEMS and (x.item or "其他") in WEAK_ITEMS[x.category] for x in dev):
        return None
    return "开发式帮扶措施只有产业帮扶“其他”、就业帮扶“技能培训/其他”、金融帮扶“其他”：" + "、".join(
        sorted({_item_name(f"{x.category}:{x.item or '其他'}") for x in dev}))


def _r_5_15_013(f, h):
    if _risk(h, "07") and h.everyone and all(rules.cannot_work(m.labor) for m in h.everyone):
        return "风险类型为“因务工就业不稳”，家庭成员（含自然减少）均无劳动力或丧失劳动力"
    return None


def _r_5_15_015(f, h):
    if "U" in h.pops and _risk(h, "01") and not any(m.health in ("02", "03") for m in h.everyone):
        return "风险类型为“因病”，家中（含自然减少）无患有大病或长期慢性病的人"
    return None


def _r_5_15_020(f, h):
    if "U" not in h.pops or not _risk(h, "01") or h.identified_on is None:
        return None
    totals = f.id_year_totals.get((h.identified_on.year, h.id))
    if totals is None or totals.A36 == 0:
        shown = "无收入记录" if totals is None else "合规自付支出为 0"
        return f"风险类型为“因病”，识别年度（{h.identified_on.year} 年）{shown}"
    return None


def _r_5_15_021(f, h):
    if "P" not in h.pops:
        return []
    out, seen = [], defaultdict(list)
    for m in h.members:
        if m.phone and m.work_place:
            seen[m.phone].append(m)
    for phone, ms in seen.items():
        if len({m.work_place for m in ms}) > 1:
            out.append((ms[0].id_number, f"{_names(ms)}务工所在地不同（{'、'.join(m.work_place for m in ms)}），"
                                         f"登记的联系电话同为 {phone}"))
    return out


def _r_5_15_022(f, h):
    out = []
    if h.id not in f.shared_phone:
        return out
    for m in h.members:
        others = f.by_phone.get(m.phone, ()) if m.phone else ()
        if len(others) > 1:
            nos = "、".join(sorted(f.households[x].no for x in others if x in f.households and x != h.id))
            out.append((m.id_number, f"{m.who()}：联系电话 {m.phone} 也登记在户 {nos or '（其他户）'}"))
    return out


def _r_5_15_023(f, h):
    a = h.assessment
    if "U" in h.pops and a is not None and a.income is not None and (wage := rules.small_wage(a.income)) is not None:
        return f"工资性收入 {_yuan(wage)} 元（大于 0 且不足 100 元）"
    return None


def _member_measure_rule(which: str, item: str):
    def rule(f, h):
        if "U" not in h.pops:
            return None
        who = [m for m in h.members if _enjoys(m, which)]
        if who and not _has_item(h, "A48", (item,)):
            return f"{_names(who)}享受{'低保' if which == 'dibao' else '特困供养'}，综合保障措施未登记“{item}”"
        return None
    return rule


def _nobody_rule(which: str, item: str):
    def rule(f, h):
        if "U" in h.pops and _has_item(h, "A48", (item,)) and not any(_enjoys(m, which) for m in h.everyone):
            return f"综合保障措施登记了“{item}”，家中（含自然减少）无人享受{'低保' if which == 'dibao' else '特困供养'}"
        return None
    return rule


def _r_5_16_008(f, h):
    if "U" not in h.pops:
        return None
    severe = [m for m in h.everyone if (m.card and m.norm[19:20] in ("1", "2"))
              or (m.health == "04" and m.disability_grade in ("01", "02"))]
    if severe and not _has_item(h, "A48", ("残疾人补贴",)):
        return f"{_names(severe)}为一、二级残疾，综合保障措施未登记“残疾人补贴”"
    return None


AWAY = frozenset({"03", "04", "05"})  # 县外省内, 省外, 境外


def _away_rule(items: tuple[str, ...]):
    def rule(f, h):
        if "U" not in h.pops or not _has_item(h, "A40", items):
            return None
        if not any(m.work_region in AWAY for m in h.everyone):
            got = "、".join(sorted({x.item for x in h.measures if x.category == "A40" and x.item in items}))
            return f"就业帮扶登记了“{got}”，家中无县外务工人员（务工所在地类别 A15）"
        return None
    return rule


def _r_5_18_008(f, h):
    if "U" not in h.pops or not _risk(h, "08") or not h.members:
        return None
    able = [m for m in h.members if rules.can_work(m.labor)]
    if 4 * len(able) > len(h.members):
        return f"风险类型为“缺劳动力”，{len(h.members)} 人中 {len(able)} 人为普通或技能劳动力，超过四分之一"
    return None


def _r_5_18_009(f, h):
    if "R" not in h.pops or h.way != rules.ASSISTED or h.identified_on is None or h.removed_on is None:
        return None
    months = (h.removed_on.year - h.identified_on.year) * 12 + h.removed_on.month - h.identified_on.month
    if months <= 1:
        return f"{h.identified_on} 识别，{h.removed_on} 帮扶消除风险：识别当月或次月即消除"
    return None


def _no_labor_rule(pop: str):
    def rule(f, h):
        if pop in h.pops and h.members and all(rules.cannot_work(m.labor) for m in h.members) and not any(
                _enjoys(m, "dibao") for m in h.members):
            return "整户无劳动力（均为无劳动力或丧失劳动力），家中无人享受最低生活保障"
        return None
    return rule


CODE_RULES = {
    "1_01_001": _r_1_01_001, "1_12_001": _r_1_12_001, "1_02_001": _should_be_monitored_rule("1_02_001"),
    "1_02_002": _should_be_monitored_rule("1_02_002"), "1_02_006": _should_be_monitored_rule("1_02_006"),
    "1_02_007": _r_1_02_007,
    "1_11_004": _r_1_11_004, "1_11_010": _r_1_11_010, "2_11_001": _r_2_11_001, "2_11_002": _r_2_11_002,
    "3_02_011": _r_3_02_011, "3_02_012": _r_3_02_012, "3_11_001": _r_3_11_001, "3_11_002": _r_3_11_002,
    "3_11_010": _r_3_11_010, "4_11_008": _r_4_11_008, "4_11_009": _r_4_11_009, "4_11_010": _r_4_11_010,
    "4_11_011": _r_4_11_011, "4_11_012": _r_4_11_012, "4_11_013": _r_4_11_013, "4_11_015": _r_4_11_015,
    "4_11_016": _r_4_11_016, "5_11_013": _r_5_11_013, "5_11_029": _r_5_11_029, "5_11_030": _r_5_11_030,
    "5_11_032": _r_5_11_032, "5_11_033": _r_5_11_033, "5_12_007_200": _r_5_12_007_200, "5_12_011": _r_5_12_011,
    "5_15_013": _r_5_15_013, "5_15_015": _r_5_15_015, "5_15_020": _r_5_15_020, "5_15_021": _r_5_15_021,
    "5_15_022": _r_5_15_022, "5_15_023": _r_5_15_023,
    "5_16_003": _member_measure_rule("dibao", "低保"), "5_16_004": _member_measure_rule("tekun", "特困供养"),
    "5_16_005": _nobody_rule("dibao", "低保"), "5_16_006": _nobody_rule("tekun", "特困供养"),
    "5_16_008": _r_5_16_008, "5_17_011": _away_rule(("劳务输出", "外出务工补贴")),
    "5_17_012": _away_rule(("外出务工补贴",)), "5_18_008": _r_5_18_008, "5_18_009": _r_5_18_009,
    "5_19_003": _no_labor_rule("P"), "5_19_007": _no_labor_rule("M"),
}


# the population each function rule looks at (its first test), so a household meets only the rules of its own
CODE_WHO = {
    **dict.fromkeys(("1_01_001", "3_02_011", "3_02_012", "5_15_021", "5_19_003"), "P"),
    **dict.fromkeys(("1_12_001", "1_11_010", "2_11_001", "3_11_001", "3_11_002", "4_11_008", "4_11_015", "4_11_016",
                     "5_12_011", "5_19_007"), "M"),
    **dict.fromkeys(("1_02_001", "1_02_002", "1_02_006"), "N"),
    **dict.fromkeys(("1_11_004", "2_11_002", "4_11_010", "4_11_011", "4_11_012", "4_11_013", "5_11_013", "5_18_009"),
                    "R"),
    **dict.fromkeys(("4_11_009", "5_11_029", "5_11_030", "5_11_032", "5_11_033", "5_12_007_200", "5_15_015",
                     "5_15_020", "5_15_023", "5_16_003", "5_16_004", "5_16_005", "5_16_006", "5_16_008", "5_17_011",
                     "5_17_012", "5_18_008"), "U"),
    **dict.fromkeys(("1_02_007", "3_11_010", "5_15_013", "5_15_022"), "A"),
}
assert set(CODE_WHO) == set(CODE_RULES)

# For the function rules that every household of a county meets (who A), a test on the household (f: the facts, h)
# that is false only where the rule finds nothing: evaluate asks the tests of a household's rules in one compiled
# call (_compile_gates) and calls a rule's function only where its test holds — most households meet none of them.
# Each is the rule's own first test, written out (test_the_batched_rules_find_what_each_rule_alone_finds compares
# evaluate with every rule called alone).
CODE_GATES = {
    "1_02_007": "(h.mmask & B007 or h.a23 or h.a25)",  # _r_1_02_007: its member loop only under that bit
    "3_11_010": "((a := h.assessment) is not None and f.low_income is not None and not a.a34_not_below(f.low_income))",
    "5_15_013": "('07' in h.risks)",
    "5_15_022": "(h.id in f.shared_phone)",
}
assert set(CODE_GATES) <= set(CODE_RULES)


def _compile_gates(numbers: list[str]):
    """One function (f, h) → the positions in `numbers` of the function rules to call for the household, in their
    order: those without a gate (CODE_GATES) always, the others where their gate holds."""
    always = tuple(i for i, n in enumerate(numbers) if n not in CODE_GATES)
    lines = ["def f(f, h):", "    out = ()"]
    for i, n in enumerate(numbers):
        lines.append(f"    if {CODE_GATES[n]}: out += ({i},)" if n in CODE_GATES else f"    out += ({i},)")
    if len(always) == len(numbers):
        return None  # nothing to skip: every rule is called
    return _compiled(lines, {"B007": _member_masks()[2]})


# ---------------------------------------------------------------- the run

def evaluate(session: Session, facts: Facts, enabled: list[NationalRule]) -> list[Hit]:
    """Every enabled rule over the facts: one hit per (rule, household or member)."""
    with gcpause.paused():
        return _evaluate(session, facts, enabled)


def _evaluate(session: Session, facts: Facts, enabled: list[NationalRule]) -> list[Hit]:
    by_pop_member: dict[str, list] = defaultdict(list)
    by_pop_household: dict[str, list] = defaultdict(list)
    by_pop_code: dict[str, list] = defaultdict(list)
    code_rules = []
    for r in enabled:
        if r.when is None:
            code_rules.append(r)
            by_pop_code[CODE_WHO[r.number]].append((r, CODE_RULES[r.number]))
            continue
        (by_pop_member if "member" in r.when else by_pop_household)[r.when["who"]].append(r)
    _prepare(session, facts, {r.number for r in code_rules})
    combos: dict[frozenset, tuple] = {}
    hits: list[Hit] = []
    for h in facts.households.values():
        pick = combos.get(h.pops)
        if pick is None:
            pops = sorted(h.pops)
            hr = [x for p in pops for x in by_pop_household.get(p, ())]
            mr = [x for p in pops for x in by_pop_member.get(p, ())]
            cr = [x for p in pops for x in by_pop_code.get(p, ())]
            # the should-be-monitored rules read one fact of the household (h.watch), empty for most: asked once
            watch = [r for r, _ in cr if r.number in WATCH_RULES]
            bits = _member_masks()[1]
            crules = [x for x in cr if x[0].number not in WATCH_RULES]
            pick = combos[h.pops] = (hr, _compile_many(hr) if hr else None, mr, _compile_members(mr) if mr else None,
                                     crules, watch, _or(bits[r.number] for r in mr),
                                     _compile_gates([r.number for r, _ in crules]))
        hrules, hfn, mrules, mfn, crules, watch, mbits, gates = pick
        if hfn is not None:
            for i in hfn(None, h):
                r = hrules[i]
                hits.append(Hit(r.number, h.id, None, _message(r, None, h)))
        # none of the member rules can hold for a member whose relaxed conditions are all false (_member_masks)
        if mfn is not None and h.mmask & mbits and (held := mfn(h)):
            for i, m in held:
                r = mrules[i]
                hits.append(Hit(r.number, h.id, m.id_number, _message(r, m, h)))
        if watch and (facts_ := _watch(h)):
            for r in watch:
                fact = facts_.get(r.number)
                if fact:
                    hits.append(Hit(r.number, h.id, None, f"{fact}，未纳入监测"))
        for r, fn in (crules if gates is None else [crules[i] for i in gates(facts, h)]):
            got = fn(facts, h)
            if not got:
                continue
            if isinstance(got, str):
                hits.append(Hit(r.number, h.id, None, got))
            else:
                for number, message in got:
                    hits.append(Hit(r.number, h.id, number, message))
    return hits


def _prepare(session: Session, facts: Facts, numbers: set[str]) -> None:
    """Facts only some code rules need: lines of removal years, income of identification years."""
    if "4_11_010" in numbers:
        for y in {h.removed_on.year for h in facts.households.values() if h.removed_on is not None}:
            ys = settings.get_year(session, y)
            if ys is not None and ys.monitoring_line is not None:
                facts.lines[y] = ys.monitoring_line
    if "5_15_020" in numbers:
        wanted = defaultdict(list)
        for h in facts.households.values():
            if "U" in h.pops and "01" in h.risks and h.identified_on is not None:
                wanted[h.identified_on.year].append(h.id)
        for y, ids in wanted.items():
            for hid, t in income.totals_for_year(session, y, ids).items():
                facts.id_year_totals[(y, hid)] = t
