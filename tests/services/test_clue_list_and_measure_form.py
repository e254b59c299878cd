"""What the case windows read: the clue list (workflow.clues), one measure back for its edit form
(measures.get_measure) and the deadlines of the upcoming steps."""

from datetime import date
from decimal import Decimal as D

from desktop.services import auth, measures, register, workflow
from desktop.services.context import AppContext
from tests.conftest import TODAY, YEAR, family


def _household(ctx, village_id, no, serial=1):
    data, members = family(village_id, no=no, serial=serial)
    return ctx.run(register.save_household, data, members, TODAY, ctx.user)


def test_clues_newest_first_with_household_and_pending_filter(ctx, township):
    h = _household(ctx, township["villages"]["东村"], "H1")
    old = ctx.run(workflow.record_clue, "02", date(2024, 10, 1), household_id=h, description="户主住院")
    new = ctx.run(workflow.record_clue, "04", date(2024, 11, 1), description="来电反映", reporter="王五")
    rows = ctx.read(workflow.clues)
    assert [r.id for r in rows] == [new, old]
    assert (rows[0].source_name, rows[0].household_no, rows[0].reporter) == ("12317平台", "", "王五")
    assert (rows[1].household_no, rows[1].head_name, rows[1].village) == ("H1", "张三", "东村")
    cid = ctx.run(workflow.open_identification, old, as_of=TODAY)
    assert [r.id for r in ctx.read(workflow.clues, pending_only=True)] == [new]
    [done] = ctx.read(workflow.clues, household_id=h)
    assert done.case_id == cid and done.outcome == "已发起认定"


def test_clues_of_a_clerk_are_those_of_their_villages_and_unmatched(db, ctx, township, admin):
    east = _household(ctx, township["villages"]["东村"], "H1")
    west = _household(ctx, township["villages"]["西村"], "H2", serial=11)
    ctx.run(workflow.record_clue, "01", date(2024, 10, 1), household_id=east)
    ctx.run(workflow.record_clue, "01", date(2024, 10, 2), household_id=west)
    ctx.run(workflow.record_clue, "05", date(2024, 10, 3))
    with db.session(admin) as s:
        clerk = auth.authenticate(s, "clerk", "Xc-cun-2024")  # 西村
        s.commit()
    cctx = AppContext(db=db, user=clerk, year=YEAR, today=lambda: TODAY)
    rows = cctx.read(workflow.clues, village_ids=clerk.village_ids)
    assert [r.household_no for r in rows] == ["", "H2"]


def test_get_measure_returns_what_was_saved(ctx, township):
    h = _household(ctx, township["villages"]["东村"], "H1")
    _data, members = ctx.read(register.get_household, h)
    data = measures.MeasureData(h, "A40", "技能培训", member_id=members[0].id, start_date=date(2024, 5, 1),
                                end_date=date(2024, 6, 1), amount=D("300"), responsible_unit="区人社局",
                                developmental_override=False, developmental_note="仅发放资料",
                                raises_working_ability=True)
    mid = ctx.run(measures.save_measure, data)
    got = ctx.read(measures.get_measure, mid)
    assert got == measures.MeasureData(h, "A40", "技能培训", mid, members[0].id, date(2024, 5, 1),
                                       date(2024, 6, 1), D("300.00"), "区人社局", False, "仅发放资料", True, None,
                                       version=1)  # as saved once: the version a later save names


def test_get_measure_of_a_missing_id_is_refused(ctx, township):
    import pytest
    with pytest.raises(measures.MeasureError, match="不存在"):
        ctx.read(measures.get_measure, 999)


def test_upcoming_steps_carry_the_deadlines_already_known(ctx, township):
    h = _household(ctx, township["villages"]["东村"], "H1")
    clue = ctx.run(workflow.record_clue, "01", date(2024, 6, 3), household_id=h)
    cid = ctx.run(workflow.open_identification, clue, as_of=TODAY)
    rows = ctx.read(workflow.upcoming, cid)
    assert [r.key for r in rows] == ["county_compare", "village_review", "township_review", "publicity",
                                     "county_approve", "announce"]
    due = {r.key: r.due_on for r in rows}
    assert due["county_approve"] == date(2024, 6, 18)  # D+15, known from the start
    assert due["announce"] is None  # A+10: not before the approval
    assert all(r.seq == 0 and r.done_on is None and r.result is None for r in rows)
    ctx.run(workflow.complete_step, cid, "verify", date(2024, 6, 4), passed=False, notes="无风险", as_of=TODAY)
    assert ctx.read(workflow.upcoming, cid) == []
