"""The questions the windows ask the services instead of comparing codes themselves (tests/views/
test_views_decide_nothing.py): who is a current member and the head, which member events may be registered,
whether a case is open, ended or leads to an assistance plan, which role works only in its villages."""

from dataclasses import replace
from datetime import date

from desktop.services import auth, register, workflow
from desktop.services.codes import codes
from tests.conftest import TODAY, family


def test_current_members_and_the_head(township):
    _, members = family(township["villages"]["东村"])
    head = next(m for m in members if m.relation == register.HEAD)
    assert all(m.current for m in members)
    assert register.head_name(members) == head.name
    dead_head = [replace(m, status="dead") if m is head else m for m in members]
    assert not next(m for m in dead_head if m.name == head.name).current
    assert register.head_name(dead_head) == ""


def test_member_events_offered_follow_the_code_list(township):
    events = codes("member_event")
    adding = register.event_kinds(None)
    assert adding and all(events.get(k).flag("adds_member") for k in adding)
    assert set(adding) == {c.code for c in events if c.flag("adds_member")}
    _, members = family(township["villages"]["东村"])
    taking = register.event_kinds(members[0])
    assert "death" in taking and "restored" not in taking and not set(taking) & set(adding)
    assert register.event_kinds(replace(members[0], status="moved_out")) == ["restored"]


def test_case_state_and_plan(ctx, township):
    data, members = family(township["villages"]["东村"], no="Q1")
    hid = ctx.run(register.save_household, data, members, TODAY)
    clue = ctx.run(workflow.record_clue, "01", date(2024, 6, 3), household_id=hid)
    cid = ctx.run(workflow.open_identification, clue, as_of=TODAY)
    case = ctx.read(workflow.view, cid, TODAY)
    assert case.is_open and not case.failed and case.plans_assistance
    ctx.run(workflow.complete_step, cid, "verify", date(2024, 6, 4), passed=False, notes="无风险", as_of=TODAY)
    ended = ctx.read(workflow.view, cid, TODAY)
    assert not ended.is_open and ended.failed
    [row] = ctx.read(workflow.cases, TODAY, household_id=hid)
    assert row.failed


def test_only_the_village_clerk_is_limited_to_villages():
    assert [c.code for c in codes("role") if auth.limited_to_villages(c.code)] == ["clerk"]
