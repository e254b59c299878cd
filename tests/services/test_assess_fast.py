"""The fast assess (set-based queries, what households share decided once; issue 20) gives exactly the answers of
the plain one, household by household: every field of every Assessment — income, suggestion with its reasons,
guarantees, flags, colour, members. Over the seeds' adversarial households (tests/services/test_adversarial_
households.py) and a demo register, at several as-of dates and for lists of households."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from desktop.services import assess, demo, national_rules
from tests.conftest import TODAY, YEAR
from tests.services.test_adversarial_households import CASES, build


def _same(s, as_of, nos=None, ids=None):
    fast = assess._assess(s, YEAR, as_of, nos, ids)
    plain = assess._assess_plain(s, YEAR, as_of, nos, ids)
    assert [a.household_no for a in fast] == [a.household_no for a in plain]
    # what `assess` prints (one f-string per household) is what the JSON encoder makes of to_json(): first as the
    # fast path writes it before anything asked for a deferred household's income or suggestion (from the whole fen)
    expected = assess.dumps([b.to_json() for b in plain])
    assert [a.suggested_category for a in fast] == [b.suggestion.category for b in plain]
    assert all(a._result is None and a._suggested is None for a in fast if isinstance(a, assess._Deferred))
    assert assess.dumps_assessments(fast) == expected
    for a, b in zip(fast, plain, strict=True):
        assert a == b and b == a, a.household_no
        assert a.to_json() == b.to_json() and a.snapshot() == b.snapshot()
        assert repr(a.income) == repr(b.income)  # the same Decimals, down to their exponents
        assert repr(a.suggestion) == repr(b.suggestion)
    # and again once they have been made
    assert assess.dumps_assessments(fast) == expected
    # a check's assess: the members' facts from the check's own read (national_rules.assess_members), not assess's
    via = _via_a_check(s, as_of, ids if nos is None else [b.household_id for b in plain])
    assert assess.dumps_assessments(via) == expected
    for a, b in zip(via, plain, strict=True):
        assert a == b and a.members == b.members and repr(a.members) == repr(b.members), a.household_no
    return fast


def _via_a_check(s, as_of, ids):
    """assess as run_checks computes it when it is not cached: load_facts reads the households and members first
    (the whole register: the open households), assess takes the households and their members' facts from it."""
    ys = assess.year_settings(s, YEAR)
    facts = national_rules.load_facts(s, YEAR, as_of, None, ids, ys.status_time_point, ys.monitoring_line,
                                      ys.thresholds, open_only=ids is None)
    via = assess._assess(s, YEAR, as_of, None, ids, lambda: national_rules.assess_members(facts),
                         lambda: national_rules.assess_households(facts))
    # and with the households read by assess itself (as on PostgreSQL, where assess_households gives None)
    alone = assess._assess(s, YEAR, as_of, None, ids, lambda: national_rules.assess_members(facts), lambda: None)
    assert assess.dumps_assessments(alone) == assess.dumps_assessments(via)
    return via


def test_fast_assess_equals_the_plain_one(b):
    ids = [build(b, case) for case in CASES]
    demo.generate(b.s, 300, seed=3, year=YEAR, as_of=date(2024, 10, 31))
    b.s.flush()
    for as_of in (TODAY, date(2024, 3, 1), date(2026, 1, 15)):
        every = _same(b.s, as_of)
        assert len(every) == len(CASES) + 300
    kinds = {(a.suggestion.category, a.suggestion.needs_review, a.warning_color, bool(a.guarantee_problems),
              a.developmental_measure_missing, a.whole_no_labor_candidate) for a in every}
    assert len(kinds) >= 8  # the comparison covers many different answers, not one repeated
    deferred = sum(isinstance(a, assess._Deferred) for a in every)
    assert 0 < deferred < len(every)  # both kinds of household, the deferred ones and those made at once
    nos = [a.household_no for a in every[::7]]
    assert len(_same(b.s, TODAY, nos=nos)) == len(nos)
    assert len(_same(b.s, TODAY, ids=ids)) == len(ids)
    # one household alone reads only its own measures: the same answer about its developmental measure
    today = {a.household_id: a for a in _same(b.s, TODAY)}
    required = [a for a in today.values() if a.developmental_measure_required]
    assert {a.developmental_measure_missing for a in required} == {True, False}
    for a in required[::max(1, len(required) // 12)]:
        [alone] = _same(b.s, TODAY, ids=[a.household_id])
        assert alone == today[a.household_id]


def test_the_cached_whole_register_is_the_fast_answer(b):
    for case in CASES[:6]:
        build(b, case)
    b.s.commit()
    got = assess.assess(b.s, YEAR, TODAY)
    assert got == assess._assess_plain(b.s, YEAR, TODAY, None, None)


def test_money_is_written_as_the_json_encoder_writes_it():
    from decimal import Decimal
    for text in ("0", "0.00", "-0.00", "5200", "5200.0", "5200.00", "-12.5", "0.005", "1E+3", "123456789012.34",
                 "7099.99666666666666666666667", "-0.01", "1.5E-7"):
        amount = Decimal(text)
        assert assess._two(amount) == f"{amount:.2f}", text


def _undated(b, hid, a28):
    """An annual record without a collection date (as imported from a sheet that has none)."""
    from desktop.models import IncomeLine, IncomeRecord
    rec = IncomeRecord(household_id=hid, year=YEAR, quarter=None, collected_on=None)
    b.s.add(rec)
    b.s.flush()
    b.s.add(IncomeLine(record_id=rec.id, item="A28", line="务工收入", amount=Decimal(a28)))
    b.s.flush()


def test_the_standing_record_among_several_annual_ones(b):
    """income.latest_record_ids decides which annual record stands (dated beats undated, the later date, then the
    newer record); the fast path reads them unordered and asks again, in that order, for the households that have
    more than one — with a household that has one beside them."""
    dated_and_not, two_undated, one = b.household(), b.household(), b.household()
    _undated(b, dated_and_not, "90000")
    b.income(dated_and_not, collected_on=date(2024, 9, 1), A28="30000")
    b.income(dated_and_not, collected_on=date(2024, 3, 1), A28="20000")
    _undated(b, dated_and_not, "80000")
    _undated(b, two_undated, "40000")
    _undated(b, two_undated, "50000")
    b.income(one, A28="60000")
    for ids in (None, [dated_and_not, two_undated, one]):
        got = {a.household_id: a.income.totals.A28 for a in _same(b.s, TODAY, ids=ids)}
        assert got == {dated_and_not: Decimal("30000.00"), two_undated: Decimal("50000.00"), one: Decimal("60000.00")}


def test_money_that_is_not_in_whole_fen_is_still_written_with_two_decimals():
    """json_text writes compute_fen's amounts with str() (they have exactly 2 places); any other result through
    the format spec, as dumps() does."""
    from desktop.services.income import IncomeResult, Totals
    from desktop.services.rules import Suggestion
    r = IncomeResult(1, Totals(), Decimal("5200"), Decimal("1E+3"), Decimal("0.005"), Decimal("-12.5"))
    a = assess.Assessment(1, "H1", 1, YEAR, "none", None, True, None, 1, r, Suggestion(None, False, ["x"]), (),
                          False, False, False, False, None, Decimal("7100"))
    assert assess.dumps_assessments([a]) == assess.dumps([a.to_json()])
    assert '"A33": 5200.00, "A34": 1000.00, "A37": 0.00, "A38": -12.50' in a.json_text()


def test_households_whose_income_decides_nothing_are_written_from_the_whole_fen(b):
    """Households with neither guarantee problems nor risk types (most of a county) are _Deferred: their JSON line
    is written from the item totals in whole fen, without the IncomeResult and the Suggestion, and must be the
    objects' text byte for byte at the edges of that writing: a per-capita figure that rounds onto the line (the
    exact quotient shown beside it), expenses above income (negative totals, a quotient rounding to -0.00), amounts
    below one yuan and in the millions (thousands separators), at and one fen around the line (7,100 for 2
    persons: 14,200), per-capita figures around 1,000 and 1,000,000 yuan (where the writing changes), and a member
    count of 3 (quotients that do not end)."""
    from datetime import date as day
    incomes = [{"A28": "14199.99"}, {"A28": "14200.00"}, {"A28": "14199.98"}, {"A28": "14200.01"},
               {"A28": "0.05"}, {"A28": "0"}, {"A28": "100", "A32": "100.01"}, {"A28": "100", "A32": "5000"},
               {"A28": "24680135.79", "A31": "1234.56"}, {"A28": "1999999.99"}, {"A28": "3000", "A35": "900000"},
               {"A28": "15000", "A36": "14999.99"}, {"A28": "21299.99"}, {"A28": "21300.00"}, {"A28": "1999.98"},
               {"A28": "2000.00"}, {"A28": "2000000"}, {"A28": "3000000.03"}]
    for i, amounts in enumerate(incomes):
        for three in (False, True):
            extra = [b.person("王五", day(1995, 1, 2), "1", "03", labor="02")] if three else []
            hid = b.household(b.couple() + extra, a4_poverty_alleviated=bool(i % 2))
            b.income(hid, collected_on=day(2024, 10, 10), **amounts)
    b.income(b.household(a23_housing_unsafe=True), collected_on=day(2024, 10, 10), A28="1000")  # one that decides

    b.s.flush()
    got = _same(b.s, TODAY)
    deferred = [a for a in got if isinstance(a, assess._Deferred)]
    assert len(deferred) == 2 * len(incomes) and len(got) == len(deferred) + 1
    texts = [a.json_text() for a in assess._assess(b.s, YEAR, TODAY, None, None)]
    assert any("精确值" in t for t in texts) and any('"A34": -0.00' in t for t in texts)
    assert any('"A33": 24681370.35' in t for t in texts) and any("8,227,123.45 元" in t for t in texts)
    assert any("人均收入参考值 999.99 元" in t for t in texts) and any("人均收入参考值 1,000.00 元" in t for t in texts)
    assert any("人均收入参考值 1,000,000.00 元" in t for t in texts)


def test_whole_fen_written_as_the_decimal_is():
    from desktop.services import income
    for fen in (0, 1, 5, 9, 10, 99, 100, 101, 999, 1000, 123456, 10 ** 12 + 7, -1, -99, -100, -12345):
        assert income.fen_text(fen) == str(income.yuan_of_fen(fen)), fen
        text = income.fen_text(fen)
        assert income.group_text(text) == f"{income.yuan_of_fen(fen):,.2f}", fen
    for total in range(-40, 41):
        for size in (1, 2, 3, 4, 6, 7):
            assert income.per_capita_fen(total, size) == int((Decimal(total) / size).quantize(
                Decimal(1), rounding="ROUND_HALF_UP")), (total, size)
