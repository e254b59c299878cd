"""A26 (a member without basic medical insurance) derived from the members' A17, as the register shows it."""

from dataclasses import replace
from datetime import date

from desktop.services import register
from tests.conftest import family, person


def test_a26_is_yes_when_a_living_member_has_no_basic_medical_insurance(township):
    _, members = family(township["villages"]["东村"])
    assert register.derived_a26(members) is False
    members[2] = replace(members[2], a17_medical=False)
    assert register.derived_a26(members) is True
    assert register.a17_rows(members) == ([2], [])


def test_a26_follows_the_rule_for_a_blank_a17(township):
    """Blank A17 is not "否" for A26 (services.rules); the editor lists such rows to be filled in."""
    _, members = family(township["villages"]["东村"])
    members[1] = replace(members[1], a17_medical=None)
    assert register.derived_a26(members) is False
    assert register.a17_rows(members) == ([], [1])


def test_a26_ignores_members_no_longer_of_status_normal(township):
    _, members = family(township["villages"]["东村"])
    members.append(replace(person("王故", date(1930, 1, 1), "1", "11", 9), a17_medical=False,
                           status="dead", status_date=date(2024, 1, 5)))
    assert register.derived_a26(members) is False
    assert register.a17_rows(members) == ([], [])
    assert register.derived_a26([]) is False
