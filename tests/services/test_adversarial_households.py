"""Adversarial households at every threshold, run through every path: the calculator (assess.calculate
over calculator_facts, what the 收入测算 window shows), `assess`, the workflow's removal eligibility,
`check`, and the printed forms (收入核算明细表 and 信息采集表, read back with pdftotext). The same
household must get the same answer everywhere, and the answer is the one the seed clause gives.

Monitoring line 7,100 (2024), status time point 2024-09-30, as of 2024-11-20 unless said.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

from desktop.services import assess, checks, workflow
from desktop.services.reports import render
from tests.conftest import TODAY, YEAR

L = Decimal("7100")
SPAN = (date(2024, 1, 10), "02")  # identified on, registered category: monitored since January


@dataclass
class Case:
    name: str
    clause: str
    members: int = 2  # the couple; more are added by `extra`
    extra: tuple = ()  # (name, born, relation, kwargs) members beyond the couple
    died_after_point: str | None = None  # a member's name, dead on 2024-10-15
    a4: bool = False
    fields: dict = field(default_factory=dict)
    annual: dict | None = None  # amounts of the annual record (collected 2024-10-10)
    quarterly: tuple = ()  # (quarter, collected_on, A28)
    monitored: tuple | None = None  # (identified_on, category)
    removal: tuple | None = None  # (way, as of): the eligibility to ask
    # expectations, from the clause
    size: int = 2
    a34: str | None = None  # as printed, 2 decimals
    below_a34: bool | None = None
    below_a38: bool | None = None
    category: str | None = None
    review: bool = False
    eligible: bool | None = None
    findings: frozenset = frozenset()  # among WATCHED codes


WATCHED = {"CATEGORY_INCONSISTENT", "REMOVED_TOO_SOON", "INCOME_MISSING"}

CASES = [
    Case("A38 exactly at the line", "§6.1 \"Below\" means strictly less than",
         fields={"a27_risk_types": ["07"]}, annual={"A28": "14200"}, monitored=SPAN, removal=("01", TODAY),
         a34="7,100.00", below_a34=False, below_a38=False, category=None, review=True, eligible=True,
         findings=frozenset({"CATEGORY_INCONSISTENT"})),  # registered 02 with A34 at the line
    Case("one fen below, two members", "001 §11 年人均纯收入低于省定防止返贫监测线",
         fields={"a27_risk_types": ["07"]}, annual={"A28": "14199.98"}, monitored=SPAN, removal=("01", TODAY),
         a34="7,099.99", below_a34=True, below_a38=True, category="02", eligible=False),
    Case("21,299.99 / 3 rounds to 7,100.00 but is below", "SPEC §4 comparisons use the exact value",
         extra=(("张小", date(2010, 1, 2), "03", {"school": "05"}),), fields={"a27_risk_types": ["07"]},
         annual={"A28": "21299.99"}, monitored=SPAN, removal=("02", TODAY), size=3,
         a34="7,100.00", below_a34=True, below_a38=True, category="02", eligible=False),
    Case("A34 below, A38 lifted by 理赔, housing unsafe", "004 note 2 A34 是区分前两类还是第三类对象的参考",
         a4=True, fields={"a23_housing_unsafe": True}, annual={"A28": "14000", "A35": "400"},
         monitored=(date(2024, 1, 10), "03"), removal=("01", TODAY),
         a34="7,000.00", below_a34=True, below_a38=False, category="01", eligible=False,
         findings=frozenset({"CATEGORY_INCONSISTENT"})),
    Case("A34 at the line, A38 below by 合规自付", "004 note 2; 001 §5 严重困难户",
         fields={"a27_risk_types": ["01"]}, annual={"A28": "14200", "A36": "2000"},
         monitored=(date(2024, 1, 10), "03"), removal=("01", TODAY),
         a34="7,100.00", below_a34=False, below_a38=True, category="03", eligible=False),
    Case("a later quarter of 2,500 a head beside a year of 20,000", "SPEC §4 quarterly never replaces the year",
         annual={"A28": "40000"}, quarterly=((3, date(2024, 7, 1), "12000"), (4, date(2024, 11, 1), "5000")),
         monitored=SPAN, removal=("01", TODAY), a34="20,000.00", below_a34=False, below_a38=False,
         category=None, eligible=True, findings=frozenset({"CATEGORY_INCONSISTENT"})),
    Case("quarterly records only", "SPEC §4 only annual records give the year's A33–A38",
         quarterly=((1, date(2024, 4, 1), "40000"),), monitored=SPAN, removal=("01", TODAY),
         a34=None, category=None, review=True, eligible=False, findings=frozenset({"INCOME_MISSING"})),
    Case("自然消除 at 5,000 a head", "001 §25 收入稳定超过当年省定防止返贫监测线",
         annual={"A28": "10000"}, monitored=(date(2024, 10, 1), "02"), removal=("02", TODAY),
         a34="5,000.00", below_a34=True, below_a38=True, category=None, review=True, eligible=False),
    Case("自然消除 19 days after identification, above the line", "001 §27 除风险自然消除外…不少于半年",
         annual={"A28": "14200"}, monitored=(date(2024, 11, 1), "03"), removal=("02", TODAY),
         a34="7,100.00", below_a34=False, below_a38=False, category=None, eligible=True),
    Case("帮扶消除 one day short of six months", "001 §27 收入持续稳定原则上不少于半年",
         annual={"A28": "30000"}, monitored=(date(2024, 5, 21), "03"), removal=("01", TODAY),
         a34="15,000.00", below_a34=False, below_a38=False, eligible=False),
    Case("帮扶消除 on the day six months are full", "001 §27; SPEC §7 calendar months",
         annual={"A28": "30000"}, monitored=(date(2024, 5, 20), "03"), removal=("01", TODAY),
         a34="15,000.00", below_a34=False, below_a38=False, eligible=True),
    Case("baby born 2024-10-05, status blank", "002 §五(二) 状态类指标取值的时间点为9月30日24时",
         extra=(("小宝", date(2024, 10, 5), "03", {}),), fields={"a27_risk_types": ["07"]},
         annual={"A28": "14200"}, a34="7,100.00", below_a34=False, below_a38=False, category=None, review=True),
    Case("a member died 2024-10-15, after the time point", "SPEC §4 one who died after it still is",
         extra=(("老人", date(1940, 1, 1), "11", {}),), died_after_point="老人", fields={"a27_risk_types": ["07"]},
         annual={"A28": "21300"}, size=3, a34="7,100.00", below_a34=False, below_a38=False, category=None,
         review=True),
    Case("born on 09-30 itself", "002 §五(二) 9月30日24时: born that day is there",
         extra=(("新生", date(2024, 9, 30), "03", {}),), fields={"a27_risk_types": ["07"]},
         annual={"A28": "21300"}, size=3, a34="7,100.00", below_a34=False, below_a38=False, review=True),
    Case("above the line, guarantee problem, rural average unset", "001 §13; SPEC §6.1 rule 3",
         fields={"a25_water_unsafe": True}, annual={"A28": "20000"},
         a34="10,000.00", below_a34=False, below_a38=False, category="03"),
    Case("below the line, nothing else", "001 §11 重要条件之一，但不是唯一条件",
         annual={"A28": "10000"}, a34="5,000.00", below_a34=True, below_a38=True, category=None, review=True),
]


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", "-layout", str(path), "-"], capture_output=True,
                          check=True).stdout.decode("utf-8")


def build(b, case: Case) -> int:
    members = b.couple()
    for name, born, relation, kw in case.extra:
        members.append(b.person(name, born, "1", relation, **kw))
    fields = dict(case.fields)
    if case.monitored:
        fields.update(monitoring_status="monitoring", identified_on=case.monitored[0], a3_category=case.monitored[1])
    hid = b.household(members, a4_poverty_alleviated=case.a4, **fields)
    if case.died_after_point:
        b.event(hid, case.died_after_point, "death", date(2024, 10, 15))
    if case.annual:
        b.income(hid, collected_on=date(2024, 10, 10), **case.annual)
    for quarter, on, a28 in case.quarterly:
        b.income(hid, quarter=quarter, collected_on=on, A28=a28)
    if case.monitored:
        b.measure(hid, "A39", "种植业", start=case.monitored[0])
    return hid


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")
def test_every_path_gives_the_seeds_answer(b, tmp_path):
    ids = {case.name: build(b, case) for case in CASES}
    assessed = {a.household_id: a for a in assess.assess(b.s, YEAR, TODAY)}
    found = {}
    for f in checks.run_checks(b.s, YEAR, TODAY):
        found.setdefault(f.household_no, set()).add(f.code)
    wrong = []
    for case in CASES:
        hid = ids[case.name]
        no = b.no(hid)
        a = assessed[hid]
        r = a.income

        def expect(what, got, want, case=case):
            if got != want:
                wrong.append(f"{case.name} [{case.clause}] {what}: {got!r}, the seed says {want!r}")

        # assess
        expect("size", a.size, case.size)
        expect("A34", f"{r.A34:,.2f}" if r else None, case.a34)
        if r is not None:
            expect("A34 below", r.below(L, "A34"), case.below_a34)
            expect("A38 below", r.below(L, "A38"), case.below_a38)
        expect("category", a.suggestion.category, case.category)
        expect("needs review", a.suggestion.needs_review, case.review)
        # the calculator, over the same record the year stands on
        facts = assess.calculator_facts(b.s, hid, YEAR, TODAY)
        expect("calculator size", facts.size, a.size)
        if r is not None:
            calc = assess.calculate(facts, r.totals)
            expect("calculator A34", calc.result.A34, r.A34)
            expect("calculator category", calc.suggestion.category, a.suggestion.category)
            expect("calculator reasons", calc.suggestion.reasons, a.suggestion.reasons)
        # the workflow's removal eligibility
        if case.removal:
            way, on = case.removal
            e = workflow.removal_eligibility(b.s, hid, YEAR, on, way)
            expect(f"eligible ({way}, {on})", e.eligible, case.eligible)
        # check
        expect("findings", found.get(no, set()) & WATCHED, set(case.findings))
        # printed forms
        sheet = pdf_text(render(b.s, "income-sheet", tmp_path / f"{no}-i.pdf", year=YEAR, as_of=TODAY,
                                household_nos=[no]).path)
        if r is not None:
            verdict = "低于监测线" if r.below(L, "A38") else "不低于监测线"
            printed = "人均收入参考范围（A38）" + verdict
            if printed not in sheet.replace(" ", "").replace("\n", ""):
                wrong.append(f"{case.name}: 收入核算明细表 does not say “{printed}”")
        if case.monitored:
            form = pdf_text(render(b.s, "collection-form", tmp_path / f"{no}-c.pdf", year=YEAR, as_of=TODAY,
                                   household_nos=[no]).path)
            if case.a34 is not None and case.a34 not in form:
                wrong.append(f"{case.name}: 信息采集表 does not print A34 {case.a34}")
            if f"家庭人口（状态时点）{case.size}人" not in "".join(form.split()):
                wrong.append(f"{case.name}: 信息采集表 does not print the size {case.size} 人")
    assert not wrong, "\n".join(wrong)
