"""Every rule of SPEC §6.1 and §6.2, by name, with its boundaries ("below" is strictly less)."""

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.services import rules
from desktop.services.dates import add_months, months_between
from desktop.services.income import IncomeResult, Totals
from desktop.services.rules import MemberFacts

LINE = D("7100")


def suggest(a34, a38, *, g=(), k=(), a4=False, avg=None):
    result = IncomeResult(1, Totals(), D(a34), D(a34), D(a38), D(a38))
    return rules.suggest_category(year=2023, result=result, line=LINE, rural_average=None if avg is None
                                  else D(avg), poverty_alleviated=a4, guarantees=list(g), risk_types=list(k))


class TestRule1BelowLineWithProblemOrRisk:
    def test_poverty_alleviated_household_is_tuopin_buwending(self):
        s = suggest("5200", "5200", k=["01"], a4=True)
        assert s.category_name == "脱贫不稳定户" and not s.needs_review
        assert "人均收入参考值 5,200.00 元低于 2023 年监测线 7,100 元" in s.reasons
        assert any("因病" in r for r in s.reasons)

    def test_general_household_is_bianyuan_yizhipin(self):
        s = suggest("5200", "5200", g=["住房安全"])
        assert s.category_name == "边缘易致贫户"
        assert any("住房安全" in r for r in s.reasons)

    def test_a34_at_the_line_makes_it_tufa_yanzhong_kunnan(self):
        s = suggest("7100", "6000", k=["05"], a4=True)
        assert s.category_name == "突发严重困难户"
        assert any("7,100.00 元不低于监测线" in r for r in s.reasons)

    def test_a34_one_fen_below_the_line_is_first_two_categories(self):
        assert suggest("7099.99", "6000", k=["05"]).category_name == "边缘易致贫户"


class TestRule2BelowLineNoProblemNoRisk:
    def test_no_category_but_needs_review(self):
        s = suggest("5000", "5000")
        assert s.category is None and s.needs_review
        assert any("不是唯一条件" in r for r in s.reasons)


class TestRule3AtOrAboveLineWithProblem:
    def test_a38_exactly_at_the_line_is_not_below(self):
        s = suggest("7100", "7100", g=["饮水安全"])
        assert s.category_name == "突发严重困难户"
        assert "人均收入参考值 7,100.00 元不低于 2023 年监测线 7,100 元" in s.reasons
        assert any("未设置当地农村人均纯收入" in r for r in s.reasons)

    def test_markedly_above_rural_average_is_no_category_keep_following(self):
        s = suggest("20000", "20000.01", g=["住房安全"], avg="20000")
        assert s.category is None and s.needs_review
        assert any("持续跟踪" in r and "20,000" in r for r in s.reasons)

    def test_at_rural_average_is_tufa(self):
        s = suggest("20000", "20000", g=["住房安全"], avg="20000")
        assert s.category_name == "突发严重困难户"


class TestRule4AtOrAboveLineNoProblem:
    def test_risk_needs_review(self):
        s = suggest("9000", "9000", k=["07"])
        assert s.category is None and s.needs_review
        assert any("因务工就业不稳" in r for r in s.reasons)

    def test_nothing_is_no_category_no_review(self):
        s = suggest("9000", "9000")
        assert s.category is None and not s.needs_review


def m(labor="02", a17=True, a20="00", a21="00"):
    return MemberFacts(labor, a17, a20, a21)


class TestFlags:
    def test_a26_derived_from_any_member_without_medical_insurance(self):
        assert rules.derived_a26([m(), m(a17=False)])
        assert not rules.derived_a26([m(), m(a17=None)])
        assert rules.guarantee_problems(None, True, False, True) == ["义务教育", "基本医疗保险"]

    def test_a26_stated_is_blank_when_an_a17_is_unknown_and_nobody_lacks_insurance(self):
        assert rules.a26_stated([m(), m(a17=False)]) is True
        assert rules.a26_stated([m(a17=None), m(a17=False)]) is True
        assert rules.a26_stated([m(), m(a17=None)]) is None
        assert rules.a26_stated([]) is None
        assert rules.a26_stated([m(), m()]) is False

    def test_medical_flags_fill_in_only_what_a17_implies(self):
        assert rules.medical_flags(False, None, None) == (False, False)
        assert rules.medical_flags(False, False, None) == (False, False)
        assert rules.medical_flags(True, False, None) == (False, True)
        assert rules.medical_flags(True, None, False) == (True, False)
        assert rules.medical_flags(True, None, None) == (None, None)  # in one of them, not known which
        assert rules.medical_flags(None, False, None) == (False, None)
        assert rules.medical_flags(True, True, None) == (True, None)

    def test_whole_household_cannot_work(self):
        assert rules.whole_household_cannot_work([m("04"), m("05")])
        assert not rules.whole_household_cannot_work([m("04"), m("03")])  # 弱劳动力 is not "cannot work"
        assert not rules.whole_household_cannot_work([])

    def test_whole_no_labor_candidate_needs_tekun_or_top_dibao(self):
        nobody = [m("04"), m("05")]
        assert not rules.whole_no_labor_candidate(nobody, None)
        assert rules.whole_no_labor_candidate([m("04", a21="01"), m("05")], None)
        assert rules.whole_no_labor_candidate([m("04", a20="01"), m("05")], "01")  # 全额
        assert rules.whole_no_labor_candidate([m("04", a20="01"), m("05")], "02")  # 最高档
        assert not rules.whole_no_labor_candidate([m("04", a20="01"), m("05")], "03")
        assert not rules.whole_no_labor_candidate([m("04", a21="01"), m("02")], None)

    def test_developmental_required_for_monitored_with_a_member_who_can_work(self):
        assert rules.developmental_required(True, [m("04"), m("01")])
        assert not rules.developmental_required(True, [m("04"), m("03")])
        assert not rules.developmental_required(False, [m("01")])

    @pytest.mark.parametrize("category,item,override,raises,expected", [
        ("A39", "种植业", None, False, True), ("A39", "消费帮扶", None, False, False),
        ("A40", "劳务输出", None, False, True), ("A40", "外出务工补贴", None, False, False),
        ("A40", "技能培训", None, False, False), ("A40", "技能培训", None, True, True),
        ("A41", "小额信贷", None, False, True), ("A42", "保洁员", None, False, True),
        ("A48", "低保", None, False, False), ("A48", "低保", True, False, True), ("A39", "种植业", False, False, False),
    ])
    def test_developmental_measure_defaults_and_override(self, category, item, override, raises, expected):
        assert rules.is_developmental(category, item, override, raises) is expected

    @pytest.mark.parametrize("identified,as_of,color", [
        (date(2024, 1, 15), date(2024, 7, 14), "蓝"), (date(2024, 1, 15), date(2024, 7, 15), "黄"),
        (date(2024, 1, 15), date(2025, 1, 14), "黄"), (date(2024, 1, 15), date(2025, 1, 15), "红"),
        (date(2023, 8, 31), date(2024, 2, 29), "黄"),  # calendar months clamp to the month's end
        (date(2023, 8, 31), date(2024, 2, 28), "蓝"),
    ])
    def test_three_colour_warning_by_calendar_months(self, identified, as_of, color):
        assert rules.warning_color("monitoring", identified, as_of) == color

    def test_no_colour_when_removed_or_not_monitored(self):
        assert rules.warning_color("removed", date(2020, 1, 1), date(2024, 1, 1)) is None
        assert rules.warning_color("none", date(2020, 1, 1), date(2024, 1, 1)) is None
        assert rules.warning_color("green", date(2020, 1, 1), date(2024, 1, 1)) == "红"

    def test_village_ratio_above_two_percent_flags(self):
        assert not rules.village_ratio(1, "东村", 20, 1000).flagged  # exactly 2 %
        r = rules.village_ratio(1, "东村", 21, 1000)
        assert r.flagged and r.ratio == D("0.021")
        assert rules.village_ratio(1, "东村", 5, None).ratio is None


def test_calendar_months():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 12, 15), 2) == date(2024, 2, 15)
    assert months_between(date(2024, 1, 31), date(2024, 2, 29)) == 1
    assert months_between(date(2024, 3, 1), date(2024, 2, 1)) == 0


def test_audit_times_read_in_beijing_time_whatever_the_machine_zone(monkeypatch):
    import time
    from datetime import datetime

    from desktop.services.dates import beijing_text
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert beijing_text(datetime(2024, 12, 31, 17, 30)) == "2025-01-01 01:30:00"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize(("fen", "expected"), [(0, None), (1, D("0.01")), (9999, D("99.99")), (10000, None)])
def test_small_wage_is_above_0_and_below_100_yuan_on_either_kind_of_result(fen, expected):
    from desktop.services import income
    packed = income.compute_fen((fen, 500000, 0, 0, 0, 0, 0), 2)
    plain = income.compute(Totals(A28=D(fen) / 100, A29=D(5000)), 2)
    assert rules.small_wage(packed) == expected and rules.small_wage(plain) == expected
    assert "totals" not in packed.__dict__  # the other six items were not turned into Decimal for it


@given(fen=st.tuples(*[st.integers(min_value=0, max_value=3_000_000)] * 7), size=st.integers(min_value=1, max_value=9),
       alleviated=st.booleans(), guarantees=st.lists(st.sampled_from(rules.GUARANTEES), unique=True, max_size=2),
       risks=st.lists(st.sampled_from(["01", "05", "09"]), unique=True, max_size=2),
       average=st.sampled_from([None, "7100", "12000.50", "9000.005"]), line=st.sampled_from(["7100", "6999.99"]))
def test_a_result_in_whole_fen_gets_the_same_suggestion(fen, size, alleviated, guarantees, risks, average, line):
    """assess suggests from income.compute_fen's results (compared with the line in whole fen), the calculator from
    compute()'s: the same category, review flag and reasons, word for word."""
    from desktop.services import income
    plain = income.compute(Totals(*(income.yuan_of_fen(f) for f in fen)), size)
    args = dict(year=2024, line=D(line), rural_average=None if average is None else D(average),
                poverty_alleviated=alleviated, guarantees=guarantees, risk_types=risks)
    assert (rules.suggest_category(result=income.compute_fen(fen, size), **args)
            == rules.suggest_category(result=plain, **args))
