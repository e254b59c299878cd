"""The key-check thresholds of a year (SPEC §6.3, §5): settings decides what a valid threshold is, for the window
(validate_year, parse_threshold) and for any caller of set_year alike."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from desktop.services import settings
from desktop.services.settings import SettingsError, YearForm

YEAR = 2024


def form(**kw) -> YearForm:
    values = dict(year=YEAR, monitoring_line="7100", rural_average="", county_income="",
                  period_start=date(2023, 10, 1), period_end=date(2024, 9, 30), status_time_point=date(2024, 9, 30),
                  thresholds={k: settings.threshold_text(k, v) for k, v in settings.DEFAULT_THRESHOLDS.items()})
    values.update(kw)
    return YearForm(**values)


def test_defaults_as_typed_are_valid_and_read_back_as_stored():
    assert settings.validate_year(form(), None) == {}
    typed = form().thresholds
    assert typed == {"income_drop_ratio": "0", "quarter_drop_ratio": "20", "unstable_work_months": "6",
                     "wage_share": "70", "rigid_expense_ratio": "50", "new_identified_income_bound": "30000",
                     "national_low_income": "4000", "policy_large_self_pay": ""}
    assert {k: settings.parse_threshold(k, v) for k, v in typed.items()} == {
        "income_drop_ratio": "0", "quarter_drop_ratio": "0.2", "unstable_work_months": 6, "wage_share": "0.7",
        "rigid_expense_ratio": "0.5", "new_identified_income_bound": "30000.00", "national_low_income": "4000.00",
        "policy_large_self_pay": None}


@pytest.mark.parametrize("key, typed, problem", [
    ("wage_share", "0", "“工资性收入占各项收入的比例高于”应为大于 0、小于 100 的百分数，现为“0”"),
    ("wage_share", "100", "应为大于 0、小于 100 的百分数"),
    ("income_drop_ratio", "十", "应为 0 到 100 之间（不含 100）的百分数，现为“十”"),  # any fall counts at 0
    ("income_drop_ratio", "100", "“人均纯收入较上年下降超过”应为 0 到 100 之间（不含 100）的百分数"),
    ("policy_large_self_pay", "-5", "大病个人自付费用“较大”：不低于必须大于 0"),
    ("unstable_work_months", "13", "“务工时间少于”应为 1–12 之间的整数月数，现为“13”"),
    ("unstable_work_months", "6.5", "应为 1–12 之间的整数月数"),
    ("new_identified_income_bound", "-1", "新识别监测对象人均纯收入高于必须大于 0"),
    ("rigid_expense_ratio", " ", "请填写“合规自付支出超过家庭纯收入的”"),
])
def test_a_bad_threshold_is_named_in_chinese_under_its_own_key(key, typed, problem):
    problems = settings.validate_year(form(thresholds={**form().thresholds, key: typed}), None)
    assert list(problems) == [key] and problem in problems[key]


def test_every_field_has_its_own_problem():
    stored = settings.YearSettingsData(YEAR, Decimal("7100.00"), Decimal("15000.00"), None, date(2023, 10, 1),
                                       date(2024, 9, 30), date(2024, 9, 30))  # 当地农村人均纯收入 was filled
    problems = settings.validate_year(form(monitoring_line=" ", rural_average="", county_income="两万",
                                           period_end=date(2023, 9, 30),
                                           thresholds={**form().thresholds, "wage_share": "120%"}), stored)
    assert problems == {
        "monitoring_line": "请填写监测线（元/人·年）",
        "rural_average": "当地农村人均纯收入已填写过，不能清空；如有误请改为正确的数值",
        "county_income": "县农村居民人均可支配收入“两万”不是有效的金额",
        "period_end": "统计期起应早于统计期止",
        "wage_share": "“工资性收入占各项收入的比例高于”应为大于 0、小于 100 的百分数，现为“120”"}


def test_a_percentage_may_be_typed_with_a_percent_sign():
    assert settings.parse_threshold("income_drop_ratio", "15%") == "0.15"
    assert settings.parse_threshold("income_drop_ratio", "12.5％") == "0.125"


def test_only_changed_thresholds_are_saved():
    typed = {**form().thresholds, "income_drop_ratio": "15", "wage_share": "70.0"}
    assert settings.changed_thresholds(typed, settings.DEFAULT_THRESHOLDS) == {"income_drop_ratio": "0.15"}
    assert settings.changed_thresholds(form().thresholds, settings.DEFAULT_THRESHOLDS) is None


def test_set_year_refuses_bad_thresholds_and_changes_nothing(db, township, admin):
    with db.session(admin) as s:
        with pytest.raises(SettingsError) as caught:
            settings.set_year(s, YEAR, monitoring_line="7300", thresholds={
                "income_drop_ratio": "1", "unstable_work_months": 13, "no_such_threshold": "1",
                "new_identified_income_bound": "很多"})
        message = str(caught.value)
        assert "“人均纯收入较上年下降超过”应为 0 到 1 之间（不含 1）的比例，现为“1”" in message
        assert "“务工时间少于”应为 1–12 之间的整数月数，现为“13”" in message
        assert "没有名为“no_such_threshold”的阈值" in message
        assert "新识别监测对象人均纯收入高于“很多”不是有效的金额" in message
        stored = settings.get_year(s, YEAR)
        assert stored.monitoring_line == Decimal("7100.00")  # the line given beside them was not changed either
        assert stored.thresholds == settings.DEFAULT_THRESHOLDS


def test_set_year_stores_thresholds_in_one_form(db, township, admin):
    with db.session(admin) as s:
        got = settings.set_year(s, YEAR, thresholds={"income_drop_ratio": "0.150", "unstable_work_months": "8",
                                                     "new_identified_income_bound": "25,000"}).thresholds
    assert got["income_drop_ratio"] == "0.15" and got["unstable_work_months"] == 8
    assert got["new_identified_income_bound"] == "25000.00" and got["wage_share"] == "0.70"
