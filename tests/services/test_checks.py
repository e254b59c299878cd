"""Data-quality checks (SPEC §10): every finding code, where it appears and its boundary where it
does not, and the `check` command-line contract (SPEC §11)."""

from __future__ import annotations

import json
import os
from datetime import date

from desktop.services import checks, settings
from tests.cli.runner import cli
from tests.conftest import ADMIN_PASSWORD, TODAY, YEAR
from tests.services.builders import bad_checksum, id_with


def run(b, as_of: date = TODAY, year: int = YEAR):
    return checks.run_checks(b.s, year, as_of)


def of(findings, code: str, hid: int | None = None, b=None):
    return [f for f in findings if f.code == code and (hid is None or f.household_no == b.no(hid))]


def codes_of(findings, no: str) -> set[str]:
    return {f.code for f in findings if f.household_no == no}


# ---------------------------------------------------------------------------- the whole list

def test_codes_are_the_24_of_spec_each_with_a_chinese_title():
    assert len(checks.CODES) == 24 and len(set(checks.CODES)) == 24
    assert set(checks.TITLES) == set(checks.CODES)


def test_clean_households_have_no_findings(b):
    b.household()
    b.monitored()
    assert run(b) == []


def test_findings_are_ordered_by_household_then_code_order(b):
    h2 = b.household(no="H2")
    h1 = b.household(no="H1")
    b.update_member(h2, "李四", a17_medical=False, work_months=13)
    b.set(h1, a23_housing_unsafe=None)
    got = [(f.household_no, f.code) for f in run(b)]
    assert got == [("H1", "GUARANTEE_MISSING"), ("H2", "MEDICAL_INSURANCE_MISSING"), ("H2", "WORK_MONTHS_INVALID")]
    assert h1 and h2


# ---------------------------------------------------------------------------- identity

class TestIdChecksum:
    def test_ID_CHECKSUM_wrong_check_digit(self, b):
        hid = b.household()
        bad = bad_checksum(b.person("王五", date(1995, 1, 1), "1", "03").id_number)
        b.raw_member(hid, "王五", bad, "03", sex="1")
        [f] = of(run(b), "ID_CHECKSUM")
        assert (f.household_no, f.member_id_number) == (b.no(hid), bad)
        assert "王五" in f.message and "校验位错误" in f.message

    def test_ID_CHECKSUM_wrong_length(self, b):
        hid = b.household()
        b.raw_member(hid, "王五", "37030519950101123", "03", sex="1")
        [f] = of(run(b), "ID_CHECKSUM")
        assert f.member_id_number == "37030519950101123" and "应为 18 位" in f.message

    def test_ID_CHECKSUM_not_for_valid_id_nor_disability_card_built_on_it(self, b):
        hid = b.household()
        card = b.person("王五", date(1995, 1, 1), "1", "03").id_number + "11"  # 20-character 残疾人证
        b.raw_member(hid, "王五", card, "03", sex="1")
        b.raw_member(hid, "赵六", b.person("赵六", date(1996, 1, 1), "2", "04").id_number.replace("X", "x"),
                     "04", sex="2")
        assert of(run(b), "ID_CHECKSUM") == []


class TestIdDuplicate:
    def test_ID_DUPLICATE_same_id_living_in_two_households(self, b):
        h1, h2 = b.household(), b.household()
        number = b.member(h1, "李四").id_number
        b.raw_member(h2, "李四", number, "21", sex="2")
        found = of(run(b), "ID_DUPLICATE")
        assert sorted(f.household_no for f in found) == sorted([b.no(h1), b.no(h2)])
        for f in found:
            assert f.member_id_number == number
            assert number in f.message and "同时登记在" in f.message
            assert b.no(h1) in f.message and b.no(h2) in f.message

    def test_ID_DUPLICATE_twice_in_one_household_is_one_finding(self, b):
        hid = b.household()
        number = b.member(hid, "李四").id_number
        b.raw_member(hid, "李四二", number, "21", sex="2")
        [f] = of(run(b), "ID_DUPLICATE")
        assert f.household_no == b.no(hid) and f.member_id_number == number
        assert "李四" in f.message and "李四二" in f.message

    def test_ID_DUPLICATE_when_the_stored_texts_differ_only_in_spelling(self, b):
        """A lower-case x or a space (an old import) is the same number: found though no two stored texts are equal
        (the check indexes only numbers the stored texts may share)."""
        h1, h2, h3 = b.household(), b.household(), b.household()
        number = b.person("王五", date(1996, 1, 1), "2", "04").id_number
        while not number.endswith("X"):  # a number whose check digit is X
            number = b.person("王五", date(1996, 1, 1), "2", "04").id_number
        b.raw_member(h1, "王五", number, "03", sex="2")
        b.raw_member(h2, "王五", number.replace("X", "x"), "03", sex="2")
        b.raw_member(h3, "王五", number[:6] + " " + number[6:], "03", sex="2")
        found = of(run(b), "ID_DUPLICATE")
        assert sorted(f.household_no for f in found) == sorted([b.no(h1), b.no(h2), b.no(h3)])
        assert {f.member_id_number for f in found} == {number}

    def test_ID_DUPLICATE_not_when_one_holder_is_dead(self, b):
        h1, h2 = b.household(), b.household()
        number = b.member(h1, "李四").id_number
        b.raw_member(h2, "李四", number, "21", sex="2")
        b.event(h1, "李四", "death", date(2024, 5, 1))
        assert of(run(b), "ID_DUPLICATE") == []


class TestIdBirthdate:
    def test_ID_BIRTHDATE_date_that_does_not_exist(self, b):
        hid = b.household()
        number = id_with("19700230", 7, "1")
        b.raw_member(hid, "王五", number, "21", sex="1")
        findings = run(b)
        [f] = of(findings, "ID_BIRTHDATE")
        assert f.member_id_number == number and f.household_no == b.no(hid)
        assert "19700230" in f.message and "不存在" in f.message
        assert of(findings, "ID_CHECKSUM") == []  # one finding for one fault

    def test_ID_BIRTHDATE_in_the_future_and_before_1890(self, b):
        hid = b.household()
        future = b.person("未来", date(2024, 11, 21), "1", "07").id_number  # the day after the check date
        ancient = id_with("18891231", 8, "2")
        b.raw_member(hid, "未来", future, "07", sex="1")
        b.raw_member(hid, "古人", ancient, "18", sex="2")
        found = {f.member_id_number: f.message for f in of(run(b), "ID_BIRTHDATE")}
        assert set(found) == {future, ancient}
        assert "晚于" in found[future] and "2024-11-21" in found[future]
        assert "早于 1890 年" in found[ancient]

    def test_ID_BIRTHDATE_not_for_a_baby_born_after_the_time_point_but_before_the_check(self, b):
        # Born 2024-10-15: after the 2024-09-30 status time point, before the check date: a real date.
        hid = b.household([*b.couple(), b.person("新生儿", date(2024, 10, 15), "1", "03")])
        b.raw_member(hid, "一八九零", id_with("18900101", 9, "1"), "17", sex="1")
        b.raw_member(hid, "今天", b.person("今天", TODAY, "2", "04").id_number, "04", sex="2")
        assert of(run(b), "ID_BIRTHDATE") == []


class TestSexMismatch:
    def test_SEX_MISMATCH_registered_sex_against_digit_17(self, b):
        hid = b.household()
        number = b.person("王芳", date(1995, 1, 1), "2", "04").id_number
        b.raw_member(hid, "王芳", number, "04", sex="1")
        [f] = of(run(b), "SEX_MISMATCH")
        assert (f.household_no, f.member_id_number) == (b.no(hid), number)
        assert "王芳" in f.message and "登记性别“男”" in f.message and "第 17 位为女" in f.message

    def test_SEX_MISMATCH_not_when_sex_matches_or_is_blank(self, b):
        hid = b.household()
        b.raw_member(hid, "王芳", b.person("王芳", date(1995, 1, 1), "2", "04").id_number, "04", sex=None)
        assert of(run(b), "SEX_MISMATCH") == []


class TestHead:
    def test_HEAD_MISSING_when_no_living_member_is_head(self, b):
        hid = b.household()
        b.update_member(hid, "张三", relation="28")
        [f] = of(run(b), "HEAD_MISSING")
        assert f.household_no == b.no(hid) and f.member_id_number is None and "没有户主" in f.message

    def test_HEAD_MISSING_after_the_head_died(self, b):
        hid = b.household()
        b.event(hid, "张三", "death", date(2024, 6, 1))
        assert [f.household_no for f in of(run(b), "HEAD_MISSING")] == [b.no(hid)]

    def test_HEAD_MISSING_and_MULTIPLE_not_when_a_dead_head_was_replaced(self, b):
        hid = b.household()
        b.event(hid, "张三", "death", date(2024, 6, 1))
        b.update_member(hid, "李四", relation="01")
        findings = run(b)
        assert of(findings, "HEAD_MISSING") == [] and of(findings, "HEAD_MULTIPLE") == []

    def test_HEAD_MULTIPLE_two_living_heads(self, b):
        hid = b.household()
        b.raw_member(hid, "王五", b.person("王五", date(1980, 1, 1), "1", "01").id_number, "01", sex="1")
        [f] = of(run(b), "HEAD_MULTIPLE")
        assert f.household_no == b.no(hid) and f.member_id_number is None
        assert "2 名户主" in f.message and "张三" in f.message and "王五" in f.message

    def test_HEAD_MULTIPLE_not_when_the_second_head_is_dead(self, b):
        hid = b.household()
        b.raw_member(hid, "王五", b.person("王五", date(1940, 1, 1), "1", "01").id_number, "01", sex="1",
                     status="dead", status_date=date(2020, 1, 1))
        assert of(run(b), "HEAD_MULTIPLE") == [] and of(run(b), "HEAD_MISSING") == []

    def test_HEAD_SPOUSE_SAME_SEX(self, b):
        hid = b.household([b.person("王芳", date(1970, 3, 5), "2", "01"),
                           b.person("李四", date(1972, 8, 9), "2", "02")])
        spouse = b.member(hid, "李四").id_number
        [f] = of(run(b), "HEAD_SPOUSE_SAME_SEX")
        assert (f.household_no, f.member_id_number) == (b.no(hid), spouse)
        assert "户主“王芳”与配偶“李四”性别相同（女）" in f.message

    def test_HEAD_SPOUSE_SAME_SEX_not_for_opposite_sex_nor_a_dead_spouse(self, b):
        b.household()
        hid = b.household([b.person("王芳", date(1970, 3, 5), "2", "01"), b.person("李四", date(1972, 8, 9), "2", "02"),
                           b.person("赵六", date(1969, 1, 1), "1", "02")])
        b.event(hid, "李四", "death", date(2020, 1, 1))  # the earlier wife; the husband is the spouse now
        assert of(run(b), "HEAD_SPOUSE_SAME_SEX") == []


# ---------------------------------------------------------------------------- members

class TestSchoolAgeOut:
    """Age 6–15 at the status time point (2024-09-30), not in school, not disabled."""

    def children(self, b):
        kids = {
            "六岁": b.person("六岁", date(2018, 9, 30), "1", "03", school="26", labor="05"),
            "五岁": b.person("五岁", date(2018, 10, 1), "1", "03", school="26", labor="05"),
            "十五岁": b.person("十五岁", date(2008, 10, 1), "2", "04", school="26", labor="05"),
            "十六岁": b.person("十六岁", date(2008, 9, 30), "2", "04", school="26", labor="05"),
            "在校": b.person("在校", date(2012, 5, 1), "1", "03", school="03", labor="05"),
            "残疾": b.person("残疾", date(2012, 6, 1), "1", "03", school="26", health="04", disability_grade="03",
                           labor="05"),
            "未填": b.person("未填", date(2013, 1, 1), "2", "04", school=None, labor="05"),
        }
        hid = b.household([*b.couple(), *kids.values()])
        return hid, {k: m.id_number for k, m in kids.items()}

    def test_SCHOOL_AGE_OUT_ages_6_to_15_at_the_time_point(self, b):
        hid, ids = self.children(b)
        found = {f.member_id_number: f for f in of(run(b), "SCHOOL_AGE_OUT")}
        assert set(found) == {ids["六岁"], ids["十五岁"], ids["未填"]}
        assert all(f.household_no == b.no(hid) for f in found.values())
        six = found[ids["六岁"]].message
        assert "六岁" in six and "6 周岁" in six and "“非在校生”" in six and "A24" in six
        assert "15 周岁" in found[ids["十五岁"]].message  # 16 by the check date, 15 at the time point
        assert "“未填”" in found[ids["未填"]].message

    def test_SCHOOL_AGE_OUT_follows_the_time_point_setting(self, b):
        hid, ids = self.children(b)
        settings.set_year(b.s, YEAR, status_time_point=date(2024, 10, 1))
        found = {f.member_id_number for f in of(run(b), "SCHOOL_AGE_OUT")}
        assert found == {ids["六岁"], ids["五岁"], ids["未填"]}  # 五岁 turned 6, 十五岁 turned 16


class TestMemberFields:
    def test_MEDICAL_INSURANCE_MISSING_no_or_blank(self, b):
        hid = b.household([b.person("张三", date(1970, 3, 5), "1", "01", a17_medical=False),
                           b.person("李四", date(1972, 8, 9), "2", "02", a17_medical=None)])
        found = {f.member_id_number: f.message for f in of(run(b), "MEDICAL_INSURANCE_MISSING")}
        ms = b.members(hid)
        assert set(found) == {ms["张三"].id_number, ms["李四"].id_number}
        assert "“否”" in found[ms["张三"].id_number] and "A17" in found[ms["张三"].id_number]
        assert "“未填”" in found[ms["李四"].id_number]

    def test_MEDICAL_INSURANCE_MISSING_not_for_insured_or_dead_members(self, b):
        hid = b.household([*b.couple(), b.person("老人", date(1940, 1, 1), "1", "11", a17_medical=False)])
        b.event(hid, "老人", "death", date(2024, 3, 1))
        assert of(run(b), "MEDICAL_INSURANCE_MISSING") == []

    def test_WORK_MONTHS_INVALID_outside_0_to_12(self, b):
        hid = b.household([*b.couple(), b.person("王五", date(1995, 1, 1), "1", "03"),
                           b.person("赵六", date(1996, 1, 1), "2", "04")])
        b.update_member(hid, "张三", work_months=13)
        b.update_member(hid, "李四", work_months=-1)
        b.update_member(hid, "王五", work_months=12)
        b.update_member(hid, "赵六", work_months=0)
        found = {f.member_id_number: f.message for f in of(run(b), "WORK_MONTHS_INVALID")}
        ms = b.members(hid)
        assert set(found) == {ms["张三"].id_number, ms["李四"].id_number}
        assert "务工时间 13 个月" in found[ms["张三"].id_number] and "0–12" in found[ms["张三"].id_number]


# ---------------------------------------------------------------------------- household facts

class TestGuaranteeMissing:
    def test_GUARANTEE_MISSING_names_the_blank_items(self, b):
        one = b.household(a24_school_dropout=None)
        three = b.household(a23_housing_unsafe=None, a24_school_dropout=None, a25_water_unsafe=None)
        found = {f.household_no: f for f in of(run(b), "GUARANTEE_MISSING")}
        assert set(found) == {b.no(one), b.no(three)}
        assert "A24 义务教育" in found[b.no(one)].message and "A23" not in found[b.no(one)].message
        assert all(x in found[b.no(three)].message for x in ("A23 住房", "A24 义务教育", "A25 饮水"))
        assert found[b.no(one)].member_id_number is None

    def test_GUARANTEE_MISSING_not_when_answered_yes_or_no(self, b):
        b.household(a23_housing_unsafe=True, a24_school_dropout=False, a25_water_unsafe=True)
        assert of(run(b), "GUARANTEE_MISSING") == []


class TestIncome:
    def test_INCOME_MISSING_monitored_without_income_for_the_year(self, b):
        hid = b.household(monitoring_status="monitoring", identified_on=date(2024, 1, 10), a3_category="02",
                          a27_risk_types=["07"])
        b.income(hid, year=2023, A28="8000")  # last year's record does not count
        [f] = of(run(b), "INCOME_MISSING")
        assert f.household_no == b.no(hid) and f.member_id_number is None
        assert "没有 2024 年收入信息" in f.message

    def test_INCOME_MISSING_also_for_identifying_and_removed_households(self, b):
        # Seed 004 §一(一) and 001 §39: households whose risk is removed stay 监测帮扶对象 and are collected yearly.
        identifying = b.household(monitoring_status="identifying")
        removed = b.household(monitoring_status="removed", identified_on=date(2022, 1, 10), a53_removal_way="01",
                              a54_removed_on=date(2023, 1, 10))
        found = {f.household_no for f in of(run(b), "INCOME_MISSING")}
        assert found == {b.no(identifying), b.no(removed)}

    def test_INCOME_MISSING_not_with_income_nor_for_unmonitored_or_cleared(self, b):
        b.monitored()
        b.household()
        b.household(monitoring_status="cleared")
        assert of(run(b), "INCOME_MISSING") == []

    def test_INCOME_NEGATIVE_expenses_above_income(self, b):
        hid = b.household()
        b.income(hid, A28="1000", A32="1500")
        zero = b.household()
        b.income(zero, A28="1500", A32="1500")
        [f] = of(run(b), "INCOME_NEGATIVE")
        assert f.household_no == b.no(hid) and "家庭纯收入为负数：-500.00 元" in f.message
        assert "1,500.00" in f.message

    def test_INCOME_IMPLAUSIBLE_wage_between_0_and_100(self, b):
        low = b.household()
        b.income(low, A28="99.99", A31="9000")
        hundred = b.household()
        b.income(hundred, A28="100", A31="9000")
        none = b.household()
        b.income(none, A31="9000")
        found = of(run(b), "INCOME_IMPLAUSIBLE")
        assert [f.household_no for f in found] == [b.no(low)]
        assert "工资性收入 99.99 元" in found[0].message

    def test_INCOME_IMPLAUSIBLE_newly_identified_above_the_bound(self, b):
        above = b.monitored(identified_on=date(2024, 3, 1), a28="60000.02")  # A34 30,000.01
        at = b.monitored(identified_on=date(2024, 3, 1), a28="60000")  # A34 30,000.00
        earlier = b.monitored(identified_on=date(2023, 12, 31), a28="80000")  # not new in 2024
        plain = b.household()
        b.income(plain, A28="80000")
        found = of(run(b), "INCOME_IMPLAUSIBLE")
        assert [f.household_no for f in found] == [b.no(above)]
        assert "2024 年新识别监测对象家庭人均纯收入 30,000.01 元，高于 30,000 元" in found[0].message
        assert at and earlier

    def test_INCOME_IMPLAUSIBLE_bound_is_a_setting(self, b):
        hid = b.monitored(identified_on=date(2024, 3, 1), a28="50000")  # A34 25,000
        assert of(run(b), "INCOME_IMPLAUSIBLE") == []
        settings.set_year(b.s, YEAR, thresholds={"new_identified_income_bound": "20000"})
        [f] = of(run(b), "INCOME_IMPLAUSIBLE")
        assert f.household_no == b.no(hid) and "高于 20,000 元" in f.message


class TestCategoryInconsistent:
    def test_CATEGORY_INCONSISTENT_against_rule_6_1(self, b):
        tuopin_as_bianyuan = b.monitored(category="02", a4_poverty_alleviated=True)
        general_as_tuopin = b.monitored(category="01", a4_poverty_alleviated=False)
        at_line = b.monitored(category="02", a28="14200")  # A34 7,100.00
        tufa_below = b.monitored(category="03", a28="14000")  # A34 = A38 = 7,000
        found = {f.household_no: f.message for f in of(run(b), "CATEGORY_INCONSISTENT")}
        assert set(found) == {b.no(h) for h in (tuopin_as_bianyuan, general_as_tuopin, at_line, tufa_below)}
        assert "但是脱贫户" in found[b.no(tuopin_as_bianyuan)]
        assert "不是脱贫户" in found[b.no(general_as_tuopin)]
        assert "7,100.00 元不低于监测线 7,100 元" in found[b.no(at_line)]
        assert "突发严重困难户" in found[b.no(tufa_below)] and "低于监测线" in found[b.no(tufa_below)]

    def test_CATEGORY_INCONSISTENT_not_at_the_boundaries(self, b):
        b.monitored(category="02", a28="14199.98")  # A34 7,099.99: below
        b.monitored(category="01", a4_poverty_alleviated=True)
        tufa = b.monitored(category="03", a28="14200", measure=True)  # A34 at the line, A38 below
        b.income(tufa, collected_on=date(2024, 10, 11), A28="14200", A36="2000")
        claims = b.monitored(category="02", a28="14000")  # A34 below, A38 above thanks to claims
        b.income(claims, collected_on=date(2024, 10, 11), A28="14000", A35="400")
        b.household(a3_category="02", a4_poverty_alleviated=True)  # not monitored
        assert of(run(b), "CATEGORY_INCONSISTENT") == []


# ---------------------------------------------------------------------------- measures

class TestMeasureMissing:
    def test_MEASURE_MISSING_when_no_measure_is_active(self, b):
        ended = b.monitored(measure=False)
        b.measure(ended, "A39", "种植业", start=date(2024, 1, 15), end=date(2024, 11, 19))
        stopped = b.monitored(measure=False)
        b.measure(stopped, "A39", "种植业", start=date(2024, 1, 15), ended_on=date(2024, 11, 20))
        later = b.monitored(measure=False)
        b.measure(later, "A39", "种植业", start=date(2024, 11, 21))
        no_date = b.monitored(measure=False, identified_on=None)
        found = {f.household_no: f for f in of(run(b), "MEASURE_MISSING")}
        assert set(found) == {b.no(h) for h in (ended, stopped, later, no_date)}
        assert "截至 2024-11-20 没有正在实施的帮扶措施" in found[b.no(ended)].message
        assert found[b.no(ended)].member_id_number is None

    def test_MEASURE_MISSING_not_while_a_measure_runs_or_after_removal(self, b):
        last_day = b.monitored(measure=False)
        b.measure(last_day, "A39", "种植业", start=date(2024, 1, 15), end=date(2024, 11, 20))
        stops_tomorrow = b.monitored(measure=False)
        b.measure(stops_tomorrow, "A39", "种植业", start=date(2024, 1, 15), ended_on=date(2024, 11, 21))
        removed = b.monitored(measure=False, identified_on=date(2023, 1, 10))
        b.measure(removed, "A39", "种植业", start=date(2023, 1, 15), end=date(2023, 12, 31))
        b.set(removed, monitoring_status="removed", a53_removal_way="01", a54_removed_on=date(2024, 1, 20))
        assert of(run(b), "MEASURE_MISSING") == []

    def test_DEVELOPMENTAL_MISSING_monitored_with_a_member_who_can_work(self, b):
        dibao = b.monitored(measure=False)
        b.measure(dibao, "A48", "低保")
        training = b.monitored(measure=False)
        b.measure(training, "A40", "技能培训")
        consumption = b.monitored(measure=False)
        b.measure(consumption, "A39", "消费帮扶")
        ended = b.monitored(measure=False)
        b.measure(ended, "A39", "种植业", end=date(2024, 11, 19))
        # our own finding (rule 5_11_032 for the household with 综合保障 only), and 5_12_007_200's where it also fits
        found = {}
        for f in of(run(b), "DEVELOPMENTAL_MISSING"):
            found.setdefault(f.household_no, {})[f.rule] = f
        assert set(found) == {b.no(h) for h in (dibao, training, consumption, ended)}
        ours = next(iter(found[b.no(dibao)].values()))
        assert "开发式" in ours.message and ours.member_id_number is None
        assert set(found[b.no(dibao)]) == {"5_11_032", "5_12_007_200"}  # 综合保障 only; no 产业/就业/金融/公益岗位
        assert set(found[b.no(training)]) == {None}  # 技能培训 is an A40 entry: the national 5_12_007_200 accepts it

    def test_DEVELOPMENTAL_MISSING_not_when_developmental_or_not_required(self, b):
        training = b.monitored(measure=False)
        b.measure(training, "A40", "技能培训", raises_working_ability=True)
        overridden = b.monitored(measure=False)
        b.measure(overridden, "A48", "其他", developmental_override=True, developmental_note="入股合作社并参与劳动")
        post = b.monitored(measure=False)
        b.measure(post, "A42", "保洁员")
        nobody_can_work = b.monitored(b.couple("05", "04"), measure=False)
        b.measure(nobody_can_work, "A48", "低保")
        weak = b.monitored(b.couple("03", "03"), measure=False)
        b.measure(weak, "A48", "低保")
        removed = b.monitored(measure=False, identified_on=date(2023, 1, 10))
        b.set(removed, monitoring_status="removed", a53_removal_way="01", a54_removed_on=date(2024, 1, 20))
        assert of(run(b), "DEVELOPMENTAL_MISSING") == []

    def test_PLAN_OVERDUE_more_than_10_days_after_identification(self, b):
        late = b.monitored(measure=False, identified_on=date(2024, 11, 9))
        on_time = b.monitored(measure=False, identified_on=date(2024, 11, 10))  # day 10 exactly
        planned = b.monitored(measure=False, identified_on=date(2024, 11, 1))
        b.measure(planned, "A39", "种植业", start=date(2024, 11, 5))
        identifying = b.household(monitoring_status="identifying", identified_on=date(2024, 11, 1))
        found = of(run(b), "PLAN_OVERDUE")
        assert [f.household_no for f in found] == [b.no(late)]
        assert "2024-11-09 识别" in found[0].message and "应在 2024-11-19 前制定" in found[0].message
        assert on_time and identifying

    def test_NO_MEASURE_AFTER_MONTH_one_calendar_month(self, b):
        month = b.monitored(measure=False, identified_on=date(2024, 10, 20))
        day_short = b.monitored(measure=False, identified_on=date(2024, 10, 21))
        green = b.monitored(measure=False, identified_on=date(2024, 9, 1), monitoring_status="green")
        findings = run(b)
        found = {f.household_no: f for f in of(findings, "NO_MEASURE_AFTER_MONTH")}
        assert set(found) == {b.no(month), b.no(green)}
        assert "2024-10-20 识别，已满一个月仍未落实帮扶措施" in found[b.no(month)].message
        # the younger one is only overdue for its plan; for the older the month finding replaces that
        assert [f.household_no for f in of(findings, "PLAN_OVERDUE")] == [b.no(day_short)]

    def test_NO_MEASURE_AFTER_MONTH_at_month_end(self, b):
        hid = b.monitored(measure=False, identified_on=date(2024, 10, 31))
        assert of(run(b, as_of=date(2024, 11, 29)), "NO_MEASURE_AFTER_MONTH") == []
        assert [f.household_no for f in of(run(b, as_of=date(2024, 11, 30)), "NO_MEASURE_AFTER_MONTH")] == [b.no(hid)]

    def test_NO_MEASURE_AFTER_MONTH_not_with_a_measure(self, b):
        hid = b.monitored(measure=False, identified_on=date(2024, 1, 10))
        b.measure(hid, "A48", "临时救助", start=date(2024, 1, 12), end=date(2024, 2, 1))
        findings = run(b)
        assert of(findings, "NO_MEASURE_AFTER_MONTH") == [] and of(findings, "PLAN_OVERDUE") == []

    def test_PUBLIC_POST_AGE_under_16_or_over_70_on_the_check_date(self, b):
        people = {"十六": date(2008, 11, 20), "十五": date(2008, 11, 21), "七十": date(1953, 11, 21),
                  "七十一": date(1953, 11, 20), "已结束": date(1950, 1, 1), "非岗位": date(2010, 1, 1)}
        hid = b.household([*b.couple(), *(b.person(n, d, "1", "28", school="07") for n, d in people.items())])
        ms = b.members(hid)
        for name in people:
            if name == "非岗位":
                b.measure(hid, "A40", "劳务输出", member_id=ms[name].id)
            else:
                b.measure(hid, "A42", "保洁员", member_id=ms[name].id,
                          end=date(2024, 11, 19) if name == "已结束" else None)
        found = {f.member_id_number: f for f in of(run(b), "PUBLIC_POST_AGE")}
        assert set(found) == {ms["十五"].id_number, ms["七十一"].id_number}
        young = found[ms["十五"].id_number]
        assert young.household_no == b.no(hid)
        assert "公益岗位（保洁员）人员“十五”15 周岁，不在 16–70 周岁之间" in young.message
        assert "71 周岁" in found[ms["七十一"].id_number].message


# ---------------------------------------------------------------------------- procedures

class TestProcedures:
    def test_STEP_OVERDUE_open_step_past_its_due_date(self, b):
        hid = b.household(monitoring_status="identifying")
        b.case(hid, [("线索登记", date(2024, 11, 1), date(2024, 11, 1)), ("入户核实", date(2024, 11, 19), None)])
        [f] = of(run(b), "STEP_OVERDUE")
        assert f.household_no == b.no(hid) and f.member_id_number is None
        assert "流程步骤“监测对象认定：入户核实”应于 2024-11-19 前完成，已逾期" in f.message

    def test_STEP_OVERDUE_not_on_the_due_day_done_undated_or_closed(self, b):
        hid = b.household(monitoring_status="identifying")
        b.case(hid, [("入户核实", date(2024, 11, 20), None)])
        undated = b.household(monitoring_status="identifying")  # one pending step per case (uq_case_step_pending)
        b.case(undated, [("入户核实", date(2024, 11, 1), date(2024, 11, 2)), ("县级信息比对", None, None)])
        other = b.household()
        b.case(other, [("入户核实", date(2024, 11, 1), date(2024, 11, 5))])
        closed = b.household()
        b.case(closed, [("入户核实", date(2024, 11, 1), None)], closed_on=date(2024, 11, 3))
        assert of(run(b), "STEP_OVERDUE") == []

    def test_WHOLE_NO_LABOR_REMOVED_flag_or_derived(self, b):
        removed = dict(monitoring_status="removed", identified_on=date(2022, 1, 10), a53_removal_way="02",
                       a54_removed_on=date(2024, 3, 1))
        flagged = b.household(whole_no_labor_guarantee=True, **removed)
        tekun = b.household([b.person("孤老", date(1940, 1, 1), "1", "01", labor="05", a21_tekun="01")], **removed)
        full_dibao = b.household(b.couple("05", "04"), dibao_tier="01", **removed)
        b.update_member(full_dibao, "张三", a20_dibao="01")
        found = {f.household_no: f for f in of(run(b), "WHOLE_NO_LABOR_REMOVED")}
        assert set(found) == {b.no(h) for h in (flagged, tekun, full_dibao)}
        assert "整户无劳动能力兜底保障户" in found[b.no(flagged)].message
        assert "风险消除" in found[b.no(flagged)].message

    def test_WHOLE_NO_LABOR_REMOVED_not_for_lower_dibao_tier_or_unremoved(self, b):
        removed = dict(monitoring_status="removed", identified_on=date(2022, 1, 10), a53_removal_way="02",
                       a54_removed_on=date(2024, 3, 1))
        second_tier = b.household(b.couple("05", "04"), dibao_tier="03", **removed)
        b.update_member(second_tier, "张三", a20_dibao="01")
        b.household(b.couple("05", "02"), **removed)
        b.monitored(whole_no_labor_guarantee=True)
        assert of(run(b), "WHOLE_NO_LABOR_REMOVED") == []

    def test_REMOVED_TOO_SOON_assisted_removal_within_6_months(self, b):
        soon = b.household(monitoring_status="removed", identified_on=date(2024, 1, 15), a53_removal_way="01",
                           a54_removed_on=date(2024, 7, 14))
        [f] = of(run(b), "REMOVED_TOO_SOON")
        assert f.household_no == b.no(soon) and f.member_id_number is None
        assert "2024-01-15 识别，帮扶消除须在识别满 6 个月后（2024-07-15 起），2024-07-14 不足 6 个月" in f.message

    def test_REMOVED_TOO_SOON_not_at_6_months_nor_for_natural_removal(self, b):
        b.household(monitoring_status="removed", identified_on=date(2024, 1, 15), a53_removal_way="01",
                    a54_removed_on=date(2024, 7, 15))
        b.household(monitoring_status="removed", identified_on=date(2024, 1, 15), a53_removal_way="02",
                    a54_removed_on=date(2024, 3, 1))
        assert of(run(b), "REMOVED_TOO_SOON") == []

    def test_REMOVED_TOO_SOON_calendar_months_at_month_end(self, b):
        short = b.household(monitoring_status="removed", identified_on=date(2023, 8, 31), a53_removal_way="01",
                            a54_removed_on=date(2024, 2, 28))
        b.household(monitoring_status="removed", identified_on=date(2023, 8, 31), a53_removal_way="01",
                    a54_removed_on=date(2024, 2, 29))
        assert [f.household_no for f in of(run(b), "REMOVED_TOO_SOON")] == [b.no(short)]


# ---------------------------------------------------------------------------- command line

def cli_check(db, *args):
    return cli("check", "--db", db.url, "--user", "admin", *args,
               env={**os.environ, "FANPIN_PASSWORD": ADMIN_PASSWORD})


def test_cli_check_prints_the_findings_as_a_json_array(db, b):
    sex = b.household()
    number = b.person("王芳", date(1995, 1, 1), "2", "04").id_number
    b.raw_member(sex, "王芳", number, "04", sex="1")
    late = b.monitored(measure=False, identified_on=date(2024, 11, 9))
    b.s.commit()
    expected = [f.to_json() for f in run(b)]

    p = cli_check(db, "--year", "2024", "--as-of", "2024-11-20")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert isinstance(data, list) and data == expected
    assert all(set(d) == {"code", "rule", "household_no", "member_id_number", "message"} for d in data)
    by_code = {d["code"]: d for d in data}
    assert by_code["SEX_MISMATCH"]["member_id_number"] == number
    assert by_code["SEX_MISMATCH"]["household_no"] == b.no(sex)
    assert by_code["PLAN_OVERDUE"]["member_id_number"] is None
    assert by_code["PLAN_OVERDUE"]["household_no"] == b.no(late)
    assert "性别" in p.stdout  # Chinese as text, not \u escapes

    p = cli_check(db, "--year", "2024", "--as-of", "2024-11-19")
    assert p.returncode == 0, p.stderr
    assert "PLAN_OVERDUE" not in {d["code"] for d in json.loads(p.stdout)}


def test_cli_check_year_without_settings_is_an_error_in_chinese(db, b):
    b.household()
    b.s.commit()
    p = cli_check(db, "--year", "2030", "--as-of", "2030-11-20")
    assert p.returncode == 1 and p.stdout == ""
    assert "2030 年度未设置监测线" in p.stderr


def test_checks_of_some_households_equal_the_full_run_restricted_to_them(db, township, admin):
    """household_ids only narrows what is reported; an ID shared with a household outside is found."""
    from sqlalchemy import select

    from desktop.models import Household, Member
    from desktop.services import demo
    with db.session(admin) as s:
        demo.generate(s, 300, seed=4, year=2024, as_of=date(2024, 11, 20))
        ids = sorted(s.scalars(select(Household.id)))
        inside, outside = ids[:100], ids[100:]
        # Plant an ID of an outside household into an inside one.
        donor = s.scalars(select(Member).where(Member.household_id == outside[0])).first()
        taker = s.scalars(select(Member).where(Member.household_id == inside[0])).first()
        taker.id_number = donor.id_number
        s.commit()
        full = checks.run_checks(s, 2024, date(2024, 11, 20))
        nos = set(s.scalars(select(Household.household_no).where(Household.id.in_(inside))))
        part = checks.run_checks(s, 2024, date(2024, 11, 20), household_ids=inside)
    assert part == [f for f in full if f.household_no in nos]
    assert any(f.code == "ID_DUPLICATE" for f in part)
