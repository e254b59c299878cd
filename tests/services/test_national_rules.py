"""The national system's numbered 疑点 rules (SPEC §10, shared/NATIONAL_CHECKS.md): each rule checked here finds a
household (or member) that breaks it and leaves alone one just inside it; the registry matches the catalogue; the
rules can be turned off per township; a national-layout file goes through `check`.

Cases are tables per family: (rule, population, what the violating case has, what the one inside has). Ages are
at the status time point of 2024 (09-30); lines from the year's settings (7,100)."""

from __future__ import annotations

import copy
import csv
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from desktop.models import Member
from desktop.services import assess as assess_mod
from desktop.services import checks, national_rules, overview
from desktop.services.access import AccessDenied
from desktop.services.db import init_db, sqlite_url
from desktop.services.idnumber import make_id
from tests.conftest import ADMIN_PASSWORD, CLERK_PASSWORD, TEST_KEY, TODAY, YEAR, copy_template, login
from tests.services.builders import AREA, Builder, bad_checksum

HERE = Path(__file__).resolve().parent
POINT = date(YEAR, 9, 30)
AFTER_OK = dict(after_dropout=False, after_housing_damaged=False, after_medical_missing=False,
                after_water_damaged=False, after_a28=Decimal("30000"), after_a29=Decimal("0"), after_a30=Decimal("0"),
                after_a31=Decimal("500"), after_a32=Decimal("0"), after_a33=Decimal("30500"),
                after_a34=Decimal("15250"), after_a35=Decimal("0"), after_a36=Decimal("0"))


def born(age: int, plus_days: int = 0) -> date:
    """Born so as to be `age` at the status time point (the birthday on the point itself); plus_days later is
    one year younger for plus_days ≥ 1."""
    d = date(POINT.year - age, POINT.month, POINT.day)
    return date.fromordinal(d.toordinal() + plus_days)


def household(b, pop: str, *, measure: bool = True, **fields) -> int:
    """A household of the population a rule looks at: P 脱贫户, M/U 监测对象 (risk not removed), R 已消除风险,
    N 未纳入监测, A any (an ordinary household). Otherwise clean (tests/services/builders.py)."""
    if pop == "P":
        return b.household(a4_poverty_alleviated=True, **fields)
    if pop in ("M", "U"):
        return b.monitored(measure=measure, **fields)
    if pop == "R":
        for k, v in AFTER_OK.items():
            fields.setdefault(k, v)
        fields.setdefault("a53_removal_way", "02")
        fields.setdefault("a54_removed_on", date(2024, 8, 1))
        fields.setdefault("a55_contact_person", "王干部")
        fields.setdefault("contact_phone", "13900000000")
        return b.monitored(monitoring_status="removed", measure=measure, **fields)
    return b.household(a4_poverty_alleviated=False, **fields)


def subject(b, hid: int, *, age: int = 30, plus_days: int = 0, sex: str = "1", relation: str = "03", id_number=None,
            measures=(), **kw) -> str:
    """A third member with exactly the fields a case gives (the rest filled as a careful collector would), added
    as a row (a legacy import can hold anything); measures: (category, item[, extra]) for this member."""
    number = id_number if id_number is not None else make_id(AREA, born(age, plus_days), b.serial(), sex)
    for k, v in dict(ethnicity="01", health="01", a18_serious_illness=True, a19_pension=True, labor="02",
                     education=None if "school" in kw else "03").items():
        kw.setdefault(k, v)
    m = b.raw_member(hid, "王五", number, relation, sex=sex, **kw)
    for cat, item, *extra in measures:
        b.measure(hid, cat, item, member_id=m.id, **(extra[0] if extra else {}))
    return number


def hits(b, rule: str, as_of: date = TODAY) -> set:
    return {(f.household_no, f.member_id_number) for f in checks.run_checks(b.s, YEAR, as_of) if f.rule == rule}


def households_hit(b, rule: str, as_of: date = TODAY) -> set:
    return {no for no, _ in hits(b, rule, as_of)}


def households_by_rule(b, as_of: date = TODAY) -> dict[str, set]:
    """One run of all the checks, its households by rule: for several rules asked about the same data."""
    out: dict[str, set] = {}
    for f in checks.run_checks(b.s, YEAR, as_of):
        out.setdefault(f.rule, set()).add(f.household_no)
    return out


# ---------------------------------------------------------------------------- member rules as data (per family)

def case(rule, pop, bad, good, **common):
    return pytest.param(rule, pop, {**common, **bad}, {**common, **good}, id=rule)


VALID = make_id(AREA, date(1990, 1, 1), 77, "1")
CARD_GOOD = VALID + "41"  # 残疾人证: 肢体 (4), 一级 (1)
CARD_BAD = bad_checksum(VALID) + "41"

FAMILY_1 = [
    case("1_01_002", "P", dict(id_number=VALID[:16]), dict(id_number=VALID)),
    case("1_01_003", "P", dict(id_number=bad_checksum(VALID)), dict(id_number=VALID)),
    case("1_01_004", "P", dict(id_number=CARD_BAD, health="04"), dict(id_number=CARD_GOOD, health="04")),
    case("1_12_002", "M", dict(id_number=bad_checksum(VALID)), dict(id_number=VALID)),
    case("1_12_004", "M", dict(id_number=CARD_BAD, health="04"), dict(id_number=CARD_GOOD, health="04")),
    case("1_02_003", "N", dict(a18_serious_illness=False), dict(a18_serious_illness=True)),
    case("1_02_005", "A", dict(age=16), dict(age=17), school=None, school_absence_reason=None),
    case("1_11_008", "R", dict(a17_resident_medical=False, a17_employee_medical=False, a17_medical=False),
         dict(a17_resident_medical=True, a17_employee_medical=False)),
]
FAMILY_2 = [
    case("2_01_001", "P", dict(ethnicity=None), dict(ethnicity="01")),
    case("2_01_002", "P", dict(health=None), dict(health="01")),
    case("2_01_003", "P", dict(labor=None), dict(labor="02")),
    case("2_01_004", "P", dict(relation="04", sex="1"), dict(relation="04", sex="2")),
    case("2_01_006", "P", dict(a18_serious_illness=None), dict(a18_serious_illness=True)),
    case("2_01_007", "P", dict(a19_pension=None), dict(a19_pension=False)),
    case("2_01_008", "P", dict(a17_medical=False), dict(a17_medical=True)),
    case("2_01_009", "P", dict(a17_resident_medical=True, a17_employee_medical=True),
         dict(a17_resident_medical=True, a17_employee_medical=False)),
    case("2_01_010-16", "P", dict(age=16), dict(age=16, plus_days=1), health="01", school="26", labor="05"),
    case("2_01_011", "P", dict(age=16, plus_days=1), dict(age=16), labor="02"),
    case("2_01_012", "P", dict(health="01"), dict(health="03"), school="26", school_absence_reason="因病休学"),
    case("2_01_016", "P", dict(a18_serious_illness=False), dict(a18_serious_illness=True)),
    case("2_11_006", "U", dict(labor="05", age=70), dict(labor="03", age=70)),
    case("2_12_001", "M", dict(labor=None), dict(labor="02")),
    case("2_12_002", "M", dict(ethnicity=None), dict(ethnicity="01")),
    case("2_12_003", "M", dict(health=None), dict(health="01")),
    case("2_12_005", "M", dict(age=60), dict(age=60, plus_days=1), labor="02"),
    case("2_12_007", "A", dict(phone="1391234567"), dict(phone="13912345678"), work_region="03"),
    case("2_12_008", "M", dict(relation="03", sex="2"), dict(relation="03", sex="1")),
    case("2_12_009-16", "P", dict(age=60, plus_days=1), dict(age=60), health="01", school="26", labor="04"),
    case("2_12_010", "M", dict(a18_serious_illness=None), dict(a18_serious_illness=True)),
    case("2_12_012", "M", dict(a17_medical=None), dict(a17_medical=True)),
    case("2_12_014", "M", dict(age=16, plus_days=1), dict(age=16), labor="02"),
    case("2_12_015", "M", dict(a17_resident_medical=True, a17_employee_medical=True),
         dict(a17_resident_medical=False, a17_employee_medical=True)),
    case("2_12_016", "M", dict(a18_serious_illness=False), dict(a18_serious_illness=True)),
    case("2_12_017", "P", dict(age=60), dict(age=60, plus_days=1), labor="02"),
    case("2_15_001", "M", dict(a19_pension=None), dict(a19_pension=False)),
]
FAMILY_3 = [
    case("3_01_001", "P", dict(relation=""), dict(relation="03")),
    case("3_01_002", "P", dict(education=None), dict(education="02"), school=None, school_absence_reason=None),
    case("3_01_003", "P", dict(school="03"), dict(school="26"), education="02", age=10),
    case("3_01_005", "P", dict(public_post_months=6), dict(public_post_months=None)),
    case("3_01_006", "P", dict(public_post_months=None), dict(public_post_months=6), measures=[("A42", "保洁员")]),
    case("3_01_007", "P", dict(a17_medical=False), dict(a17_medical=True), measures=[("A45", "医疗救助")]),
    case("3_01_008", "P", dict(age=16, plus_days=1), dict(age=16), measures=[("A42", "保洁员")],
         public_post_months=6),
    case("3_01_010", "P", dict(measures=[("A42", "保洁员"), ("A42", "护林员"), ("A42", "护草员")]),
         dict(measures=[("A42", "保洁员"), ("A42", "护林员")]), public_post_months=6),
    case("3_01_011", "M", dict(measures=[("A42", "保洁员"), ("A42", "护林员"), ("A42", "护草员")]),
         dict(measures=[("A42", "保洁员"), ("A42", "护林员")]), public_post_months=6),
    case("3_12_003", "A", dict(education=None), dict(education="03"), school=None, school_absence_reason=None),
    case("3_12_004", "M", dict(school="05"), dict(school="26"), education="03", age=13),
]
FAMILY_4 = [
    case("4_01_002", "P", dict(id_number=VALID), dict(id_number=CARD_GOOD), health="04", labor="05"),
    case("4_01_003", "P", dict(id_number="999999" + VALID[6:]), dict(id_number=VALID)),
    case("4_01_007", "A", dict(id_number=CARD_GOOD), dict(id_number=VALID + "43"), health="04", labor="02"),
    case("4_01_008", "M", dict(id_number=VALID + "42"), dict(id_number=VALID + "44"), health="04", labor="02"),
    case("4_12_003", "M", dict(id_number=VALID), dict(id_number=CARD_GOOD), health="04", labor="05"),
]
FAMILY_5 = [
    case("5_01_005_204", "P", dict(work_place="浙江省"), dict(work_place="浙江省宁波市鄞州区"), work_region="04"),
    case("5_01_006", "P", dict(age=70), dict(age=70, plus_days=1), measures=[("A42", "保洁员")], public_post_months=6),
    case("5_12_004", "M", dict(age=16, plus_days=1), dict(age=16), measures=[("A42", "保洁员")], public_post_months=6),
    case("5_12_005", "M", dict(age=70), dict(age=70, plus_days=1), measures=[("A42", "保洁员")], public_post_months=6),
    case("5_12_008", "M", dict(labor="03"), dict(labor="02"), age=16, health="01", school="26"),
    case("5_12_013", "M", dict(age=7), dict(age=7, plus_days=1), health="01", school="01", education=None),
    case("5_12_014", "M", dict(age=15), dict(age=14), school="03", education=None),
    case("5_12_015", "M", dict(age=18), dict(age=17), school="04", education=None),
    case("5_12_016", "M", dict(age=21), dict(age=20), school="07", education=None),
    case("5_12_017", "M", dict(age=18, plus_days=1), dict(age=18), education="06"),
    case("5_12_018", "M", dict(age=20, plus_days=1), dict(age=20), school="25", education=None),
    case("5_12_019", "M", dict(age=22), dict(age=23), education="02"),
    case("5_15_001", "M", dict(a19_pension=None), dict(a19_pension=False)),
    case("5_15_003", "A", dict(public_post_months=0), dict(public_post_months=1), measures=[("A42", "保洁员")]),
    case("5_15_006", "A", dict(labor="05"), dict(labor="03"), measures=[("A42", "保洁员")], public_post_months=6),
    case("5_15_007", "A", dict(labor="04"), dict(labor="03"), measures=[("A40", "技能培训")]),
    case("5_15_011", "P", dict(school="07"), dict(school="10"), measures=[("A47", "雨露计划")], education=None, age=17),
    case("5_15_012", "M", dict(school="07"), dict(school="13"), measures=[("A47", "雨露计划")], education=None, age=18),
    case("5_15_016", "P", dict(age=16), dict(age=17), school="26", school_absence_reason=None),
    case("5_15_017", "M", dict(school_absence_reason=None), dict(school_absence_reason="因残在家"), age=12,
         school="26"),
    case("5_15_018", "P", dict(age=18), dict(age=18, plus_days=1), a21_tekun="01", health="01", school="26"),
    case("5_15_019", "M", dict(age=60, plus_days=1), dict(age=60), a21_tekun="01", health="01", school="26"),
    case("5_17_001", "P", dict(age=7), dict(age=7, plus_days=1), health="01", school="02", education=None),
    case("5_17_002", "P", dict(age=6, plus_days=1), dict(age=6), school="03", education=None),
    case("5_17_003", "P", dict(age=12, plus_days=1), dict(age=12), school="06", education=None),
    case("5_17_004", "P", dict(age=15, plus_days=1), dict(age=15), school="12", education=None),
    case("5_17_005", "P", dict(age=17), dict(age=18), education="05"),
    case("5_17_006", "P", dict(age=19), dict(age=20), school="25", education=None),
    case("5_17_007", "P", dict(age=16), dict(age=16, plus_days=1), education="01"),
    case("5_19_001", "P", dict(a19_pension=None, a19_employee_pension=None),
         dict(a19_pension=None, a19_employee_pension=False)),
]


def _member_households(b, pop, bad, good) -> dict[str, tuple[str, str]]:
    """A case's two households, each with its subject: {"bad"/"good": (household number, subject's ID number)}."""
    out = {}
    for which, fields in (("bad", bad), ("good", good)):
        hid = household(b, pop)
        out[which] = (b.no(hid), subject(b, hid, **fields))
    return out


def _assert_member_case(rule, out, findings):
    mine = [f for f in findings if f.rule == rule and f.household_no in (out["bad"][0], out["good"][0])]
    found = {(f.household_no, f.member_id_number) for f in mine}
    assert out["bad"] in found, f"{rule} 未找到违反的成员"
    assert out["good"][0] not in {no for no, _ in found}, f"{rule} 误报边界内的户"
    [f] = mine
    assert f.title == national_rules.by_number()[rule].title and "王五" in f.message


MEMBER_CASES = [c.values for c in FAMILY_1 + FAMILY_2 + FAMILY_3 + FAMILY_4 + FAMILY_5]


def _shares_no_id(bad, good) -> bool:
    """A case whose subjects get ID numbers of their own (the builder's serials): it can share a township with the
    others. A case that names an ID number (VALID, CARD_GOOD … used by several cases) gets a township of its own,
    so that no case meets another's duplicate."""
    return "id_number" not in bad and "id_number" not in good


BATCH = 16  # cases per township: a case takes up to 6 builder serials, and make_id's serial repeats after 100


def _batched(township_template, tmp_path_factory, cases, build) -> dict | None:
    """Cases that only read their own households, BATCH to a township, the checks run once per township: a run of
    all the checks costs about 0.1 s whatever the few households, and each case ran it. {case's rule: (what
    build(b, *case) returned, its township's findings)}; each test then asserts on its own households as before.
    None on PostgreSQL (no township file to copy): there each case builds its own."""
    if township_template is None:
        return None
    out = {}
    for start in range(0, len(cases), BATCH):
        path = tmp_path_factory.mktemp("cases") / "cases.sqlite3"
        copy_template(township_template[0], path)
        database = init_db(sqlite_url(path), key=TEST_KEY)
        try:
            admin = login(database, "admin", ADMIN_PASSWORD)
            with database.session(admin) as s:
                b = Builder(s, copy.deepcopy(township_template[1]))
                built = {case[0]: build(b, *case[1:]) for case in cases[start:start + BATCH]}
                numbers = s.scalars(select(Member.id_number)).all()
                assert len(numbers) == len(set(numbers)), "two cases' members share an ID number"
                findings = checks.run_checks(s, YEAR, TODAY)
                s.commit()
        finally:
            database.dispose()
        assert not built.keys() & out.keys()  # one case per rule
        out.update({rule: (made, findings) for rule, made in built.items()})
    return out


@pytest.fixture(scope="module")
def member_batch(township_template, tmp_path_factory):
    """The member cases that name no ID number (the rest share VALID, CARD_GOOD …: each gets a township of its own,
    so that no case meets another's duplicate)."""
    return _batched(township_template, tmp_path_factory,
                    [c for c in MEMBER_CASES if _shares_no_id(c[2], c[3])], _member_households)


def _member_case(request, rule, pop, bad, good):
    batch = request.getfixturevalue("member_batch")
    if batch is not None and _shares_no_id(bad, good):
        _assert_member_case(rule, *batch[rule])
        return
    b = request.getfixturevalue("b")
    out = _member_households(b, pop, bad, good)
    _assert_member_case(rule, out, checks.run_checks(b.s, YEAR, TODAY))


@pytest.mark.parametrize("rule, pop, bad, good", FAMILY_1)
def test_family_1_member_rules(request, rule, pop, bad, good):
    _member_case(request, rule, pop, bad, good)


@pytest.mark.parametrize("rule, pop, bad, good", FAMILY_2)
def test_family_2_member_rules(request, rule, pop, bad, good):
    _member_case(request, rule, pop, bad, good)


@pytest.mark.parametrize("rule, pop, bad, good", FAMILY_3)
def test_family_3_member_rules(request, rule, pop, bad, good):
    _member_case(request, rule, pop, bad, good)


@pytest.mark.parametrize("rule, pop, bad, good", FAMILY_4)
def test_family_4_member_rules(request, rule, pop, bad, good):
    _member_case(request, rule, pop, bad, good)


@pytest.mark.parametrize("rule, pop, bad, good", FAMILY_5)
def test_family_5_member_rules(request, rule, pop, bad, good):
    _member_case(request, rule, pop, bad, good)


def test_spouse_of_the_same_sex_as_the_head_2_02_001_and_2_11_003(b):
    for pop, rule in (("P", "2_02_001"), ("M", "2_11_003")):
        bad, good = household(b, pop), household(b, pop)
        b.update_member(bad, "李四", sex="1")
        findings = [f for f in checks.run_checks(b.s, YEAR, TODAY) if f.rule == rule]
        found = {(f.household_no, f.member_id_number) for f in findings}
        assert (b.no(bad), b.member(bad, "李四").id_number) in found
        assert b.no(good) not in {no for no, _ in found}
        # our own code finds it too: the finding keeps HEAD_SPOUSE_SAME_SEX and says which rule fits
        assert {f.code for f in findings} == {"HEAD_SPOUSE_SAME_SEX"}


# ---------------------------------------------------------------------------- household rules as data

HOUSEHOLD_CASES = [
    case("1_02_008", "R", dict(after_housing_damaged=True), dict(after_housing_damaged=False)),
    case("1_02_009", "R", dict(after_water_damaged=True), dict(after_water_damaged=False)),
    case("1_11_001", "M", dict(a27_risk_types=[]), dict(a27_risk_types=["07"])),
    case("1_11_005", "R", dict(after_dropout=True), dict(after_dropout=False)),
    case("1_11_006", "R", dict(a23_housing_unsafe=True), dict(a23_housing_unsafe=False)),
    case("1_11_007", "R", dict(a25_water_unsafe=True), dict(a25_water_unsafe=False)),
    case("1_11_011", "R", dict(contact_phone=None), dict(contact_phone="13900000000")),
    case("2_11_004", "M", dict(a27_other_note=None), dict(a27_other_note="房屋漏雨"), a27_risk_types=["09"]),
    case("2_11_005", "M", dict(a27a_disaster_types=[]), dict(a27a_disaster_types=["01"]), a27_risk_types=["04"]),
    case("3_02_002", "P", dict(a25_water_unsafe=None), dict(a25_water_unsafe=False)),
    case("3_02_009", "P", dict(a23_housing_unsafe=None), dict(a23_housing_unsafe=False)),
    case("4_01_001", "A", dict(phone="1380000000"), dict(phone="13800000000")),
    case("4_11_006", "M", dict(a27_risk_types=["07"]), dict(a27_risk_types=["07", "11"]), a25_water_unsafe=True),
    case("5_13_003", "M", dict(phone="12800000000"), dict(phone="13800000000")),
    case("5_19_002", "P", dict(a25_water_unsafe=None), dict(a25_water_unsafe=True)),
    case("5_19_006", "M", dict(a23_housing_unsafe=None), dict(a23_housing_unsafe=True)),
]


def _household_pair(b, pop, bad, good) -> tuple[str, str]:
    return b.no(household(b, pop, **bad)), b.no(household(b, pop, **good))


@pytest.fixture(scope="module")
def household_batch(township_template, tmp_path_factory):
    return _batched(township_template, tmp_path_factory, [c.values for c in HOUSEHOLD_CASES], _household_pair)


@pytest.mark.parametrize("rule, pop, bad, good", HOUSEHOLD_CASES)
def test_household_rules(request, household_batch, rule, pop, bad, good):
    bad_no, good_no, found = _case(request, household_batch, rule, _household_pair, pop, bad, good)
    assert bad_no in found and good_no not in found


def _case(request, batch, rule, pair, *values) -> tuple[str, str, set[str]]:
    """A case's two households and those the rule found: from its township's batch, or built alone (no batch)."""
    if batch is not None:
        (first, second), findings = batch[rule]
    else:
        b = request.getfixturevalue("b")
        first, second = pair(b, *values)
        findings = checks.run_checks(b.s, YEAR, TODAY)
    return first, second, {f.household_no for f in findings if f.rule == rule}


# risk or 三保障 problem without the matching measure: (rule, population, household fields, measure that answers it)
MEASURE_CASES = [
    ("3_11_003", "R", dict(a27_risk_types=["01"]), "A48"), ("3_11_004", "R", dict(a27_risk_types=["02"]), "A46"),
    ("3_11_005", "R", dict(a27_risk_types=["03"]), "A49"), ("3_11_006", "R", dict(a27_risk_types=["10"]), "A43"),
    ("3_11_007", "R", dict(a24_school_dropout=True), "A46"), ("3_11_008", "R", dict(a25_water_unsafe=True), "A44"),
    ("3_11_009", "R", dict(a17=False), "A49"), ("5_18_001", "M", dict(a27_risk_types=["01"]), "A45"),
    ("5_18_002", "M", dict(a27_risk_types=["02"]), "A47"), ("5_18_003", "M", dict(a27_risk_types=["03"]), "A48"),
    ("5_18_004", "M", dict(a27_risk_types=["10"]), "A50"), ("5_18_005", "M", dict(a24_school_dropout=True), "A46"),
    ("5_18_006", "M", dict(a27_risk_types=["11"]), "A44"), ("5_18_007", "M", dict(a17=False), "A45"),
]


def _measure_pair(b, pop, fields, answer) -> tuple[str, str]:
    """Two households of the case, the second with the measure that answers it: (without, with)."""
    fields = dict(fields)
    uninsured = fields.pop("a17", None) is False
    hids = [household(b, pop, **fields) for _ in range(2)]
    if uninsured:
        for hid in hids:
            b.update_member(hid, "李四", a17_medical=False)
    b.measure(hids[1], answer, None)
    return b.no(hids[0]), b.no(hids[1])


@pytest.fixture(scope="module")
def measure_batch(township_template, tmp_path_factory):
    return _batched(township_template, tmp_path_factory, MEASURE_CASES, _measure_pair)


@pytest.mark.parametrize("rule, pop, fields, answer", MEASURE_CASES, ids=[c[0] for c in MEASURE_CASES])
def test_risk_or_guarantee_without_the_matching_measure(request, measure_batch, rule, pop, fields, answer):
    without, with_it, found = _case(request, measure_batch, rule, _measure_pair, pop, fields, answer)
    assert without in found and with_it not in found


def test_4_11_007_uninsured_member_without_the_risk_of_illness(b):
    bad, good = household(b, "M"), household(b, "M", a27_risk_types=["07", "01"])
    for hid in (bad, good):
        b.update_member(hid, "李四", a17_medical=False)
    b.measure(good, "A45", "大病保险")
    found = households_hit(b, "4_11_007")
    assert b.no(bad) in found and b.no(good) not in found


def test_1_11_009_assisted_removal_without_any_measure(b):
    bad = household(b, "R", measure=False, a53_removal_way="01", identified_on=date(2023, 1, 10))
    good = household(b, "R", a53_removal_way="01", identified_on=date(2023, 1, 10))
    natural = household(b, "R", measure=False, a53_removal_way="02")
    found = households_hit(b, "1_11_009")
    assert found == {b.no(bad)} and b.no(good) not in found and b.no(natural) not in found


# ---------------------------------------------------------------------------- rules as code

def test_duplicate_id_1_01_001_and_1_12_001_keep_our_code(b):
    poor, monitored, other = household(b, "P"), household(b, "M"), household(b, "A")
    number = b.member(other, "李四").id_number
    b.raw_member(poor, "李四", number, "21", sex="2")
    b.raw_member(monitored, "李四", number, "21", sex="2")
    found = {(f.rule, f.household_no): f for f in checks.run_checks(b.s, YEAR, TODAY) if f.code == "ID_DUPLICATE"}
    assert found[("1_01_001", b.no(poor))].member_id_number == number
    assert ("1_12_001", b.no(monitored)) in found and (None, b.no(other)) in found
    assert ("1_01_001", b.no(monitored)) not in found


def test_should_be_monitored_1_02_001_002_006_and_the_suggested_list_read_one_assessment(b):
    unsafe = household(b, "N", a23_housing_unsafe=True)
    water = household(b, "N", a25_water_unsafe=True)
    poor = household(b, "N", a27_risk_types=["01"])
    b.income(poor, A28="14000")  # 2 persons: 7,000 < 7,100
    at_line = household(b, "N", a27_risk_types=["01"])
    b.income(at_line, A28="14200")  # exactly 7,100: not below
    monitored = household(b, "M", a23_housing_unsafe=True)
    found = households_by_rule(b)
    assert found.get("1_02_001") == {b.no(unsafe)}
    assert found.get("1_02_002") == {b.no(water)}
    assert found.get("1_02_006") == {b.no(poor)}
    assessed = assess_mod.assess(b.s, YEAR, TODAY)
    by_rule = {a.household_no: dict(national_rules.should_be_monitored(a)) for a in assessed}
    rows = {r.household_no: r for r in overview.suggested_not_monitored(b.s, YEAR, TODAY, assessed=assessed)}
    assert b.no(poor) in rows and rows[b.no(poor)].rules == tuple(by_rule[b.no(poor)])
    assert "1_02_006" in by_rule[b.no(poor)] and by_rule[b.no(monitored)] == {} and by_rule[b.no(at_line)] == {}


def test_1_02_007_any_guarantee_problem_whatever_the_status(b):
    bad, good = household(b, "A", a25_water_unsafe=True), household(b, "A")
    b.update_member(good, "李四", a18_serious_illness=True)
    found = households_hit(b, "1_02_007")
    assert b.no(bad) in found and b.no(good) not in found


def test_1_11_004_removal_without_the_after_removal_facts(b):
    bad, good = household(b, "R", after_a36=None), household(b, "R")
    found = {f.household_no: f for f in checks.run_checks(b.s, YEAR, TODAY) if f.rule == "1_11_004"}
    assert set(found) == {b.no(bad)} and b.no(good) not in found and "合规自付支出" in found[b.no(bad)].message


def test_1_11_010_more_than_a_month_without_measures_counts_from_the_month(b):
    hid = household(b, "M", measure=False, identified_on=date(2024, 9, 15))
    assert b.no(hid) not in households_hit(b, "1_11_010", as_of=date(2024, 10, 31))
    assert b.no(hid) in households_hit(b, "1_11_010", as_of=date(2024, 11, 1))


def test_2_11_001_risk_of_disability_without_a_disabled_member(b):
    bad, good = household(b, "M", a27_risk_types=["03"]), household(b, "M", a27_risk_types=["03"])
    b.update_member(good, "李四", health="04")
    found = households_hit(b, "2_11_001")
    assert b.no(bad) in found and b.no(good) not in found


def test_2_11_002_removed_under_six_months_any_way_beside_REMOVED_TOO_SOON(b):
    natural = household(b, "R", identified_on=date(2024, 3, 10), a54_removed_on=date(2024, 9, 9), a53_removal_way="02")
    assisted = household(b, "R", identified_on=date(2024, 3, 10), a54_removed_on=date(2024, 9, 9),
                         a53_removal_way="01")
    six = household(b, "R", identified_on=date(2024, 3, 10), a54_removed_on=date(2024, 9, 10), a53_removal_way="02")
    found = {f.household_no: f.code for f in checks.run_checks(b.s, YEAR, TODAY) if f.rule == "2_11_002"}
    assert found == {b.no(natural): "N_2_11_002", b.no(assisted): "REMOVED_TOO_SOON"} and b.no(six) not in found


def test_heads_3_02_011_012_and_3_11_001_002(b):
    poor_two, poor_none = household(b, "P"), household(b, "P")
    mon_two, mon_none = household(b, "M"), household(b, "M")
    for hid in (poor_two, mon_two):
        subject(b, hid, relation="01", age=40)
    for hid in (poor_none, mon_none):
        b.update_member(hid, "张三", relation="03")
    found = households_by_rule(b)
    assert found.get("3_02_011") == {b.no(poor_two)}
    assert found.get("3_02_012") == {b.no(poor_none)}
    assert found.get("3_11_002") == {b.no(mon_two)}
    assert found.get("3_11_001") == {b.no(mon_none)}


def test_3_11_010_income_below_the_setting_not_a_constant(b):
    from desktop.services import settings
    low, at = household(b, "A", a27_risk_types=["01"]), household(b, "A", a27_risk_types=["01"])
    b.income(low, A28="7998")
    b.income(at, A28="8000")
    assert households_hit(b, "3_11_010") == {b.no(low)}
    settings.set_year(b.s, YEAR, thresholds={"national_low_income": "4001"})
    assert households_hit(b, "3_11_010") == {b.no(low), b.no(at)}


def test_4_11_008_dropout_of_a_household_identified_this_year_without_a_child_out_of_school(b):
    bad = household(b, "M", identified_on=date(2024, 2, 1), a24_school_dropout=True)
    good = household(b, "M", identified_on=date(2024, 2, 1), a24_school_dropout=True)
    subject(b, good, age=10, school="26", education=None)
    found = households_hit(b, "4_11_008")
    assert b.no(bad) in found and b.no(good) not in found


def test_4_11_009_and_5_18_008_lack_of_labour_with_labour(b):
    able = household(b, "U", a27_risk_types=["08"])
    one_cannot = household(b, "U", a27_risk_types=["08"])
    b.update_member(one_cannot, "李四", labor="05")
    found = households_hit(b, "4_11_009")
    assert b.no(able) in found and b.no(one_cannot) not in found
    quarter = household(b, "U", a27_risk_types=["08"])  # 4 persons, 1 able: exactly a quarter
    half = household(b, "U", a27_risk_types=["08"])  # 4 persons, 2 able: 5_11_029 too
    for hid, labors in ((quarter, ("05", "05", "05")), (half, ("05", "05"))):
        b.update_member(hid, "李四", labor=labors[0])
        for i, labor in enumerate(labors[1:]):
            subject(b, hid, age=80 + i, labor=labor)
    subject(b, half, age=30, labor="02")  # half: 张三 and this one able, 李四 and one more not
    found = households_by_rule(b)
    assert b.no(quarter) not in found.get("5_18_008", set()) and b.no(half) in found.get("5_18_008", set())
    assert b.no(half) in found.get("5_11_029", set()) and b.no(quarter) not in found.get("5_11_029", set())


def test_4_11_010_assisted_removal_below_the_line_of_the_removal_year(b):
    bad = household(b, "R", a53_removal_way="01", identified_on=date(2023, 1, 5), after_a34=Decimal("7099.99"))
    good = household(b, "R", a53_removal_way="01", identified_on=date(2023, 1, 5), after_a34=Decimal("7100"))
    found = households_hit(b, "4_11_010")
    assert b.no(bad) in found and b.no(good) not in found


def test_4_11_011_whole_household_without_labour_removed(b):
    bad, good = household(b, "R"), household(b, "R")
    for name in ("张三", "李四"):
        b.update_member(bad, name, labor="05")
    b.update_member(good, "张三", labor="05")
    found = {f.household_no: f.code for f in checks.run_checks(b.s, YEAR, TODAY) if f.rule == "4_11_011"}
    assert b.no(bad) in found and b.no(good) not in found


@pytest.mark.parametrize("rule, category, item, after", [
    ("4_11_012", "A42", "保洁员", "after_a28"), ("4_11_013", "A48", "低保", "after_a31"),
    ("5_11_013", "A39", "种植业", "after_a29")], ids=["4_11_012", "4_11_013", "5_11_013"])
def test_measure_at_removal_without_the_matching_income(b, rule, category, item, after):
    bad, good = household(b, "R", **{after: Decimal("0")}), household(b, "R", **{after: Decimal("0.01")})
    for hid in (bad, good):
        b.measure(hid, category, item)
    found = households_hit(b, rule)
    assert b.no(bad) in found and b.no(good) not in found


def test_4_11_015_016_and_5_16_005_006_measures_nobody_qualifies_for(b):
    for rule, item, qualify in (("4_11_015", "低保", dict(a20_dibao="01")),
                                ("4_11_016", "残疾人补贴", dict(health="04")),
                                ("5_16_005", "低保", dict(a20_dibao="01")),
                                ("5_16_006", "特困供养", dict(a21_tekun="01"))):
        bad, good = household(b, "U"), household(b, "U")
        for hid in (bad, good):
            b.measure(hid, "A48", item)
        b.update_member(good, "李四", **qualify)
        found = households_hit(b, rule)
        assert b.no(bad) in found and b.no(good) not in found, rule


def test_5_16_003_004_008_qualifying_member_without_the_measure(b):
    for rule, qualify, item in (("5_16_003", dict(a20_dibao="01"), "低保"),
                                ("5_16_004", dict(a21_tekun="01"), "特困供养"),
                                ("5_16_008", dict(health="04", disability_grade="02"), "残疾人补贴")):
        bad, good = household(b, "U"), household(b, "U")
        for hid in (bad, good):
            b.update_member(hid, "李四", **qualify)
        b.measure(good, "A48", item)
        found = households_hit(b, rule)
        assert b.no(bad) in found and b.no(good) not in found, rule


def test_5_11_030_developmental_measure_not_started(b):
    bad, good = household(b, "U", measure=False), household(b, "U", measure=False)
    b.measure(bad, "A39", "种植业", start=None)
    b.measure(good, "A39", "种植业", start=TODAY)
    found = households_hit(b, "5_11_030")
    assert b.no(bad) in found and b.no(good) not in found


def test_5_11_033_whole_household_without_labour_not_marked(b):
    bad, good = household(b, "U"), household(b, "U", whole_no_labor_guarantee=True)
    for hid in (bad, good):
        b.update_member(hid, "张三", labor="05", a21_tekun="01")
        b.update_member(hid, "李四", labor="04")
    found = households_hit(b, "5_11_033")
    assert b.no(bad) in found and b.no(good) not in found


def test_5_12_011_developmental_only_by_weak_items(b):
    bad, good = household(b, "M", measure=False), household(b, "M", measure=False)
    b.measure(bad, "A39", "其他")
    b.measure(good, "A39", "种植业")
    found = households_hit(b, "5_12_011")
    assert b.no(bad) in found and b.no(good) not in found


def test_5_15_013_unstable_work_risk_with_nobody_able(b):
    bad, good = household(b, "U"), household(b, "U")
    for name in ("张三", "李四"):
        b.update_member(bad, name, labor="04")
    b.update_member(good, "张三", labor="04")
    b.update_member(good, "李四", labor="03")
    found = households_hit(b, "5_15_013")
    assert b.no(bad) in found and b.no(good) not in found


def test_5_15_015_illness_risk_without_anyone_ill(b):
    bad, good = household(b, "U", a27_risk_types=["01"]), household(b, "U", a27_risk_types=["01"])
    b.update_member(good, "李四", health="02")
    found = households_hit(b, "5_15_015")
    assert b.no(bad) in found and b.no(good) not in found


def test_5_15_020_illness_risk_without_self_pay_in_the_identification_year(b):
    bad = household(b, "U", a27_risk_types=["01"], a28="10000")
    good = b.monitored(a27_risk_types=["01"], a28="10000")
    b.income(good, collected_on=date(2024, 10, 11), A28="10000", A36="800")
    found = households_hit(b, "5_15_020")
    assert b.no(bad) in found and b.no(good) not in found


def test_5_15_021_and_5_15_022_shared_phones(b):
    same_house = household(b, "P")
    for name, place in (("张三", "浙江省宁波市鄞州区"), ("李四", "江苏省苏州市吴中区")):
        b.update_member(same_house, name, phone="13911112222", work_region="04", work_place=place)
    same_place = household(b, "P")
    for name in ("张三", "李四"):
        b.update_member(same_place, name, phone="13933334444", work_region="04", work_place="浙江省宁波市鄞州区")
    assert households_hit(b, "5_15_021") == {b.no(same_house)}
    other = household(b, "A")
    b.update_member(other, "张三", phone="13933334444")
    assert households_hit(b, "5_15_022") == {b.no(same_place), b.no(other)}


def test_5_15_023_wage_income_between_0_and_100(b):
    bad, good = household(b, "U", a28="99.99"), household(b, "U", a28="100")
    found = households_hit(b, "5_15_023")
    assert b.no(bad) in found and b.no(good) not in found


def test_5_17_011_012_work_away_measures_without_anyone_away(b):
    for rule, item in (("5_17_011", "劳务输出"), ("5_17_012", "外出务工补贴")):
        bad, good = household(b, "U"), household(b, "U")
        for hid in (bad, good):
            b.measure(hid, "A40", item)
        b.update_member(good, "李四", work_region="03", work_months=8)
        found = households_hit(b, rule)
        assert b.no(bad) in found and b.no(good) not in found, rule


def test_5_18_009_assisted_removal_in_the_month_or_the_next(b):
    bad = household(b, "R", a53_removal_way="01", identified_on=date(2024, 1, 10), a54_removed_on=date(2024, 2, 29))
    good = household(b, "R", a53_removal_way="01", identified_on=date(2024, 1, 10), a54_removed_on=date(2024, 3, 1))
    found = households_hit(b, "5_18_009")
    assert b.no(bad) in found and b.no(good) not in found


def test_5_19_003_and_5_19_007_no_labour_without_dibao(b):
    for pop, rule in (("P", "5_19_003"), ("M", "5_19_007")):
        bad, good = household(b, pop), household(b, pop)
        for hid in (bad, good):
            for name in ("张三", "李四"):
                b.update_member(hid, name, labor="05")
        b.update_member(good, "李四", a20_dibao="01")
        found = households_hit(b, rule)
        assert b.no(bad) in found and b.no(good) not in found, rule


def test_5_11_032_and_5_12_007_200_keep_DEVELOPMENTAL_MISSING(b):
    only_dibao = household(b, "U", measure=False)
    b.measure(only_dibao, "A48", "低保")
    training = household(b, "U", measure=False)
    b.measure(training, "A40", "技能培训")
    got = {(f.household_no, f.rule): f.code for f in checks.run_checks(b.s, YEAR, TODAY)
           if f.rule in ("5_11_032", "5_12_007_200")}
    assert got == {(b.no(only_dibao), "5_11_032"): "DEVELOPMENTAL_MISSING",
                   (b.no(only_dibao), "5_12_007_200"): "DEVELOPMENTAL_MISSING"}


# ---------------------------------------------------------------------------- the registry against the catalogue

def catalogue() -> list[tuple[str, str, str]]:
    with open(HERE / "national_catalogue.tsv", encoding="utf-8") as f:
        return [tuple(row) for row in csv.reader((ln for ln in f if not ln.startswith("#")), delimiter="\t")]


def test_registry_holds_every_catalogue_row_with_its_verdict():
    rows = catalogue()
    reg = national_rules.by_number()
    assert len(rows) == 257 and [r[0] for r in rows] == [r.number for r in national_rules.registry()]
    assert Counter(r[2] for r in rows) == {"yes": 148, "partly": 72, "no": 37}
    for number, family, applies in rows:
        assert (reg[number].family, reg[number].applies) == (family, applies)


def test_counts_of_the_readme():
    """The figures the README gives: checked / same as another / local (1111_) / not held / impossible."""
    reg = national_rules.registry()
    status = Counter(r.status for r in reg)
    assert status == {"checked": 162, "not_held": 84, "local": 7, "same_as": 3, "impossible": 1}
    assert Counter((r.status, r.applies) for r in reg if r.status == "checked") == {
        ("checked", "yes"): 137, ("checked", "partly"): 23, ("checked", "no"): 2}
    held_elsewhere = Counter(r.data for r in reg if r.status == "not_held")
    assert held_elsewhere == {"务工月监测": 36, "乡村建设": 32, "行政村信息": 16}
    # every "yes" rule is checked, except the 1111_ local list, numbers that restate another, and the impossible one
    assert {r.number for r in reg if r.applies == "yes" and not r.checked} == {
        "1111_2", "1111_06", "1111_07", "1111_09", "1111_13", "1111_15", "1111_18", "1111_14", "1_12_003",
        "5_12_010-16", "5_12_009-16"}
    # every rule checked here has a test in this file (a case table or a test naming it)
    text = Path(__file__).read_text(encoding="utf-8")
    assert [r.number for r in reg if r.checked and f'"{r.number}"' not in text and r.number not in text] == []


def test_checked_rules_have_one_way_of_checking_and_findings_carry_the_wording():
    for r in national_rules.registry():
        if r.checked:
            assert (r.when is not None) != (r.number in national_rules.CODE_RULES), r.number
            assert r.title and r.severity in ("错误", "疑点")


# ---------------------------------------------------------------------------- on/off per township, access

def test_a_township_turns_a_rule_off_and_on(db, b):
    hid = household(b, "P")
    subject(b, hid, ethnicity=None)
    assert households_hit(b, "2_01_001") == {b.no(hid)}
    national_rules.set_rule_enabled(b.s, "2_01_001", False)
    assert households_hit(b, "2_01_001") == set()
    listed = {r.number: r for r in national_rules.list_rules(b.s)}
    assert listed["2_01_001"].enabled is False and listed["2_01_002"].enabled is True
    assert listed["5_14_001"].enabled is False and "乡村建设" in listed["5_14_001"].reason
    national_rules.set_rule_enabled(b.s, "2_01_001", True)
    assert households_hit(b, "2_01_001") == {b.no(hid)}
    with pytest.raises(national_rules.RulesError, match="不检查"):
        national_rules.set_rule_enabled(b.s, "5_14_001", True)
    with pytest.raises(national_rules.RulesError, match="没有编号"):
        national_rules.set_rule_enabled(b.s, "9_99_999", True)


def test_a_clerk_may_list_the_rules_but_not_turn_one_off(db, township):
    clerk = login(db, "clerk", CLERK_PASSWORD)
    with db.session(clerk) as s:
        assert len(national_rules.list_rules(s)) == 257
        with pytest.raises(AccessDenied):
            national_rules.set_rule_enabled(s, "2_01_001", False)


# ---------------------------------------------------------------------------- a national-layout file through `check`

def test_a_national_layout_file_runs_through_check(tmp_path, ctx):
    """Three households as a county hands them out (tests/services/national_files.py: national column names and
    wordings), imported, then checked: every finding names a rule of the registry or none, and the file's own
    facts produce national findings."""
    from desktop.services import exchange
    from tests.services import national_files as nf
    path = nf.write_xlsx(tmp_path / "national.xlsx", nf.grid(nf.sample_rows()))

    def work(s):
        pv = exchange.preview(s, path, YEAR)
        assert pv.ok, [e.text() for e in pv.errors[:8]]
        exchange.apply(s, pv, as_of=TODAY, take_backup=False, check=False)
    ctx.run(work)
    findings = ctx.read(checks.run_checks, YEAR, TODAY)
    reg = national_rules.by_number()
    for f in findings:
        assert f.rule is None or f.rule in reg
        assert f.code in checks.CODES or f.code == f"N_{f.rule}"
        assert f.title and f.message
    assert any(f.rule for f in findings)
