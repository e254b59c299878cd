"""Key-check lists of a concentrated screening (集中排查, SPEC §6.3; seed 000 §一(一), seed 003 五个必查):
each reason lists the right household and not its control; thresholds are settings of the year;
visits are recorded."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from desktop.models import AuditEntry, ScreeningVisit
from desktop.services import screening, settings
from tests.conftest import TODAY, YEAR


def listed(b, year: int = YEAR, as_of: date = TODAY) -> dict[str, screening.KeyCheck]:
    return {k.household_no: k for k in screening.key_checks(b.s, year, as_of)}


def with_reason(b, key: str, **kw) -> set[str]:
    return {no for no, k in listed(b, **kw).items() if key in k.reasons}


def thresholds(b, **values) -> None:
    settings.set_year(b.s, YEAR, thresholds=values)


def test_reasons_are_the_groups_of_spec():
    assert set(screening.REASONS) == {
        "new_guarantee", "income_fell", "income_fell_twice", "quarter_drop", "risk_type", "disabled_member",
        "unstable_wage", "rigid_expense", "relief_channel",  # 000 §一(一), 003 五个必查
        "unemployed", "sick_member", "incapacitated_elderly", "on_guarantee", "petition", "guarantee_risk",  # 四个必到
        "illness_risk", "guarantee_gap", "disabled_child", "studying_away", "newly_disabled",  # 六个必核
        "new_with_student", "policy_excluded_watch"}  # 004 §一(二)


def test_household_without_any_reason_is_not_listed(b):
    hid = b.household(a27_risk_types=["09"])
    b.income(hid, collected_on=date(2024, 10, 10), A28="20000", A29="10000")
    assert screening.key_checks(b.s, YEAR, TODAY) == []


class TestNewGuarantee:
    def test_new_guarantee_by_a_dibao_or_tekun_measure_started_this_year(self, b):
        dibao = b.household()
        b.measure(dibao, "A48", "低保", start=date(2024, 3, 1))
        tekun = b.household()
        b.measure(tekun, "A48", "特困供养", start=date(2023, 10, 1))  # first day of the period
        before = b.household()
        b.measure(before, "A48", "低保", start=date(2023, 9, 30))
        after_period = b.household()
        b.measure(after_period, "A48", "低保", start=date(2024, 10, 1))  # after 09-30, before the screening
        future = b.household()
        b.measure(future, "A48", "低保", start=date(2024, 11, 21))
        other = b.household()
        b.measure(other, "A48", "临时救助", start=date(2024, 3, 1))
        got = listed(b)
        assert {no for no, k in got.items() if "new_guarantee" in k.reasons} == {
            b.no(dibao), b.no(tekun), b.no(after_period)}
        assert got[b.no(dibao)].reasons["new_guarantee"] == "低保措施自 2024-03-01 开始"
        assert "本年度新纳入低保或特困：特困供养措施自 2023-10-01 开始" in got[b.no(tekun)].reason_texts

    def test_new_guarantee_by_the_start_date_of_A20_or_A21(self, b):
        """000 §一(一) 1: "2023 年以来有新识别农村低保对象或分散供养特困人员的农户" — newly, by the date it began."""
        dibao, tekun, early, stopped = b.household(), b.household(), b.household(), b.household()
        b.update_member(dibao, "李四", a20_dibao="01", a20_dibao_since=date(2024, 5, 1))
        b.update_member(tekun, "李四", a21_tekun="01", a21_tekun_since=date(2023, 10, 1))
        b.update_member(early, "李四", a20_dibao="01", a20_dibao_since=date(2023, 9, 30))
        b.update_member(stopped, "李四", a20_dibao="00", a20_dibao_since=date(2024, 5, 1))
        got = listed(b)
        assert {no for no, k in got.items() if "new_guarantee" in k.reasons} == {b.no(dibao), b.no(tekun)}
        assert got[b.no(dibao)].reasons["new_guarantee"] == "李四自 2024-05-01 享受低保"
        assert got[b.no(tekun)].reasons["new_guarantee"] == "李四自 2023-10-01 享受特困供养"

    def test_an_unknown_start_date_is_not_new_whatever_the_audit_says(self, b):
        """Defect 7: "for imported data the start date comes from a column, else it is unknown — never the
        import date". A 低保 typed in this year (audited today) with no start date is not "new"."""
        hid = b.household()
        b.update_member(hid, "李四", a20_dibao="01")
        b.s.commit()  # the audit entry is in the log once committed (PostgreSQL chains it at the commit)
        entry = b.s.scalars(select(AuditEntry).where(AuditEntry.household_id == hid,
                                                     AuditEntry.field == "a20_dibao")).one()
        entry.at = datetime(2024, 5, 1, 9)
        b.s.flush()
        got = listed(b)
        assert "new_guarantee" not in got[b.no(hid)].reasons
        assert got[b.no(hid)].reasons["on_guarantee"] == "李四"  # still a 低保 household (四个必到)


class TestIncomeFell:
    @pytest.fixture
    def years(self, b):
        settings.set_year(b.s, 2023, monitoring_line="6900")
        settings.set_year(b.s, 2022, monitoring_line="6600")

    def household(self, b, per_capita: dict[int, str], a4: bool = True) -> int:
        hid = b.household(a4_poverty_alleviated=a4)  # two members every year
        for year, pc in per_capita.items():
            b.income(hid, year=year, collected_on=date(year, 10, 10), A28=2 * Decimal(pc))
        return hid

    def test_any_fall_of_any_household_counts(self, b, years):
        """003 五个必查 ①: "关注2021年家庭人均纯收入较上年减少的农户，必须核查" — any fall, any household."""
        fen = self.household(b, {2023: "10000", 2024: "9999.99"})
        general = self.household(b, {2023: "10000", 2024: "5000"}, a4=False)
        same = self.household(b, {2023: "10000", 2024: "10000"})
        no_last = self.household(b, {2024: "3000"})
        got = listed(b)
        assert {no for no, k in got.items() if "income_fell" in k.reasons} == {b.no(fen), b.no(general)}
        assert got[b.no(fen)].reasons["income_fell"] == "2023 年 10,000.00 元 → 2024 年 9,999.99 元"
        assert all(b.no(h) not in got for h in (same, no_last))

    def test_income_fell_ratio_is_a_setting_of_the_year(self, b, years):
        fell = self.household(b, {2023: "10000", 2024: "8999.99"})
        ten = self.household(b, {2023: "10000", 2024: "9000"})
        settings.set_year(b.s, 2023, thresholds={"income_drop_ratio": "0.1"})  # another year's: no effect
        assert with_reason(b, "income_fell") == {b.no(fell), b.no(ten)}
        thresholds(b, income_drop_ratio="0.1")  # narrowed: more than 10 %
        assert with_reason(b, "income_fell") == {b.no(fell)}
        thresholds(b, income_drop_ratio="0.2")
        assert with_reason(b, "income_fell") == set()

    def test_income_fell_twice_two_years_running_is_its_own_reason(self, b, years):
        """000 §一(一) 2: "2022 年收入下降或连续两年下降的脱贫户"."""
        twice = self.household(b, {2022: "12000", 2023: "10000", 2024: "8000"})
        once = self.household(b, {2022: "9000", 2023: "10000", 2024: "8000"})
        general = self.household(b, {2022: "12000", 2023: "10000", 2024: "8000"}, a4=False)
        got = listed(b)
        assert {no for no, k in got.items() if "income_fell_twice" in k.reasons} == {b.no(twice)}
        assert got[b.no(twice)].reasons["income_fell_twice"] == (
            "2022 年 12,000.00 元 → 2023 年 10,000.00 元 → 2024 年 8,000.00 元")
        assert all("income_fell" in got[b.no(h)].reasons for h in (twice, once, general))


class TestQuarterDrop:
    def test_quarter_drop_between_the_last_two_collections(self, b):
        def h(*a33):
            hid = b.household()
            for i, amount in enumerate(a33):
                b.income(hid, quarter=i + 1, collected_on=date(2024, 1 + 3 * i, 1), A28=amount)
            return hid
        drop = h("10000", "7999.99")
        twenty = h("10000", "8000")  # exactly 20 %: not more
        recovered = h("10000", "5000", "6000")  # only the last two collections count
        single = h("3000")
        got = listed(b)
        assert {no for no, k in got.items() if "quarter_drop" in k.reasons} == {b.no(drop)}
        assert got[b.no(drop)].reasons["quarter_drop"] == (
            "2024-01-01 采集的季度人均纯收入 5,000.00 元，2024-04-01 降至 4,000.00 元")
        assert all(b.no(x) not in got for x in (twenty, recovered, single))
        thresholds(b, quarter_drop_ratio="0.1")
        assert with_reason(b, "quarter_drop") == {b.no(drop), b.no(twenty)}

    def test_quarter_drop_only_between_quarterly_collections(self, b):
        # An annual record (quarter None) is not a quarterly collection: a lower re-collection of the
        # year, or the year's total after a quarter, is no "quarterly drop".
        recollected = b.household()
        b.income(recollected, collected_on=date(2024, 10, 10), A28="10000")
        b.income(recollected, collected_on=date(2024, 10, 20), A28="5000")
        after_quarter = b.household()
        b.income(after_quarter, quarter=2, collected_on=date(2024, 7, 1), A28="10000")
        b.income(after_quarter, collected_on=date(2024, 10, 10), A28="5000")
        with_annual = b.household()
        b.income(with_annual, quarter=1, collected_on=date(2024, 4, 1), A28="10000")
        b.income(with_annual, quarter=2, collected_on=date(2024, 7, 1), A28="5000")
        b.income(with_annual, collected_on=date(2024, 10, 10), A28="30000")
        assert with_reason(b, "quarter_drop") == {b.no(with_annual)}

    def test_quarter_drop_not_across_years(self, b):
        hid = b.household()
        b.income(hid, year=2023, quarter=4, collected_on=date(2023, 12, 1), A28="10000")
        b.income(hid, year=2024, quarter=1, collected_on=date(2024, 4, 1), A28="5000")
        assert with_reason(b, "quarter_drop") == set()


def test_risk_type_work_industry_or_accident(b):
    work = b.household(a27_risk_types=["07"])
    two = b.household(a27_risk_types=["05", "06", "01"])
    illness = b.household(a27_risk_types=["01", "04"])
    got = listed(b)
    assert {no for no, k in got.items() if "risk_type" in k.reasons} == {b.no(work), b.no(two)}
    assert got[b.no(work)].reasons["risk_type"] == "因务工就业不稳"
    assert got[b.no(two)].reasons["risk_type"] == "因意外事故、因产业项目失败"
    assert set(got[b.no(illness)].reasons) == {"illness_risk"}  # 六个必核: 因病致贫返贫风险


def test_disabled_member_living(b):
    hid = b.household([*b.couple(), b.person("王残", date(1995, 1, 1), "1", "03", health="04",
                                             disability_grade="03")])
    dead = b.household([*b.couple(), b.person("赵残", date(1940, 1, 1), "1", "11", health="04",
                                              disability_grade="01")])
    b.event(dead, "赵残", "death", date(2024, 2, 1))
    ill = b.household([*b.couple(), b.person("病人", date(1990, 1, 1), "2", "04", health="03")])
    got = listed(b)
    assert set(got) == {b.no(hid), b.no(ill)}
    assert got[b.no(hid)].reason_texts == ["有残疾家庭成员：王残"]
    assert got[b.no(ill)].reason_texts == ["有大病、重症或慢性病成员：病人（患有大病）"]
    assert got[b.no(hid)].head_name == "张三"


class TestUnstableWage:
    def h(self, b, months: int, a28: str, a29: str) -> int:
        hid = b.household([b.person("张三", date(1970, 3, 5), "1", "01", work_months=months),
                           b.person("李四", date(1972, 8, 9), "2", "02")])
        b.income(hid, collected_on=date(2024, 10, 10), A28=a28, A29=a29)
        return hid

    def test_unstable_wage_high_wage_share_and_under_6_months(self, b):
        hit = self.h(b, 5, "7100", "2900")  # 71 %, 5 months
        six = self.h(b, 6, "7100", "2900")  # 6 months is stable
        share70 = self.h(b, 5, "7000", "3000")  # exactly 70 %: not above
        got = listed(b)
        assert {no for no, k in got.items() if "unstable_wage" in k.reasons} == {b.no(hit)}
        detail = got[b.no(hit)].reasons["unstable_wage"]
        assert "工资性收入占 71%" in detail and "张三务工 5 个月" in detail
        assert b.no(six) not in got and b.no(share70) not in got

    def test_unstable_wage_thresholds_are_settings(self, b):
        hit = self.h(b, 5, "7100", "2900")
        six = self.h(b, 6, "7100", "2900")
        share70 = self.h(b, 5, "7000", "3000")
        thresholds(b, unstable_work_months=7, wage_share="0.69")
        assert with_reason(b, "unstable_wage") == {b.no(hit), b.no(six), b.no(share70)}


class TestRigidExpense:
    def h(self, b, **amounts) -> int:
        hid = b.household()
        b.income(hid, collected_on=date(2024, 10, 10), **amounts)
        return hid

    def test_rigid_expense_large_against_income(self, b):
        hit = self.h(b, A28="10000", A36="5000.01")
        half = self.h(b, A28="10000", A36="5000")  # exactly half: not above
        nothing_left = self.h(b, A28="1000", A32="1000", A36="10")
        none = self.h(b, A28="1000")
        got = listed(b)
        assert {no for no, k in got.items() if "rigid_expense" in k.reasons} == {b.no(hit), b.no(nothing_left)}
        assert got[b.no(hit)].reasons["rigid_expense"] == "合规自付支出 5,000.01 元，家庭纯收入 10,000.00 元"
        assert b.no(half) not in got and b.no(none) not in got
        thresholds(b, rigid_expense_ratio="0.4")
        assert with_reason(b, "rigid_expense") == {b.no(hit), b.no(half), b.no(nothing_left)}


def test_relief_channel_clue_from_the_household_or_a_warning_in_the_period(b):
    hotline = b.household()
    b.clue(hotline, "04", date(2024, 6, 1))
    applied = b.household()
    b.clue(applied, "01", date(2023, 10, 1))  # first day of the period
    warned = b.household()
    b.clue(warned, "03", date(2024, 9, 30))  # last day
    cadre = b.household()
    b.clue(cadre, "02", date(2024, 6, 1))
    other = b.household()
    b.clue(other, "05", date(2024, 6, 1))
    old = b.household()
    b.clue(old, "01", date(2023, 9, 30))
    got = listed(b)
    assert {no for no, k in got.items() if "relief_channel" in k.reasons} == {b.no(hotline), b.no(applied),
                                                                                b.no(warned)}
    assert got[b.no(hotline)].reasons["relief_channel"] == "2024-06-01 12317平台"
    assert all(b.no(h) not in got for h in (cadre, other, old))


def test_every_reason_of_a_household_is_listed_in_order_of_household_number(b):
    second = b.household([*b.couple(), b.person("王残", date(1995, 1, 1), "1", "03", health="04",
                                                disability_grade="02")], a27_risk_types=["06"], no="H2")
    first = b.household(a27_risk_types=["05"], no="H1")
    b.clue(second, "01", date(2024, 6, 1))
    result = screening.key_checks(b.s, YEAR, TODAY)
    assert [k.household_no for k in result] == ["H1", "H2"]
    assert set(result[1].reasons) == {"risk_type", "disabled_member", "relief_channel"}
    assert result[1].household_id == second and result[0].household_id == first


class TestMarkVisited:
    def test_mark_visited_is_returned_with_the_key_check(self, b):
        hid = b.household(a27_risk_types=["07"])
        other = b.household(a27_risk_types=["06"])
        screening.mark_visited(b.s, hid, YEAR, date(2024, 11, 15), "clue", "  已登记线索 ")
        got = listed(b)
        k = got[b.no(hid)]
        assert (k.visited_on, k.outcome, k.note) == (date(2024, 11, 15), "clue", "已登记线索")
        assert got[b.no(other)].visited_on is None and got[b.no(other)].outcome is None
        visit = b.s.scalars(select(ScreeningVisit).where(ScreeningVisit.household_id == hid)).one()
        assert visit.visited_by == "admin"  # who was logged in

    def test_mark_visited_again_replaces_the_visit_of_the_year(self, b):
        hid = b.household(a27_risk_types=["07"])
        screening.mark_visited(b.s, hid, YEAR, date(2024, 11, 15), "clue", "第一次")
        screening.mark_visited(b.s, hid, YEAR, date(2024, 11, 18), "no_risk")
        k = listed(b)[b.no(hid)]
        assert (k.visited_on, k.outcome, k.note) == (date(2024, 11, 18), "no_risk", None)
        assert len(b.s.scalars(select(ScreeningVisit)).all()) == 1

    def test_mark_visited_of_another_year_does_not_show(self, b):
        hid = b.household(a27_risk_types=["07"])
        screening.mark_visited(b.s, hid, 2023, date(2023, 11, 15), "no_risk")
        assert listed(b)[b.no(hid)].visited_on is None

    def test_mark_visited_refuses_an_unknown_outcome(self, b):
        hid = b.household(a27_risk_types=["07"])
        with pytest.raises(screening.ScreeningError, match="未知的排查结果"):
            screening.mark_visited(b.s, hid, YEAR, date(2024, 11, 15), "maybe")


def test_a_visit_that_finds_a_risk_registers_a_clue_once(db, township, admin):
    from desktop.services import register, screening, workflow
    from tests.conftest import TODAY, family
    with db.session(admin) as s:
        data, members = family(township["villages"]["东村"], no="S1")
        hid = register.save_household(s, data, members, TODAY)
        assert screening.mark_visited(s, hid, 2024, date(2024, 11, 1), "no_risk") is None
        clue = screening.mark_visited(s, hid, 2024, date(2024, 11, 2), "clue", "户主新患重病")
        assert clue is not None
        assert screening.mark_visited(s, hid, 2024, date(2024, 11, 3), "clue", "复核") is None  # not twice
        [row] = workflow.clues(s, pending_only=True)
        assert row.source_name == "干部排查" and "户主新患重病" in row.description and row.household_id == hid
