"""Import of the exchange workbook (SPEC §9): messy village workbooks that import cleanly, every
kind of error collected with sheet/row/column/reason, nothing written when any error is found,
updates of existing households with audit entries, and the export → import round trip."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select

from desktop.models import AuditEntry, Household, IncomeRecord, Measure, Member, MemberEvent, Region
from desktop.services import exchange, income, register
from desktop.services.exchange import ExchangeError, ImportCancelled
from desktop.services.idnumber import make_id

from ..conftest import TODAY, YEAR, family
from .test_exchange_book import db_state, family_rows, hh, person, sheet_values, simple_book, table, write_book


@contextmanager
def trial_import(town, path, year=YEAR):
    """Preview and apply in a transaction that is rolled back afterwards: (session, preview)."""
    with town.db.session(bootstrap="tester") as s:
        pv = exchange.preview(s, path, year)
        assert pv.errors == [], [e.text() for e in pv.errors[:5]]
        exchange.apply(s, pv, as_of=TODAY, take_backup=False, check=False)
        try:
            yield s, pv
        finally:
            s.rollback()


def _member(s, name) -> Member:
    return s.scalars(select(Member).where(Member.name == name)).one()


def households_of(s) -> dict[str, Household]:
    return {h.household_no: h for h in s.scalars(select(Household))}


def run_import(ctx, path, year=YEAR, **kw):
    """Preview then apply in one transaction, as the CLI does; returns (preview, result or None)."""
    def work(s):
        pv = exchange.preview(s, path, year)
        if not pv.ok:
            return pv, None
        return pv, exchange.apply(s, pv, as_of=TODAY, take_backup=kw.pop("take_backup", False), **kw)
    return ctx.run(work)


def preview(ctx, path, year=YEAR):
    return ctx.read(exchange.preview, path, year)


def member_by_name(ctx, name):
    return ctx.read(lambda s: s.scalars(select(Member).where(Member.name == name)).one())


def household(ctx, no):
    return ctx.read(lambda s: s.scalars(select(Household).where(Household.household_no == no)).one())


# ---------------------------------------------------------------- a village's own workbook

def messy_book(path):
    """The form's own column names (code prefixes, （元）, 是否…), full-width text, a title above the
    header, and every messy value SPEC §9 lists."""
    no = "3703050010010001"
    head = make_id("370305", date(1970, 3, 5), 1, "1")
    households = [
        ["户　编　号", "乡（镇）", "村（社区）", "村民小组", "A3 监测对象类别", "A4 脱贫户（身份证比对生成）",
         "监测状态", "识别监测时间", "A23是否住房出现安全问题", "A24 是否义务教育阶段适龄儿童少年失学辍学",
         "A25 是否饮水出现安全问题",
         "A26 是否有家庭成员未参加城乡居民（职工）基本医疗保险（A17 指标生成）", "A27 风险类型", "A27a 因自然灾害",
         "A28 工资性收入（元）", "A29生产经营性收入", "财产性收入(A30)", "转移性收入", "A32 生产经营性支出（元）",
         "A33 家庭纯收入（系统生成）（元）", "A35 理赔收入", "A36 合规自付支出", "A54 风险消除时间", "备注"],
        [no, "稷下街道", "东村", "一组", "边缘易致贫户", "×", "监测中（未消除风险）", "2023/5/1", "N", "0", "否",
         "是", "因病，因自然灾害", "洪涝灾害", "12,000元", "１２３４", 800, "1,000.50", "0", "99999",
         None, "300元", "202305", "这一列不认识"],
    ]
    members = [
        ["序号", "户号", "A5 姓名", "A6 性别", "A7 居民身份证（残疾人证）号码", "A8 与户主关系", "A9 民族",
         "A11 文化程度", "A12 在校生状况", "A13 健康状况", "A14 劳动技能", "A15 务工区域", "A16 务工时间",
         "A17 是否参加城乡居民（职工）基本医疗保险",
         "A18 是否参加大病保险", "A20 是否享受城乡低保", "A21 是否特困供养", "A22 是否易地扶贫搬迁（同步搬迁）"],
        [1, no, "张三", "男", head.lower() if head.endswith("X") else head, "户主", "汉族", "初中", "非在校生", "健康",
         "普通劳动力", "县外省内务工", "10个月", "√", "Y", "否", "否", "×"],
        [2, no, " 李四 ", "女性", make_id("370305", date(1972, 8, 9), 2, "2"), "妻子", "汉族", "小学", "非在校生",
         "长期慢性病", "弱劳动力或半劳动力", None, None, 1, "N", "农村低保", "未享受", "0"],
        [3, no, "张小堃", "男", make_id("370305", date(2010, 1, 2), 3, "1"), "之子", "汉族", None, "八年级", "健康",
         "无劳动力", None, None, "TRUE", None, None, None, None],
    ]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "户 信 息"
    ws.append(["稷下街道防止返贫监测对象信息表（2024 年）"])
    ws.append([])
    for r in households:
        ws.append(r)
    ws["H4"].value = "2023/5/1"
    ws2 = wb.create_sheet("家庭成员信息")
    ws2.append(["家庭成员"])
    for r in members:
        ws2.append(r)
    ws2["M3"].value = "10个月"
    ws3 = wb.create_sheet("收入明细")
    for r in (["户编号", "收入项", "明细", "金额", "说明"],
              [no, "A28", "务工收入", "10000", "外出务工"], [no, "工资性收入", "村级公益岗收入", 2000, None],
              [no, "A31 转移性收入", "低保金", "1000.50", None]):
        ws3.append(r)
    ws4 = wb.create_sheet("帮扶措施")
    for r in (["户编号", "帮扶措施类别", "措施项目", "开始时间", "结束日期", "金额", "责任单位", "是否开发式"],
              [no, "产业帮扶", "种植业", date(2023, 6, 1), "2024.5.31", "5,000", "县农业农村局", None],
              [no, "A40", "技能培训", "20230701", None, None, "县人社局", "√"]):
        ws4.append(r)
    wb.save(path)
    return no, head


def test_a_village_workbook_with_the_forms_names_and_messy_values_imports_cleanly(town, tmp_path):
    path = tmp_path / "village.xlsx"
    no, head_id = messy_book(path)
    with trial_import(town, path) as (s, pv):
        assert pv.errors == []
        assert (pv.households_new, pv.members_new, pv.measures, pv.income_households) == (1, 3, 2, 1)
        assert any("备注" in n for n in pv.notes)  # unknown column named, then ignored
        assert any("计算列" in n and "家庭纯收入" in n for n in pv.notes)
        h = households_of(s)[no]
        assert h.village_id is not None and h.group_id is not None and h.head_name == "张三" and h.size == 3
        assert h.a3_category == "02" and h.a4_poverty_alleviated is False and h.monitoring_status == "monitoring"
        assert h.identified_on == date(2023, 5, 1) and h.a54_removed_on == date(2023, 5, 1)
        assert (h.a23_housing_unsafe, h.a24_school_dropout, h.a25_water_unsafe) == (False, False, False)
        assert h.a27_risk_types == ["01", "04"] and h.a27a_disaster_types == ["01"]
        zhang, li, kid = _member(s, "张三"), _member(s, "李四"), _member(s, "张小堃")
        assert zhang.id_number == head_id and zhang.relation == "01" and zhang.work_months == 10
        assert zhang.a17_medical is True and zhang.a18_serious_illness is True and zhang.a22_relocated is False
        assert li.sex == "2" and li.relation == "02" and li.a17_medical is True and li.a20_dibao == "01"
        assert li.a22_relocated is False and kid.school == "05" and kid.a17_medical is True
        assert [m.seq for m in (zhang, li, kid)] == [1, 2, 3]
        totals = income.totals_for_year(s, YEAR)[h.id]
        # A28 from its two detail lines (12,000), the other items from the totals of 户信息
        assert (totals.A28, totals.A29, totals.A30, totals.A31, totals.A32, totals.A35, totals.A36) == (
            Decimal("12000.00"), Decimal("1234.00"), Decimal("800.00"), Decimal("1000.50"), Decimal("0.00"),
            Decimal("0.00"), Decimal("300.00"))
        records = income.records(s, h.id, YEAR)
        lines = {(ln.item, ln.line): (ln.amount, ln.note) for ln in records[0].lines}
        assert lines[("A28", "务工收入")] == (Decimal("10000.00"), "外出务工")
        assert lines[("A29", "合计")] == (Decimal("1234.00"), None)  # a total without lines is one line
        measures = s.scalars(select(Measure).order_by(Measure.id)).all()
        got = [(m.category, m.item, m.start_date, m.end_date, m.amount, m.developmental_override) for m in measures]
        assert got == [
            ("A39", "种植业", date(2023, 6, 1), date(2024, 5, 31), Decimal("5000.00"), None),
            ("A40", "技能培训", date(2023, 7, 1), None, None, True)]
        assert pv.villages_to_create == [] and pv.groups_to_create == []


ID_HEADERS = ["证件号码", "身份证号", "居民身份证号码", "身份证号码", "A7 证件号码", "A7证件号码", "证件号码*",
              "居民身份证（残疾人证）号码"]
NO_HEADERS = ["户编号", "户号", "户 编 号", "户编号（必填）", "户编号："]


def test_every_alias_of_the_id_number_and_household_number_columns(town, tmp_path):
    for i, (id_header, no_header) in enumerate(zip(ID_HEADERS, NO_HEADERS * 2, strict=False)):
        hs, ms = table([hh("H001")]), table(family_rows("H001", 1))
        ms[0] = [id_header if h == "证件号码" else h for h in ms[0]]
        hs[0][0] = ms[0][0] = no_header
        pv = town.read(exchange.preview, write_book(tmp_path / f"a{i}.xlsx", {"户信息": hs, "家庭成员": ms}), YEAR)
        assert pv.ok and pv.members_new == 2, (id_header, no_header, pv.errors)


def _one_value_per_household(tmp_path, column, values):
    """A workbook with one household per value, the value in `column`."""
    hs = [hh(f"V{i:02d}", **{column: v}) for i, v in enumerate(values)]
    ms = [m for i in range(len(values)) for m in family_rows(f"V{i:02d}", 10 + 2 * i)]
    return write_book(tmp_path / f"{len(values)}.xlsx", {"户信息": table(hs), "家庭成员": table(ms)})


YES_NO = [("是", True), ("否", False), ("√", True), ("×", False), ("1", True), ("0", False), (1, True), (0, False),
          ("Y", True), ("N", False), ("y", True), ("n", False), ("Ｙ", True), (True, True), (False, False),
          (" 是 ", True)]
MONEY = [("12,000元", "12000.00"), ("１２３４", "1234.00"), ("1,234.567", "1234.57"), (800, "800.00"),
         (800.5, "800.50"), ("￥3,000", "3000.00"), ("0", "0.00"), ("１２，０００．５元", "12000.50")]
DATES = [("2023-05-01", date(2023, 5, 1)), ("2023/5/1", date(2023, 5, 1)), ("2023.5.1", date(2023, 5, 1)),
         ("20230501", date(2023, 5, 1)), ("202305", date(2023, 5, 1)), (20230501, date(2023, 5, 1)),
         ("2023年5月1日", date(2023, 5, 1)), ("2023年5月", date(2023, 5, 1)), (date(2023, 5, 1), date(2023, 5, 1)),
         ("2023-05-01 00:00:00", date(2023, 5, 1)), (45047, date(2023, 5, 1)),
         ("２０２３－０５－０１", date(2023, 5, 1)), ("2024/12/31", date(2024, 12, 31))]
RISKS = [("因病", ["01"]), ("因病、因学", ["01", "02"]), ("因病,因学", ["01", "02"]), ("因病，因学", ["01", "02"]),
         ("因病;因学", ["01", "02"]), ("因病；因学；因病", ["01", "02"]), ("因学 、 因病", ["02", "01"])]


@pytest.mark.parametrize("column, cases, read", [
    ("住房出现安全问题", YES_NO, lambda s, h: h.a23_housing_unsafe),
    ("工资性收入", MONEY, lambda s, h: str(income.totals_for_year(s, YEAR, [h.id])[h.id].A28)),
    ("识别监测时间", DATES, lambda s, h: h.identified_on),
    ("风险类型", RISKS, lambda s, h: h.a27_risk_types)], ids=["yes-no", "money", "dates", "risk-types"])
def test_messy_values(town, tmp_path, column, cases, read):
    path = _one_value_per_household(tmp_path, column, [raw for raw, _ in cases])
    with trial_import(town, path) as (s, _pv):
        got = households_of(s)
        for i, (raw, expected) in enumerate(cases):
            assert read(s, got[f"V{i:02d}"]) == expected, (raw, expected)


def test_lower_case_x_is_upper_cased_and_disability_card_numbers_are_accepted(town, tmp_path):
    born = date(1980, 1, 1)
    serial = next(s for s in range(1, 200) if make_id("370305", born, s, "1").endswith("X"))
    with_x = make_id("370305", born, serial, "1")
    card = make_id("370305", date(1975, 6, 6), 7, "2") + "42"
    ms = [person("H001", "王五", born, "1", "户主", 0) | {"证件号码": with_x.lower()},
          person("H001", "赵六", date(1975, 6, 6), "2", "配偶", 0) | {"证件号码": card}]
    path = write_book(tmp_path / "a.xlsx", {"户信息": table([hh("H001")]), "家庭成员": table(ms)})
    with trial_import(town, path) as (s, _pv):
        assert _member(s, "王五").id_number == with_x
        assert _member(s, "赵六").id_number == card


def test_monitoring_status_blank_is_not_included_and_member_status_blank_is_normal(town, tmp_path):
    with trial_import(town, simple_book(tmp_path / "a.xlsx", households=1, **{"监测状态": None})) as (s, _pv):
        assert households_of(s)["H001"].monitoring_status == "none"
        assert _member(s, "张三").status == "normal"


# ---------------------------------------------------------------- income for the year

def test_income_cells_all_blank_means_no_record_but_zero_is_a_record(town, tmp_path):
    hs = [hh("H001"), hh("H002", **{"工资性收入": 0}), hh("H003", **{"工资性收入": 5000})]
    ms = family_rows("H001", 1) + family_rows("H002", 3) + family_rows("H003", 5)
    book = write_book(tmp_path / "a.xlsx", {"户信息": table(hs), "家庭成员": table(ms)})
    with trial_import(town, book, 2024) as (s, _pv):
        totals = income.totals_for_year(s, 2024)
        ids = {no: households_of(s)[no].id for no in ("H001", "H002", "H003")}
        assert ids["H001"] not in totals  # blank is not zero
        assert totals[ids["H002"]].A28 == Decimal("0.00")
        assert totals[ids["H003"]].A28 == Decimal("5000.00")
        assert s.scalar(select(func.count()).select_from(IncomeRecord).where(IncomeRecord.year == 2024)) == 2


def test_income_goes_to_the_year_given(town, tmp_path):
    with trial_import(town, simple_book(tmp_path / "a.xlsx", households=1, **{"工资性收入": 100}), 2023) as (s, _pv):
        h = households_of(s)["H001"]
        assert h.id in income.totals_for_year(s, 2023)
        assert h.id not in income.totals_for_year(s, 2024)


# ---------------------------------------------------------------- every kind of error

def _errors_for(town, tmp_path, sheets):
    path = write_book(tmp_path / "bad.xlsx", sheets)
    before = db_state(town.db)
    pv = preview(town, path)
    with pytest.raises(ExchangeError):
        town.run(exchange.apply, pv, as_of=TODAY)
    assert db_state(town.db) == before  # nothing changed
    assert not pv.ok and pv.error_count == len(pv.errors) > 0
    return pv.errors


def _one(errors, sheet, column, reason):
    found = [e for e in errors if e.sheet == sheet and e.column == column and reason in e.reason]
    assert found, [e.text() for e in errors]
    return found[0]


def test_missing_required_column(town, tmp_path):
    ms = table(family_rows("H001", 1))
    i = ms[0].index("与户主关系")
    ms = [r[:i] + r[i + 1:] for r in ms]
    errors = _errors_for(town, tmp_path, {"户信息": table([hh("H001")]), "家庭成员": ms})
    e = _one(errors, "家庭成员", "与户主关系", "缺少必填列")
    assert e.row == 1


def test_missing_required_value(town, tmp_path):
    ms = family_rows("H001", 1)
    ms[1]["姓名"] = None
    errors = _errors_for(town, tmp_path, {"户信息": table([hh("H001")]), "家庭成员": table(ms)})
    e = _one(errors, "家庭成员", "姓名", "必填项“姓名”为空")
    assert e.row == 3


@pytest.mark.parametrize("sheet, rows", [
    ("家庭成员", None),
    ("帮扶措施", [{"户编号": "H999", "措施类别": "产业帮扶", "措施项目": "种植业"}]),
    ("收入明细", [{"户编号": "H999", "收入项": "工资性收入", "明细": "务工收入", "金额": 100}])])
def test_rows_whose_household_is_not_in_the_household_sheet(town, tmp_path, sheet, rows):
    sheets = {"户信息": table([hh("H001")]), "家庭成员": table(family_rows("H001", 1))}
    if rows is None:
        sheets["家庭成员"] = table(family_rows("H001", 1) + family_rows("H999", 5))
    else:
        sheets[sheet] = table(rows)
    e = _one(_errors_for(town, tmp_path, sheets), sheet, "户编号", "在“户信息”表中不存在")
    assert e.value == "H999" and e.row == (4 if rows is None else 2)


@pytest.mark.parametrize("column, value, reason", [
    ("与户主关系", "表哥", "不在与户主关系的代码表中"), ("文化程度", "博士后", "不在文化程度的代码表中"),
    ("性别", "未知", "不在性别的代码表中"), ("成员状态", "失踪", "不在成员状态的代码表中")])
def test_value_not_in_its_code_list(town, tmp_path, column, value, reason):
    ms = family_rows("H001", 1)
    ms[0][column] = value
    e = _one(_errors_for(town, tmp_path, {"户信息": table([hh("H001")]), "家庭成员": table(ms)}), "家庭成员", column,
             reason)
    assert e.value == value and e.row == 2


@pytest.mark.parametrize("column, value, reason", [
    ("工资性收入", "一万二", "不是有效的数字"), ("工资性收入", "-100", "不能为负数"), ("转移性收入", -5, "不能为负数"),
    ("识别监测时间", "去年五月", "不是有效的日期"), ("识别监测时间", "2023-02-30", "日期不存在"),
    ("监测对象类别", "贫困户", "不在监测对象类别的代码表中"), ("风险类型", "因病、因懒", "“因懒”不在风险类型"),
    ("是否脱贫户", "也许", "应填“是”或“否”")])
def test_unreadable_or_invalid_household_values(town, tmp_path, column, value, reason):
    sheets = {"户信息": table([hh("H001", **{column: value})]), "家庭成员": table(family_rows("H001", 1))}
    e = _one(_errors_for(town, tmp_path, sheets), "户信息", column, reason)
    assert e.row == 2


@pytest.mark.parametrize("value, reason", [
    ("370305197003051234", "校验位错误"), ("37030519700305", "应为 18 位"), ("370305197013051239", "不存在"),
    (370305197003051230, "被存成了数字")])
def test_invalid_id_numbers(town, tmp_path, value, reason):
    ms = family_rows("H001", 1)
    ms[1]["证件号码"] = value
    e = _one(_errors_for(town, tmp_path, {"户信息": table([hh("H001")]), "家庭成员": table(ms)}), "家庭成员",
             "证件号码", reason)
    assert e.row == 3


def test_the_same_id_twice_in_one_household(town, tmp_path):
    ms = family_rows("H001", 1)
    ms.append(dict(ms[0], 姓名="张三二"))
    e = _one(_errors_for(town, tmp_path, {"户信息": table([hh("H001")]), "家庭成员": table(ms)}), "家庭成员",
             "证件号码", "与第 2 行是同一证件号码")
    assert e.row == 4


def test_detail_lines_that_disagree_with_the_total(town, tmp_path):
    sheets = {"户信息": table([hh("H001", **{"工资性收入": "12,000"})]), "家庭成员": table(family_rows("H001", 1)),
              "收入明细": table([{"户编号": "H001", "收入项": "工资性收入", "明细": "务工收入", "金额": 10000},
                               {"户编号": "H001", "收入项": "A28", "明细": "村级公益岗收入", "金额": 1000}])}
    e = _one(_errors_for(town, tmp_path, sheets), "户信息", "工资性收入", "明细合计 11,000.00 元不符")
    assert e.row == 2 and e.value == "12000.00"


def test_other_errors_of_the_household_sheet(town, tmp_path):
    hs = [hh("H001"), hh("H001"), hh("H002", 乡镇="别的镇"), hh("H003")]
    errors = _errors_for(town, tmp_path, {"户信息": table(hs), "家庭成员": table(family_rows("H001", 1))})
    assert _one(errors, "户信息", "户编号", "与第 2 行重复").row == 3
    assert _one(errors, "户信息", "乡镇", "与本数据库的乡镇“稷下街道”不同").row == 4
    assert {e.value for e in errors if "没有成员" in e.reason} == {"H002", "H003"}


def test_measure_item_not_of_its_category(town, tmp_path):
    sheets = {"户信息": table([hh("H001")]), "家庭成员": table(family_rows("H001", 1)),
              "帮扶措施": table([{"户编号": "H001", "措施类别": "金融帮扶", "措施项目": "种植业"},
                               {"户编号": "H001", "措施类别": "扶贫", "措施项目": None}])}
    errors = _errors_for(town, tmp_path, sheets)
    assert _one(errors, "帮扶措施", "措施项目", "不是该类措施的项目").row == 2
    assert _one(errors, "帮扶措施", "措施类别", "不是帮扶措施类别").row == 3


def test_every_error_of_a_file_is_collected_not_only_the_first(town, tmp_path):
    ms = family_rows("H001", 1) + family_rows("H002", 3)
    ms[0]["证件号码"] = "123"
    ms[1]["与户主关系"] = "外人"
    ms[3]["文化程度"] = "很高"
    hs = [hh("H001", **{"工资性收入": "-1"}), hh("H002", **{"识别监测时间": "昨天"})]
    errors = _errors_for(town, tmp_path, {"户信息": table(hs), "家庭成员": table(ms)})
    assert {(e.sheet, e.row, e.column) for e in errors} == {
        ("家庭成员", 2, "证件号码"), ("家庭成员", 3, "与户主关系"), ("家庭成员", 5, "文化程度"),
        ("户信息", 2, "工资性收入"), ("户信息", 3, "识别监测时间")}


# ---------------------------------------------------------------- broken files

def test_not_a_workbook(town, tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_text("这不是 Excel 文件", encoding="utf-8")
    pv = preview(town, path)
    assert not pv.ok and "不是有效的 Excel 工作簿" in pv.errors[0].reason


def test_an_empty_workbook(town, tmp_path):
    path = tmp_path / "a.xlsx"
    openpyxl.Workbook().save(path)
    pv = preview(town, path)
    assert {e.sheet for e in pv.errors} == {"户信息", "家庭成员"}
    assert all("缺少工作表" in e.reason for e in pv.errors)


def test_a_missing_required_sheet(town, tmp_path):
    pv = preview(town, write_book(tmp_path / "a.xlsx", {"户信息": table([hh("H001")])}))
    assert [e.sheet for e in pv.errors] == ["家庭成员"] and "文件中的工作表：户信息" in pv.errors[0].reason


def test_headers_only_is_refused(town, tmp_path):
    pv = preview(town, write_book(tmp_path / "a.xlsx", {"户信息": [["户编号", "行政村"]], "家庭成员": [["户编号"]]}))
    assert not pv.ok


def test_a_sheet_with_a_million_blank_rows(town, tmp_path):
    path = simple_book(tmp_path / "a.xlsx", households=2)
    wb = openpyxl.load_workbook(path)
    wb["家庭成员"].cell(row=1_000_000, column=20).value = " "  # a stray key press far below
    wb.save(path)
    from desktop.services.exchange.reader import Book
    book = Book(path)
    assert book.is_sparse("家庭成员") and not book.is_sparse("户信息")  # streamed, not a 20-million-cell grid
    book.close()
    pv = preview(town, path)
    assert pv.ok, pv.errors[:3]
    assert pv.members_new == 4


def test_a_header_row_that_cannot_be_found(town, tmp_path):
    pv = preview(town, write_book(tmp_path / "a.xlsx", {"户信息": [["甲", "乙"], [1, 2]],
                                                        "家庭成员": table(family_rows("H001", 1))}))
    assert any(e.sheet == "户信息" and "找不到表头行" in e.reason for e in pv.errors)


# ---------------------------------------------------------------- writing

def test_new_villages_and_groups_are_created_and_named_in_the_preview(town, tmp_path):
    hs = [hh("H001", village="南村", 自然村="三组"), hh("H002", village="东村", 自然村="五组")]
    ms = family_rows("H001", 1) + family_rows("H002", 3)
    path = write_book(tmp_path / "a.xlsx", {"户信息": table(hs), "家庭成员": table(ms)})
    with trial_import(town, path) as (s, pv):
        assert pv.villages_to_create == ["南村"] and pv.groups_to_create == ["南村 三组", "东村 五组"]
        assert "新建行政村 1 个：南村" in pv.summary()
        names = {(r.level, r.name) for r in s.scalars(select(Region))}
        assert {("village", "南村"), ("group", "三组"), ("group", "五组")} <= names
        assert households_of(s)["H001"].group_id is not None


def test_a_village_clerk_imports_their_own_village_and_is_told_before_of_a_group_they_cannot_create(
        db, township, clerk, tmp_path):
    """A 村级录入员 (西村): a file of their village's households, in a group that exists, is imported (nothing to
    create: nothing asked of the managers' region service); one that names a group not in the database is refused in
    the preview, row by row, not by the writes after a clean preview."""
    from desktop.services.context import AppContext
    clerk_ctx = AppContext(db, clerk, year=YEAR, today=lambda: TODAY)
    mine = write_book(tmp_path / "mine.xlsx", {"户信息": table([hh("H101", village="西村", 自然村="一组")]),
                                               "家庭成员": table(family_rows("H101", 1))})
    _pv, result = run_import(clerk_ctx, mine)
    assert result.households_new == 1 and not result.groups_created
    new_group = write_book(tmp_path / "group.xlsx", {"户信息": table([hh("H102", village="西村", 自然村="三组")]),
                                                     "家庭成员": table(family_rows("H102", 2))})
    pv = preview(clerk_ctx, new_group)
    assert not pv.ok
    assert [(e.sheet, e.value, e.reason) for e in pv.errors] == [
        ("户信息", "三组", "本组不在数据库中；村级录入员不能新建村民小组，请联系乡镇管理员")]


def test_updates_existing_households_matched_by_number_and_members_by_id(ctx, township, tmp_path):
    data, members = family(township["villages"]["东村"], no="H001")
    hid = ctx.run(register.save_household, data, members, TODAY)
    stored = {m.name: m for m in ctx.read(register.get_household, hid)[1]}
    ms = [{"户编号": "H001", "姓名": "张三", "证件号码": stored["张三"].id_number, "与户主关系": "户主",
           "务工时间（月）": 8},
          {"户编号": "H001", "姓名": "李四", "证件号码": stored["李四"].id_number, "与户主关系": "配偶",
           "成员状态": "死亡", "状态变化日期": "2024-06-01"},
          person("H001", "王小妹", date(2024, 3, 3), "2", "之女", 40)]
    hs = [hh("H001", 联系电话="13900000000", 监测状态=None, **{"工资性收入": "3000"})]
    path = write_book(tmp_path / "u.xlsx", {"户信息": table(hs), "家庭成员": table(ms)})
    pv = preview(ctx, path)
    assert (pv.households_new, pv.households_updated, pv.members_new, pv.members_updated) == (0, 1, 1, 2)
    pv, result = run_import(ctx, path)
    h = household(ctx, "H001")
    assert h.phone == "13900000000" and h.monitoring_status == "none" and h.size == 3  # 李四 died, 王小妹 added
    zhang, li = member_by_name(ctx, "张三"), member_by_name(ctx, "李四")
    assert zhang.work_months == 8 and zhang.labor == "02"  # blank in the file keeps what is stored
    assert li.status == "dead" and li.status_date == date(2024, 6, 1)
    assert member_by_name(ctx, "张小堃").status == "normal"  # not in the file: left as it is
    assert member_by_name(ctx, "王小妹").household_id == hid
    event = ctx.read(lambda s: s.scalars(select(MemberEvent).where(MemberEvent.member_id == li.id)).one())
    assert (event.kind, event.event_date) == ("death", date(2024, 6, 1))
    audited = ctx.read(lambda s: {(a.table_name, a.field, a.old, a.new) for a in s.scalars(
        select(AuditEntry).where(AuditEntry.household_id == hid, AuditEntry.action == "update"))})
    assert ("household", "phone", "13800000000", "13900000000") in audited
    assert ("member", "work_months", None, "8") in audited and ("member", "status", "normal", "dead") in audited
    assert result.changed_fields >= 3 and result.households_updated == 1 and result.members_new == 1
    summary = ctx.read(lambda s: s.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one())
    assert "u.xlsx" in summary.new
    assert ctx.read(income.totals_for_year, YEAR)[hid].A28 == Decimal("3000.00")


def test_imported_income_is_the_annual_record_and_a_quarterly_one_stays_beside_it(ctx, township, tmp_path):
    """SPEC §4: "only annual records (the latest annual one of the year) give the year's A33–A38 …
    quarterly records are kept beside them … never replace the year's figures"."""
    data, members = family(township["villages"]["东村"], no="H001")
    hid = ctx.run(register.save_household, data, members, TODAY)
    ctx.run(income.save_record, income.RecordData(hid, YEAR, quarter=3, collected_on=date(2024, 9, 20), lines=[
        income.LineData("A28", "务工收入", Decimal("8000")),
        income.LineData("A31", "养老保险金", Decimal("1200"))], collected_by="采集员"), TODAY)
    ms = [{"户编号": "H001", "姓名": m.name, "证件号码": m.id_number, "与户主关系": "户主" if i == 0 else "配偶"}
          for i, m in enumerate(members[:2])]
    path = write_book(tmp_path / "u.xlsx", {"户信息": table([hh("H001", **{"工资性收入": 9000})]),
                                            "家庭成员": table(ms)})
    run_import(ctx, path)
    totals = ctx.read(income.totals_for_year, YEAR)[hid]
    assert totals.A28 == Decimal("9000.00") and totals.A31 == Decimal("0.00")  # nothing taken from the quarter
    records = ctx.read(income.records, hid, YEAR)
    assert sorted(((r.quarter or 0), r.origin, r.signatures_collected) for r in records) == [
        (0, "imported", None), (3, "entered", False)]
    imported = next(r for r in records if r.quarter is None)
    assert imported.source_file == "u.xlsx" and imported.recorded_by == "管理员"


def test_importing_the_same_file_twice_changes_nothing_the_second_time(ctx, tmp_path):
    path = simple_book(tmp_path / "a.xlsx", households=3, **{"工资性收入": 100})
    run_import(ctx, path)
    before = db_state(ctx.db)
    _pv, result = run_import(ctx, path)
    assert result.households_updated == 3 and result.changed_fields == 0 and result.income_records == 0
    counts, digest = db_state(ctx.db)
    assert digest == before[1] and counts == before[0]


def test_the_previews_plan_is_used_unless_the_database_changed_after_the_preview(ctx, township, tmp_path,
                                                                                 monkeypatch):
    """Apply lands the file as the preview resolved it (the lock it takes is its own write, not a change); when
    another seat committed meanwhile, it resolves the file again against what is there now."""
    from desktop.services.exchange import importer
    resolved = []
    real = importer._resolve
    monkeypatch.setattr(importer, "_resolve", lambda *a: resolved.append(1) or real(*a))
    path = simple_book(tmp_path / "a.xlsx", households=2)
    pv = preview(ctx, path)
    assert (pv.households_new, pv.households_updated, len(resolved)) == (2, 0, 1)
    result = ctx.run(exchange.apply, pv, as_of=TODAY, take_backup=False, check=False)
    assert (result.households_new, result.households_updated, len(resolved)) == (2, 0, 1)  # the preview's plan

    path = simple_book(tmp_path / "b.xlsx", households=4)
    pv = preview(ctx, path)
    assert (pv.households_new, pv.households_updated, len(resolved)) == (2, 2, 2)
    data, members = family(township["villages"]["东村"], no="H003")
    ctx.run(register.save_household, data, members, TODAY)  # another seat, after the preview
    result = ctx.run(exchange.apply, pv, as_of=TODAY, take_backup=False, check=False)
    assert (result.households_new, result.households_updated, len(resolved)) == (1, 3, 3)  # resolved again
    assert len(households_of_db(ctx)) == 4


@pytest.mark.parametrize("scan_all", [False, True], ids=["looked up by number", "every living member read"])
def test_a_living_member_of_another_household_is_refused_on_both_lookups(ctx, township, tmp_path, monkeypatch,
                                                                        scan_all):
    """SPEC §9 (一人一户): the person a file puts in H005 is a living member of H001 in the database — named,
    whichever way the database is searched (a county file reads every living member at once); the members the
    file keeps in their own household are no error."""
    from desktop.services.exchange import plan
    monkeypatch.setattr(plan, "SCAN_ALL_FROM", 0 if scan_all else 10**9)
    data, members = family(township["villages"]["东村"], no="H001")
    ctx.run(register.save_household, data, members, TODAY)
    same = [{"户编号": "H001", "姓名": m.name, "证件号码": m.id_number, "与户主关系": "户主" if i == 0 else "配偶"}
            for i, m in enumerate(members[:2])]
    moved = {"户编号": "H005", "姓名": members[1].name, "证件号码": members[1].id_number.lower(),
             "与户主关系": "户主"}
    path = write_book(tmp_path / "m.xlsx", {"户信息": table([hh("H001"), hh("H005")]),
                                            "家庭成员": table(same[:1] + [moved])})
    texts = [e.text() for e in preview(ctx, path).errors]
    assert len(texts) == 1 and "户编号 H001 的在册成员" in texts[0] and "户编号 H005" in texts[0], texts
    ok = write_book(tmp_path / "ok.xlsx", {"户信息": table([hh("H001")]), "家庭成员": table(same)})
    assert preview(ctx, ok).errors == []


def households_of_db(ctx) -> dict[str, Household]:
    return ctx.read(households_of)


@pytest.mark.sqlite_only("导入前备份的是 SQLite 文件；县级数据库由管理员 pg_dump")
def test_a_backup_is_taken_before_the_import(ctx, tmp_path):
    _pv, result = run_import(ctx, simple_book(tmp_path / "a.xlsx"), take_backup=True)
    assert result.backup is not None and result.backup.exists() and "import" in result.backup.name


def test_cancel_before_commit_leaves_nothing(town, tmp_path):
    path = simple_book(tmp_path / "a.xlsx", households=3)
    before = db_state(town.db)
    pv = preview(town, path)
    with pytest.raises(ImportCancelled):
        town.run(exchange.apply, pv, as_of=TODAY, cancelled=lambda: True, take_backup=False)
    assert db_state(town.db) == before


def test_progress_is_reported_and_findings_come_after_the_import(ctx, tmp_path):
    ms = family_rows("H001", 1)
    ms[0]["参加基本医疗保险"] = "否"
    path = write_book(tmp_path / "a.xlsx", {"户信息": table([hh("H001")]), "家庭成员": table(ms)})
    seen = []
    _pv, result = run_import(ctx, path, progress=lambda done, total, stage: seen.append((done, total, stage)))
    assert seen and seen[-1][0] == seen[-1][1] == 1
    assert {f.code for f in result.findings} >= {"MEDICAL_INSURANCE_MISSING", "GUARANTEE_MISSING"}
    assert all(f.household_no == "H001" for f in result.findings)


# ---------------------------------------------------------------- export and the round trip

@pytest.fixture
def demo_db(ctx):
    from desktop.services import demo
    ctx.run(demo.generate, 250, seed=5, year=YEAR, as_of=date(2024, 10, 31))
    return ctx


def _fresh_ctx(tmp_path, name):
    from desktop.services import regions, settings
    from desktop.services.context import AppContext
    from desktop.services.db import init_db, sqlite_url
    db = init_db(sqlite_url(tmp_path / name))
    with db.session(bootstrap="tester") as s:
        regions.init_township(s, "稷下街道", county="临淄区", city="淄博市", province="山东省")
        settings.set_year(s, YEAR, monitoring_line="7100")
        settings.set_current_year(s, YEAR)
        s.commit()
    return AppContext(db=db, year=YEAR, today=lambda: TODAY, bootstrap=True)


HOUSEHOLD_FIELDS = ("household_no", "phone", "a1_relocation_site", "a2_site_address", "a3_category",
                    "a4_poverty_alleviated", "monitoring_status", "identified_on", "whole_no_labor_guarantee",
                    "dibao_tier", "a23_housing_unsafe", "a24_school_dropout", "a25_water_unsafe", "a27_risk_types",
                    "a27a_disaster_types", "a53_removal_way", "a54_removed_on", "a55_contact_person", "contact_phone",
                    "size", "head_name")
MEMBER_FIELDS = ("seq", "name", "sex", "id_number", "relation", "ethnicity", "political", "education", "school",
                 "health", "disability_grade", "labor", "work_region", "work_months", "a17_medical",
                 "a18_serious_illness", "a19_pension", "a20_dibao", "a21_tekun", "a22_relocated", "status",
                 "status_date")


def _contents(ctx):
    def read(s):
        names = {r.id: r.name for r in s.scalars(select(Region))}
        hh_rows = {h.household_no: tuple(getattr(h, f) for f in HOUSEHOLD_FIELDS) + (names[h.village_id],
                                                                                      names.get(h.group_id))
                   for h in s.scalars(select(Household))}
        numbers = {h.id: h.household_no for h in s.scalars(select(Household))}
        members = sorted((numbers[m.household_id],) + tuple(getattr(m, f) for f in MEMBER_FIELDS)
                         for m in s.scalars(select(Member)))
        measures = sorted((numbers[m.household_id], m.category, m.item, m.start_date, m.end_date, m.amount,
                           m.responsible_unit, m.developmental_override) for m in s.scalars(select(Measure)))
        totals = {numbers[h]: t for h, t in income.totals_for_year(s, YEAR).items()}
        return hh_rows, members, measures, totals
    return ctx.read(read)


def test_export_then_import_gives_back_the_same_data(demo_db, tmp_path):
    first = tmp_path / "first.xlsx"
    result = demo_db.read(exchange.export_workbook, first, YEAR)
    assert result.households == 250 and result.members > 700
    fresh = _fresh_ctx(tmp_path, "fresh.sqlite3")
    pv, _imported = run_import(fresh, first)
    assert pv.errors == [] and pv.households_new == 250
    second = tmp_path / "second.xlsx"
    fresh.read(exchange.export_workbook, second, YEAR)
    wa, wb = openpyxl.load_workbook(first), openpyxl.load_workbook(second)
    assert wa.sheetnames == wb.sheetnames == ["户信息", "家庭成员", "帮扶措施", "收入明细", "代码表"]
    for name in wa.sheetnames[:4]:
        a = list(wa[name].iter_rows(values_only=True))
        b = list(wb[name].iter_rows(values_only=True))
        assert a == b, name  # cell by cell
    original, copy = _contents(demo_db), _contents(fresh)
    assert original[1] == copy[1] and original[2] == copy[2] and original[3] == copy[3]
    assert {k: v for k, v in original[0].items()} == copy[0]
    fresh.db.dispose()


def test_export_is_styled_for_people(demo_db, tmp_path):
    path = tmp_path / "e.xlsx"
    demo_db.read(exchange.export_workbook, path, YEAR)
    wb = openpyxl.load_workbook(path)
    ws = wb["户信息"]
    assert ws.freeze_panes == "B2" and ws["A1"].font.b and ws.column_dimensions["A"].width >= 18
    assert ws["A2"].data_type == "s" and ws["A2"].number_format == "@"
    header = [c.value for c in ws[1]]
    assert header[:6] == ["户编号", "省", "市", "县", "乡镇", "行政村"]
    assert header[-1] == "风险消除后合规自付支出"  # the 风险消除后 block of SPEC §9.1 ends the sheet
    # SPEC §9's columns end with 监测联系人电话; the facts §6.3 / §6.4 need follow it, then the 风险消除后 block.
    assert header.index("监测联系人电话") == header.index("监测联系人") + 1
    policy = [
        "收入核算已双签字", "舆情信访户", "致贫原因消失且生产生活条件不低于一般农户", "拥有并经常使用高档乘用车辆",
        "在城镇购买商品房", "注册公司企业并雇佣他人经营", "有财政供养人员或国企中层以上领导",
        "分户子女注册公司企业且收益较高",
        "分户子女赡养能力强", "大病个人自付费用较大", "因灾因意外造成家庭生活困难", "认定脱贫不享受政策时间"]
    start = header.index("监测联系人电话") + 1
    assert header[start:start + len(policy)] == policy
    assert header.index("家庭纯收入") == header.index("生产经营性支出") + 1
    validations = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    col = openpyxl.utils.get_column_letter(header.index("监测对象类别") + 1)
    assert f"{col}2:{col}1048576" in validations and validations[f"{col}2:{col}1048576"].startswith("'代码表'!")
    assert wb["代码表"].sheet_state == "hidden"
    members = wb["家庭成员"]
    id_col = [c.value for c in members[1]].index("证件号码")
    assert all(isinstance(r[id_col], str) and len(r[id_col]) >= 18
               for r in members.iter_rows(min_row=2, values_only=True))


def test_export_writes_formula_like_text_as_text(ctx, township, tmp_path):
    data, members = family(township["villages"]["东村"], no="H001")
    members[0].name = "=HYPERLINK(\"x\")"
    data.a55_contact_person = "@SUM(A1)"
    data.a2_site_address = "+8613800000000"
    members[1].name = "\u2212100"
    ctx.run(register.save_household, data, members, TODAY)
    path = tmp_path / "e.xlsx"
    ctx.read(exchange.export_workbook, path, YEAR)
    wb = openpyxl.load_workbook(path)
    cells = [c for ws in (wb["户信息"], wb["家庭成员"]) for row in ws.iter_rows(min_row=2) for c in row
             if isinstance(c.value, str) and c.value[:1] in "=@+\u2212"]
    assert {c.value for c in cells} == {"=HYPERLINK(\"x\")", "@SUM(A1)", "+8613800000000", "\u2212100"}
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)
    pv, _result = run_import(_fresh_ctx(tmp_path, "f.sqlite3"), path)  # and back, unchanged
    assert pv.ok


def test_export_leaves_income_blank_without_a_record_and_computes_the_rest(ctx, township, tmp_path):
    data, members = family(township["villages"]["东村"], no="H001")
    hid = ctx.run(register.save_household, data, members, TODAY)
    data, members = family(township["villages"]["西村"], no="H002", serial=11)
    hid2 = ctx.run(register.save_household, data, members, TODAY)
    ctx.run(income.save_record, income.RecordData(hid2, YEAR, collected_on=date(2024, 10, 1), lines=[
        income.LineData("A28", "务工收入", Decimal("30000")), income.LineData("A32", "种植业", Decimal("3000")),
        income.LineData("A36", "医疗自付", Decimal("900"))], collected_by="采集员"), TODAY)
    path = tmp_path / "e.xlsx"
    ctx.read(exchange.export_workbook, path, YEAR)
    rows = sheet_values(path, "户信息")
    header = rows[0]
    by_no = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert by_no["H001"]["工资性收入"] is None and by_no["H001"]["家庭纯收入"] is None
    h2 = by_no["H002"]
    expected = income.compute(ctx.read(income.totals_for_year, YEAR)[hid2], 3)
    assert h2["家庭纯收入"] == float(expected.A33) == 27000.0 and h2["家庭人均纯收入"] == float(expected.A34)
    assert h2["纳入监测对象的收入参考范围"] == float(expected.A37) == 26100.0
    assert h2["有家庭成员未参加基本医疗保险"] == "否" and by_no["H001"]["省"] == "山东省"
    assert hid


def test_template_has_the_headers_dropdowns_and_instructions(town, tmp_path):
    path = town.read(exchange.write_template, tmp_path / "模板.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["户信息", "家庭成员", "帮扶措施", "收入明细", "填表说明", "代码表"]
    assert [c.value for c in wb["家庭成员"][1]][:5] == ["户编号", "姓名", "性别", "证件号码", "与户主关系"]
    assert wb["家庭成员"].max_row == 1
    villages = [r[0] for r in wb["代码表"].iter_rows(min_row=2, values_only=True) if r[0]]
    assert villages  # first list column exists
    lists = {c.value: i for i, c in enumerate(wb["代码表"][1])}
    col = [r[lists["行政村"]] for r in wb["代码表"].iter_rows(min_row=2, values_only=True) if r[lists["行政村"]]]
    assert col == ["东村", "西村"]
    assert len(wb["户信息"].data_validations.dataValidation) >= 10
    assert "填表说明" in wb["填表说明"]["A1"].value


def test_error_workbook_lists_every_error_readably(town, tmp_path):
    ms = family_rows("H001", 1)
    ms[0]["证件号码"] = "123"
    ms[1]["与户主关系"] = "@外人"
    path = write_book(tmp_path / "bad.xlsx", {"户信息": table([hh("H001")]), "家庭成员": table(ms)})
    pv = preview(town, path)
    target = exchange.write_error_workbook(pv.errors, exchange.errors_path(path), source=path, total=pv.error_count)
    assert target == tmp_path / "bad.errors.xlsx"
    wb = openpyxl.load_workbook(target)
    ws = wb["错误清单"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("工作表", "行", "列", "值", "原因")
    assert ("家庭成员", 2, "证件号码", "123") == rows[1][:4] and "18 位" in rows[1][4]
    assert rows[2][:4] == ("家庭成员", 3, "与户主关系", "@外人") and ws["D3"].data_type == "s"
    assert ws.freeze_panes == "A2" and ws["A1"].font.b
    assert "数据库没有任何修改" in [c.value for c in wb["说明"]["B"]][3]
