"""Headers and cell values of village workbooks (SPEC §9), one converter at a time, without a database."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from desktop.services.exchange.layout import HeaderMatcher, match_sheet, sheet
from desktop.services.exchange.values import (
    Bad,
    bool_converter,
    code_converter,
    codes_converter,
    date_converter,
    id_converter,
    income_item_converter,
    key_converter,
    measure_category_converter,
    money_converter,
    months_converter,
)
from desktop.services.idnumber import make_id


@pytest.mark.parametrize("sheet_key, header, key", [
    ("household", "户编号", "household_no"), ("household", "户号", "household_no"),
    ("household", "户　编　号", "household_no"), ("household", "户编号*", "household_no"),
    ("household", "A28 工资性收入", "A28"), ("household", "A28工资性收入", "A28"),
    ("household", "A28 工资性收入（元）", "A28"), ("household", "工资性收入(A28)", "A28"),
    ("household", "ａ２８", "A28"),
    ("household", "A27a 因自然灾害", "a27a_disaster_types"), ("household", "A27 风险类型", "a27_risk_types"),
    ("household", "A33 家庭纯收入（系统生成）（元）", "A33"), ("household", "乡（镇、街道）", "township"),
    ("household", "是否住房出现安全问题", "a23_housing_unsafe"),
    ("household", "A4 脱贫户（身份证比对生成）", "a4_poverty_alleviated"),
    ("household", "纳入监测对象的人均收入参考范围", "A38"), ("household", "村（社区）", "village"),
    ("member", "身份证号", "id_number"), ("member", "证件号码", "id_number"), ("member", "居民身份证号码", "id_number"),
    ("member", "身份证号码", "id_number"), ("member", "A7 居民身份证（残疾人证）号码", "id_number"),
    ("member", "务工时间（月）", "work_months"), ("member", "务工时间(月)", "work_months"),
    ("member", "A16 务工时间", "work_months"),
    ("member", "A17 是否参加城乡居民（职工）基本医疗保险", "a17_medical"), ("member", "与户主的关系", "relation"),
    ("measure", "帮扶措施类别", "category"), ("income_line", "备注", "note")])
def test_headers_match_with_aliases_codes_width_and_spaces(sheet_key, header, key):
    col = HeaderMatcher(sheet(sheet_key)).match(header)
    assert col is not None and col.key == key


@pytest.mark.parametrize("header", ["", None, "序号", "备注说明", "户主姓名电话"])
def test_unknown_headers_do_not_match(header):
    assert HeaderMatcher(sheet("household")).match(header) is None


def test_sheet_names_match_with_aliases():
    found = match_sheet(["户 信 息", "家庭成员信息", "Sheet3", "收入明细表"])
    assert found == {"household": "户 信 息", "member": "家庭成员信息", "income_line": "收入明细表"}


@pytest.mark.parametrize("raw, expected", [
    ("是", True), ("否", False), ("√", True), ("×", False), ("1", True), ("0", False), (1.0, True), (0.0, False),
    ("Y", True), ("N", False), ("yes", True), ("Ｎ", False), (True, True), (False, False)])
def test_yes_no(raw, expected):
    assert bool_converter(raw) is expected


@pytest.mark.parametrize("raw", ["可能", 2, "是否"])
def test_yes_no_refuses_other_words(raw):
    with pytest.raises(Bad, match="应填“是”或“否”"):
        bool_converter(raw)


@pytest.mark.parametrize("raw, expected", [
    ("12,000元", "12000.00"), ("１２３４", "1234.00"), ("１２，０００．５０元", "12000.50"), (800.0, "800.00"),
    (1234.565, "1234.57"), ("¥ 3 000", "3000.00"), (0, "0.00"), ("RMB 5", "5.00")])
def test_money(raw, expected):
    assert money_converter(raw) == Decimal(expected)


@pytest.mark.parametrize("raw, reason", [("-1", "不能为负数"), (-0.5, "不能为负数"), ("一万", "不是有效的数字"),
                                         ("1e12", "过大"), (float("nan"), "不是有效的数字")])
def test_money_errors(raw, reason):
    with pytest.raises(Bad, match=reason):
        money_converter(raw)


@pytest.mark.parametrize("raw, expected", [
    ("2023-05-01", date(2023, 5, 1)), ("2023/5/1", date(2023, 5, 1)), ("2023.5.1", date(2023, 5, 1)),
    ("20230501", date(2023, 5, 1)), ("202305", date(2023, 5, 1)), (20230501.0, date(2023, 5, 1)),
    (202305.0, date(2023, 5, 1)), ("2023-5", date(2023, 5, 1)), ("2023年5月1日", date(2023, 5, 1)),
    (datetime(2023, 5, 1, 14, 30), date(2023, 5, 1)), (45047.0, date(2023, 5, 1)),
    ("２０２３．５．１", date(2023, 5, 1))])
def test_dates(raw, expected):
    assert date_converter(raw) == expected


@pytest.mark.parametrize("raw, reason", [("2023-13-01", "不存在"), ("1850-01-01", "年份不合理"),
                                         ("五月", "不是有效的日期"), (12.5, "不是有效的日期"), ("20231301", "不存在")])
def test_date_errors(raw, reason):
    with pytest.raises(Bad, match=reason):
        date_converter(raw)


def test_id_numbers():
    number = make_id("370305", date(1980, 1, 1), 5, "1")
    assert id_converter(number) == number
    assert id_converter(" " + number.lower() + " ") == number
    assert id_converter(number + "42") == number + "42"  # 残疾人证
    with pytest.raises(Bad, match="校验位错误"):
        id_converter(number[:17] + ("0" if number[17] != "0" else "1"))
    with pytest.raises(Bad, match="被存成了数字"):
        id_converter(float(number[:17] + "0"))


def test_id_numbers_on_a_day_that_does_not_exist_are_refused_every_time():
    """The days of birth already seen are remembered (a county repeats them): an impossible one stays refused."""
    from desktop.services.idnumber import check_digit
    bad = "37030519800230001"  # 30 February
    good = "37030519800228001"
    for _ in range(2):
        with pytest.raises(Bad):
            id_converter(bad + check_digit(bad))
        assert id_converter(good + check_digit(good)) == good + check_digit(good)


def test_household_numbers_stay_text():
    convert = key_converter(32, "户编号")
    assert convert("3703050010010001") == "3703050010010001"
    assert convert("３７０３ ０５") == "370305"
    assert convert(3703050010.0) == "3703050010"
    with pytest.raises(Bad, match="15 位"):
        convert(3703050010010001.0)
    with pytest.raises(Bad, match="过长"):
        convert("1" * 40)


def test_code_lists_by_name_alias_and_width():
    relation = code_converter("relation", "与户主关系")
    assert relation("户主") == "01" and relation("妻子") == "02" and relation(" 之子 ") == "03"
    education = code_converter("education", "文化程度")
    assert education("大专(高职高专)") == education("大专（高职高专）") == education("大专") == "06"
    status = code_converter("monitoring_status", "监测状态")
    assert status("监测中(未消除风险)") == status("监测中") == "monitoring" and status("未纳入") == "none"
    with pytest.raises(Bad, match="不在与户主关系的代码表中"):
        relation("表哥")
    risks = codes_converter("risk_type", "风险类型")
    assert risks("因病、因学") == risks("因病,因学") == risks("因病；因学") == ["01", "02"]
    assert measure_category_converter("A39") == measure_category_converter("产业帮扶") == "A39"
    assert income_item_converter("A28 工资性收入") == income_item_converter("工资性收入") == "A28"


def test_work_months():
    assert months_converter("10个月") == 10 and months_converter(6.0) == 6 and months_converter("１２") == 12
    with pytest.raises(Bad, match="整数"):
        months_converter(6.5)
    with pytest.raises(Bad, match="负数"):
        months_converter(-1)
