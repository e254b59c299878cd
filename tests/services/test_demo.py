"""The synthetic demo generator: realistic, valid, unique, deterministic, and repeatable."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from desktop.models import AuditEntry, Household, IncomeLine, IncomeRecord, Measure, Member, MemberEvent, Region
from desktop.services import demo, regions, settings
from desktop.services.codes import codes, income_items, measure_catalog
from desktop.services.db import init_db, sqlite_url
from desktop.services.idnumber import age_on, parse_id

AS_OF = date(2024, 11, 20)
N = 300

MEMBER_CODES = {"sex": "sex", "relation": "relation", "ethnicity": "ethnicity", "political": "political",
                "education": "education", "school": "school", "health": "health",
                "disability_grade": "disability_grade", "labor": "labor", "work_region": "work_region",
                "a20_dibao": "dibao", "a21_tekun": "tekun", "status": "member_status"}
HOUSEHOLD_CODES = {"a3_category": "category", "monitoring_status": "monitoring_status",
                   "a53_removal_way": "removal_way", "dibao_tier": "dibao_tier"}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """One generated township shared by the read-only tests of this module (generating is the slow part)."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    database = init_db(sqlite_url(path))
    with database.session(bootstrap="tester") as s:
        regions.init_township(s, "稷下街道", county="临淄区", city="淄博市", province="山东省")
        s.commit()
    calls = []
    with database.session(bootstrap="tester") as s:
        result = demo.generate(s, N, seed=7, year=2024, as_of=AS_OF, progress=lambda d, t: calls.append((d, t)))
        s.commit()
    yield database, result, calls
    database.dispose()


def _members(s):
    return s.execute(select(Member)).scalars().all()


def test_counts_match_the_result(demo_db):
    database, result, calls = demo_db
    with database.session(bootstrap="tester") as s:
        assert s.scalar(select(func.count()).select_from(Household)) == N == result.households
        assert s.scalar(select(func.count()).select_from(Member)) == result.members
        assert s.scalar(select(func.count()).select_from(Measure)) == result.measures > 0
        assert s.scalar(select(func.count()).select_from(MemberEvent)) == result.events
        assert s.scalar(select(func.count()).select_from(IncomeLine)) == result.income_lines
        villages = s.scalars(select(Region).where(Region.level == "village")).all()
        assert len(villages) == result.villages >= 1
        groups = s.scalar(select(func.count()).select_from(Region).where(Region.level == "group"))
        assert groups == result.groups
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "demo")) == 1
    assert calls[-1] == (N, N)
    assert 2.4 < result.members / N < 3.8


def test_villages_have_unique_names_groups_and_population(demo_db):
    database, _, _ = demo_db
    with database.session(bootstrap="tester") as s:
        tid = regions.township(s).id
        villages = s.scalars(select(Region).where(Region.parent_id == tid)).all()
        assert len({v.name for v in villages}) == len(villages)
        for v in villages:
            assert v.name.endswith("村")
            groups = s.scalars(select(Region).where(Region.parent_id == v.id)).all()
            assert 3 <= len(groups) <= 8
            assert groups[0].name == "一组"
            count = s.scalar(select(func.count()).select_from(Household).where(Household.village_id == v.id))
            assert 2.9 * count <= v.rural_population <= 3.6 * count


def test_id_numbers_valid_unique_and_match_sex_and_age(demo_db):
    database, _, _ = demo_db
    with database.session(bootstrap="tester") as s:
        members = _members(s)
    cores = [m.id_number[:18] for m in members]
    assert len(set(cores)) == len(cores)
    cards = 0
    for m in members:
        info = parse_id(m.id_number)
        assert info.valid, (m.id_number, info.error)
        assert info.sex == m.sex
        assert info.birth_date <= AS_OF
        cards += info.disability_card
        if info.disability_card:
            assert m.health == "04" and m.disability_grade
    assert cards >= 1  # a few 残疾人证 numbers


def test_one_head_per_household_and_cached_size_and_head_name(demo_db):
    database, _, _ = demo_db
    with database.session(bootstrap="tester") as s:
        members = _members(s)
        households = s.scalars(select(Household)).all()
    by_household = defaultdict(list)
    for m in members:
        by_household[m.household_id].append(m)
    for hh in households:
        living = [m for m in by_household[hh.id] if m.status == "normal"]
        heads = [m for m in living if m.relation == "01"]
        assert len(heads) == 1, hh.household_no
        assert hh.head_name == heads[0].name
        assert hh.size == len(living) >= 1
        assert len(by_household[hh.id]) <= 8


def test_relations_agree_with_sex_and_age(demo_db):
    database, _, _ = demo_db
    with database.session(bootstrap="tester") as s:
        members = _members(s)
    by_household = defaultdict(list)
    for m in members:
        by_household[m.household_id].append(m)
    male, female = {"03", "06", "07", "09", "11", "13", "15", "17", "19"}, {"04", "05", "08", "10", "12", "14",
                                                                             "16", "18", "20"}
    for people in by_household.values():
        head = next(m for m in people if m.relation == "01")
        head_age = age_on(parse_id(head.id_number).birth_date, AS_OF)
        for m in people:
            age = age_on(parse_id(m.id_number).birth_date, AS_OF)
            if m.relation in male:
                assert m.sex == "1"
            if m.relation in female:
                assert m.sex == "2"
            if m.relation == "02":
                assert m.sex != head.sex
            if m.relation in ("03", "04"):
                assert head_age - age >= 15
            if m.relation in ("11", "12"):
                assert age - head_age >= 15
            if m.relation in ("07", "08"):
                assert head_age - age >= 30


def test_every_code_is_in_its_list(demo_db):
    database, _, _ = demo_db
    with database.session(bootstrap="tester") as s:
        members = _members(s)
        households = s.scalars(select(Household)).all()
        measures = s.scalars(select(Measure)).all()
        lines = s.scalars(select(IncomeLine)).all()
        events = s.scalars(select(MemberEvent)).all()
    for m in members:
        for fld, key in MEMBER_CODES.items():
            value = getattr(m, fld)
            assert value is None or value in codes(key), (fld, value)
        assert m.work_months is None or 0 <= m.work_months <= 12
    for hh in households:
        for fld, key in HOUSEHOLD_CODES.items():
            value = getattr(hh, fld)
            assert value is None or value in codes(key), (fld, value)
        assert all(c in codes("risk_type") for c in hh.a27_risk_types)
        assert all(c in codes("disaster_type") for c in hh.a27a_disaster_types)
        assert len(hh.household_no) == 16 and hh.household_no.isdigit()
    catalog = {c["code"]: {i["name"] for i in c["items"]} for c in measure_catalog()}
    for ms in measures:
        assert ms.category in catalog
        assert (ms.item in catalog[ms.category]) if catalog[ms.category] else ms.item is None
        assert ms.start_date <= AS_OF
        assert ms.end_date is None or ms.end_date >= ms.start_date
    allowed = {i["code"]: set(i["lines"]) for i in income_items()}
    for ln in lines:
        assert ln.line in allowed[ln.item], (ln.item, ln.line)
        assert ln.amount > 0
    for e in events:
        assert e.kind in codes("member_event")


def test_members_are_plausible(demo_db):
    database, _, _ = demo_db
    with database.session(bootstrap="tester") as s:
        members = [m for m in _members(s) if m.status == "normal"]
    compulsory = [m for m in members if 7 <= age_on(parse_id(m.id_number).birth_date, date(2024, 9, 30)) <= 14]
    assert compulsory
    in_school = [m for m in compulsory if codes("school").get(m.school).flag("compulsory")]
    assert len(in_school) >= 0.9 * len(compulsory)
    assert sum(m.a17_medical is True for m in members) >= 0.95 * len(members)
    workers = [m for m in members if m.work_months is not None]
    assert workers and all(m.work_region and m.labor in ("01", "02") for m in workers)
    assert any(m.health == "04" for m in members) and any(m.health in ("02", "03") for m in members)
    for m in members:
        age = age_on(parse_id(m.id_number).birth_date, AS_OF)
        if age < 15:
            assert m.labor == "05" and m.work_months is None


def test_rare_characters_appear_in_names(demo_db):
    database, _, _ = demo_db
    with database.session(bootstrap="tester") as s:
        names = list(s.scalars(select(Member.name)))
    text = "".join(names)
    for ch in ("堃", "䶮", "𠮷"):
        assert ch in text
    rare = sum(any(ch in n for ch in demo.RARE_CHARS) for n in names)
    assert 0.01 * len(names) <= rare <= 0.08 * len(names)
    assert all(2 <= len(n) <= 3 for n in names)


def test_monitored_and_removed_households_have_dates_in_order(demo_db):
    database, result, _ = demo_db
    with database.session(bootstrap="tester") as s:
        households = s.scalars(select(Household)).all()
        measured = set(s.scalars(select(Measure.household_id)))
    status = Counter(h.monitoring_status for h in households)
    assert status["monitoring"] == result.monitored > 0
    assert status["removed"] == result.removed > 0
    assert status["none"] > 0.85 * N
    assert 0.08 * N <= sum(h.a4_poverty_alleviated for h in households) <= 0.25 * N
    for h in households:
        if h.monitoring_status == "monitoring":
            assert h.a3_category and h.identified_on
            assert (AS_OF - h.identified_on).days <= 731
            assert h.a54_removed_on is None
        if h.monitoring_status == "removed":
            assert h.a3_category and h.a53_removal_way in ("01", "02")
            assert h.identified_on < h.a54_removed_on <= AS_OF
            assert h.id in measured
        if h.monitoring_status == "none":
            assert h.a3_category is None and h.identified_on is None
        if h.whole_no_labor_guarantee:
            assert h.monitoring_status not in ("removed", "removing")
        assert h.a23_housing_unsafe in (True, False)


def test_income_record_for_every_household_spread_around_the_line(demo_db):
    database, _, _ = demo_db
    with database.session(bootstrap="tester") as s:
        line = settings.get_year(s, 2024).monitoring_line
        records = s.scalars(select(IncomeRecord).where(IncomeRecord.year == 2024)).all()
        sizes = dict(s.execute(select(Household.id, Household.size)).all())
        totals = defaultdict(Decimal)
        for rid, item, amount in s.execute(select(IncomeLine.record_id, IncomeLine.item, IncomeLine.amount)):
            if item in ("A28", "A29", "A30", "A31"):
                totals[rid] += amount
            elif item == "A32":
                totals[rid] -= amount
    assert line == Decimal("7100.00")
    assert len(records) == N and len({r.household_id for r in records}) == N
    per_capita = [totals[r.id] / sizes[r.household_id] for r in records]
    assert all(r.size == sizes[r.household_id] for r in records)
    below = sum(pc < line for pc in per_capita)
    assert 0.01 * N <= below <= 0.25 * N


def test_events_for_members_who_left(demo_db):
    database, _, _ = demo_db
    with database.session(bootstrap="tester") as s:
        left = s.scalars(select(Member).where(Member.status != "normal")).all()
        events = {e.member_id: e for e in s.scalars(select(MemberEvent))}
    assert left
    for m in left:
        e = events[m.id]
        assert e.event_date == m.status_date and e.household_id == m.household_id
        assert codes("member_event").get(e.kind).extra["status_after"] == m.status


def _snapshot(database):
    with database.session(bootstrap="tester") as s:
        return (list(s.execute(select(Household.household_no, Household.head_name, Household.monitoring_status,
                                      Household.phone).order_by(Household.id))),
                list(s.execute(select(Member.name, Member.id_number, Member.labor).order_by(Member.id))),
                list(s.execute(select(IncomeLine.item, IncomeLine.amount).order_by(IncomeLine.id))),
                list(s.scalars(select(Region.name).order_by(Region.id))))


def _fresh(tmp_path, name):
    database = init_db(sqlite_url(tmp_path / name))
    with database.session(bootstrap="tester") as s:
        regions.init_township(s, "演示镇", county="演示县")
        s.commit()
    return database


def test_deterministic_for_a_seed_and_sets_the_year(tmp_path):
    a, b, c = (_fresh(tmp_path, f"{n}.sqlite3") for n in "abc")
    for database, seed in ((a, 3), (b, 3), (c, 4)):
        with database.session(bootstrap="tester") as s:
            demo.generate(s, 120, seed=seed, year=2023, as_of=date(2023, 10, 31))
            s.commit()
    assert _snapshot(a) == _snapshot(b)
    assert _snapshot(a) != _snapshot(c)
    with a.session(bootstrap="tester") as s:
        assert settings.get_year(s, 2023).monitoring_line == Decimal("7100.00")
        assert settings.current_year(s) == 2023
    for database in (a, b, c):
        database.dispose()


def test_second_run_adds_without_collisions(db, township, admin):
    with db.session(admin) as s:
        first = demo.generate(s, 150, seed=1, year=2024, as_of=AS_OF)
        s.commit()
    with db.session(admin) as s:
        second = demo.generate(s, 200, seed=1, year=2024, as_of=AS_OF)
        s.commit()
    with db.session(admin) as s:
        assert s.scalar(select(func.count()).select_from(Household)) == 350
        numbers = list(s.scalars(select(Household.household_no)))
        assert len(set(numbers)) == len(numbers)
        ids = [n[:18] for n in s.scalars(select(Member.id_number))]
        assert len(ids) == first.members + second.members
        assert len(set(ids)) == len(ids)
        tid = regions.township(s).id
        names = list(s.scalars(select(Region.name).where(Region.parent_id == tid)))
        assert len(set(names)) == len(names) == 2 + first.villages + second.villages
        # the settings of the fixture stay as they were
        assert settings.get_year(s, 2024).monitoring_line == Decimal("7100.00")


def test_needs_a_configured_township(db):
    with db.session(bootstrap="tester") as s:
        with pytest.raises(demo.DemoError):
            demo.generate(s, 10)


def test_no_household_has_two_fathers_or_two_mothers(demo_db):
    database, _, _ = demo_db
    with database.session(bootstrap="tester") as s:
        rows = s.execute(select(Member.household_id, Member.relation, func.count())
                         .where(Member.relation.in_(("01", "02", "11", "12")))
                         .group_by(Member.household_id, Member.relation)).all()
    assert all(n == 1 for _, _, n in rows)


def test_statuses_of_procedures_are_backed_by_open_cases(db, township, admin):
    from desktop.models import Case, CaseStep, Household
    from desktop.services import checks, demo, workflow
    with db.session(admin) as s:
        result = demo.generate(s, 600, seed=9, year=2024, as_of=date(2024, 11, 20))
        s.commit()
        by_status = {}
        for hid, status in s.execute(select(Household.id, Household.monitoring_status)):
            by_status.setdefault(status, set()).add(hid)
        open_cases = {(c.household_id, c.kind) for c in s.scalars(select(Case).where(Case.state == "open"))}
        for status, kind in (("identifying", "identify"), ("green", "green"), ("removed", "revisit")):
            assert {(h, kind) for h in by_status.get(status, ())} <= open_cases
        assert result.cases == len(open_cases) > 0
        pending = s.scalars(select(CaseStep).where(CaseStep.done_on.is_(None))).all()
        assert len(pending) == result.cases and all(p.due_on for p in pending)
        some = next(c for c in s.scalars(select(Case).where(Case.kind == "identify")))
        view = workflow.view(s, some.id, date(2024, 11, 20))  # a real case the workflow can continue
        assert view.pending.key == "verify"
        checks.run_checks(s, 2024, date(2024, 11, 20))
