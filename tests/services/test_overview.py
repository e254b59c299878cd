"""首页 and the 建议纳入 list read the same assess results the rest of the program uses."""

from datetime import date

from desktop.services import assess, overview
from tests.conftest import TODAY, YEAR


def _suggested_ids(session):
    return {a.household_id for a in assess.assess(session, YEAR, TODAY)
            if a.suggestion.category is not None and a.status not in ("monitoring", "removing", "green",
                                                                       "identifying")}


def test_the_list_holds_exactly_the_suggested_households_that_are_not_monitored(b):
    """SPEC §6.1: below the line with a risk or a 三保障 problem is suggested; the list is that, minus monitored."""
    low_risk = b.household(a27_risk_types=["02"])  # 因残, 1,550/person: suggested
    b.income(low_risk, A28="3100")
    low_house = b.household(a23_housing_unsafe=True)  # unsafe housing, below the line: suggested
    b.income(low_house, A28="3100")
    low_no_risk = b.household()  # below the line but no risk and no problem: not suggested
    b.income(low_no_risk, A28="3100")
    high = b.household(a27_risk_types=["02"])  # above the line: not suggested
    b.income(high, A28="40000")
    watched = b.monitored()  # suggested, but monitored already
    in_procedure = b.household(a27_risk_types=["02"], monitoring_status="identifying")
    b.income(in_procedure, A28="3100")
    no_income = b.household(a27_risk_types=["02"])  # no income record: nothing to suggest from
    rows = overview.suggested_not_monitored(b.s, YEAR, TODAY)
    got = {r.household_id for r in rows}
    assert got == {low_risk, low_house}
    assert got == _suggested_ids(b.s) - {watched, in_procedure}
    assert not {low_no_risk, high, watched, in_procedure, no_income} & got
    one = next(r for r in rows if r.household_id == low_risk)
    assert one.category_name == "边缘易致贫户" and one.status_name == "未纳入"
    assert any("1,550.00" in reason and "7,100" in reason for reason in one.reasons)


def test_a_village_clerk_sees_only_their_villages(b):
    east = b.household(a27_risk_types=["02"])
    b.income(east, A28="3100")
    b.village = b.township["villages"]["西村"]
    west = b.household(a27_risk_types=["02"])
    b.income(west, A28="3100")
    mine = frozenset({b.township["villages"]["西村"]})
    assert [r.household_id for r in overview.suggested_not_monitored(b.s, YEAR, TODAY, village_ids=mine)] == [west]
    o = overview.overview(b.s, YEAR, TODAY, village_ids=mine, with_quality=False)
    assert o.households == 1 and o.suggested == 1 and [v.village for v in o.villages] == ["西村"]


def test_overview_counts_by_status_category_month_and_village(b):
    b.monitored(identified_on=date(2024, 11, 3), category="02")
    b.monitored(identified_on=date(2024, 3, 3), category="01")
    removed = b.household(monitoring_status="removed", identified_on=date(2023, 6, 1),
                          a54_removed_on=date(2024, 10, 8))
    b.income(removed, A28="40000")
    plain = b.household()
    b.clue(plain, "01", date(2024, 11, 2))
    b.clue(plain, "02", date(2024, 2, 2))
    o = overview.overview(b.s, YEAR, TODAY, with_quality=False)
    assert o.households == 4 and o.people == 8
    assert o.by_status == {"monitoring": 2, "removed": 1, "none": 1}
    assert o.by_category == {"01": 1, "02": 1}
    assert (o.identified_month, o.identified_year) == (1, 2)
    assert (o.removed_month, o.removed_year) == (0, 1)
    assert (o.clues_month, o.clues_year, o.clues_open) == (1, 2, 2)
    assert o.identified_by_month[10] == 1 and o.identified_by_month[2] == 1 and sum(o.identified_by_month) == 2
    assert o.removed_by_month[9] == 1
    east = next(v for v in o.villages if v.village == "东村")
    assert (east.households, east.monitored_households, east.monitored_people) == (4, 2, 4)


def test_overview_without_a_monitoring_line_says_so_instead_of_counting(b):
    b.household()
    from desktop.models import YearSettings
    b.s.query(YearSettings).delete()
    o = overview.overview(b.s, YEAR, TODAY)
    assert o.settings_missing and "监测线" in o.settings_missing
    assert o.households == 1 and o.suggested == 0 and o.quality_findings is None
