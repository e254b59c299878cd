"""预警中心's 可启动风险消除 rows (services.warnings.dashboard) are exactly what workflow.removal_eligibility says of
each household on its own: the dashboard hands it the household's assessment from its whole-register assess instead
of assessing the household again (7 of its 9 s of CPU on 20,000 households)."""

from __future__ import annotations

from datetime import date

import pytest

from desktop.services import assess, demo, rules, warnings, workflow

from ..conftest import YEAR

AS_OF = date(2024, 11, 20)


@pytest.fixture
def session(db, township, admin):
    with db.session(admin) as s:
        demo.generate(s, 150, seed=3, year=YEAR, as_of=AS_OF)
        s.commit()
        yield s


def test_the_rows_are_the_households_removal_eligibility_finds_eligible_with_its_facts(session):
    d = warnings.dashboard(session, YEAR, AS_OF)
    shown = {r.household_id: r.what for r in d.of("removal_eligible")}
    on_their_own = {}
    for a in assess.assess(session, YEAR, AS_OF):
        if a.status == "monitoring":
            e = workflow.removal_eligibility(session, a.household_id, YEAR, AS_OF)  # assessed again, alone
            if e.eligible:
                on_their_own[a.household_id] = "；".join(e.facts)
    assert on_their_own, "the demo township has households ready for removal (else this test proves nothing)"
    assert shown == on_their_own
    monitoring = [a for a in assess.assess(session, YEAR, AS_OF) if a.status == "monitoring"]
    assert len(monitoring) > len(on_their_own)  # and some that are not: the pre-filter and the rule both decide


def test_a_given_assessment_answers_as_assessing_again_and_must_be_the_households(session):
    everyone = assess.assess(session, YEAR, AS_OF)
    for a in everyone:
        if a.status == "monitoring":
            for way in (rules.ASSISTED, rules.NATURAL):
                alone = workflow.removal_eligibility(session, a.household_id, YEAR, AS_OF, way)
                given = workflow.removal_eligibility(session, a.household_id, YEAR, AS_OF, way, assessed=a)
                assert given == alone
    first, second = everyone[0], everyone[1]
    with pytest.raises(ValueError):
        workflow.removal_eligibility(session, second.household_id, YEAR, AS_OF, assessed=first)
    with pytest.raises(ValueError):
        workflow.removal_eligibility(session, first.household_id, YEAR + 1, AS_OF, assessed=first)
