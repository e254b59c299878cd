"""Printed documents (SPEC §8, §11 report KINDs): each of the eleven kinds rendered from data made
through the services, then read back with poppler (pdftotext, pdffonts, pdfinfo): the names and
numbers are there, every page says "第 X 页 共 Y 页" and the township, every font is embedded
(no Helvetica, no STSong), notices hold no ID number, phone number or health word, a character
the font lacks is a warning and not a crash, and 1,000 forms paginate."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import select

from desktop.models import Household
from desktop.services import auth, demo, income, policy, rectification, regions, screening, settings, workflow
from desktop.services.db import init_db, sqlite_url
from desktop.services.income import LineData, RecordData
from desktop.services.reports import REPORT_KINDS, ReportError, render, summary, summary_xlsx
from tests.cli.runner import ROOT
from tests.conftest import TODAY, YEAR, login
from tests.services.builders import Builder
from tests.services.pdfcheck import flat, has, pdffonts, pdfpages, pdftext

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")

TOWNSHIP = "稷下街道"
RARE_HEAD = "王𠮷"  # U+20BB7, outside the BMP


# ---------------------------------------------------------------- reading PDFs back

def page_label(n: int, total: int) -> str:
    return f"第 {n} 页 共 {total} 页"


# ---------------------------------------------------------------- one township, built through the services

@dataclass
class World:
    db: object
    path: Path
    nos: dict[str, str]  # role → household number
    id_numbers: dict[str, str]
    admin: object = None  # the logged-in administrator


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FANPIN_DATA_DIR", str(folder / "data"))
        database = init_db(sqlite_url(folder / "r.sqlite3"))
        with database.session(bootstrap="tester") as s:
            regions.init_township(s, TOWNSHIP, county="临淄区", city="淄博市", province="山东省")
            v1 = regions.add_village(s, "东村", rural_population=1200)
            v2 = regions.add_village(s, "西村", rural_population=60)
            g = {("东村", "一组"): regions.add_group(s, v1, "一组"), ("东村", "二组"): regions.add_group(s, v1, "二组"),
                 ("西村", "一组"): regions.add_group(s, v2, "一组")}
            settings.set_year(s, YEAR, monitoring_line="7100", county_income="20000")
            settings.set_current_year(s, YEAR)
            auth.create_user(s, "admin", "管理员", "admin", "Jx-adm-2024")
            b = Builder(s, {"villages": {"东村": v1, "西村": v2}, "groups": g})
            nos, ids = _populate(s, b, v1, v2, g)
            s.commit()
        yield World(database, folder / "r.sqlite3", nos, ids, login(database, "admin", "Jx-adm-2024"))
        database.dispose()


def _populate(s, b: Builder, v1: int, v2: int, g: dict) -> tuple[dict, dict]:
    nos, ids = {}, {}

    # H1: a monitored household with a rare-character head, income lines with notes, two measures.
    head = b.person(RARE_HEAD, date(1970, 3, 5), "1", "01")
    ids["H1"] = head.id_number
    h1 = b.household([head, b.person("李秀英", date(1972, 8, 9), "2", "02"),
                      b.person("王小堃", date(2010, 1, 2), "1", "03", school="05")], no="A001",
                     group_id=g[("东村", "一组")], phone="13800000001", a27_risk_types=["07"], a3_category="02",
                     monitoring_status="monitoring", identified_on=date(2024, 1, 10), a55_contact_person="赵联络",
                     contact_phone="13912345678")
    income.save_record(s, RecordData(h1, YEAR, collected_on=date(2024, 10, 10), collected_by="周采集", lines=[
        LineData("A28", "务工收入", D("12000"), "浙江务工 8 个月"), LineData("A28", "村级公益岗收入", D("3600")),
        LineData("A29", "种植业", D("5000")), LineData("A31", "养老保险金", D("1800")),
        LineData("A32", "种植业", D("2000")), LineData("A36", "医疗自付", D("3000"), "住院自付")]), TODAY)
    b.measure(h1, "A39", "种植业", start=date(2024, 1, 15), amount=D("5000"), responsible_unit="县农业农村局")
    b.measure(h1, "A42", "保洁员", start=date(2024, 2, 1), amount=D("3600"), responsible_unit="乡镇人民政府",
              member_id=b.member(h1, RARE_HEAD).id)
    nos["H1"] = "A001"

    # H2: an identification at the village publicity (started 11-15); a member seriously ill.
    h2 = b.household([b.person("刘建国", date(1966, 5, 1), "1", "01"),
                      b.person("陈桂兰", date(1967, 6, 2), "2", "02", health="03")], no="A002",
                     group_id=g[("东村", "二组")], phone="13800000002", a27_risk_types=["01"])
    ids["H2"] = b.members(h2)["陈桂兰"].id_number
    b.income(h2, collected_on=date(2024, 10, 12), A28="6000")
    clue = workflow.record_clue(s, "01", date(2024, 11, 1), household_id=h2, description="户主申报", as_of=TODAY)
    cid = workflow.open_identification(s, clue, as_of=TODAY)
    for key, on, data in (("verify", date(2024, 11, 2), {"authorized": True}),
                          ("county_compare", date(2024, 11, 3), {}),
                          ("village_review", date(2024, 11, 4), {"meeting_form": "村民代表会议"}),
                          ("township_review", date(2024, 11, 5), {})):
        workflow.complete_step(s, cid, key, on, data=data, year=YEAR, as_of=TODAY)
    workflow.start_publicity(s, cid, date(2024, 11, 15))
    nos["H2"] = "A002"

    # H3: a 脱贫户 in 西村 under natural risk removal, its publicity done 11-06 … 11-10.
    h3 = b.household([b.person("赵德明", date(1958, 2, 3), "1", "01"), b.person("钱玉梅", date(1960, 4, 5), "2", "02")],
                     no="A003", village_id=v2, group_id=g[("西村", "一组")], phone="0533-7654321",
                     a4_poverty_alleviated=True, a3_category="01", monitoring_status="monitoring",
                     identified_on=date(2023, 12, 1), a27_risk_types=["04"])
    b.income(h3, collected_on=date(2024, 10, 15), A28="24000")
    rid = workflow.open_removal(s, h3, date(2024, 11, 1), "02", YEAR, as_of=TODAY)
    for key, on, data in (("verify", date(2024, 11, 2), {}),
                          ("village_review", date(2024, 11, 3), {"meeting_form": "村民会议"}),
                          ("township_review", date(2024, 11, 4), {}),
                          ("publicity", date(2024, 11, 11), {"publicity_start": "2024-11-06"})):
        workflow.complete_step(s, rid, key, on, data=data, year=YEAR, as_of=TODAY)
    nos["H3"] = "A003"

    # H4: risk removed in May (帮扶消除): the revisit is due half a year later.
    h4 = b.household([b.person("孙志强", date(1975, 7, 7), "1", "01"), b.person("周丽", date(1976, 9, 9), "2", "02")],
                     no="A004", group_id=g[("东村", "一组")], a3_category="02", monitoring_status="removed",
                     identified_on=date(2023, 6, 1), a53_removal_way="01", a54_removed_on=date(2024, 5, 20))
    b.income(h4, collected_on=date(2024, 10, 1), A28="20000")
    nos["H4"] = "A004"

    # H5: a 脱贫户 whose income reaches the county's: proposed 不再享受政策 (criterion 1).
    h5 = b.household([b.person("吴海涛", date(1980, 1, 1), "1", "01"), b.person("郑小红", date(1982, 2, 2), "2", "02")],
                     no="A005", group_id=g[("东村", "二组")], a4_poverty_alleviated=True)
    b.income(h5, collected_on=date(2024, 10, 1), A28="60000")
    nos["H5"] = "A005"

    # H6: a member without basic medical insurance (a finding) and a disabled member (a key check), visited.
    h6 = b.household([b.person("冯国栋", date(1962, 3, 3), "1", "01", a17_medical=False),
                      b.person("冯小芳", date(1990, 5, 5), "2", "04", health="04", disability_grade="03")],
                     no="A006", group_id=g[("东村", "一组")])
    b.income(h6, collected_on=date(2024, 10, 1), A28="30000")
    screening.mark_visited(s, h6, YEAR, date(2024, 11, 8), "no_risk", "已核实")
    nos["H6"] = "A006"
    return nos, ids


@pytest.fixture(scope="module")
def rendered(world, tmp_path_factory):
    """Every kind rendered once for the township (and a few scoped variants)."""
    out = tmp_path_factory.mktemp("pdf")
    results = {}
    with world.db.session(world.admin) as s:
        rectification.check(s, YEAR, TODAY)  # the check recorded in the 整改台账, as the township does before printing
        s.commit()
        for kind in REPORT_KINDS:
            results[kind] = render(s, kind, out / f"{kind}.pdf", year=YEAR, as_of=TODAY)
    return results


def text_of(rendered, kind: str) -> str:
    return pdftext(rendered[kind].path)


# ---------------------------------------------------------------- every kind

def test_kinds_are_those_of_spec_in_order():
    assert list(REPORT_KINDS) == ["collection-form", "income-sheet", "policy-list", "notice-identify", "notice-remove",
                           "notice-policy", "summary", "card", "revisit", "screening", "quality",
                           "rectification"]
    assert all(re.search(r"[\u4e00-\u9fff]", k.title) for k in REPORT_KINDS.values())


def test_every_kind_names_a_builder_and_naming_them_loads_no_layout_code():
    assert all(callable(k.builder) for k in REPORT_KINDS.values())
    # The command line names every kind in its help: that must not cost reportlab's import (half a second a command).
    code = ("import sys, desktop.cli as c; c.build_parser(); "
            "print(sorted(m for m in sys.modules if m.startswith(('reportlab', 'PIL'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("kind", list(REPORT_KINDS))
def test_every_page_numbered_with_township_and_title_and_fonts_embedded(rendered, kind):
    r = rendered[kind]
    pages = pdfpages(r.path)
    assert r.pages == pages and pages >= 1
    # notice-remove: H3's publicity is over (a reprint needs --household); notice-policy: no case
    assert r.warnings == (["没有需要公示的户"] if kind in ("notice-remove", "notice-policy") else [])
    # the notices and the 整改清单 are one part a village, pages numbered within each
    per = REPORT_KINDS[kind].per_household or REPORT_KINDS[kind].notice or kind == "rectification"
    for n in (1, pages):
        page = pdftext(r.path, first=n, last=n)
        assert re.search(r"第\s*\d+\s*页\s*共\s*\d+\s*页", page) if per else has(page, page_label(n, pages))
        assert TOWNSHIP in page and "临淄区" in page
    fonts = pdffonts(r.path)
    assert fonts and all(f["emb"] == "yes" for f in fonts), fonts
    assert not any(re.search(r"Helvetica|Times|Courier|STSong|Symbol", f["line"]) for f in fonts), fonts
    assert all("NotoSansCJKsc" in f["name"] for f in fonts)


def test_collection_form_is_filled_from_the_services(rendered, world):
    r = rendered["collection-form"]
    assert r.households == 4  # the 监测对象: monitoring, identifying, removing, removed
    assert r.pages == 9  # two landscape pages a household (9 pt); the 脱贫户 one adds the 附件 2 block on a third
    text = pdftext(r.path, first=1, last=2)  # A001's form
    assert "防止返贫监测对象信息采集表" in text
    assert RARE_HEAD in text and "王小堃" in text
    assert world.id_numbers["H1"] in text  # ID numbers in full: this form is not public
    assert "20,400.00" in text and "6,800.00" in text  # A33, A34 = 20,400.00 ÷ 3
    assert "17,400.00" in text and "5,800.00" in text  # A37, A38
    assert "7,100" in text
    assert re.search(r"√\s*边缘易致贫户", text) and not re.search(r"√\s*脱贫不稳定户", text)
    assert re.search(r"√\s*种植业", text) and re.search(r"√\s*保洁员", text)  # measures the household has
    assert re.search(r"√\s*因务工就业不稳", text)
    assert "赵联络" in text and "13912345678" in text
    assert "采集人（填表人）签字" in text and "单位（盖章）" in text
    # one household per form: each form starts a page, and the running header names the household
    assert "户编号 A001" in pdftext(r.path, first=1, last=1)


def test_income_sheet_lists_every_line_with_subtotals_and_both_signatures(world, tmp_path):
    with world.db.session(world.admin) as s:
        r = render(s, "income-sheet", tmp_path / "i.pdf", year=YEAR, as_of=TODAY, household_nos=["A001"])
    text = pdftext(r.path)
    assert r.households == 1 and r.pages == 1
    assert "收入核算明细表" in text and RARE_HEAD in text
    assert has(text, "务工收入", "12,000.00", "浙江务工 8 个月")
    assert has(text, "村级公益岗收入", "3,600.00") and has(text, "医疗自付", "3,000.00", "住院自付")
    assert "15,600.00" in text  # A28 subtotal
    assert "20,400.00" in text and "6,800.00" in text and "5,800.00" in text
    assert has(text, "3 人") and "2024年10月10日" in text and "周采集" in text
    assert "采集人签字" in text and "被采集人（户主）签字" in text and text.count("日期：") >= 2


def test_income_sheet_without_a_record_is_the_blank_sheet_to_fill(b, tmp_path):
    b.household(no="B001", a4_poverty_alleviated=True)
    r = render(b.s, "income-sheet", tmp_path / "i.pdf", year=YEAR, as_of=TODAY)
    text = flat(pdftext(r.path))
    assert r.households == 1
    assert has(text, "尚无 2024 年收入记录")
    assert "资产收益扶贫分红" in text and "赡养费" in text and "医疗自付" in text  # the default lines, blank
    assert "12,000.00" not in text and "被采集人（户主）签字" in text


def test_policy_list_has_measures_members_and_both_signatures(world, tmp_path):
    with world.db.session(world.admin) as s:
        r = render(s, "policy-list", tmp_path / "p.pdf", year=YEAR, as_of=TODAY, household_nos=["A001"])
    text = flat(pdftext(r.path))
    assert "到户政策享受清单" in text
    assert "保洁员" in text and "乡镇人民政府" in text and "3,600.00" in text and RARE_HEAD in text
    assert "种植业" in text and "县农业农村局" in text and "5,000.00" in text
    assert has(text, "李秀英", "配偶", "是")
    assert "采集人签字" in text and "被采集人（户主）签字" in text


# ---------------------------------------------------------------- notices: content and privacy [001 §38]

ID_RUN = re.compile(r"\d{15,18}[\dXx]?")
PHONES = (re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"), re.compile(r"\d{3,4}-\d{7,8}"))
HEALTH = ("患有大病", "长期慢性病", "残疾", "大病", "慢性病", "健康状况")


@pytest.mark.parametrize("kind", ["notice-identify", "notice-remove", "notice-policy"])
def test_notices_hold_no_id_phone_bank_or_health(rendered, world, kind, tmp_path):
    path = rendered[kind].path
    if kind == "notice-remove":  # H3's removal publicity is over: its notice as reprinted
        with world.db.session(world.admin) as s:
            path = render(s, kind, tmp_path / "n.pdf", year=YEAR, as_of=TODAY, household_nos=["A003"]).path
    text = pdftext(path, layout=False)
    compact = re.sub(r"\s+", "", text)
    assert not ID_RUN.search(compact), ID_RUN.search(compact)
    for pattern in PHONES:
        assert not pattern.search(compact), pattern.search(compact)
    for word in HEALTH:
        assert word not in compact
    assert "银行" not in compact and "账号" not in compact
    for number in world.id_numbers.values():
        assert number not in compact
    if kind != "notice-policy":  # no 脱贫不享受政策 case is recorded in this township
        assert "12317" in text and "公示" in text and "异议" in text


def test_identification_notice_lists_the_case_at_publicity_only(rendered):
    text = flat(text_of(rendered, "notice-identify"))
    assert "刘建国" in text  # the case at its 村级公示
    assert RARE_HEAD not in text  # identified in the year, but no case at publicity: never listed
    assert "赵德明" not in text
    assert has(text, "公示时间：2024年11月15日至2024年11月19日（共 5 天）")  # the recorded public period
    assert "2024年11月20日" not in text  # nothing dated from the print date
    assert has(text, "刘建国", "东村", "二组", "2 人", "边缘易致贫户")  # the frozen assessment's suggestion


def test_identification_notice_for_a_village_with_one_period(world, tmp_path):
    with world.db.session(world.admin) as s:
        r = render(s, "notice-identify", tmp_path / "n.pdf", year=YEAR, as_of=TODAY, village="东村",
                   household_nos=["A002"])
    text = pdftext(r.path)
    assert "东村防止返贫监测对象识别公示" in text
    assert has(text, "公示时间：2024年11月15日至2024年11月19日（共 5 天）")
    assert "东村村民委员会" in text and TOWNSHIP in text
    assert "2024年11月15日" in text.split("以个人名义")[-1]  # dated at the foot


def test_removal_notice_reprints_a_completed_publicity_with_the_way(world, tmp_path):
    with world.db.session(world.admin) as s:
        r = render(s, "notice-remove", tmp_path / "n.pdf", year=YEAR, as_of=TODAY, household_nos=["A003"])
        with pytest.raises(ReportError, match="户 A004 没有处于（或已完成）村级公示的“风险消除”流程"):
            render(s, "notice-remove", tmp_path / "x.pdf", year=YEAR, as_of=TODAY, household_nos=["A004"])
    text = flat(pdftext(r.path))
    assert has(text, "赵德明", "西村", "一组", "2 人", "自然消除")
    assert has(text, "公示时间：2024年11月6日至2024年11月10日（共 5 天）")
    assert "孙志强" not in text  # removed in the year without a case: not on any notice


def test_policy_notice_never_lists_households_from_the_calculation_alone(rendered, world):
    text = flat(text_of(rendered, "notice-policy"))
    with world.db.session(world.admin) as s:
        proposed = {p.household_no for p in policy.proposals(s, YEAR, TODAY) if p.proposed}
    assert proposed == {"A005"}  # proposed by the calculation, but no recorded procedure at its publicity
    assert rendered["notice-policy"].households == 0 and "吴海涛" not in text
    assert "公示时间" not in text and "入户核实" not in text


# ---------------------------------------------------------------- summary (PDF and workbook)

def test_summary_counts_and_two_percent_flag(rendered, world):
    r = rendered["summary"]
    text = flat(pdftext(r.path))
    assert r.households == 6
    assert "东村" in text and "西村" in text and "全镇合计" in text
    assert re.search(r"西村.*3\.33%\s*▲是", text)  # 2 persons removing ÷ 60 > 2 %; a mark, not only a fill
    assert re.search(r"东村.*0\.25%\s*否", text)  # 3 persons monitoring ÷ 1,200
    assert "填表人" in text and "审核人" in text and "单位（盖章）" in text and "2024年11月20日" in text
    with world.db.session(world.admin) as s:
        from desktop.services.reports.common import scope
        data = summary.compute(s, scope(s, None, None), YEAR, TODAY)
    east = next(row for row in data.rows if row.village == "东村")
    assert east.households == 5 and east.identified == [2, 5] and east.by_category["02"] == [2, 5]
    assert east.new == [1, 3] and east.removed_in_year == [1, 2]
    assert east.measures["A39"] == 1 and east.measures["A42"] == 1
    assert data.total.by_status["identifying"] == [1, 2] and data.total.by_status["removing"] == [1, 2]


def test_summary_workbook_has_the_same_numbers_and_highlights_the_flag(world, tmp_path):
    from openpyxl import load_workbook
    with world.db.session(world.admin) as s:
        path = summary_xlsx.write(s, tmp_path / "s.xlsx", YEAR, TODAY)
    wb = load_workbook(path)
    assert wb.sheetnames == ["监测对象（按类别）", "监测状态和占比", "帮扶措施"]
    ws = wb["监测对象（按类别）"]
    assert "稷下街道" in ws["A2"].value and ws["A3"].font.bold
    rows = {r[1]: r for r in ws.iter_rows(min_row=5, values_only=True)}
    assert rows["东村"][2:6] == (5, 11, 2, 5) and rows["全镇合计"][2] == 6
    ws = wb["监测状态和占比"]
    body = {r[1].value: r for r in ws.iter_rows(min_row=5)}
    west = body["西村"]
    assert west[-4].value == 60 and west[-3].value == 2
    assert west[-2].value == pytest.approx(2 / 60) and west[-2].number_format == "0.00%"
    assert west[-1].value == "是" and west[-1].fill.fgColor.rgb.endswith("FFC7CE")
    assert body["东村"][-1].value == "否" and not body["东村"][-1].fill.fgColor.rgb.endswith("FFC7CE")
    ws = wb["帮扶措施"]
    east = next(r for r in ws.iter_rows(min_row=4, values_only=True) if r[1] == "东村")
    assert east[2] == 1 and east[5] == 1 and east[-1] == 2  # A39, A42, total
    assert ws.freeze_panes == "C4"


# ---------------------------------------------------------------- card, revisit, screening, quality

def test_card_for_unremoved_households(rendered):
    r = rendered["card"]
    text = flat(text_of(rendered, "card"))
    assert r.households == 2 and r.pages == 1  # H1 monitoring, H3 removing: two cards on a page
    assert RARE_HEAD in text and "赵德明" in text and "刘建国" not in text
    assert "12317" in text and "赵联络" in text and "13912345678" in text
    assert "产业帮扶·种植业" in text and "因务工就业不稳" in text and "边缘易致贫户" in text


def test_revisit_form_for_removed_households(rendered):
    r = rendered["revisit"]
    text = flat(text_of(rendered, "revisit"))
    assert r.households == 1
    assert "孙志强" in text and "2024-05-20" in text and "帮扶消除" in text
    assert has(text, "回访到期日", "2024-11-20")  # half a year after removal
    assert "10,000.00" in text and has(text, "高于 2024 年监测线 7,100")
    assert "回访人签字" in text and "被回访人（户主）签字" in text


def test_screening_summary(rendered):
    text = flat(text_of(rendered, "screening"))
    assert "集中排查" in text and "有残疾家庭成员" in text
    # the reasons of a household wrap: its name and its last reason need not share a line
    assert "冯国栋" in text and has(text, "有残疾家庭成员：冯小芳", "2024-11-08", "无风险")
    assert has(text, "东村 5 1 20.0%")  # 5 households, 1 screened


def test_quality_report_groups_by_rule_with_the_ledger_state_never_an_internal_code(rendered, world):
    text = flat(text_of(rendered, "quality"))
    assert "MEDICAL_INSURANCE_MISSING" not in text and "GUARANTEE_MISSING" not in text
    assert has(text, "未参加基本医疗保险", "1 1 1 0")  # 1 finding, 1 household, 1 待整改, 0 无需整改
    assert "待整改问题按村统计" in text and has(text, "东村", "未参加基本医疗保险", "1 1")
    assert "冯国栋" in text and "A006" in text and "待整改" in text


def test_rectification_list_prints_the_open_findings_village_by_village(rendered, world, tmp_path):
    text = flat(text_of(rendered, "rectification"))
    assert "东村数据质量问题整改清单" in text and "西村数据质量问题整改清单" in text  # a part a village
    assert "整改情况" in text and "村负责人" in text
    assert has(text, "A006", "冯国栋", "冯国栋", "未参加基本医疗保险")  # household, head, member, what
    with world.db.session(world.admin) as s:
        entries = rectification.entries(s, YEAR)
        medical = [e.id for e in entries if e.code == "MEDICAL_INSURANCE_MISSING"]
        assert len(medical) == 1
        rectification.decide(s, medical, rectification.WAIVED, "在外地参加职工医保", TODAY)
        r = render(s, "rectification", tmp_path / "r.pdf", year=YEAR, as_of=TODAY, village="东村")
        s.rollback()
    after = flat(pdftext(r.path))
    assert "未参加基本医疗保险" not in after and "A006" not in after  # 无需整改 is not sent down to be corrected
    assert "西村" not in after and "A001" in after
    assert r.households == len({e.household_id for e in entries if e.village == "东村"}) - 1


# ---------------------------------------------------------------- errors, rare and missing characters, scale

def test_errors_are_chinese_and_name_what_is_wrong(world, tmp_path):
    with world.db.session(world.admin) as s:
        with pytest.raises(ReportError, match="未知的报表类型"):
            render(s, "nope", tmp_path / "x.pdf", year=YEAR, as_of=TODAY)
        with pytest.raises(ReportError, match="行政村“北村”不存在"):
            render(s, "summary", tmp_path / "x.pdf", year=YEAR, as_of=TODAY, village="北村")
        with pytest.raises(ReportError, match="户编号不存在：Z999"):
            render(s, "card", tmp_path / "x.pdf", year=YEAR, as_of=TODAY, household_nos=["A001", "Z999"])
        with pytest.raises(ReportError, match="不在“西村”"):
            render(s, "card", tmp_path / "x.pdf", year=YEAR, as_of=TODAY, village="西村", household_nos=["A001"])
        with pytest.raises(ReportError, match="2023 年度未设置监测线"):
            render(s, "collection-form", tmp_path / "x.pdf", year=2023, as_of=TODAY)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_rare_name_characters_are_drawn_and_extractable(world, tmp_path):
    with world.db.session(world.admin) as s:
        r = render(s, "card", tmp_path / "c.pdf", year=YEAR, as_of=TODAY, household_nos=["A001"])
    assert r.warnings == []
    assert RARE_HEAD in pdftext(r.path) and "王小堃" not in pdftext(r.path)  # the card names the head only


def test_character_missing_from_the_font_is_a_warning_not_a_blank(b, tmp_path):
    hid = b.household([b.person("张\ue000", date(1980, 1, 1), "1", "01")], no="M001", a3_category="02",
                      monitoring_status="monitoring", identified_on=date(2024, 3, 1), a27_risk_types=["01"])
    b.income(hid, collected_on=date(2024, 10, 1), A28="5000")
    r = render(b.s, "collection-form", tmp_path / "m.pdf", year=YEAR, as_of=TODAY, household_nos=["M001"])
    assert len(r.warnings) == 1
    assert "U+E000" in r.warnings[0] and "\ue000" in r.warnings[0] and "户 M001" in r.warnings[0]
    assert "张〓" in pdftext(r.path)  # printed as the placeholder, for the clerk to write in


@pytest.mark.slow(seconds=3)
def test_a_batch_of_households_paginates(tmp_path):
    """Pagination of a batch: page labels run through, each form starts with its household. (Speed at county
    scale is bench/'s business.) 60 households, as 200 were before: both fit one load chunk
    (households.LOAD_CHUNK, 400); 200 took more than twice as long."""
    HOUSEHOLDS = 60
    database = init_db(sqlite_url(tmp_path / "k.sqlite3"))
    try:
        with database.session(bootstrap="tester") as s:
            regions.init_township(s, TOWNSHIP, county="临淄区")
            demo.generate(s, HOUSEHOLDS, seed=3, year=YEAR, as_of=TODAY)
            s.commit()
            nos = list(s.scalars(select(Household.household_no).order_by(Household.household_no)))
            r = render(s, "collection-form", tmp_path / "k.pdf", year=YEAR, as_of=TODAY, household_nos=nos)
            q = render(s, "quality", tmp_path / "q.pdf", year=YEAR, as_of=TODAY)
    finally:
        database.dispose()
    assert r.households == HOUSEHOLDS and r.pages >= HOUSEHOLDS and r.pages == pdfpages(r.path)
    first = pdftext(r.path, first=1, last=1)
    last = pdftext(r.path, first=r.pages, last=r.pages)
    # pages are numbered within each household's form
    assert re.search(r"第\s*1\s*页\s*共\s*[2-9]\s*页", first) and has(first, f"户编号 {nos[0]}")
    n, total = map(int, re.search(r"第\s*(\d+)\s*页\s*共\s*(\d+)\s*页", last).groups())
    assert n == total and has(last, f"户编号 {nos[-1]}")
    assert all(f["emb"] == "yes" for f in pdffonts(r.path))
    # a long list splits across pages with its header row repeated on each
    assert q.pages >= 2
    for n in range(2, q.pages + 1):
        page = pdftext(q.path, first=n, last=n)
        # the list's header, or (the national rules make the summary by rule longer than a page) the summary's
        assert (has(page, "序号", "户编号", "户主", "行政村", "规则编号", "问题类型", "问题说明")
                or has(page, "序号", "规则编号", "问题类型", "问题条数") or "检查人" in page)


@pytest.mark.parametrize("kind", ["card", "revisit", "collection-form"])
def test_a_document_with_no_household_to_print_says_so(db, admin, tmp_path, kind):
    out = tmp_path / f"{kind}.pdf"
    with db.session(admin) as s:
        result = render(s, kind, out, year=YEAR, as_of=TODAY)  # the township has no monitored household yet
    assert result.households == 0 and result.warnings == ["没有符合条件的户"]
    assert "（没有符合条件的户）" in pdftext(out) and pdfpages(out) == 1
