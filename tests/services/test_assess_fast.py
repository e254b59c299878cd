"""The fast assess (set-based queries, what households share decided once; issue 20) gives exactly the answers of
the plain one, household by household: every field of every Assessment — income, suggestion with its reasons,
guarantees, flags, colour, members. Over the seeds' adversarial households (tests/services/test_adversarial_
households.py) and a demo register, at several as-of dates and for lists of households."""

from __future__ import annotations

from datetime import date

from desktop.services import assess, demo
from tests.conftest import TODAY, YEAR
from tests.services.test_adversarial_households import CASES, build


def _same(s, as_of, nos=None, ids=None):
    fast = assess._assess(s, YEAR, as_of, nos, ids)
    plain = assess._assess_plain(s, YEAR, as_of, nos, ids)
    assert [a.household_no for a in fast] == [a.household_no for a in plain]
    for a, b in zip(fast, plain, strict=True):
        assert a == b, a.household_no
        assert a.to_json() == b.to_json() and a.snapshot() == b.snapshot()
        assert repr(a.income) == repr(b.income)  # the same Decimals, down to their exponents
    # what `assess` prints (one f-string per household) is what the JSON encoder makes of to_json()
    assert assess.dumps_assessments(fast) == assess.dumps([b.to_json() for b in plain])
    return fast


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
    nos = [a.household_no for a in every[::7]]
    assert len(_same(b.s, TODAY, nos=nos)) == len(nos)
    assert len(_same(b.s, TODAY, ids=ids)) == len(ids)


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
