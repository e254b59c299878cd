"""The fast reading of a check (national_rules.load_facts, issue 20) against a plain reading of the same rows.

load_facts reads a member's code and yes/no cells as one packed text split once per distinct combination, works
out birth date, age and ID faults from cached parts of the number, counts the ID numbers held twice while it reads
and fetches the 风险消除后 block in a second query. Here every one of those is compared, member by member, with the
ORM's own objects, the SQL condition income.alive_at and the plain per-member functions (_born, _id_fault, which
use services.idnumber.check_digit) — on rows as messy as old imports leave them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from desktop.models import Household, Member
from desktop.services import assess, demo, income, national_rules
from desktop.services.codes import codes
from desktop.services.idnumber import age_on, make_id, normalize_id

from ..conftest import TODAY, YEAR
from .builders import AREA, bad_checksum, id_with

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
CODES = {"sex": "sex", "relation": "relation", "ethnicity": "ethnicity", "education": "education",
         "school": "school", "health": "health", "disability_grade": "disability_grade", "labor": "labor",
         "work_region": "work_region", "a20_dibao": "a20", "a21_tekun": "a21", "status": "status",
         "a17_medical": "a17", "a17_resident_medical": "res", "a17_employee_medical": "emp",
         "a18_serious_illness": "a18", "a19_pension": "a19", "a19_employee_pension": "a19e",
         "work_months": "work_months", "public_post_months": "post_months", "name": "name"}


def messy_register(b) -> dict[str, int]:
    shared = make_id(AREA, date(1980, 1, 2), 901, "1")
    first = b.household(no="F001")
    b.raw_member(first, "校验错", bad_checksum(make_id(AREA, date(1990, 5, 6), 902, "1")), "03", "1")
    b.raw_member(first, "残疾证", make_id(AREA, date(1975, 2, 3), 903, "2") + "41", "04", "2", health="04",
                 disability_grade="01")
    b.raw_member(first, "全角", make_id(AREA, date(2012, 7, 8), 904, "1").translate(FULL_WIDTH), "03", "1",
                 school="03")
    b.raw_member(first, "二月三十", id_with("19990230", 905), "03", "1")
    b.raw_member(first, "未出生", id_with("20300101", 906), "03", "1")
    b.raw_member(first, "太短", "37030519", "", None, a17_medical=None, labor=None)
    b.raw_member(first, "空格小写", (make_id(AREA, date(1966, 1, 1), 907, "2")[:10] + " "
                                   + make_id(AREA, date(1966, 1, 1), 907, "2")[10:]).lower(), "05", "2",
                 a17_medical=False, a17_resident_medical=False, a17_employee_medical=None, a18_serious_illness=None,
                 a19_pension=False, a19_employee_pension=True, a20_dibao="1", a21_tekun="0", work_months=13,
                 public_post_months=6, school_absence_reason="  ", work_place=" 外省某县 ", phone=" 13912345678 ")
    b.raw_member(first, "同号甲", shared, "03", "1")
    # check digit X (one in eleven), alone and under a 残疾人证; a card with a wrong check digit, a 22-long one
    x_id = next(n for n in (make_id(AREA, date(1985, 6, 7), k, "2") for k in range(910, 1000)) if n[-1] == "X")
    b.raw_member(first, "校验位X", x_id, "03", "2")
    b.raw_member(first, "X残疾证", next(n for n in (make_id(AREA, date(1961, 8, 9), k, "1") for k in range(910, 1000))
                                   if n[-1] == "X") + "42", "03", "1", health="04")
    b.raw_member(first, "残疾证校验错", bad_checksum(make_id(AREA, date(1977, 1, 1), 931, "1")) + "11", "03", "1")
    b.raw_member(first, "22位证", make_id(AREA, date(1958, 4, 5), 932, "2") + "4101", "03", "2")
    # code cells no code list has, with the characters the packed text quotes and separates by (SQLite's %Q)
    b.raw_member(first, "怪码", make_id(AREA, date(1970, 3, 4), 909, "2"), "03", "2", ethnicity="O'|x",
                 education="''", school="", labor="NULL", a20_dibao="|", a21_tekun="'")
    b.raw_member(first, "去世", make_id(AREA, date(1940, 1, 1), 908, "1"), "06", "1", status="dead",
                 status_date=date(2024, 3, 1))
    second = b.household(no="F002", monitoring_status="removed", identified_on=date(2023, 1, 5),
                         a53_removal_way="2", a54_removed_on=date(2024, 2, 1), after_dropout=False,
                         after_a28=Decimal("1234.50"), after_a34=Decimal("0"))
    b.raw_member(second, "同号乙", shared, "03", "1")
    b.raw_member(second, "小写x", x_id.lower(), "03", "2")  # the same number as 校验位X, spelt with a small x
    closed = b.household(no="F003", closed_on=date(2024, 1, 1), a4_poverty_alleviated=True, a23_housing_unsafe=True,
                         a24_school_dropout=None, whole_no_labor_guarantee=False, identified_on=date(2022, 12, 31))
    b.raw_member(closed, "注销户同号", shared, "03", "1")
    # ages by the birth date's digits (national_rules._Dates): born on the time point's month and day (the birthday
    # reached), the day after it (not yet), on the point itself (0), the day after the point (not born yet: no age),
    # on 29 February, and on the last day of the year
    point = date(YEAR, 9, 30)  # the year's default status time point
    ages = b.household(no="F006")
    for k, born in enumerate((point.replace(year=1990), date(1990, 10, 1), point, point + timedelta(days=1),
                              date(2000, 2, 29), date(1999, 12, 31), date(2010, 9, 29))):
        b.raw_member(ages, f"生日{k}", make_id(AREA, born, 950 + k, "1"), "03", "1")
    return {"first": first, "second": second, "closed": closed, "ages": ages}


def test_member_facts_equal_a_plain_reading(b):
    ids = messy_register(b)
    s = b.s
    ys = assess.year_settings(s, YEAR)
    point = ys.status_time_point
    facts = national_rules.load_facts(s, YEAR, TODAY, {}, None, point, ys.monitoring_line, ys.thresholds,
                                      open_only=True)
    assert ids["closed"] not in facts.households
    assert {ids["first"], ids["second"], ids["ages"]} <= set(facts.households)
    alive = set(s.scalars(select(Member.id).where(income.alive_at(point))))
    rows = s.scalars(select(Member).order_by(Member.id)).all()
    seen = 0
    for row in rows:
        if row.household_id not in facts.households:
            continue
        h = facts.households[row.household_id]
        m = next(x for x in h.everyone if x.id == row.id)
        seen += 1
        for column, attr in CODES.items():
            want = getattr(row, column)
            if column == "relation" and not want:
                want = None  # a blank relation reads as none
            assert getattr(m, attr) == want and type(getattr(m, attr)) is type(want), (row.name, column)
        assert m.alive is (row.id in alive), row.name
        assert (m in h.members) is (row.id in alive)
        plain = national_rules.Mem()
        plain.id_number, plain.norm, plain.run = row.id_number, national_rules._norm(row.id_number), m.run
        born = national_rules._born(plain)
        assert (m.norm, m.born, m.id_fault) == (plain.norm, born, national_rules._id_fault(plain)), row.name
        assert m.age == (age_on(born, point) if born is not None and born <= point else None), row.name
        # what is worked out once per distinct packed text, against the plain per-member functions
        for fact in ("in_school", "medical", "resident_no", "id_placeholder", "works"):
            plain_fact = national_rules._DERIVED[fact](m) if fact != "works" else (
                row.work_region is not None or row.work_place is not None)
            assert getattr(m, fact) == plain_fact, (row.name, fact)
        if m.works:  # set while reading for the workers (2_12_007 reads it for each of them)
            assert m.mobile is national_rules._DERIVED["mobile"](m), row.name
        assert (m.phone, m.work_place, m.absence) == tuple(
            (v.strip() or None) if v is not None else None for v in (row.phone, row.work_place,
                                                                      row.school_absence_reason))
    assert seen == sum(len(h.everyone) for h in facts.households.values()) > 10
    faults = Counter(m.id_fault for h in facts.households.values() for m in h.everyone)
    assert faults["checksum18"] >= 1 and faults["length"] >= 1 and faults[None] >= 5  # the messy rows are there
    assert faults["checksum_card"] >= 1
    # the normal forms of every number that is not 18 plain ASCII digits (services.checks indexes their holders)
    numbers = [r.id_number for r in rows if r.household_id in facts.households]
    assert facts.id_irregular == {x for n in numbers if not (len(n) == 18 and n.isascii() and n.isdigit())
                                  for x in (national_rules._norm(n), normalize_id(n))}

    # ID numbers held by more than one living member (anywhere), listed for the open households' holders
    count = Counter(r.id_number for r in rows if r.id in alive)
    want = defaultdict(list)
    nos = dict(s.execute(select(Household.id, Household.household_no)).all())
    for r in rows:
        if r.id in alive and count[r.id_number] > 1 and r.household_id in facts.households:
            want[national_rules._norm(r.id_number)].append((r.household_id, nos[r.household_id], r.name))
    for xs in want.values():
        xs.sort()  # by household: the rows come in no promised order (PostgreSQL gave them otherwise)
    assert dict(facts.by_number) == dict(want) and len(want) == 1
    assert [x[2] for x in next(iter(want.values()))] == ["同号甲", "同号乙"]

    # the households' own cells as the driver gave them, against the ORM's (yes/no and dates converted by hand);
    # a run over named households takes the closed one too
    named = national_rules.load_facts(s, YEAR, TODAY, {}, list(ids.values()), point, ys.monitoring_line,
                                      ys.thresholds)
    for hid in ids.values():
        row, h = s.get(Household, hid), named.households[hid]
        for column, attr in (("a4_poverty_alleviated", "poverty"), ("a23_housing_unsafe", "a23"),
                             ("a24_school_dropout", "a24"), ("a25_water_unsafe", "a25"),
                             ("whole_no_labor_guarantee", "whole_guarantee"), ("identified_on", "identified_on"),
                             ("a54_removed_on", "removed_on"), ("household_no", "no"),
                             ("monitoring_status", "status"), ("a53_removal_way", "way")):
            want = getattr(row, column)
            assert getattr(h, attr) == want and type(getattr(h, attr)) is type(want), (row.household_no, column)
        assert h.closed is (row.closed_on is not None)
    assert named.households[ids["closed"]].poverty is True and named.households[ids["closed"]].a24 is None

    # the 风险消除后 block: read where a household has one, none elsewhere
    removed = s.get(Household, ids["second"])
    assert facts.households[ids["second"]].after == {f: getattr(removed, f) for f in national_rules.AFTER_KEYS}
    assert facts.households[ids["second"]].after["after_a28"] == Decimal("1234.50")
    assert facts.households[ids["first"]].after == {}
    assert facts.households[ids["first"]].category == s.get(Household, ids["first"]).a3_category


def _plain_hits(facts_session, facts, enabled) -> list:
    """Every enabled rule on its own over every household of its population: a simple rule's condition compiled
    alone and tried member by member, a function rule called as it is (CODE_RULES), the message made as evaluate
    makes it — the reference for evaluate's batched run (member conditions of a household in one call, the
    should-be-monitored trio asked once, facts set while reading rather than on first use)."""
    national_rules._prepare(facts_session, facts, {r.number for r in enabled if r.when is None})
    out = []
    for h in facts.households.values():
        for r in enabled:
            if r.when is None:
                if national_rules.CODE_WHO[r.number] not in h.pops:
                    continue
                got = national_rules.CODE_RULES[r.number](facts, h)
                if isinstance(got, str):
                    out.append((r.number, h.id, None, got))
                else:
                    out += [(r.number, h.id, number, message) for number, message in got or ()]
                continue
            if r.when["who"] not in h.pops:
                continue
            fn = national_rules._compile_many([r])
            if "member" in r.when:
                out += [(r.number, h.id, m.id_number, national_rules._message(r, m, h))
                        for m in h.members if fn(m, h)]
            elif fn(None, h):
                out.append((r.number, h.id, None, national_rules._message(r, None, h)))
    return out


def test_the_batched_rules_find_what_each_rule_alone_finds(b):
    messy_register(b)
    demo.generate(b.s, 300, seed=5, year=YEAR, as_of=TODAY)
    b.s.flush()
    s = b.s
    ys = assess.year_settings(s, YEAR)
    enabled = national_rules.enabled_rules(s)

    def facts():
        assessed = {a.household_id: a for a in assess.assess(s, YEAR, TODAY)}
        return national_rules.load_facts(s, YEAR, TODAY, assessed, None, ys.status_time_point, ys.monitoring_line,
                                         ys.thresholds, open_only=True)

    fast = [(x.rule, x.household_id, x.member_id_number, x.message) for x in national_rules.evaluate(s, facts(),
                                                                                                     enabled)]
    reference = facts()  # fresh facts: nothing the batched run worked out is reused
    for h in reference.households.values():
        h.mmask = -1  # every member rule may hold for every household: no skipping (1_02_007 reads it too)
    plain = _plain_hits(s, reference, enabled)
    assert len(fast) == len(set(fast))
    assert sorted(fast) == sorted(plain)
    rules_hit = {x[0] for x in fast}
    # the comparison covers member and household rules of several populations, the should-be-monitored ones too
    assert len(rules_hit) >= 25 and {"1_02_006", "1_02_003"} <= rules_hit
    assert any(x[2] is not None for x in fast) and any(x[2] is None for x in fast)


def test_code_cells_with_control_characters_and_json_syntax_are_read_as_stored(b):
    """The packed text is a JSON array of the cells (national_rules._packed): a code cell holding a control character
    (the old separators \\x1f and \\x1e), quotes, a backslash or brackets (a row written by other means: the importer
    and the forms keep these out) is read exactly as stored, never shifts the cells beside it."""
    hid = b.household(no="S001")
    odd = {"ethnicity": "0\x1f1", "education": '"]\\', "school": "\x1e", "labor": "[1,", "a20_dibao": "'"}
    b.raw_member(hid, "控制字符", make_id(AREA, date(1980, 1, 2), 941, "1"), "01", "1", health="04", **odd)
    ys = assess.year_settings(b.s, YEAR)
    facts = national_rules.load_facts(b.s, YEAR, TODAY, {}, None, ys.status_time_point, ys.monitoring_line,
                                      ys.thresholds, open_only=True)
    [m] = [m for h in facts.households.values() for m in h.everyone if m.name == "控制字符"]
    assert (m.ethnicity, m.education, m.school, m.labor, m.a20) == tuple(odd.values())
    assert (m.relation, m.sex, m.health, m.a17, m.status) == ("01", "1", "04", True, "normal")


def test_a_member_rule_that_holds_has_its_bit_in_the_household_mask(b):
    """The masks evaluate skips households by (national_rules._member_masks): wherever a member rule's own
    condition holds for a living member, or 1_02_007's member part does, the household's mask has its bit — on the
    messy rows and 300 demo households; and most plain households skip (the masks are not all ones)."""
    messy_register(b)
    # plain households otherwise clean: a 公益性岗位 holder with 丧失劳动力 (5_15_006: a measure of their own), and a
    # 残疾人证 of a severe limb disability with 普通劳动力 (4_01_007: a 20-character number)
    plain_one = b.household(no="F004")
    post = b.raw_member(plain_one, "岗位", make_id(AREA, date(1970, 5, 5), 941, "1"), "01", "1", labor="04",
                        a18_serious_illness=True)
    b.measure(plain_one, "A42", "保洁员", member_id=post.id)
    b.raw_member(b.household(no="F005"), "肢体", make_id(AREA, date(1972, 6, 6), 942, "2") + "41", "02", "2",
                 a18_serious_illness=True)
    demo.generate(b.s, 300, seed=5, year=YEAR, as_of=TODAY)
    b.s.flush()
    s = b.s
    ys = assess.year_settings(s, YEAR)
    assessed = {a.household_id: a for a in assess.assess(s, YEAR, TODAY)}
    facts = national_rules.load_facts(s, YEAR, TODAY, assessed, None, ys.status_time_point, ys.monitoring_line,
                                      ys.thresholds, open_only=True)
    _fn, bits, b007, _read = national_rules._member_masks()
    member_rules = [r for r in national_rules.registry() if r.checked and r.when and "member" in r.when]
    held = Counter()
    for r in member_rules:
        fn = national_rules._compile_many([r])
        for h in facts.households.values():
            for m in h.members:
                if fn(m, h):
                    held[r.number] += 1
                    assert h.mmask & bits[r.number], (r.number, m.name)
    assert len(held) >= 15  # many member rules hold somewhere, each checked against the masks
    assert {"5_15_006", "4_01_007"} <= {r.number for r in member_rules if r.when["who"] == "A"} & set(held)
    for h in facts.households.values():
        for m in h.members:
            if m.a18 is not True or (m.school is None and m.absence_raw is None and m.age is not None
                                     and 6 <= m.age <= 16):
                assert h.mmask & b007, m.name
    plain = [h for h in facts.households.values() if h.pops == frozenset({"A", "N"})]
    plain_bits = national_rules._or(bits[r.number] for r in member_rules if r.when["who"] in ("A", "N"))
    skipped = sum(not h.mmask & plain_bits for h in plain)
    assert 0 < skipped < len(plain)


def test_odd_yes_no_cells_read_as_before_by_assess_and_by_the_check(b, monkeypatch):
    """A17 as old imports may have left it (SQLite): the texts '0' and '1', the number 2, the empty text, '否' and
    'x'. assess reads a member's A17 as bool of its JSON value (a text other than '' is yes), the check's own codes
    as SQLite's truth (_flag: a text that is not a number is no). A cold check hands assess the members it has read
    (national_rules.assess_members): assess must answer exactly as from its own read and as the plain path, and
    the check must find exactly what it finds when assess was cached from assess's own read."""
    from sqlalchemy import text

    s = b.s
    sqlite = s.get_bind().dialect.name == "sqlite"
    odd = ["0", "1", 2, "", "否", "x", None, True, False] if sqlite else [None, True, False]
    members = {}
    for k, value in enumerate(odd):
        hid = b.household(no=f"Q{k:03d}", a4_poverty_alleviated=bool(k % 2))
        b.raw_member(hid, f"户主{k}", make_id(AREA, date(1970, 1, 1 + k), 960 + k, "1"), "01", "1")
        m = b.raw_member(hid, f"怪值{k}", make_id(AREA, date(1972, 2, 1 + k), 970 + k, "2"), "02", "2",
                         labor="01" if k % 3 else "04")
        b.income(hid, collected_on=date(2024, 9, 1), A28=str(9000 + 1000 * k))
        members[m.id] = value
    for mid, value in members.items():
        s.execute(text("UPDATE member SET a17_medical = :v WHERE id = :id"), {"v": value, "id": mid})
    s.commit()
    if sqlite:  # a BOOLEAN column has NUMERIC affinity: the texts '0' and '1' are stored as the numbers
        stored = dict(s.execute(text("SELECT id, typeof(a17_medical) FROM member")).all())
        assert [stored[mid] for mid in members] == ["integer", "integer", "integer", "text", "text", "text", "null",
                                                    "integer", "integer"]
    ys = assess.year_settings(s, YEAR)
    facts = national_rules.load_facts(s, YEAR, TODAY, None, None, ys.status_time_point, ys.monitoring_line,
                                      ys.thresholds, open_only=True)
    read = {m.id: m for h in facts.households.values() for m in h.members}
    # the check's reading (_flag) and assess's (bool of the JSON value), as they were before
    flag = {"0": False, "1": True, 2: True, "": False, "否": False, "x": False, None: None, True: True, False: False}
    json_bool = {"0": False, "1": True, 2: True, "": False, "否": True, "x": True, None: None, True: True,
                 False: False}
    for mid, value in members.items():
        assert read[mid].a17 is flag[value], value
        assert facts.member_table[read[mid].fx].a17_medical is json_bool[value], value
    via = assess._assess(s, YEAR, TODAY, None, None, lambda: national_rules.assess_members(facts))
    plain = assess._assess_plain(s, YEAR, TODAY, None, None)
    own = assess._assess(s, YEAR, TODAY, None, None)
    assert assess.dumps_assessments(via) == assess.dumps_assessments(plain) == assess.dumps_assessments(own)
    assert via == plain == own
    assert [a.members for a in via] == [a.members for a in plain]
    by_no = {a.household_no: a for a in via}
    for k, value in enumerate(odd):  # 基本医疗保险 among the guarantee problems exactly where assess reads A17 as no
        assert ("基本医疗保险" in by_no[f"Q{k:03d}"].guarantee_problems) is (json_bool[value] is False), value

    cold = _cold_check_finds_what_a_cached_one_does(s, monkeypatch, "_member_situations",
                                                    "assess read the members again")
    missing = {f["member_id_number"] for f in cold if f["code"] == "MEDICAL_INSURANCE_MISSING"}
    assert {m.id_number for mid, m in read.items() if mid in members and flag[members[mid]] is False} <= missing


def _cold_check_finds_what_a_cached_one_does(s, monkeypatch, own_read: str | None, failure: str) -> list[dict]:
    """The check's findings (as JSON) when assess was cached from its own read, and again cold (assess computed from
    what the check read, assess's `own_read` never asked: the test fails with `failure` if it is): the same. The cold
    ones are returned."""
    from desktop.services import checks, dataversion

    def findings():
        return [f.to_json() for f in checks.run_checks(s, YEAR, TODAY)]

    dataversion.clear()
    assess.assess(s, YEAR, TODAY)  # cached from assess's own read
    cached = findings()
    dataversion.clear()
    with monkeypatch.context() as m:
        if own_read is not None:
            m.setattr(assess, own_read, lambda *a: pytest.fail(failure))
        cold = findings()
    assert cold == cached
    return cold


def test_assess_takes_the_households_a_check_read_as_from_its_own_read(b, monkeypatch):
    """A cold check hands assess the households it has read (national_rules.assess_households: the cells of
    assess._PROFILE as SQLite's driver gives them, instead of assess's own read of them as one JSON text). With the
    yes/no cells (A4, A23–A25) as old imports may have left them, risk types and dates of every kind, a closed
    household and households named by id, assess answers exactly as from its own read and as the plain path, and the
    check finds exactly what it finds when assess was cached from its own read."""
    from sqlalchemy import text

    s = b.s
    messy_register(b)
    demo.generate(s, 120, seed=7, year=YEAR, as_of=TODAY)
    sqlite = s.get_bind().dialect.name == "sqlite"
    odd = ["0", "1", 2, "", "否", "x", None, True, False, 1.0] if sqlite else [None, True, False]
    made = []
    for k in range(len(odd)):
        hid = b.household(no=f"P{k:03d}", monitoring_status=("none", "unstable", "removed")[k % 3],
                          a27_risk_types=[["01"], [], None, ["01", "08"]][k % 4], dibao_tier=(None, "01", "03")[k % 3],
                          identified_on=(None, date(2024, 2, 29), date(2023, 12, 31))[k % 3])
        b.income(hid, collected_on=date(2024, 9, 1), A28=str(5000 + 1500 * k))
        made.append(hid)
        for j, column in enumerate(("a4_poverty_alleviated", "a23_housing_unsafe", "a24_school_dropout",
                                    "a25_water_unsafe")):  # each cell a different odd value
            s.execute(text(f"UPDATE household SET {column} = :v WHERE id = :id"),
                      {"v": odd[(k + j) % len(odd)], "id": hid})
    s.commit()
    ys = assess.year_settings(s, YEAR)
    for ids in (None, made[::2], made[:1]):
        facts = national_rules.load_facts(s, YEAR, TODAY, None, ids, ys.status_time_point, ys.monitoring_line,
                                          ys.thresholds, open_only=ids is None)
        given = national_rules.assess_households(facts)
        assert (given is not None) is sqlite
        via = assess._assess(s, YEAR, TODAY, None, ids, lambda f=facts: national_rules.assess_members(f),
                             lambda g=given: g)
        own = assess._assess(s, YEAR, TODAY, None, ids)
        plain = assess._assess_plain(s, YEAR, TODAY, None, ids)
        assert assess.dumps_assessments(via) == assess.dumps_assessments(plain) == assess.dumps_assessments(own)
        assert via == plain == own
        assert [a.household_no for a in via] == [a.household_no for a in own]
        assert [(a.poverty_alleviated, a.identified_on, a.risk_types, a.guarantee_problems) for a in via] == \
            [(a.poverty_alleviated, a.identified_on, a.risk_types, a.guarantee_problems) for a in own]
        if ids is None:
            every = {a.household_id: a for a in own}
    # the comparison covers households whose profile differs in each of those cells, the odd ones among them
    assert len({(a.poverty_alleviated, a.guarantee_problems, a.risk_types, a.identified_on)
                for a in every.values()}) >= 6
    assert len({(every[h].poverty_alleviated, every[h].guarantee_problems) for h in made}) >= (5 if sqlite else 3)

    _cold_check_finds_what_a_cached_one_does(s, monkeypatch, "_household_tuples" if sqlite else None,
                                             "assess read the households again")


def test_income_codes_of_households_whose_income_assess_defers(b, monkeypatch):
    """A household whose income decides no category is assessed as _Deferred (its IncomeResult made when first asked
    for). The check reads INCOME_NEGATIVE and the small wage (INCOME_IMPLAUSIBLE) off its item totals in fen
    (Assessment.pending_fen), and 1_02_006 (below the monitoring line) and 3_11_010 (below 家庭人均纯收入低于) off
    A34's total in fen against the line times the size (Assessment.a34_not_below), making the result only when one
    of them may hold. At the edges — A33 of -0.01 and 0 yuan, A28 of 0, 0.01, 99.99 and 100.00 yuan, both at once,
    A34 at each line and half a fen below it — it finds exactly what it finds with every result made first, and what
    the rules say."""
    from desktop.services import checks, dataversion

    line, low = Decimal("7100"), Decimal("4000")  # the tests' monitoring line, the default 家庭人均纯收入低于
    assert assess.year_settings(b.s, YEAR).monitoring_line == line
    cases = {"D1": {"A28": "1000", "A32": "1000.01"}, "D2": {"A28": "1000", "A32": "1000"},
             "D3": {"A31": "9000"}, "D4": {"A28": "0.01", "A31": "9000"}, "D5": {"A28": "99.99", "A31": "9000"},
             "D6": {"A28": "100", "A31": "9000"}, "D7": {"A28": "50", "A32": "60"},
             "D8": {"A28": "100", "A32": "100.01", "A35": "500"},
             # two members each: A34 at the line, half a fen below it, at the low bound, half a fen below that
             "L1": {"A31": str(2 * line)}, "L2": {"A31": str(2 * line - Decimal("0.01"))},
             "L3": {"A31": str(2 * low)}, "L4": {"A31": str(2 * low - Decimal("0.01"))}}
    for k, (no, amounts) in enumerate(cases.items()):
        hid = b.household(no=no, a4_poverty_alleviated=bool(k % 2))
        b.income(hid, collected_on=date(2024, 9, 1), **amounts)
    # monitored and removed households are collected yearly: INCOME_MISSING is about them, and they have income
    for no, status in (("M1", "identifying"), ("M2", "removed")):
        hid = b.household(no=no, a4_poverty_alleviated=True, monitoring_status=status, identified_on=date(2023, 3, 1),
                          **({"a53_removal_way": "01", "a54_removed_on": date(2023, 12, 1)} if status == "removed"
                             else {}))
        b.income(hid, collected_on=date(2024, 9, 1), A31="20000")
        cases[no] = {}
    b.s.commit()
    dataversion.clear()
    deferred = {a.household_no for a in assess.assess(b.s, YEAR, TODAY) if a.pending_fen() is not None}
    assert deferred == set(cases)  # every one of them takes the deferred way
    watched = {"INCOME_MISSING", "INCOME_NEGATIVE", "INCOME_IMPLAUSIBLE", "N_1_02_006", "N_3_11_010"}

    def findings():
        dataversion.clear()
        return [f.to_json() for f in checks.run_checks(b.s, YEAR, TODAY)]

    fast = findings()
    with monkeypatch.context() as m:  # every result made before a code or rule reads it
        m.setattr(assess._Deferred, "pending_fen", lambda self: None)
        m.setattr(assess._Deferred, "a34_not_below", lambda self, line: False)
        made = findings()
    assert fast == made
    got = [(f["household_no"], f["rule"] or f["code"]) for f in fast if f["code"] in watched]
    both, line_only = ("1_02_006", "3_11_010"), ("1_02_006",)  # A34 below both lines; below 7,100 only
    expected = {"D1": ("INCOME_NEGATIVE", *both), "D2": both, "D3": line_only, "D4": ("INCOME_IMPLAUSIBLE", *line_only),
                "D5": ("INCOME_IMPLAUSIBLE", *line_only), "D6": line_only,
                "D7": ("INCOME_NEGATIVE", "INCOME_IMPLAUSIBLE", *both), "D8": ("INCOME_NEGATIVE", *both),
                "L1": (), "L2": line_only, "L3": line_only, "L4": both, "M1": (), "M2": ()}
    assert got == [(no, x) for no, xs in expected.items() for x in xs]
    by = {(f["household_no"], f["rule"] or f["code"]): f["message"] for f in fast}
    assert "家庭纯收入为负数：-0.01 元" in by["D1", "INCOME_NEGATIVE"]
    assert "工资性收入 99.99 元" in by["D5", "INCOME_IMPLAUSIBLE"]
    assert "7,100.00 元（精确值 7,099.9950 元）低于" in by["L2", "1_02_006"]
    assert by["L4", "3_11_010"] == "家庭人均纯收入 4,000.00 元低于 4,000 元"


def test_members_kept_as_rows_find_what_member_objects_find(b, monkeypatch):
    """The plain households' members (not 脱贫户, not monitored: national_rules._LAZY_POPS) are kept as the rows read
    and made into member objects only when a code or rule asks for them; services.checks._quiet reads the rows to
    tell whether our member codes can find anything there. On the messy rows, 300 demo households and plain
    households each made to trip one of our member codes (or none), a cold check finds exactly — every finding, its
    message, its order — what it finds when every household's members are made while reading, and assess gets the
    same member facts."""
    from desktop.services import checks, dataversion

    messy_register(b)
    demo.generate(b.s, 300, seed=5, year=YEAR, as_of=TODAY)
    born = date(1980, 1, 2)
    x_id = next(n for n in (make_id(AREA, born, k, "1") for k in range(700, 800)) if n[-1] == "X")
    twice = make_id(AREA, date(1981, 3, 4), 801, "2")
    cases = {  # household number → its members past the head (name, ID number, relation, sex, cells)
        "Q00": [("配偶", make_id(AREA, born, 11, "2"), "02", "2", {})],  # nothing to find
        "Q01": [("未参保", make_id(AREA, born, 12, "2"), "02", "2", {"a17_medical": None})],
        "Q02": [("否参保", make_id(AREA, born, 13, "2"), "02", "2", {"a17_medical": False})],
        "Q03": [("务工13月", make_id(AREA, born, 14, "2"), "02", "2", {"work_months": 13})],
        "Q04": [("务工12月", make_id(AREA, born, 15, "2"), "02", "2", {"work_months": 12})],  # nothing
        "Q05": [("失学", make_id(AREA, date(YEAR - 10, 1, 1), 16, "1"), "03", "1", {})],
        "Q06": [("残疾儿童", make_id(AREA, date(YEAR - 10, 1, 1), 17, "1"), "03", "1",
                 {"health": codes("health").code_of("残疾")})],  # nothing: the disabled are not out of school
        "Q07": [("在校", make_id(AREA, date(YEAR - 10, 1, 1), 18, "1"), "03", "1", {"school": "03"})],
        "Q08": [("性别不符", make_id(AREA, born, 19, "2"), "02", "1", {})],
        "Q09": [("第二户主", make_id(AREA, born, 20, "2"), "01", "2", {})],
        "Q10": [("同性配偶", make_id(AREA, born, 21, "1"), "02", "1", {})],
        "Q11": [("未来出生", id_with("20300101", 22, "2"), "02", "2", {})],
        "Q12": [("校验错", bad_checksum(make_id(AREA, born, 23, "2")), "02", "2", {})],
        "Q13": [("末位X", x_id, "03", "1", {})],  # nothing: an X is indexed, held once
        "Q14": [("同号一", twice, "02", "2", {})],
        "Q15": [("同号二", twice, "02", "2", {})],
        "Q16": [("去世", bad_checksum(make_id(AREA, born, 24, "2")), "02", "2",
                 {"status": "dead", "status_date": date(YEAR, 3, 1), "a17_medical": None})],  # nothing
        "Q17": [("空性别", make_id(AREA, born, 25, "2"), "02", None, {})],  # nothing
    }
    made = {}
    # the cells a careful collector fills (builders.person), so that the national member rules leave them alone
    careful = {"ethnicity": "01", "health": "01", "a18_serious_illness": True, "a19_pension": True, "education": "03",
               "school": "26"}  # 非在校生

    def plain_household(no: str) -> int:  # the register's couple died years ago: the members below are the living
        hid = b.household(no=no)
        for row in b.s.scalars(select(Member).where(Member.household_id == hid)):
            row.status, row.status_date = "dead", date(2020, 1, 1)
        b.s.flush()
        return hid

    for k, (no, members) in enumerate(cases.items()):
        hid = made[no] = plain_household(no)
        b.raw_member(hid, f"户主{k}", make_id(AREA, date(1970, 1, 1), 100 + k, "1"), "01", "1", **careful)
        for name, number, relation, sex, cells in members:
            b.raw_member(hid, name, number, relation, sex, **{**careful, **cells})
    nohead = made["Q18"] = plain_household("Q18")
    b.raw_member(nohead, "非户主", make_id(AREA, born, 26, "1"), "03", "1", **careful)
    b.s.commit()

    read = []
    load = national_rules.load_facts

    def keep(*args, **kw):
        read.append(load(*args, **kw))
        return read[-1]

    def findings():
        dataversion.clear()
        read.clear()
        return [f.to_json() for f in checks.run_checks(b.s, YEAR, TODAY)]

    monkeypatch.setattr(national_rules, "load_facts", keep)
    fast = findings()
    facts = read[-1]
    name = {b.no(hid): no for no, hid in made.items()}  # the register's household number → the case
    rows = {name.get(h.no, h.no) for h in facts.households.values() if h.light is not None}
    members_rows = national_rules.assess_members(facts)
    with monkeypatch.context() as m:  # every household's members made while reading
        m.setattr(national_rules, "_LAZY_POPS", frozenset({"none"}))
        plain = findings()
        assert all(h.light is None for h in read[-1].households.values())
        members_plain = national_rules.assess_members(read[-1])
    assert fast == plain
    assert members_rows == members_plain
    # the households where nothing of ours is found stay rows (unless a national rule asked for their members)
    assert {"Q00", "Q04", "Q06", "Q07", "Q13", "Q16", "Q17"} <= rows
    assert len(rows) > 150  # most of the demo's plain households too
    ours = {(name.get(f["household_no"]), f["code"]) for f in fast if f["rule"] is None}
    for no, code in (("Q01", "MEDICAL_INSURANCE_MISSING"), ("Q02", "MEDICAL_INSURANCE_MISSING"),
                     ("Q03", "WORK_MONTHS_INVALID"), ("Q05", "SCHOOL_AGE_OUT"), ("Q08", "SEX_MISMATCH"),
                     ("Q09", "HEAD_MULTIPLE"), ("Q10", "HEAD_SPOUSE_SAME_SEX"), ("Q11", "ID_BIRTHDATE"),
                     ("Q12", "ID_CHECKSUM"), ("Q14", "ID_DUPLICATE"), ("Q15", "ID_DUPLICATE"), ("Q18", "HEAD_MISSING")):
        assert (no, code) in ours, (no, code)
    assert not {no for no, _ in ours} & {"Q00", "Q04", "Q06", "Q07", "Q13", "Q16", "Q17"}
