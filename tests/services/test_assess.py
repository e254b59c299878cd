"""assess() over the database and the CLI `assess` contract (SPEC §11)."""

import json
import os
from datetime import date
from decimal import Decimal as D

import pytest

from desktop.models import Household, Measure
from desktop.services import assess, income, register
from desktop.services.assess import AssessError
from desktop.services.income import LineData, RecordData
from tests.cli.runner import cli
from tests.conftest import ADMIN_PASSWORD, TODAY, family

KEYS = ["household_no", "year", "size", "A33", "A34", "A37", "A38", "suggested_category", "needs_review", "reasons",
        "guarantee_problems", "whole_household_no_labor", "developmental_measure_required",
        "developmental_measure_missing", "warning_color"]


def household(ctx, township, no, serial, a28, a36="0", **fields):
    data, members = family(township["villages"]["东村"], no=no, serial=serial)
    for k, v in fields.items():
        setattr(data, k, v)
    hid = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    rec = RecordData(hid, 2024, collected_on=date(2024, 10, 10),
                     lines=[LineData("A28", "务工收入", D(a28)), LineData("A36", "医疗自付", D(a36))],
                     collected_by="采集员")
    ctx.run(income.save_record, rec, TODAY)
    return hid


def test_assessment_names_numbers_and_line(ctx, township):
    household(ctx, township, "H1", 1, "15000", a27_risk_types=["01"], a4_poverty_alleviated=True)
    [a] = ctx.read(assess.assess, 2024, TODAY)
    j = a.to_json()
    assert list(j) == KEYS
    assert (j["size"], j["A33"], j["A34"], j["A38"]) == (3, D("15000.00"), D("5000.00"), D("5000.00"))
    assert j["suggested_category"] == "脱贫不稳定户" and not j["needs_review"]
    assert "人均收入参考值 5,000.00 元低于 2024 年监测线 7,100 元" in j["reasons"]


def test_rigid_expenses_make_a_household_above_the_line_tufa(ctx, township):
    household(ctx, township, "H1", 1, "24000", a36="6000", a23_housing_unsafe=True)
    [a] = ctx.read(assess.assess, 2024, TODAY)
    assert a.income.A34 == D("8000.00") and a.income.A38 == D("6000.00")
    assert a.suggestion.category_name == "突发严重困难户"
    assert a.guarantee_problems == ("住房安全",)


def test_no_income_record_means_review_not_zero(ctx, township):
    data, members = family(township["villages"]["东村"], no="H9", serial=30)
    ctx.run(register.save_household, data, members, TODAY, ctx.user)
    [a] = ctx.read(assess.assess, 2024, TODAY)
    assert a.income is None and a.suggestion.needs_review
    assert a.to_json()["A33"] is None and "没有 2024 年收入记录" in a.suggestion.reasons[0]


def test_developmental_measure_missing_and_present(ctx, township):
    hid = household(ctx, township, "H1", 1, "6000", a27_risk_types=["01"])
    [a] = ctx.read(assess.assess, 2024, TODAY)
    assert a.developmental_measure_required and a.developmental_measure_missing
    with ctx.db.session(ctx.user) as s:
        s.add(Measure(household_id=hid, category="A48", item="临时救助", start_date=date(2024, 5, 1)))
        s.commit()
    assert ctx.read(assess.assess, 2024, TODAY)[0].developmental_measure_missing
    with ctx.db.session(ctx.user) as s:
        s.add(Measure(household_id=hid, category="A39", item="养殖业", start_date=date(2024, 5, 1),
                      end_date=date(2024, 11, 19)))
        s.commit()
    assert ctx.read(assess.assess, 2024, TODAY)[0].developmental_measure_missing  # ended the day before
    with ctx.db.session(ctx.user) as s:
        s.add(Measure(household_id=hid, category="A42", item="保洁员", start_date=date(2024, 5, 1)))
        s.commit()
    assert not ctx.read(assess.assess, 2024, TODAY)[0].developmental_measure_missing


def test_warning_colour_from_identification_date(ctx, township):
    hid = household(ctx, township, "H1", 1, "6000")
    with ctx.db.session(ctx.user) as s:
        h = s.get(Household, hid)
        h.monitoring_status, h.identified_on = "monitoring", date(2024, 5, 20)
        s.commit()
    assert ctx.read(assess.assess, 2024, date(2024, 11, 19))[0].warning_color == "蓝"
    assert ctx.read(assess.assess, 2024, date(2024, 11, 20))[0].warning_color == "黄"


def test_missing_monitoring_line_is_a_clear_error(ctx):
    with pytest.raises(AssessError, match="2023 年度未设置监测线"):
        ctx.read(assess.assess, 2023, TODAY)


def test_unknown_household_number_is_named(ctx, township):
    household(ctx, township, "H1", 1, "6000")
    with pytest.raises(AssessError, match="户编号不存在：NOPE"):
        ctx.read(assess.assess, 2024, TODAY, household_nos=["H1", "NOPE"])


def test_cli_assess_prints_money_with_two_decimals(ctx, township):
    household(ctx, township, "H1", 1, "15000.5", a27_risk_types=["01"])
    household(ctx, township, "H2", 10, "90000")
    p = cli("assess", "--db", ctx.db.url, "--year", "2024", "--as-of", "2024-11-20", "--household", "H1",
            env={**os.environ, "FANPIN_USER": "admin", "FANPIN_PASSWORD": ADMIN_PASSWORD})
    assert p.returncode == 0, p.stderr
    assert '"A33": 15000.50' in p.stdout and '"A34": 5000.17' in p.stdout
    data = json.loads(p.stdout)
    assert [d["household_no"] for d in data] == ["H1"]
    assert list(data[0]) == KEYS and data[0]["suggested_category"] == "边缘易致贫户"
