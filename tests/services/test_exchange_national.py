"""The national system's own lists (SPEC §9.1): files built from the national column list with a title
row and a merged group row, in .xlsx, .xls and CSV (UTF-8, UTF-8 with BOM, GB18030), import with
every fact intact; nothing made up; bad input refused with sheet, row, column, value and reason; and
the national export reads back to the same cells."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from desktop.models import Household, IncomeLine, IncomeRecord, Measure, Member, Region
from desktop.services import assess, exchange, register
from desktop.services.exchange import layout

from ..conftest import TODAY, YEAR, family
from .national_files import COLUMNS, GROUPS, ID, TITLE, grid, sample_rows, write_book, write_csv, write_xls, write_xlsx


def preview(ctx, path, **kw):
    return ctx.read(exchange.preview, path, YEAR, **kw)


def run_import(ctx, path, **kw):
    def work(s):
        pv = exchange.preview(s, path, YEAR, **kw)
        if not pv.ok:
            return pv, None
        return pv, exchange.apply(s, pv, as_of=TODAY, take_backup=False, check=False)
    return ctx.run(work)


def imported(ctx, path, **kw):
    pv, result = run_import(ctx, path, **kw)
    assert pv.ok, [e.text() for e in pv.errors[:8]]
    return pv


def state(ctx) -> dict:
    """Every stored fact of the imported households, members and measures, comparable across runs."""
    def read(s):
        hh = {h.household_no: {c: getattr(h, c) for c in Household.__table__.c.keys()
                               if c not in ("id", "created_at", "updated_at", "village_id", "group_id")}
              for h in s.scalars(select(Household))}
        mem = {m.id_number: {c: getattr(m, c) for c in Member.__table__.c.keys()
                             if c not in ("id", "created_at", "updated_at", "household_id")}
               for m in s.scalars(select(Member))}
        ms = sorted((s.get(Household, m.household_id).household_no, m.category, m.item or "",
                     s.get(Member, m.member_id).id_number if m.member_id else "") for m in s.scalars(select(Measure)))
        return hh, mem, ms
    return ctx.read(read)


def household(ctx, no) -> Household:
    return ctx.read(lambda s: s.scalars(select(Household).where(Household.household_no == no)).one())


def member(ctx, number) -> Member:
    return ctx.read(lambda s: s.scalars(select(Member).where(Member.id_number == number)).one())


# ---------------------------------------------------------------- every fact intact

def test_a_national_list_with_title_and_group_rows_imports_every_fact(ctx, tmp_path):
    path = write_xlsx(tmp_path / "监测对象信息.xlsx", grid(sample_rows()))
    pv = imported(ctx, path)
    assert pv.layout == "national" and pv.households == 3 and pv.people == 6
    assert "全国系统" in pv.layout_text() and "3 户、6 人" in pv.layout_text()
    assert "户类型" in pv.converted and "是否解决安全饮用水" in pv.converted
    # read only to work out something else (监测状态 with the category): converted, never "kept as it is"
    assert "风险是否已消除" in pv.converted and "风险是否已消除" not in pv.kept
    assert any(t.startswith("人编号") for t in pv.left_out) and pv.ignored == []

    wang = household(ctx, "370305001001000001")
    assert wang.a4_poverty_alleviated is True and wang.a3_category == "01" and wang.monitoring_status == "monitoring"
    assert wang.a25_water_unsafe is True  # 是否解决安全饮用水 = 否
    assert wang.a23_housing_unsafe is False and wang.a24_school_dropout is False
    assert wang.a27_risk_types == ["01", "02"] and wang.identified_on == date(2023, 5, 1)
    assert wang.whole_no_labor_guarantee is False and wang.size == 3 and wang.head_name == "王大山"
    zhao = household(ctx, "370305001002000002")
    assert zhao.a4_poverty_alleviated is False and zhao.a3_category == "02" and zhao.monitoring_status == "removed"
    assert zhao.a53_removal_way == "01" and zhao.a54_removed_on == date(2024, 2, 1)
    assert zhao.whole_no_labor_guarantee is True and zhao.a27_risk_types == ["08", "11"]  # 缺劳动力, 因安全饮水
    assert (zhao.after_dropout, zhao.after_housing_damaged, zhao.after_medical_missing,
            zhao.after_water_damaged) == (False, False, False, False)
    assert zhao.after_a31 == Decimal("10200.00") and zhao.after_a34 == Decimal("5100.00")
    assert zhao.after_a29 is None  # blank in the file: unknown, not 0
    sun = household(ctx, "370305001001000003")
    assert sun.monitoring_status == "none" and sun.a3_category is None and sun.a4_poverty_alleviated is True

    head = member(ctx, ID["wang"])
    assert (head.ethnicity, head.health, head.labor, head.work_place, head.work_months) == \
        ("15", "02", "02", "广东省深圳市宝安区", 10)  # 土家 → 土家族, 慢性病, 普通劳动
    assert head.a17_resident_medical is True and head.a17_employee_medical is False and head.a17_medical is True
    assert head.public_post_months == 12 and head.a20_dibao == "00"
    wife = member(ctx, ID["li"])
    assert wife.a17_resident_medical is False and wife.a17_employee_medical is True and wife.a17_medical is True
    assert wife.labor == "01" and wife.a18_serious_illness is False and wife.a19_pension is True
    assert member(ctx, ID["wang_son"]).relation == "03"  # 长子
    assert member(ctx, ID["zhao"]).education == "07" and member(ctx, ID["zhao"]).a20_dibao == "01"
    assert member(ctx, ID["sun"]).education == "06"  # 高职高专

    def measures(s):
        return sorted((m.category, m.item, m.member_id is not None)
                      for m in s.scalars(select(Measure).join(Household).where(
                          Household.household_no == "370305001001000001")))
    assert ctx.read(measures) == [("A39", "养殖业", False), ("A39", "种植业", False), ("A42", "护林员", True),
                                  ("A45", "医疗救助", False)]

    def income(s):
        rec = s.scalars(select(IncomeRecord).join(Household).where(
            Household.household_no == "370305001001000001")).one()
        return {ln.item: ln.amount for ln in s.scalars(select(IncomeLine).where(IncomeLine.record_id == rec.id))}
    assert ctx.read(income) == {"A28": Decimal("12000.00"), "A29": Decimal("3000.50"), "A31": Decimal("1200.00"),
                                "A32": Decimal("800.00"), "A36": Decimal("5000.00")}  # 财产性收入 0: no line


@pytest.mark.parametrize("kind", ["xls", "csv-utf8", "csv-bom", "csv-gb18030"])
def test_xls_and_every_csv_encoding_store_the_same_facts(ctx, db, tmp_path, kind, migrated_template):
    cells = grid(sample_rows())
    if kind == "xls":
        path = write_xls(tmp_path / "名单.xls", cells)
    else:
        encoding = {"csv-utf8": "utf-8", "csv-bom": "utf-8-sig", "csv-gb18030": "gb18030"}[kind]
        path = write_csv(tmp_path / "名单.csv", cells, encoding)
    imported(ctx, path)
    got = state(ctx)
    ref_path = write_xlsx(tmp_path / "名单.xlsx", cells)
    # the same facts as the .xlsx: import it into the same database again changes nothing
    pv, result = run_import(ctx, ref_path)
    assert pv.ok and result.changed_fields == 0 and result.households_new == 0
    assert state(ctx) == got


# ---------------------------------------------------------------- nothing made up

def test_an_absent_column_is_unknown_never_no_and_exported_blank(ctx, tmp_path):
    cols = [c for c in COLUMNS if c not in ("户类型", "整户无劳动能力兜底保障户", "是否危房户")]
    imported(ctx, write_xlsx(tmp_path / "a.xlsx", grid(sample_rows(), cols)))
    wang = household(ctx, "370305001001000001")
    assert wang.a4_poverty_alleviated is None and wang.whole_no_labor_guarantee is None
    assert wang.a23_housing_unsafe is None
    out = ctx.read(exchange.export_national, tmp_path / "back.xlsx", YEAR)
    rows = CalamineWorkbook.from_path(str(out.path)).get_sheet_by_index(0).to_python()
    header = rows[2]
    first = dict(zip(header, rows[3], strict=True))
    assert first["户类型"] == "" and first["整户无劳动能力兜底保障户"] == "" and first["是否危房户"] == ""


def test_assess_names_an_unknown_poverty_flag_as_needing_review(ctx, tmp_path):
    cols = [c for c in COLUMNS if c != "户类型"]
    imported(ctx, write_xlsx(tmp_path / "a.xlsx", grid(sample_rows(), cols)))
    results = ctx.read(lambda s: assess.assess(s, YEAR, TODAY))
    sun = next(a for a in results if a.household_no == "370305001001000003")
    assert sun.suggestion.needs_review and any("是否脱贫户未知" in r for r in sun.suggestion.reasons)


def test_on_update_a_blank_or_absent_cell_keeps_what_is_stored(ctx, tmp_path):
    imported(ctx, write_xlsx(tmp_path / "a.xlsx", grid(sample_rows())))
    rows = sample_rows()
    for r in rows:
        r["务工所在地"] = ""
        r["是否危房户"] = "/"
    cols = [c for c in COLUMNS if c not in ("户类型", "致贫/返贫风险1", "致贫/返贫风险2")]
    pv, result = run_import(ctx, write_xlsx(tmp_path / "b.xlsx", grid(rows, cols)))
    assert pv.ok and result.changed_fields == 0
    wang = household(ctx, "370305001001000001")
    assert wang.a4_poverty_alleviated is True and wang.a23_housing_unsafe is False
    assert wang.a27_risk_types == ["01", "02"]
    assert member(ctx, ID["wang"]).work_place == "广东省深圳市宝安区"


def test_a_month_does_not_move_a_stored_day_of_the_same_month(ctx, township, tmp_path):
    imported(ctx, write_xlsx(tmp_path / "a.xlsx", grid(sample_rows())))

    def set_day(s):
        h = s.scalars(select(Household).where(Household.household_no == "370305001001000001")).one()
        h.identified_on = date(2023, 5, 17)
        s.commit()
    ctx.run(set_day)
    pv, result = run_import(ctx, write_xlsx(tmp_path / "b.xlsx", grid(sample_rows())))
    assert result.changed_fields == 0 and household(ctx, "370305001001000001").identified_on == date(2023, 5, 17)


# ---------------------------------------------------------------- bad input

def errors_of(ctx, path, **kw):
    pv = preview(ctx, path, **kw)
    assert not pv.ok
    return pv, [(e.sheet, e.row, e.column, e.value, e.reason) for e in pv.errors]


def test_household_fields_that_disagree_across_member_rows_name_both_rows(ctx, tmp_path):
    rows = sample_rows()
    rows[1]["是否危房户"] = "是"  # row 5 in the sheet; the household's first row is row 4
    pv, errs = errors_of(ctx, write_xlsx(tmp_path / "a.xlsx", grid(rows)))
    assert (TITLE, 5, "是否危房户", "是") == errs[0][:4] and "第 4 行为“否”" in errs[0][4]
    assert ctx.read(lambda s: s.scalar(select(Household.id))) is None


def test_every_member_row_that_disagrees_is_named_even_when_its_cells_repeat_the_row_before(ctx, tmp_path):
    """A member row whose household cells are those of the row before it is not compared again only when that row
    agreed with the household: two rows disagreeing alike are two errors, and a row agreeing before a disagreeing one
    does not hide it."""
    rows = sample_rows()
    rows[1]["是否危房户"] = rows[2]["是否危房户"] = "是"  # rows 5 and 6, the same cells; row 4 says 否
    rows[4]["是否义务教育阶段适龄儿童少年失学辍学"] = "是"  # 赵's second row (row 8); his first (row 7) says 否
    _pv, errs = errors_of(ctx, write_xlsx(tmp_path / "a.xlsx", grid(rows)))
    said = [(e[1], e[2], e[3]) for e in errs]
    assert said == [(5, "是否危房户", "是"), (6, "是否危房户", "是"),
                    (8, "是否义务教育阶段适龄儿童少年失学辍学", "是")], errs
    assert all("第 4 行为“否”" in e[4] for e in errs[:2]) and "第 7 行为“否”" in errs[2][4]

    rows = sample_rows()
    rows[2]["是否危房户"] = "是"  # row 5 repeats row 4 (agrees); row 6 disagrees
    _pv, errs = errors_of(ctx, write_xlsx(tmp_path / "b.xlsx", grid(rows)))
    assert [(e[1], e[2], e[3]) for e in errs] == [(6, "是否危房户", "是")], errs


def test_a_disagreement_in_a_column_read_the_other_way_round_shows_the_files_words(ctx, tmp_path):
    """是否解决安全饮用水 is stored as its opposite (A25 饮水出现安全问题): an error about it names the file's words."""
    rows = sample_rows()
    assert rows[0]["是否解决安全饮用水"] == "否"
    rows[1]["是否解决安全饮用水"] = "是"  # row 5; the household's first row (row 4) says 否
    _pv, errs = errors_of(ctx, write_xlsx(tmp_path / "a.xlsx", grid(rows)))
    assert [(e[1], e[2], e[3]) for e in errs] == [(5, "是否解决安全饮用水", "是")], errs
    assert "第 4 行为“否”" in errs[0][4], errs


def test_a_person_in_two_households_a_household_without_head_and_a_bad_month(ctx, tmp_path):
    rows = sample_rows()
    rows[5]["证件号码"] = ID["zhao"]  # 孙秀英's row carries 赵老汉's number: one person, two households
    rows[3]["与户主关系"] = "之子"  # the 赵 household has no 户主 now
    rows[0]["识别监测时间"] = "2023-05-01"
    pv, errs = errors_of(ctx, write_xlsx(tmp_path / "a.xlsx", grid(rows)))
    reasons = " | ".join(e[4] for e in errs)
    assert "一人不能在两户" in reasons or "同一人出现在两户" in reasons
    assert any("没有户主" in e[4] and e[3] == "370305001002000002" for e in errs)
    assert any(e[2] == "识别监测时间" and e[3] == "2023-05-01" and "YYYYMM" in e[4] for e in errs)


def test_excel_damage_to_id_numbers_is_named_as_such(ctx, tmp_path):
    rows = sample_rows()
    cells = grid(rows)
    at = cells[2].index("证件号码")
    cells[3][at] = float(ID["wang"][:17] + "0")  # a number cell: Excel keeps 15 digits
    cells[4][at] = "4.30726E+17"
    cells[5][at] = ID["wang_son"][:15] + "000"
    cells[6][at] = "'" + ID["zhao"]  # the leading apostrophe of "text": fine
    pv, errs = errors_of(ctx, write_xlsx(tmp_path / "a.xlsx", cells))
    by_row = {e[1]: e for e in errs if e[2] == "证件号码"}
    assert "E+17" in by_row[4][4] and "15 位有效数字" in by_row[4][4]
    assert "科学计数法" in by_row[5][4] and by_row[5][3] == "4.30726E+17"
    assert "可能被 Excel 截断，请核对原始证件号" in by_row[6][4]
    assert 7 not in by_row


def test_totals_and_footer_rows_are_skipped_with_a_note(ctx, tmp_path):
    cells = grid(sample_rows())
    total = [None] * len(COLUMNS)
    total[0] = "合计"
    total[COLUMNS.index("工资性收入")] = "99999"
    footer = ["填表人：张三", None, None, "审核人：李四", None, "日期：2024年5月"] + [None] * (len(COLUMNS) - 6)
    pv = imported(ctx, write_xlsx(tmp_path / "a.xlsx", cells + [total, footer]))
    assert pv.households == 3
    assert any("第 10 行是合计行" in n for n in pv.notes) and any("第 11 行是表尾" in n for n in pv.notes)


def test_an_unknown_column_that_matters_stops_unless_accepted(ctx, tmp_path):
    cells = grid(sample_rows())
    for r in cells[2:]:
        r.append("家庭年收入" if r is cells[2] else "1")
    cells[1].append(None)
    cells[0].append(None)
    path = write_xlsx(tmp_path / "a.xlsx", cells, merge=False)
    pv = preview(ctx, path)
    assert not pv.ok and pv.confirmable and pv.ignored == ["家庭年收入"]
    assert pv.errors[0].column == "家庭年收入" and "--accept-unknown-columns" in pv.errors[0].reason
    pv.confirm()
    assert pv.ok
    assert preview(ctx, path, accept_unknown_columns=True).ok


def test_a_village_name_close_to_an_existing_one_is_a_question(ctx, tmp_path):
    from desktop.services import regions
    ctx.run(lambda s: (regions.add_village(s, "杨坪村"), s.commit()))
    rows = sample_rows()
    for r in rows:
        r["村"] = {"西村": "西村村委会", "东村": "杨平村"}[r["村"]]
    path = write_xlsx(tmp_path / "a.xlsx", grid(rows))
    pv = preview(ctx, path)
    assert not pv.ok and pv.confirmable and pv.villages_to_create == ["杨平村", "西村村委会"]
    text = " ".join(e.text() for e in pv.errors)
    assert "“杨坪村”" in text and "西村村委会" in text and "“西村”" in text and "--create-villages" in text
    pv, result = run_import(ctx, path, create_villages=True)
    assert sorted(result.villages_created) == ["杨平村", "西村村委会"]
    assert ctx.read(lambda s: s.scalar(select(Region.id).where(Region.name == "杨平村"))) is not None


def test_two_sheets_a_person_on_both_must_agree(ctx, tmp_path):
    rows = sample_rows()
    first = grid(rows[:3] + rows[5:])
    second = grid(rows[:4], title=False, groups=False)  # 王 again (same facts), and 赵 alone
    path = write_book(tmp_path / "两表.xlsx", {"已脱贫人口名单": first, "边缘易致贫人口名单": second})
    pv = preview(ctx, path)
    assert [e.text() for e in pv.errors] == [] and pv.people == 5
    assert pv.sheets_read == ["已脱贫人口名单", "边缘易致贫人口名单"]
    rows2 = [dict(r) for r in rows[:4]]
    rows2[0]["劳动技能"] = "丧失劳动力"
    path = write_book(tmp_path / "两表不一致.xlsx", {"已脱贫人口名单": first,
                                                      "边缘易致贫人口名单": grid(rows2, title=False, groups=False)})
    pv, errs = errors_of(ctx, path)
    e = next(e for e in errs if e[2] == "劳动技能")
    assert e[:2] == ("边缘易致贫人口名单", 2), e
    assert "“已脱贫人口名单”第 4 行为“普通劳动力”" in e[4], e


def test_a_two_row_header_keeps_income_and_the_after_removal_block_apart(ctx, tmp_path):
    """风险消除后情况 › 工资性收入 under a merged group is 风险消除后工资性收入, never A28."""
    rows = sample_rows()
    after = [c for c in GROUPS[-1][1]]
    short = {c: c.replace("风险消除后", "") for c in after}
    cells = grid(rows)
    cells[2] = [short.get(c, c) for c in cells[2]]
    imported(ctx, write_xlsx(tmp_path / "a.xlsx", cells))
    zhao = household(ctx, "370305001002000002")
    assert zhao.after_a31 == Decimal("10200.00")

    def a31(s):
        rec = s.scalars(select(IncomeRecord).where(IncomeRecord.household_id == zhao.id)).one()
        return s.scalar(select(IncomeLine.amount).where(IncomeLine.record_id == rec.id, IncomeLine.item == "A31"))
    assert ctx.read(a31) == Decimal("9600.00")


def test_a_half_reshaped_program_sheet_reads_national_names_and_values(ctx, tmp_path):
    from .test_exchange_book import family_rows, hh, table
    from .test_exchange_book import write_book as program_book
    path = program_book(tmp_path / "村.xlsx", {
        "户信息": table([hh("H001", 户类型="脱贫户", 是否解决安全饮用水="否", **{"致贫/返贫风险1": "因病",
                                                                              "致贫/返贫风险2": "因残"})]),
        "家庭成员": table(family_rows("H001", 1))})
    imported(ctx, path)
    h = household(ctx, "H001")
    assert h.a4_poverty_alleviated is True and h.a25_water_unsafe is True and h.a27_risk_types == ["01", "03"]


# ---------------------------------------------------------------- the national export

def _cells(path) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


def test_export_national_reads_back_to_the_same_cells(ctx, db, tmp_path):
    imported(ctx, write_xlsx(tmp_path / "a.xlsx", grid(sample_rows())))
    first = ctx.read(exchange.export_national, tmp_path / "first.xlsx", YEAR)
    cells = _cells(first.path)
    assert cells[0][0] == TITLE and cells[1][0] == "基础信息" and cells[2][:4] == ["序号", "县", "乡", "村"]
    assert [g for g in cells[1] if g] == [g for g, _c in GROUPS]
    assert first.members == 6 and first.households == 3

    def wipe(s):
        from sqlalchemy import delete

        from desktop.models import AuditEntry, MemberEvent
        for model in (IncomeLine, IncomeRecord, Measure, MemberEvent, Member, Household, AuditEntry):
            s.execute(delete(model))
        s.commit()
    ctx.run(wipe)
    imported(ctx, first.path)
    second = ctx.read(exchange.export_national, tmp_path / "second.xlsx", YEAR)
    assert _cells(second.path) == cells
    # and the facts the original file gave are in the export, in national words
    row = dict(zip(cells[2], cells[3], strict=True))
    assert row["户类型"] == "脱贫户" and row["是否解决安全饮用水"] == "否" and row["识别监测时间"] == "202305"
    assert row["致贫/返贫风险1"] == "因病" and row["公益性岗位"] == "护林员" and row["产业帮扶"] == "种植业,养殖业"
    assert row["务工所在地"] == "广东省深圳市宝安区" and row["是否参加城镇职工基本医疗保险"] == "否"


def test_the_program_export_round_trips_the_new_fields(ctx, tmp_path):
    data, members = family(ctx.read(lambda s: s.scalar(select(Region.id).where(Region.name == "东村"))))
    members[0].work_place = "浙江省义乌市"
    members[0].a17_resident_medical, members[0].a17_employee_medical = True, False
    members[0].school_absence_reason = None
    members[1].public_post_months = 6
    data.a4_poverty_alleviated = None
    ctx.run(lambda s: (register.save_household(s, data, members, TODAY), s.commit()))
    before = state(ctx)
    out = ctx.read(exchange.export_workbook, tmp_path / "e.xlsx", YEAR)
    pv, result = run_import(ctx, out.path)
    assert pv.ok and result.changed_fields == 0 and state(ctx) == before


A26 = "是否有家庭成员未参加城乡居民（职工）基本医疗保险"
RESIDENT, EMPLOYEE = "是否参加城乡居民基本医疗保险", "是否参加城镇职工基本医疗保险"


def _people(path) -> dict[str, dict]:
    cells = _cells(path)
    return {row[cells[2].index("证件号码")]: dict(zip(cells[2], row, strict=True)) for row in cells[3:]}


def test_an_unknown_medical_insurance_is_exported_blank_and_a17_no_round_trips(ctx, tmp_path):
    """城乡居民=否 with 职工 blank says nothing about A17: it stays unknown, and the household's A26 is written
    blank (never 否, the made-up answer). A17 否 typed in the register (both flags unknown) is written as 否/否 —
    what A17 否 means — with A26 是, and reads back as A17 否."""
    rows = sample_rows()
    rows[0][EMPLOYEE] = ""
    rows[0][RESIDENT] = "否"
    imported(ctx, write_xlsx(tmp_path / "a.xlsx", grid(rows)))
    assert member(ctx, ID["wang"]).a17_medical is None
    people = _people(ctx.read(exchange.export_national, tmp_path / "first.xlsx", YEAR).path)
    wang = people[ID["wang"]]
    assert (wang[RESIDENT], wang[EMPLOYEE], wang[A26]) == ("否", "", "")
    ours = ctx.read(exchange.export_workbook, tmp_path / "ours.xlsx", YEAR).path
    sheet = layout.sheet("household")
    households = CalamineWorkbook.from_path(str(ours)).get_sheet_by_name(sheet.name).to_python()
    header = next(r for r in households if "户编号" in r)
    row = next(r for r in households if "370305001001000001" in r)
    assert row[header.index(sheet.column("a26").header)] == ""

    def typed_no(s):
        m = s.scalars(select(Member).where(Member.id_number == ID["wang"])).one()
        m.a17_medical, m.a17_resident_medical, m.a17_employee_medical = False, None, None
        s.commit()
    ctx.run(typed_no)
    second = ctx.read(exchange.export_national, tmp_path / "second.xlsx", YEAR).path
    wang = _people(second)[ID["wang"]]
    assert (wang[RESIDENT], wang[EMPLOYEE], wang[A26]) == ("否", "否", "是")

    def wipe(s):
        from sqlalchemy import delete

        from desktop.models import AuditEntry, MemberEvent
        for model in (IncomeLine, IncomeRecord, Measure, MemberEvent, Member, Household, AuditEntry):
            s.execute(delete(model))
        s.commit()
    ctx.run(wipe)
    imported(ctx, second)
    assert member(ctx, ID["wang"]).a17_medical is False
    assert _cells(ctx.read(exchange.export_national, tmp_path / "third.xlsx", YEAR).path) == _cells(second)


def test_the_household_a26_column_settles_what_the_two_flags_leave_open(ctx, tmp_path):
    """城乡居民 否 with 职工 blank says nothing by itself; the national list's household column says whether
    anybody lacks basic medical insurance: 否 → the unknown members are insured; 是 with one unknown member →
    that member is not insured (assess then sees the 基本医疗保险 problem); 是 with two unknown → a note."""
    rows = sample_rows()
    for r in rows:
        r.setdefault(A26, "否")
    wang_rows = [r for r in rows if r["户编号"] == "370305001001000001"]
    zhao_rows = [r for r in rows if r["户编号"] == "370305001002000002"]
    for r in wang_rows:
        r[A26] = "是"
    wang_rows[0][RESIDENT], wang_rows[0][EMPLOYEE] = "否", ""
    for r in zhao_rows:
        r[RESIDENT], r[EMPLOYEE] = "否", ""
    zhao_rows[0][A26] = zhao_rows[1][A26] = "否"
    sun_rows = [r for r in rows if r["户编号"] == "370305001001000003"]
    assert len(wang_rows) >= 2 and len(zhao_rows) == 2 and sun_rows
    pv = imported(ctx, write_xlsx(tmp_path / "a.xlsx", grid(rows)))
    assert member(ctx, ID["wang"]).a17_medical is False  # the one the household column points at
    assert all(m.a17_medical is True for m in (member(ctx, ID["zhao"]), member(ctx, ID["zhao_wife"])))
    results = {a.household_no: a for a in ctx.read(lambda s: assess.assess(s, YEAR, TODAY))}
    assert "基本医疗保险" in results["370305001001000001"].guarantee_problems
    assert "基本医疗保险" not in results["370305001002000002"].guarantee_problems
    assert not any("户 370305001001000001" in n for n in pv.notes)
    people = _people(ctx.read(exchange.export_national, tmp_path / "back.xlsx", YEAR).path)
    assert people[ID["wang"]][A26] == "是" and people[ID["zhao"]][A26] == "否"


def test_a_household_a26_that_names_nobody_is_a_note_and_stays_unknown(ctx, tmp_path):
    rows = sample_rows()
    wang_rows = [r for r in rows if r["户编号"] == "370305001001000001"]
    for r in wang_rows:
        r[A26] = "是"
        r[RESIDENT], r[EMPLOYEE] = "否", ""
    pv = imported(ctx, write_xlsx(tmp_path / "a.xlsx", grid(rows)))
    assert all(member(ctx, r["证件号码"]).a17_medical is None for r in wang_rows)
    [note] = [n for n in pv.notes if "户 370305001001000001" in n]
    assert note.startswith("1 户名单写明有家庭成员未参加基本医疗保险，但从成员的两项医保标志判断不出是谁")
    assert f"户 370305001001000001（{len(wang_rows)} 人未知）" in note


def test_many_new_villages_are_counted_as_villages_in_the_summary(tmp_path):
    """The summary lists the first villages and groups made and counts the rest as 个, not 户 (a second helper
    named like the first once took its place for the whole module)."""
    from desktop.services.exchange.importer import ImportResult
    villages = [f"新村{k}村" for k in range(73)]
    result = ImportResult(path=tmp_path / "x.xlsx", year=YEAR, households_new=20000, households_updated=0,
                          members_new=60000, members_updated=0, measures_new=0, measures_updated=0,
                          income_records=0, villages_created=villages, groups_created=["新村0村 一组"],
                          changed_fields=0, backup=None)
    text = result.summary()
    assert "新建行政村 73 个：" + "、".join(villages[:12]) + " 等 73 个" in text
    assert "户" not in text.split("新建行政村")[1]
