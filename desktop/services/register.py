"""The household register: search at county scale, read and save a household with its members,
natural changes as dated events, moving a member between households. Every write is audited
by the session hook in services.audit."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, asc, desc, func, or_, select, union_all
from sqlalchemy.orm import Session

from ..models import Household, Member, MemberEvent, Region
from . import access, audit, concurrency, regions, rules
from .auth import CurrentUser
from .codes import codes, normalize
from .errors import ServiceError
from .idnumber import birth_date_error, parse_id

HEAD = "01"  # code of 户主 in "relation"


class RegisterError(ServiceError):
    pass


@dataclass(frozen=True)
class Problem:
    """A validation message; row is the member's index in the list given, None for the household."""

    field: str
    message: str
    row: int | None = None


class ValidationError(RegisterError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("；".join(p.message for p in problems))


# ---------------------------------------------------------------- data carried to and from views

@dataclass
class HouseholdData:
    id: int | None = None
    household_no: str = ""
    village_id: int | None = None
    group_id: int | None = None
    address: str | None = None
    phone: str | None = None
    a1_relocation_site: bool | None = None
    a2_site_address: str | None = None
    a3_category: str | None = None
    a4_poverty_alleviated: bool | None = False  # None: unknown (an import that did not say)
    a23_housing_unsafe: bool | None = None
    a24_school_dropout: bool | None = None
    a25_water_unsafe: bool | None = None
    a27_risk_types: list[str] = field(default_factory=list)
    a27_other_note: str | None = None
    a27a_disaster_types: list[str] = field(default_factory=list)
    whole_no_labor_guarantee: bool | None = False
    dibao_tier: str | None = None
    a55_contact_person: str | None = None
    contact_phone: str | None = None
    note: str | None = None
    petition: bool | None = None  # 舆情信访户 [003 四个必到]
    # 脱贫不享受政策 facts, criteria 2–8 and exceptions 2 and 4 (seed 004 annex 2; None: unknown)
    policy_c2_cause_gone: bool | None = None
    policy_c3_luxury_car: bool | None = None
    policy_c4_urban_home: bool | None = None
    policy_c5_business: bool | None = None
    policy_c6_public_servant: bool | None = None
    policy_c7_child_business: bool | None = None
    policy_c8_child_support: bool | None = None
    policy_e2_medical_burden: bool | None = None
    policy_e4_disaster: bool | None = None
    # Read-only here: they change only through the procedures (SPEC §7).
    monitoring_status: str = "none"
    identified_on: date | None = None
    a53_removal_way: str | None = None
    a54_removed_on: date | None = None
    policy_excluded_on: date | None = None
    # 风险消除后情况 as the national system recorded it (SPEC §9.1): read-only here, filled by import.
    after_dropout: bool | None = None
    after_housing_damaged: bool | None = None
    after_medical_missing: bool | None = None
    after_water_damaged: bool | None = None
    after_a28: Decimal | None = None
    after_a29: Decimal | None = None
    after_a30: Decimal | None = None
    after_a31: Decimal | None = None
    after_a32: Decimal | None = None
    after_a33: Decimal | None = None
    after_a34: Decimal | None = None
    after_a35: Decimal | None = None
    after_a36: Decimal | None = None
    # 户注销 (services.corrections): read-only here.
    closed_on: date | None = None
    closed_reason: str | None = None
    version: int | None = None  # as read (get_household): a save over a newer change is refused (concurrency)


AFTER_REMOVAL = ("after_dropout", "after_housing_damaged", "after_medical_missing", "after_water_damaged",
                 "after_a28", "after_a29", "after_a30", "after_a31", "after_a32", "after_a33", "after_a34",
                 "after_a35", "after_a36")
READ_ONLY_HOUSEHOLD = {"id", "version", "monitoring_status", "identified_on", "a53_removal_way", "a54_removed_on",
                       "policy_excluded_on", "closed_on", "closed_reason", *AFTER_REMOVAL}


@dataclass
class MemberData:
    id: int | None = None
    name: str = ""
    sex: str | None = None
    id_number: str = ""
    relation: str | None = None
    ethnicity: str | None = "01"
    political: str | None = None
    education: str | None = None
    school: str | None = None
    school_absence_reason: str | None = None  # 义务教育阶段未上学原因
    health: str | None = None
    disability_grade: str | None = None
    labor: str | None = None
    work_region: str | None = None
    work_place: str | None = None  # 务工所在地: a place, beside the A15 class
    work_months: int | None = None
    a17_medical: bool | None = None
    a17_resident_medical: bool | None = None  # the national system's two 医保 flags
    a17_employee_medical: bool | None = None
    a18_serious_illness: bool | None = None
    a19_pension: bool | None = None
    a19_employee_pension: bool | None = None  # 城镇职工基本养老保险
    a20_dibao: str | None = None
    a21_tekun: str | None = None
    a20_dibao_since: date | None = None  # when 低保 began: "newly" in screening; None is unknown, never a guess
    a21_tekun_since: date | None = None  # when 特困供养 began
    a22_relocated: bool | None = None
    public_post_months: int | None = None  # 公益性岗位（月数）
    # Facts of the screening's key groups [003 四个必到 / 六个必核] (None: unknown)
    health_since: date | None = None  # when the A13 state (大病, 残疾…) began: 新发生残疾
    unemployed: bool | None = None  # 失业
    incapacitated: bool | None = None  # 失能
    studying_away: bool | None = None  # 在外就读
    phone: str | None = None
    note: str | None = None
    # Read-only here: changed by events.
    status: str = "normal"
    status_date: date | None = None
    version: int | None = None  # as read: see HouseholdData.version

    @property
    def current(self) -> bool:
        """A member of the household now: status 正常 (not dead, moved, married out)."""
        return self.status == "normal"

    @property
    def birth_date(self) -> date | None:
        """出生日期, as the ID number says it (derived, never stored: None while the number is not a valid ID)."""
        info = parse_id(self.id_number)
        return info.birth_date if info.error is None else None


READ_ONLY_MEMBER = {"id", "version", "status", "status_date", "birth_date"}  # birth_date: derived from the ID number
MEMBER_CODE_FIELDS = {"sex": "sex", "relation": "relation", "ethnicity": "ethnicity", "political": "political",
                      "education": "education", "school": "school", "health": "health",
                      "disability_grade": "disability_grade", "labor": "labor", "work_region": "work_region",
                      "a20_dibao": "dibao", "a21_tekun": "tekun"}


@dataclass(frozen=True)
class HouseholdRow:
    id: int
    household_no: str
    village: str
    group: str
    head_name: str
    size: int
    phone: str
    status: str
    category: str
    poverty_alleviated: bool | None  # None: not known (a file that did not say), shown as such, never as 否
    identified_on: date | None
    closed_on: date | None = None  # 户注销: shown as such, out of the working lists

    @property
    def closed(self) -> bool:
        return self.closed_on is not None


@dataclass(frozen=True)
class EventRow:
    id: int
    event_date: date
    kind: str
    member_name: str
    id_number: str
    other_household_no: str
    note: str
    recorded_by: str


@dataclass
class HouseholdFilter:
    text: str = ""
    village_id: int | None = None
    group_id: int | None = None
    status: str | None = None
    category: str | None = None
    poverty_alleviated: bool | None = None
    village_ids: frozenset[int] | None = None  # a clerk's villages
    only_ids: frozenset[int] | None = None  # a list from elsewhere (e.g. the 建议纳入 households)
    closed: bool | None = False  # 户注销: False the working register, True the closed ones only, None both


# ---------------------------------------------------------------- search

_H = Household.__table__.c  # Core columns: the ORM row path costs ~30 ms more per 100,000 ids
_M = Member.__table__.c
_REGION = Region.__table__

SORT_COLUMNS = {
    "household_no": _H.household_no, "head_name": _H.head_name, "size": _H.size, "phone": _H.phone,
    "status": _H.monitoring_status, "category": _H.a3_category, "poverty_alleviated": _H.a4_poverty_alleviated,
    "identified_on": _H.identified_on,
}
SORT_BY_REGION = {"village": _H.village_id, "group": _H.group_id}  # sorted by the region's name
CLOSED_NAME = "已注销"  # 户注销 (services.corrections), shown in place of the monitoring status
LONG_NUMBER = 14  # this many digits can only be an ID or household number (a prefix), never a phone
ID_PREFIX = 10  # this many digits of an ID are its start; fewer may be its end (后 6 位)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _next_prefix(text: str) -> str | None:
    """The smallest string after every string that starts with `text` (digits and X): "3703" → "3704",
    "3709" → "371", "37X" → "37Y"; None for "999…". Only the characters 0–9 and X–Y are compared with it, which
    every collation orders the same way, so `>= text AND < next` is the prefix under any collation (a
    zh-Hans ICU database sorts "~" before the digits: `< text || '~'` found nothing there) and still uses the
    index."""
    while text:
        last = text[-1]
        if last == "9":
            text = text[:-1]
            continue
        return text[:-1] + ("Y" if last in "Xx" else chr(ord(last) + 1))
    return None


def _prefix(column, text: str):
    upper = _next_prefix(text)
    return and_(column >= text, column < upper) if upper is not None else column >= text


def _text_condition(text: str):
    """Search by what was typed: digits are an ID, household number or phone; Chinese is a name."""
    if re.fullmatch(r"\d+X?", text):
        if len(text) >= LONG_NUMBER:  # an index range instead of a scan
            members = select(_M.household_id).where(_prefix(_M.id_number, text))
            return or_(_prefix(_H.household_no, text), _H.id.in_(members))
        pattern = _like(text)
        if len(text) >= ID_PREFIX:  # an ID is typed from its start (area code, birth date): a range
            ids = select(_M.household_id).where(_prefix(_M.id_number, text))
        else:  # short digits may be the end of an ID: a scan of the covering index
            ids = select(_M.household_id).where(_M.id_number.like(pattern, escape="\\"))
        # UNION ALL lets each branch use its own covering index; OR would scan the member table.
        members = union_all(ids, select(_M.household_id).where(_M.phone.like(pattern, escape="\\")))
        return or_(_H.household_no.like(pattern, escape="\\"), _H.phone.like(pattern, escape="\\"),
                   _H.id.in_(members))
    pattern = _like(text)
    if not text.isascii():  # the head is a member too: names are searched once, on members
        return _H.id.in_(select(_M.household_id).where(_M.name.like(pattern, escape="\\")))
    members = select(_M.household_id).where(or_(_M.name.like(pattern, escape="\\"),
                                                _M.id_number.like(pattern, escape="\\")))
    return or_(_H.household_no.like(pattern, escape="\\"), _H.phone.like(pattern, escape="\\"),
               _H.id.in_(members))


def _conditions(flt: HouseholdFilter) -> list:
    cond = []
    if flt.village_ids is not None:
        cond.append(_H.village_id.in_(flt.village_ids))
    if flt.only_ids is not None:
        cond.append(_H.id.in_(sorted(flt.only_ids)))
    if flt.village_id is not None:
        cond.append(_H.village_id == flt.village_id)
    if flt.group_id is not None:
        cond.append(_H.group_id == flt.group_id)
    if flt.status:
        cond.append(_H.monitoring_status == flt.status)
    if flt.category:
        cond.append(_H.a3_category == flt.category)
    if flt.poverty_alleviated is not None:
        cond.append(_H.a4_poverty_alleviated.is_(flt.poverty_alleviated))
    if flt.closed is not None:
        cond.append(_H.closed_on.is_not(None) if flt.closed else _H.closed_on.is_(None))
    text = normalize(flt.text).upper()
    if text:
        cond.append(_text_condition(text))
    return cond


def household_ids(session: Session, flt: HouseholdFilter, sort: str = "household_no",
                  descending: bool = False) -> list[int]:
    """Ids of matching households in display order: the register model keeps only these."""
    flt = replace(flt, village_ids=access.narrow(session, flt.village_ids))
    direction = desc if descending else asc
    q = select(_H.id).where(*_conditions(flt))
    if sort in SORT_BY_REGION:
        region = _REGION.alias()
        q = q.outerjoin(region, region.c.id == SORT_BY_REGION[sort]).order_by(direction(region.c.name))
    elif sort in SORT_COLUMNS and sort != "household_no":
        q = q.order_by(direction(SORT_COLUMNS[sort]))
    q = q.order_by(direction(_H.household_no) if sort == "household_no" else asc(_H.household_no))
    return session.connection().execute(q).scalars().all()  # plain ids: no ORM loading (20,000 rows at a county)


def household_rows(session: Session, ids: list[int]) -> list[HouseholdRow]:
    """Display rows for a page of ids, in the order given."""
    access.households(session, ids)
    if not ids:
        return []
    names = regions.names(session)
    status = codes("monitoring_status")
    category = codes("category")
    by_id = {}
    cols = (Household.id, Household.household_no, Household.village_id, Household.group_id, Household.head_name,
            Household.size, Household.phone, Household.monitoring_status, Household.a3_category,
            Household.a4_poverty_alleviated, Household.identified_on, Household.closed_on)
    for chunk in range(0, len(ids), 900):
        for r in session.execute(select(*cols).where(Household.id.in_(ids[chunk:chunk + 900]))):
            by_id[r.id] = HouseholdRow(r.id, r.household_no, names.get(r.village_id, ""), names.get(r.group_id, ""),
                                       r.head_name or "", r.size, r.phone or "",
                                       CLOSED_NAME if r.closed_on else status.name(r.monitoring_status),
                                       category.name(r.a3_category), r.a4_poverty_alleviated,
                                       r.identified_on, r.closed_on)
    return [by_id[i] for i in ids if i in by_id]


def count_households(session: Session) -> int:
    """Households of the working register (not closed) the user may see."""
    villages = access.scope(session)
    q = select(func.count()).select_from(Household).where(Household.closed_on.is_(None))
    return session.scalar(q if villages is None else q.where(Household.village_id.in_(villages))) or 0


# ---------------------------------------------------------------- read

def _copy(src, cls, skip=()):
    return cls(**{f.name: getattr(src, f.name) for f in fields(cls) if f.name not in skip})


def get_household(session: Session, household_id: int) -> tuple[HouseholdData, list[MemberData]]:
    access.household(session, household_id)
    hh = session.get(Household, household_id)
    if hh is None:
        raise RegisterError(f"户 #{household_id} 不存在")
    data = _copy(hh, HouseholdData)
    data.a27_risk_types = list(hh.a27_risk_types or [])
    data.a27a_disaster_types = list(hh.a27a_disaster_types or [])
    members = session.scalars(select(Member).where(Member.household_id == household_id)
                              .order_by(Member.seq, Member.id)).all()
    return data, [_copy(m, MemberData) for m in members]


def household_id_by_no(session: Session, household_no: str) -> int | None:
    access.household_no(session, household_no)
    return session.scalar(select(Household.id).where(Household.household_no == household_no.strip()))


def household_no(session: Session, household_id: int) -> str | None:
    access.household(session, household_id)
    return session.scalar(select(Household.household_no).where(Household.id == household_id))


def events(session: Session, household_id: int) -> list[EventRow]:
    access.household(session, household_id)
    other = Household.__table__.alias("other")
    q = (select(MemberEvent, Member.name, Member.id_number, other.c.household_no)
         .join(Member, Member.id == MemberEvent.member_id)
         .outerjoin(other, other.c.id == MemberEvent.other_household_id)
         .where(MemberEvent.household_id == household_id)
         .order_by(MemberEvent.event_date.desc(), MemberEvent.id.desc()))
    kinds = codes("member_event")
    rows = session.execute(q).all()
    who = audit.user_names(session, {e.recorded_by for e, *_ in rows})  # the user's name, not the log-in name
    return [EventRow(e.id, e.event_date, kinds.name(e.kind), name, idn, ohn or "", e.note or "",
                     who.get(e.recorded_by, "") if e.recorded_by else "") for e, name, idn, ohn in rows]


# ---------------------------------------------------------------- validation

def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _check_phone(value: str | None, fld: str, what: str, row: int | None = None) -> list[Problem]:
    if _blank(value):
        return []
    digits = value.replace("-", "").replace(" ", "")
    if not digits.isdigit() or not 7 <= len(digits) <= 13:
        return [Problem(fld, f"{what}“{value}”不是有效的电话号码", row)]
    return []


def validate_member(m: MemberData, row: int, as_of: date) -> list[Problem]:
    """Problems of one member, with messages naming the row (第 N 行) and the field."""
    p: list[Problem] = []
    who = f"第 {row + 1} 行成员" + (f"“{m.name}”" if not _blank(m.name) else "")
    if _blank(m.name):
        p.append(Problem("name", f"{who}：姓名不能为空", row))
    info = parse_id(m.id_number)
    if not info.valid:
        p.append(Problem("id_number", f"{who}：{info.error}", row))
    else:
        if (err := birth_date_error(info, as_of)):
            p.append(Problem("id_number", f"{who}：{err}", row))
        if m.sex and m.sex != info.sex:
            p.append(Problem("sex", f"{who}：性别“{codes('sex').name(m.sex)}”与身份证号第 17 位"
                                    f"（{codes('sex').name(info.sex)}）不符", row))
    if _blank(m.relation):
        p.append(Problem("relation", f"{who}：请选择与户主关系", row))
    for fld, key in MEMBER_CODE_FIELDS.items():
        value = getattr(m, fld)
        if not _blank(value) and value not in codes(key):
            p.append(Problem(fld, f"{who}：“{value}”不在{key}代码表中", row))
    if m.work_months is not None and not 0 <= m.work_months <= 12:
        p.append(Problem("work_months", f"{who}：务工时间应在 0–12 个月之间，现为 {m.work_months}", row))
    if m.disability_grade and m.health != codes("health").code_of("残疾"):
        p.append(Problem("disability_grade", f"{who}：填写了残疾等级，但健康状况不是“残疾”", row))
    for fld, what, applies, why in (
            ("a20_dibao_since", "享受低保起始日期", m.a20_dibao not in (None, "", "00"), "未享受低保"),
            ("a21_tekun_since", "特困供养起始日期", m.a21_tekun not in (None, "", "00"), "未享受特困供养"),
            ("health_since", "大病或残疾发生日期", m.health not in (None, "", "01"), "健康状况为健康或未填")):
        value = getattr(m, fld)
        if value is None:
            continue
        if not isinstance(value, date):
            p.append(Problem(fld, f"{who}：{what}“{value}”不是有效的日期（如 2024-05-01）", row))
        elif value > as_of:
            p.append(Problem(fld, f"{who}：{what} {value} 晚于今天 {as_of}", row))
        elif not applies:
            p.append(Problem(fld, f"{who}：填写了{what}，但{why}", row))
    p += _check_phone(m.phone, "phone", f"{who}：联系电话", row)
    return p


def validate(data: HouseholdData, members: list[MemberData], as_of: date) -> list[Problem]:
    """Everything checkable without the database, before anything is saved."""
    p: list[Problem] = []
    if _blank(data.household_no):
        p.append(Problem("household_no", "户编号不能为空"))
    if data.village_id is None:
        p.append(Problem("village_id", "请选择行政村"))
    p += _check_phone(data.phone, "phone", "联系电话")
    p += _check_phone(data.contact_phone, "contact_phone", "监测联系人电话")
    for fld, key in (("a3_category", "category"), ("dibao_tier", "dibao_tier")):
        value = getattr(data, fld)
        if not _blank(value) and value not in codes(key):
            p.append(Problem(fld, f"“{value}”不在{key}代码表中"))
    if not members:
        p.append(Problem("members", "至少要登记一名家庭成员（户主）"))
    seen: dict[str, int] = {}
    for i, m in enumerate(members):
        p += validate_member(m, i, as_of)
        number = parse_id(m.id_number).number
        if number and m.status == "normal":
            if number in seen:
                p.append(Problem("id_number", f"第 {i + 1} 行与第 {seen[number] + 1} 行的证件号码相同：{number}", i))
            else:
                seen[number] = i
    living = [i for i, m in enumerate(members) if m.status == "normal"]
    heads = [i for i in living if members[i].relation == HEAD]
    if members and not heads:
        p.append(Problem("relation", "没有户主：请在家庭成员中指定一名户主"))
    elif len(heads) > 1:
        rows = "、".join(str(i + 1) for i in heads)
        p.append(Problem("relation", f"有 {len(heads)} 名户主（第 {rows} 行）：一户只能有一名户主", heads[1]))
    return p


def _check_register(session: Session, data: HouseholdData, members: list[MemberData]) -> list[Problem]:
    """Checks that need the database: unique 户编号, an ID living in another household."""
    p: list[Problem] = []
    no = (data.household_no or "").strip()
    other = session.scalar(select(Household.id).where(Household.household_no == no))
    if no and other is not None and other != data.id:
        p.append(Problem("household_no", f"户编号“{no}”已被其他户使用"))
    numbers = {parse_id(m.id_number).number: i for i, m in enumerate(members) if m.status == "normal"}
    if numbers:
        q = (select(Member.id_number, Household.household_no)
             .join(Household, Household.id == Member.household_id)
             .where(Member.id_number.in_(list(numbers)), Member.status == "normal"))
        if data.id is not None:
            q = q.where(Member.household_id != data.id)
        for number, hno in session.execute(q):
            i = numbers[number]
            p.append(Problem("id_number", f"第 {i + 1} 行证件号码 {number} 已登记在户 {hno} 的在册成员中", i))
    return p


# ---------------------------------------------------------------- write

def _apply(obj, data, skip) -> None:
    for f in fields(data):
        if f.name in skip:
            continue
        value = getattr(data, f.name)
        if isinstance(value, str):
            value = value.strip() or None
        if f.name == "household_no":
            value = value or ""
        if getattr(obj, f.name) != value:
            setattr(obj, f.name, value)


def _normalized(m: MemberData) -> MemberData:
    info = parse_id(m.id_number)
    sex = m.sex or info.sex
    return replace(m, id_number=info.number, sex=sex, name=(m.name or "").strip())


def refresh_household(session: Session, hh: Household) -> None:
    """Keep the cached size (members of status 正常) and head name in step with the members."""
    access.household(session, hh.id, write=True)
    session.flush()
    living = session.execute(select(Member.name, Member.relation).where(Member.household_id == hh.id,
                                                                         Member.status == "normal")).all()
    hh.size = len(living)
    hh.head_name = next((n for n, rel in living if rel == HEAD), None)


def check_access(session: Session, user: CurrentUser | None, village_id: int | None) -> None:
    """A 村级录入员 may change only the households of their villages (the acting user of the session decides;
    `user` is kept for callers that still pass it)."""
    access.village(session, village_id, write=True)


def save_household(session: Session, data: HouseholdData, members: list[MemberData], as_of: date,
                   user: CurrentUser | None = None) -> int:
    """Validate everything, then create or update the household and its members in one go.

    Members are matched by id; a new member row on an existing household needs an event
    (record_event), so this refuses to add or drop members of a saved household."""
    access.household(session, data.id, write=True)
    members = [_normalized(m) for m in members]
    problems = validate(data, members, as_of)
    if not problems:
        problems = _check_register(session, data, members)
    if data.village_id is not None and data.group_id is not None:
        g = session.get(Region, data.group_id)
        if g is None or g.parent_id != data.village_id:
            problems.append(Problem("group_id", "村民小组不属于所选行政村"))
    if problems:
        raise ValidationError(problems)
    check_access(session, user, data.village_id)
    if data.id is None:
        hh = Household(household_no="", village_id=data.village_id, monitoring_status="none")
        _apply(hh, data, READ_ONLY_HOUSEHOLD)
        session.add(hh)
        session.flush()
        for seq, m in enumerate(members, 1):
            row = Member(household_id=hh.id, seq=seq, name="", id_number="", relation="")
            _apply(row, m, READ_ONLY_MEMBER)
            row.seq = seq
            session.add(row)
    else:
        hh = concurrency.lock_household(session, data.id)
        if hh is None:
            raise RegisterError(f"户 #{data.id} 不存在")
        check_access(session, user, hh.village_id)
        if hh.closed_on is not None:
            raise RegisterError(f"户 {hh.household_no} 已于 {hh.closed_on} 注销，不能修改；"
                                "确需修改请由管理员先恢复该户")
        concurrency.expect_version(session, hh, data.version)  # a member added or gone changed its size: newer
        existing = {m.id: m for m in session.scalars(select(Member).where(Member.household_id == hh.id))}
        given = {m.id for m in members if m.id is not None}
        if any(m.id is None for m in members) or given != set(existing):
            raise RegisterError("已登记户的成员增减须通过“成员变更”登记（新生儿、嫁入、迁入、死亡、嫁出、迁出）")
        for m in members:
            concurrency.expect_version(session, existing[m.id], m.version)
        _apply(hh, data, READ_ONLY_HOUSEHOLD)
        for seq, m in enumerate(members, 1):
            row = existing[m.id]
            _apply(row, m, READ_ONLY_MEMBER | {"seq"})
            if row.seq != seq:
                row.seq = seq
    refresh_household(session, hh)
    return hh.id


def record_event(session: Session, household_id: int, kind: str, event_date: date, *,
                 member_id: int | None = None, new_member: MemberData | None = None,
                 note: str | None = None, other_household_id: int | None = None,
                 as_of: date | None = None, user: CurrentUser | None = None) -> int:
    """A natural change as a dated event. Additions create the member; reductions change the
    member's status. Returns the member id."""
    access.household(session, household_id, write=True)
    spec = codes("member_event").get(kind)
    if spec is None:
        raise RegisterError(f"未知的变更类型：{kind}")
    hh = concurrency.lock_household(session, household_id)  # two seats registering the same birth: one wins
    if hh is None:
        raise RegisterError(f"户 #{household_id} 不存在")
    check_access(session, user, hh.village_id)
    if event_date is None:
        raise RegisterError("请填写变更日期")
    if as_of is not None and event_date > as_of:
        raise RegisterError(f"变更日期 {event_date} 晚于今天 {as_of}")
    recorded_by = session.info.get("user")
    if spec.flag("adds_member"):
        if new_member is None:
            raise RegisterError(f"“{spec.name}”需要填写新成员信息")
        m = _normalized(new_member)
        problems = validate_member(m, 0, as_of or event_date)
        data, current = get_household(session, household_id)
        if m.relation == HEAD and any(c.relation == HEAD and c.status == "normal" for c in current):
            problems.append(Problem("relation", "本户已有户主：新成员不能再登记为户主"))
        problems += [p for p in _check_register(session, data, [m]) if p.field == "id_number"]
        same = [c for c in current if c.status == "normal" and parse_id(c.id_number).number == m.id_number]
        if same:
            problems.append(Problem("id_number", f"证件号码 {m.id_number} 与本户成员“{same[0].name}”相同"))
        if problems:
            raise ValidationError(problems)
        seq = (session.scalar(select(func.max(Member.seq)).where(Member.household_id == household_id)) or 0) + 1
        row = Member(household_id=household_id, seq=seq, name="", id_number="", relation="")
        _apply(row, m, READ_ONLY_MEMBER | {"seq"})
        row.status, row.status_date = "normal", event_date
        session.add(row)
        session.flush()
        member_id = row.id
    else:
        row = session.get(Member, member_id, populate_existing=True) if member_id is not None else None
        if row is None or row.household_id != household_id:
            raise RegisterError("请选择本户的一名成员")
        target = spec.extra["status_after"]
        if target == "normal" and row.status == "normal":
            raise RegisterError(f"“{row.name}”已是正常状态")
        if target != "normal" and row.status != "normal":
            raise RegisterError(f"“{row.name}”当前状态为“{codes('member_status').name(row.status)}”，"
                                f"不能再登记{spec.name}")
        row.status, row.status_date = target, event_date
    session.add(MemberEvent(household_id=household_id, member_id=member_id, kind=kind, event_date=event_date,
                            other_household_id=other_household_id, note=(note or "").strip() or None,
                            recorded_by=recorded_by))
    refresh_household(session, hh)
    return member_id


def move_member(session: Session, member_id: int, target_household_id: int, event_date: date, relation: str,
                note: str | None = None, as_of: date | None = None, user: CurrentUser | None = None) -> int:
    """Move a member to another household of the register: 迁出 here, 迁入 there, linked both ways,
    so each household keeps its own history. Returns the new member id."""
    access.household(session, target_household_id, write=True)
    row = session.get(Member, member_id)
    if row is None:
        raise RegisterError("成员不存在")
    if row.household_id == target_household_id:
        raise RegisterError("目标户与原户相同")
    if session.get(Household, target_household_id) is None:
        raise RegisterError("目标户不存在")
    if row.status != "normal":
        raise RegisterError(f"“{row.name}”不是正常状态，不能迁移")
    source_id = row.household_id
    moving = _copy(row, MemberData)
    moving.id, moving.relation = None, relation
    record_event(session, source_id, "moved_out", event_date, member_id=member_id, note=note,
                 other_household_id=target_household_id, as_of=as_of, user=user)
    new_id = record_event(session, target_household_id, "moved_in", event_date, new_member=moving, note=note,
                          other_household_id=source_id, as_of=as_of, user=user)
    session.get(Member, new_id).moved_from_member_id = member_id
    audit.record(session, "move", "member", record_id=new_id, household_id=target_household_id,
                 field="household_id", old=source_id, new=target_household_id)
    return new_id


# ---------------------------------------------------------------- derived values shown while editing

def head_name(members: list[MemberData]) -> str:
    """The name of the current head among the members being edited ("" when there is none)."""
    return next((m.name for m in members if m.relation == HEAD and m.current), "")


def event_kinds(member: MemberData | None) -> list[str]:
    """The member events (codes of member_event) that may be registered: for a new member those that add one
    (birth, married in, moved in), for a current member those that take one away, for a member no longer
    current only 恢复 (restored)."""
    events = codes("member_event")
    if member is None:
        return [c.code for c in events if c.flag("adds_member")]
    if member.current:
        return [c.code for c in events if not c.flag("adds_member") and c.code != "restored"]
    return ["restored"]


def a17_rows(members: list[MemberData]) -> tuple[list[int], list[int]]:
    """Rows of members of status 正常 whose A17 (basic medical insurance) is 否, and those where it is blank."""
    living = [(i, m) for i, m in enumerate(members) if m.status == "normal"]
    return [i for i, m in living if m.a17_medical is False], [i for i, m in living if m.a17_medical is None]


def derived_a26(members: list[MemberData]) -> bool:
    """A26 of the members being edited: the rule in services.rules, over the members of status 正常."""
    return rules.derived_a26([rules.MemberFacts(m.labor, m.a17_medical, m.a20_dibao, m.a21_tekun)
                              for m in members if m.status == "normal"])


# ---------------------------------------------------------------- the household picker's search

PICK_LIMIT = 20  # matches offered as one types


@dataclass(frozen=True)
class HouseholdMatch:
    id: int
    household_no: str
    head_name: str
    village_id: int
    village: str
    group: str
    status: str
    matched: str  # what matched besides the number and the head: "成员 李四", "电话 138…"; "" otherwise

    @property
    def text(self) -> str:
        """One line of the picker's list."""
        place = f"{self.village} {self.group}".strip()
        extra = f" · {self.matched}" if self.matched else ""
        return f"{self.household_no}  {self.head_name or '（未登记户主）'}（{place}）· {self.status}{extra}"


def search_households(session: Session, text: str, limit: int = PICK_LIMIT) -> list[HouseholdMatch]:
    """The one search behind every household picker (登记线索, 迁往他户, new cases, 收入测算…): 户编号, 户主 or any
    member's name or ID number, a phone number, as typed; the user's villages only; the working register only
    (a closed household, 户注销, takes no new work). An exact household number comes first."""
    villages = access.scope(session)
    typed = normalize(text or "").strip().upper()
    if not typed:
        return []
    cond = [_text_condition(typed), _H.closed_on.is_(None)]
    if villages is not None:
        cond.append(_H.village_id.in_(villages))
    exact = list(session.scalars(select(_H.id).where(_H.household_no == typed, *cond)))
    ids = exact + [i for i in session.scalars(select(_H.id).where(*cond).order_by(_H.household_no).limit(limit))
                   if i not in exact]
    ids = ids[:limit]
    if not ids:
        return []
    rows = household_rows(session, ids)
    village_of = dict(session.execute(select(_H.id, _H.village_id).where(_H.id.in_(ids))).all())
    matched: dict[int, str] = {}
    pattern = _like(typed)
    q = select(_M.household_id, _M.name, _M.id_number, _M.phone, _M.relation).where(
        _M.household_id.in_(ids), or_(_M.name.like(pattern, escape="\\"), _M.id_number.like(pattern, escape="\\"),
                                      _M.phone.like(pattern, escape="\\")))
    for hid, name, number, phone, relation in session.execute(q):
        if hid in matched:
            continue
        if typed in (number or "") and relation != "01":
            matched[hid] = f"成员 {name}（证件号 …{number[-6:]}）"
        elif typed in (phone or ""):
            matched[hid] = f"{name} 电话 {phone}"
        elif relation != "01" and typed in (name or ""):
            matched[hid] = f"成员 {name}"
    return [HouseholdMatch(r.id, r.household_no, r.head_name, village_of[r.id], r.village, r.group, r.status,
                           matched.get(r.id, "")) for r in rows]
