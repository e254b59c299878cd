"""What the income calculator window reads: the facts of rule 6.1 for a household (calculator_facts) and the
editable income lines in form order (editable_lines)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from desktop.services import assess, income, register
from desktop.services.assess import AssessError
from desktop.services.income import LineData, RecordData
from tests.conftest import TODAY, YEAR, family


@pytest.fixture
def household(db, township, admin):
    data, members = family(township["villages"]["东村"])
    data.a4_poverty_alleviated = True
    data.a23_housing_unsafe = True
    data.a27_risk_types = ["01"]
    members[1].a17_medical = False
    with db.session(admin) as s:
        hid = register.save_household(s, data, members, TODAY)
        s.commit()
    return hid


def test_calculator_facts_name_the_household_size_line_and_the_facts_of_rule_6_1(db, household, admin):
    with db.session(admin) as s:
        f = assess.calculator_facts(s, household, YEAR, TODAY)
    assert (f.household_no, f.head_name, f.village, f.year) == ("3703050010010001", "张三", "东村", YEAR)
    assert f.size == 3 and f.status_time_point == date(2024, 9, 30)
    assert f.monitoring_line == D("7100.00") and f.rural_average is None
    assert f.poverty_alleviated is True
    assert f.guarantee_problems == ["住房安全", "基本医疗保险"]  # A26 derived from 李四's A17
    assert f.risk_types == ["01"]


def test_calculator_facts_count_members_of_status_normal_at_the_time_point(db, household, admin):
    with db.session(admin) as s:
        _, members = register.get_household(s, household)
        son = next(m for m in members if m.name == "张小堃")
        register.record_event(s, household, "death", date(2024, 10, 5), member_id=son.id, as_of=TODAY)
        s.commit()
        assert assess.calculator_facts(s, household, YEAR, TODAY).size == 3  # died after 09-30
        register.record_event(s, household, "death", date(2024, 6, 1),
                              member_id=next(m for m in members if m.name == "李四").id, as_of=TODAY)
        assert assess.calculator_facts(s, household, YEAR, TODAY).size == 2


def test_calculator_facts_need_the_line_of_the_year_and_an_existing_household(db, household, admin):
    with db.session(admin) as s:
        with pytest.raises(AssessError, match="2030 年度未设置监测线"):
            assess.calculator_facts(s, household, 2030, TODAY)
        with pytest.raises(AssessError, match="不存在"):
            assess.calculator_facts(s, 99999, YEAR, TODAY)


def test_editable_lines_list_every_catalog_line_in_form_order_with_recorded_amounts():
    catalog = income.line_catalog()
    recorded = [LineData("A28", "务工收入", D("30000.00"), "在外打工"), LineData("A32", "种植业", D("3000.00"))]
    rows = income.editable_lines(catalog, recorded)
    assert len(rows) == sum(len(v) for v in catalog.values())
    assert [r.item for r in rows] == sorted((r.item for r in rows), key=income.ITEMS.index)
    by_key = {(r.item, r.line): r for r in rows}
    assert by_key[("A28", "务工收入")].amount == D("30000.00") and by_key[("A28", "务工收入")].note == "在外打工"
    assert by_key[("A32", "种植业")].amount == D("3000.00")
    assert by_key[("A29", "种植业")].amount == D("0.00")  # the same name under another item is another line
    assert income.Totals.from_lines(rows) == income.Totals(A28=D("30000.00"), A32=D("3000.00"))


def test_editable_lines_keep_unknown_and_repeated_lines_after_their_item():
    catalog = income.line_catalog()
    recorded = [LineData("A28", "务工收入", D("100")), LineData("A28", "务工收入", D("200")),
                LineData("A28", "旧明细", D("5"))]
    rows = income.editable_lines(catalog, recorded)
    a28 = [r for r in rows if r.item == "A28"]
    assert [r.line for r in a28[-2:]] == ["务工收入", "旧明细"]
    assert [r.amount for r in a28 if r.line == "务工收入"] == [D("100"), D("200")]
    assert rows.index(a28[-1]) < rows.index(next(r for r in rows if r.item == "A29"))
    assert sum(r.amount for r in a28) == D("305")


def test_editable_lines_round_trip_through_a_saved_record(db, household, admin):
    with db.session(admin) as s:
        lines = income.editable_lines(income.line_catalog(s))
        lines[0].amount = D("1234.50")
        rid = income.save_record(s, RecordData(household, YEAR, collected_on=TODAY, lines=lines,
                                               collected_by="采集员"), TODAY)
        s.commit()
        rec = income.records(s, household, YEAR)[0]
    assert rec.id == rid and len(rec.lines) == 1  # empty lines are not stored
    again = income.editable_lines(income.line_catalog(), rec.lines)
    assert again[0].amount == D("1234.50") and sum(r.amount for r in again) == D("1234.50")
