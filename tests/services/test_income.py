"""SPEC §4: the form's formulas in exact decimals, size at the status time point, records."""

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.services import income, register
from desktop.services.income import IncomeError, LineData, RecordData, Totals
from tests.conftest import TODAY, family, person

amounts = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False)


def test_form_formulas_on_a_worked_example():
    t = Totals(A28=D("30000"), A29=D("5000.50"), A30=D("200"), A31=D("1800"), A32=D("3000"), A35=D("1000"),
               A36=D("8000.25"))
    r = income.compute(t, 3)
    assert r.A33 == D("34000.50")  # 30000 + 5000.50 + 200 + 1800 − 3000
    assert r.A34 == D("11333.50")
    assert r.A37 == D("27000.25")  # A33 + 1000 − 8000.25
    assert r.A38 == D("9000.08")  # 27000.25 / 3 = 9000.0833… half up


def test_per_capita_rounds_half_up_to_the_fen():
    assert income.compute(Totals(A28=D("0.05")), 2).A34 == D("0.03")
    assert income.compute(Totals(A28=D("10")), 3).A34 == D("3.33")


def test_size_zero_is_an_error_never_a_division():
    with pytest.raises(IncomeError, match="家庭人口数为 0"):
        income.compute(Totals(A28=D("100")), 0)


def test_expenses_above_income_give_negative_results():
    r = income.compute(Totals(A29=D("100"), A32=D("400")), 2)
    assert r.A33 == D("-300.00") and r.A34 == D("-150.00")


@given(a28=amounts, a29=amounts, a30=amounts, a31=amounts, a32=amounts, a35=amounts, a36=amounts,
       size=st.integers(min_value=1, max_value=15))
def test_formulas_hold_exactly_for_any_amounts(a28, a29, a30, a31, a32, a35, a36, size):
    r = income.compute(Totals(a28, a29, a30, a31, a32, a35, a36), size)
    assert r.A33 == a28 + a29 + a30 + a31 - a32
    assert r.A37 == r.A33 + a35 - a36
    assert abs(r.A34 * size - r.A33) <= D("0.005") * size
    assert abs(r.A38 * size - r.A37) <= D("0.005") * size
    assert r.A34.as_tuple().exponent == -2 and r.A38.as_tuple().exponent == -2


@given(st.lists(st.tuples(st.sampled_from(income.ITEMS), amounts), max_size=30))
def test_totals_are_the_sums_of_their_lines(lines):
    t = Totals.from_lines([LineData(item, "x", amount) for item, amount in lines])
    for item in income.ITEMS:
        assert getattr(t, item) == sum((a for i, a in lines if i == item), D("0"))


@pytest.mark.parametrize("text,value", [("12,000元", D("12000.00")), ("１２３４.５", D("1234.50")), ("", D("0")),
                                        (" 7 ", D("7.00"))])
def test_parse_money_accepts_what_people_type(text, value):
    assert income.parse_money(text) == value


@pytest.mark.parametrize("text,fragment", [("-5", "不能为负数"), ("abc", "不是有效的金额"), ("1e999999", "有效")])
def test_parse_money_refuses_negative_and_garbage(text, fragment):
    with pytest.raises(IncomeError, match=fragment):
        income.parse_money(text)


def test_default_lines_are_data_and_a_township_may_add(db, township, admin):
    with db.session(admin) as s:
        cat = income.line_catalog(s)
        assert cat["A28"][:2] == ["务工收入", "行业部门公益岗收入"]
        assert "赡养费" in cat["A31"] and "医疗自付" in cat["A36"]
        income.add_line(s, "A29", "中药材种植")
        assert income.line_catalog(s)["A29"][-1] == "中药材种植"
        with pytest.raises(IncomeError, match="已有明细"):
            income.add_line(s, "A29", "种植业")


def save(ctx, data, members):
    return ctx.run(register.save_household, data, members, TODAY, ctx.user)


def test_size_counts_members_normal_at_the_status_time_point(ctx, township):
    hid = save(ctx, *family(township["villages"]["东村"]))
    _, members = ctx.read(register.get_household, hid)
    point = date(2024, 9, 30)
    assert ctx.read(income.size_at, hid, point) == 3
    # Died after the time point: still counted for the year; born after it: not yet.
    ctx.run(register.record_event, hid, "death", date(2024, 10, 5), member_id=members[1].id)
    ctx.run(register.record_event, hid, "birth", date(2024, 10, 6),
            new_member=person("张䶮", date(2024, 10, 6), "2", "04", 40, labor="05"))
    assert ctx.read(income.size_at, hid, point) == 3
    assert ctx.read(income.size_at, hid, date(2024, 10, 6)) == 3  # one out, one in
    # Married out before the time point: not counted.
    ctx.run(register.record_event, hid, "married_out", date(2024, 9, 1), member_id=members[2].id)
    assert ctx.read(income.size_at, hid, point) == 2
    assert ctx.read(income.sizes_at, point) == {hid: 2}


def test_records_are_dated_and_the_latest_stands_for_the_year(ctx, township):
    hid = save(ctx, *family(township["villages"]["东村"]))
    q1 = RecordData(hid, 2024, quarter=1, collected_on=date(2024, 3, 31), collected_by="王会计",
                    lines=[LineData("A28", "务工收入", D("5000"))])
    annual = RecordData(hid, 2024, collected_on=date(2024, 10, 15), collected_by="王会计", signatures_collected=True,
                        lines=[LineData("A28", "务工收入", D("20000")), LineData("A28", "村级公益岗收入", D("3600")),
                               LineData("A36", "医疗自付", D("1500"), "住院自付")])
    ctx.run(income.save_record, q1, TODAY)
    rid = ctx.run(income.save_record, annual, TODAY)
    totals = ctx.read(income.totals_for_year, 2024)
    assert totals[hid].A28 == D("23600.00") and totals[hid].A36 == D("1500.00")
    recs = ctx.read(income.records, hid, 2024)
    assert [r.id for r in recs][0] == rid and recs[0].signatures_collected
    assert recs[0].lines[2].note == "住院自付"


def test_invalid_record_changes_nothing(ctx, township):
    hid = save(ctx, *family(township["villages"]["东村"]))
    bad = RecordData(hid, 2024, collected_on=date(2024, 10, 1),
                     lines=[LineData("A28", "务工收入", D("100")), LineData("A29", "种植业", D("-1"))],
                     collected_by="采集员")
    with pytest.raises(IncomeError, match="不能为负数"):
        ctx.run(income.save_record, bad, TODAY)
    assert ctx.read(income.records, hid) == []
    late = RecordData(hid, 2024, collected_on=date(2025, 1, 1), lines=[], collected_by="采集员")
    with pytest.raises(IncomeError, match="晚于今天"):
        ctx.run(income.save_record, late, TODAY)


def test_editing_a_record_replaces_its_lines(ctx, township):
    hid = save(ctx, *family(township["villages"]["东村"]))
    rec = RecordData(hid, 2024, collected_on=date(2024, 10, 1), lines=[LineData("A28", "务工收入", D("100"))],
                     collected_by="采集员")
    rid = ctx.run(income.save_record, rec, TODAY)
    rec.id = rid
    rec.lines = [LineData("A29", "种植业", D("300"))]
    ctx.run(income.save_record, rec, TODAY)
    t = ctx.read(income.totals_for_year, 2024)[hid]
    assert t.A28 == D("0") and t.A29 == D("300.00")


def test_clerk_cannot_record_income_of_another_village(db, ctx, township, admin):
    from desktop.services import auth
    from desktop.services.access import AccessDenied
    from desktop.services.context import AppContext
    hid = save(ctx, *family(township["villages"]["东村"]))
    with db.session(admin) as s:
        clerk = auth.authenticate(s, "clerk", "Xc-cun-2024")  # 西村 only
    rec = RecordData(hid, 2024, collected_on=date(2024, 10, 1), lines=[LineData("A28", "务工收入", D("100"))],
                     collected_by="采集员")
    with pytest.raises(AccessDenied, match="没有“东村”的录入权限"):
        AppContext(db=db, user=clerk).run(income.save_record, rec, TODAY, clerk)
    assert ctx.read(income.records, hid) == []


def test_a_dated_record_stands_for_the_year_over_an_undated_one(ctx, township):
    hid = save(ctx, *family(township["villages"]["东村"]))
    dated = ctx.run(income.save_record, RecordData(hid, 2024, collected_on=date(2024, 10, 1),
                                                   lines=[LineData("A28", "务工收入", D("100"))],
                                                   collected_by="采集员"), TODAY)
    ctx.run(income.save_record, RecordData(hid, 2024, lines=[LineData("A28", "务工收入", D("999"))], origin="imported",
                                           source_file="村里报表.xlsx", signatures_collected=None), TODAY)
    assert ctx.read(income.latest_record_ids, 2024) == {hid: dated}


def test_grouped_money_reads_as_the_format_spec_writes_it():
    import random
    from decimal import Decimal

    from desktop.services.income import grouped
    texts = ["0", "0.00", "-0.00", "-0.05", "5.5", "999.99", "-999.99", "1000.00", "-1000.00", "1234567.89",
             "-1234567.89", "100000", "1E+3", "0.005", "7099.99666666666666666666667", "12345678901.23"]
    rng = random.Random(20)
    texts += [f"{rng.choice(['', '-'])}{rng.randint(0, 10 ** rng.randint(1, 12))}.{rng.randint(0, 99):02d}"
              for _ in range(2000)]
    for text in texts:
        amount = Decimal(text)
        assert grouped(amount) == f"{amount:,.2f}", text


# item sums in fen: small ones (ties of half a fen, per-capita amounts that round to -0.00) and any size of amount
fens = st.one_of(st.integers(min_value=0, max_value=30), st.integers(min_value=0, max_value=10 ** 11))


@given(fen=st.tuples(*[fens] * 7), size=st.integers(min_value=1, max_value=15),
       offset=st.sampled_from(["0", "0.01", "-0.01", "0.001", "-0.005", "0.0000001"]))
def test_compute_in_fen_is_compute(fen, size, offset):
    """assess computes from item sums in whole fen (compute_fen); the result is compute()'s, field for field and
    down to the Decimals' exponents — the exact quotients and the totals too, made only when first asked for —
    and it compares with a line (in whole fen when the line has at most 2 decimals) as compute()'s does."""
    exact = income.compute(Totals(*(income.yuan_of_fen(f) for f in fen)), size)
    fast = income.compute_fen(fen, size)
    lines = [D("7100"), D("7100.01"), exact.A34, exact.A38, exact.exact("A34"), exact.exact("A38"),
             exact.A34 + D(offset), exact.A38 + D(offset), exact.exact("A38") + D(offset), D("-0.00")]
    for code in ("A34", "A38"):  # before the exact quotients are made (the way assess asks)
        for line in lines:
            assert fast.below(line, code) == exact.below(line, code), (code, line)
            assert fast.shown(code, line) == exact.shown(code, line), (code, line)
            assert fast.versus(line, code) == (exact.below(line, code), exact.shown(code, line))
        assert fast.shown(code) == exact.shown(code)
    assert "totals" not in vars(fast)  # not made yet
    assert repr(fast) == repr(exact) and fast == exact  # repr and == read the totals and the exact quotients
    assert vars(fast)["totals"] == exact.totals
    for code in ("A34", "A38"):
        assert fast.exact(code) == exact.exact(code)
        for line in lines:
            assert fast.below(line, code) == exact.below(line, code)
            assert fast.shown(code, line) == exact.shown(code, line)


def test_a_line_with_two_decimals_is_compared_without_the_exact_quotient():
    fast = income.compute_fen((2129999, 0, 0, 0, 0, 0, 0), 3)  # 21,299.99 / 3 = 7,099.9966…, shown as 7,100.00
    assert fast.below(D("7100.00"), "A34") and not fast.below(D("7099.99"), "A34")
    assert "A34_exact" not in vars(fast)  # compared in whole fen: 2,129,999 < 710,000 × 3
    assert fast.shown("A34", D("7100")) == "7,100.00 元（精确值 7,099.9966 元）"  # the text needs it: made now
    assert fast.exact("A34") == D("21299.99") / 3


@pytest.mark.parametrize("fen,size,a34", [
    ((0, 0, 0, 0, 1, 0, 0), 3, "-0.00"),  # −0.01 / 3 rounds to no fen but keeps its sign, as Decimal does
    ((5, 0, 0, 0, 0, 0, 0), 2, "0.03"), ((0, 0, 0, 0, 5, 0, 0), 2, "-0.03"),  # half a fen: half up, away from 0
    ((7, 0, 0, 0, 0, 0, 0), 2, "0.04"), ((1, 0, 0, 0, 0, 0, 0), 3, "0.00"),
    ((10 ** 18, 0, 0, 0, 0, 0, 0), 7, "1428571428571428.57"),  # beyond the integers' range: compute()'s way
])
def test_compute_in_fen_rounds_as_decimal_does(fen, size, a34):
    exact = income.compute(Totals(*(income.yuan_of_fen(f) for f in fen)), size)
    fast = income.compute_fen(fen, size)
    assert str(fast.A34) == str(exact.A34) == a34
    assert repr(fast) == repr(exact)


def test_compute_in_fen_refuses_what_compute_refuses():
    with pytest.raises(income.IncomeError, match="A32"):
        income.compute_fen((100, 0, 0, 0, -1, 0, 0), 2)
    with pytest.raises(income.IncomeError, match="家庭人口数为 0"):
        income.compute_fen((100, 0, 0, 0, 0, 0, 0), 0)
    with pytest.raises(AttributeError):
        income.compute_fen((100, 0, 0, 0, 0, 0, 0), 1).A35_exact  # noqa: B018 - only totals are made on demand


@given(st.tuples(*[st.integers(min_value=0, max_value=10**9)] * 7), st.integers(min_value=1, max_value=12))
def test_one_item_of_a_packed_result_is_the_same_as_its_totals(fen, size):
    packed = income.compute_fen(fen, size)
    items = {code: packed.item(code) for code in income.ITEMS}
    totals = income.compute_fen(fen, size).totals
    for code, value in items.items():
        assert value == getattr(totals, code) and str(value) == str(getattr(totals, code))
