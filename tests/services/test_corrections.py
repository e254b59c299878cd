"""Issue 19, problem 9: mistakes are corrected with a reason and a trail, never silently overwritten; a case opened
by mistake is voided (kept, out of every list, count and deadline); a household is closed (户注销), never deleted."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from desktop.models import Member
from desktop.services import (
    assess,
    audit,
    checks,
    corrections,
    exchange,
    income,
    overview,
    register,
    screening,
    warnings,
    workflow,
)
from desktop.services.access import AccessDenied
from desktop.services.context import AppContext
from desktop.services.corrections import CorrectionError, StepCorrection
from desktop.services.income import LineData, RecordData
from desktop.services.workflow import WorkflowError
from tests.conftest import CLERK_PASSWORD, TODAY, YEAR, family, login

LATE = date(2026, 1, 31)


def workflow_details(step) -> str:
    """What the timeline shows of a step: its recorded data and notes."""
    return " ".join(str(v) for v in step.data.values()) + (step.notes or "")
D0 = date(2024, 6, 3)


@pytest.fixture
def hid(ctx, township):
    data, members = family(township["villages"]["东村"], no="H1")
    data.a27_risk_types = ["01"]
    h = ctx.run(register.save_household, data, members, TODAY)
    ctx.run(income.save_record, RecordData(h, 2024, collected_on=date(2024, 3, 1),
                                           lines=[LineData("A28", "务工收入", D("12000"))],
                                           collected_by="采集员"), TODAY)
    return h


def open_identify(ctx, hid, d=D0):
    clue = ctx.run(workflow.record_clue, "01", d, household_id=hid, description="户主住院", as_of=LATE)
    return ctx.run(workflow.open_identification, clue, as_of=LATE)


def step(ctx, cid, key, on, **kw):
    ctx.run(workflow.complete_step, cid, key, on, year=YEAR, as_of=LATE, **kw)


def seq_of(ctx, cid, key):
    return next(s.seq for s in ctx.read(workflow.view, cid, LATE).steps if s.key == key and s.done_on)


def walk_to_approval(ctx, hid, d=D0):
    cid = open_identify(ctx, hid, d)
    step(ctx, cid, "verify", d + timedelta(days=2), data={"authorized": True})
    step(ctx, cid, "county_compare", d + timedelta(days=3))
    step(ctx, cid, "village_review", d + timedelta(days=4), data={"meeting_form": "村民代表会议"})
    step(ctx, cid, "township_review", d + timedelta(days=5))
    step(ctx, cid, "publicity", d + timedelta(days=11), data={"publicity_start": (d + timedelta(days=6)).isoformat(),
                                                               "objections": "无异议"})
    return cid


class TestStepCorrection:
    def test_a_wrong_step_date_is_corrected_with_its_reason_and_the_old_date_kept(self, ctx, hid):
        cid = open_identify(ctx, hid)
        step(ctx, cid, "verify", date(2024, 6, 5), data={"authorized": True})
        seq = seq_of(ctx, cid, "verify")
        ctx.run(corrections.correct_step,
                StepCorrection(cid, seq, "录入时把 4 日写成了 5 日", done_on=date(2024, 6, 4)), as_of=TODAY)
        v = ctx.read(workflow.view, cid, LATE)
        assert next(s for s in v.steps if s.seq == seq).done_on == date(2024, 6, 4)
        [row] = ctx.read(corrections.case_corrections, cid)
        assert (row.what, row.old, row.new) == (f"{workflow.step_name('identify', 'verify')} 办理日期",
                                                "2024-06-05", "2024-06-04")
        assert row.reason == "录入时把 4 日写成了 5 日" and row.made_by == "管理员" and row.made_on == TODAY
        assert "2024-06-05 → 2024-06-04" in row.text
        # the change itself is in the audit log too, by the user, old and new
        log = [h for h in ctx.read(audit.recent) if h.field and "2024-06-05" in h.old]
        assert log and log[0].new == "2024-06-04"

    def test_the_reason_is_required_and_nothing_changes_without_it(self, ctx, hid):
        cid = open_identify(ctx, hid)
        step(ctx, cid, "verify", date(2024, 6, 5), data={"authorized": True})
        seq = seq_of(ctx, cid, "verify")
        with pytest.raises(CorrectionError, match="更正原因"):
            ctx.run(corrections.correct_step, StepCorrection(cid, seq, "  ", done_on=date(2024, 6, 4)), as_of=TODAY)
        assert next(s for s in ctx.read(workflow.view, cid, LATE).steps if s.seq == seq).done_on == date(2024, 6, 5)
        assert ctx.read(corrections.case_corrections, cid) == []

    def test_a_corrected_date_keeps_the_order_of_the_steps(self, ctx, hid):
        cid = open_identify(ctx, hid)
        step(ctx, cid, "verify", date(2024, 6, 5), data={"authorized": True})
        step(ctx, cid, "county_compare", date(2024, 6, 8))
        seq = seq_of(ctx, cid, "verify")
        problems = ctx.read(corrections.validate_step_correction,
                            StepCorrection(cid, seq, "错", done_on=date(2024, 6, 9)), TODAY)
        assert any("晚于下一步骤的日期 2024-06-08" in p for p in problems)
        problems = ctx.read(corrections.validate_step_correction,
                            StepCorrection(cid, seq, "错", done_on=date(2024, 6, 1)), TODAY)
        assert any("早于上一步骤的日期 2024-06-03" in p for p in problems)
        problems = ctx.read(corrections.validate_step_correction,
                            StepCorrection(cid, seq, "错", done_on=date(2024, 12, 1)), TODAY)
        assert any("晚于今天" in p for p in problems)

    def test_a_pending_step_is_not_corrected_but_done(self, ctx, hid):
        cid = open_identify(ctx, hid)
        pending = ctx.read(workflow.view, cid, LATE).pending
        problems = ctx.read(corrections.validate_step_correction,
                            StepCorrection(cid, pending.seq, "错", done_on=date(2024, 6, 4)), TODAY)
        assert problems == ["该步骤尚未办理，无需更正：请直接办理"]

    def test_correcting_the_approval_date_moves_identification_date_and_the_announce_deadline(self, ctx, hid):
        cid = walk_to_approval(ctx, hid)
        step(ctx, cid, "county_approve", date(2024, 6, 16), data={"category": "02"})
        assert ctx.read(register.get_household, hid)[0].identified_on == date(2024, 6, 16)
        assert ctx.read(workflow.view, cid, LATE).pending.due_on == date(2024, 6, 26)  # A+10
        seq = seq_of(ctx, cid, "county_approve")
        ctx.run(corrections.correct_step, StepCorrection(cid, seq, "批准文件日期为 15 日", done_on=date(2024, 6, 15)),
                as_of=TODAY)
        assert ctx.read(register.get_household, hid)[0].identified_on == date(2024, 6, 15)
        assert ctx.read(workflow.view, cid, LATE).pending.due_on == date(2024, 6, 25)

    def test_a_wrong_category_at_approval_is_corrected_on_the_household(self, ctx, hid):
        cid = walk_to_approval(ctx, hid)
        step(ctx, cid, "county_approve", date(2024, 6, 16), data={"category": "02"})
        seq = seq_of(ctx, cid, "county_approve")
        ctx.run(corrections.correct_step, StepCorrection(cid, seq, "批复为突发严重困难户", data={"category": "03"}),
                as_of=TODAY)
        assert ctx.read(register.get_household, hid)[0].a3_category == "03"
        [row] = ctx.read(corrections.case_corrections, cid)
        assert (row.old, row.new) == ("边缘易致贫户", "突发严重困难户")
        bad = ctx.read(corrections.validate_step_correction, StepCorrection(cid, seq, "x", data={"category": "99"}),
                       TODAY)
        assert bad and "类别" in bad[0]

    def test_a_publicity_start_correction_keeps_the_five_days(self, ctx, hid):
        cid = walk_to_approval(ctx, hid)
        seq = seq_of(ctx, cid, "publicity")
        problems = ctx.read(corrections.validate_step_correction,
                            StepCorrection(cid, seq, "公示实际 12 日张贴", data={"publicity_start": "2024-06-12"}),
                            TODAY)
        assert any("未满" in p for p in problems)
        ctx.run(corrections.correct_step, StepCorrection(cid, seq, "公示实际 8 日张贴",
                                                         data={"publicity_start": "2024-06-08"}), as_of=TODAY)
        s = next(s for s in ctx.read(workflow.view, cid, LATE).steps if s.seq == seq)
        assert s.data["publicity_start"] == "2024-06-08" and s.data["publicity_end"] == "2024-06-12"

    def test_a_clerk_may_not_correct_a_step_only_the_township_does(self, db, ctx, township):
        data, members = family(township["villages"]["西村"], no="W1", serial=40)
        h = ctx.run(register.save_household, data, members, TODAY)
        cid = walk_to_approval(ctx, h)
        clerk_ctx = AppContext(db, login(db, "clerk", CLERK_PASSWORD), year=YEAR, today=lambda: TODAY)
        seq = seq_of(ctx, cid, "township_review")  # 镇级审核: 管理员、乡镇审核员
        with pytest.raises(WorkflowError, match="须由"):
            clerk_ctx.run(corrections.correct_step, StepCorrection(cid, seq, "x", done_on=date(2024, 6, 7)),
                          as_of=TODAY)


class TestRejectedPublicity:
    def test_a_failed_publicity_keeps_no_publicity_period_that_was_never_recorded(self, ctx, hid):
        cid = open_identify(ctx, hid)
        step(ctx, cid, "verify", date(2024, 6, 5), data={"authorized": True})
        step(ctx, cid, "county_compare", date(2024, 6, 6))
        step(ctx, cid, "village_review", date(2024, 6, 7), data={"meeting_form": "村民代表会议"})
        step(ctx, cid, "township_review", date(2024, 6, 8))
        # the form held a publicity start that was never recorded nor accepted; the step fails
        step(ctx, cid, "publicity", date(2024, 6, 9), passed=False, notes="公示期间群众反映有车辆",
             data={"publicity_start": "2024-06-09", "objections": "有异议"})
        v = ctx.read(workflow.view, cid, LATE)
        failed = next(s for s in v.steps if s.key == "publicity")
        assert "publicity_start" not in failed.data and "publicity_end" not in failed.data
        assert v.end_reason == f"{failed.name}未通过：公示期间群众反映有车辆"
        assert "2024-06-09" not in workflow_details(failed)

    def test_a_recorded_publicity_start_stays_on_a_failed_step(self, ctx, hid):
        cid = open_identify(ctx, hid)
        step(ctx, cid, "verify", date(2024, 6, 5), data={"authorized": True})
        step(ctx, cid, "county_compare", date(2024, 6, 6))
        step(ctx, cid, "village_review", date(2024, 6, 7), data={"meeting_form": "村民代表会议"})
        step(ctx, cid, "township_review", date(2024, 6, 8))
        ctx.run(workflow.start_publicity, cid, date(2024, 6, 9))
        step(ctx, cid, "publicity", date(2024, 6, 12), passed=False, notes="有异议",
             data={"publicity_start": "2024-06-20"})
        failed = next(s for s in ctx.read(workflow.view, cid, LATE).steps if s.key == "publicity")
        assert failed.data["publicity_start"] == "2024-06-09"


class TestCaseDate:
    def test_a_wrong_clue_date_is_corrected_and_the_deadlines_follow(self, ctx, hid):
        cid = open_identify(ctx, hid, date(2024, 6, 10))
        assert ctx.read(workflow.view, cid, LATE).pending.due_on == date(2024, 6, 13)  # D+3
        ctx.run(corrections.correct_case_date, cid, date(2024, 6, 1), "线索登记簿上为 6 月 1 日", as_of=TODAY)
        v = ctx.read(workflow.view, cid, LATE)
        assert v.opened_on == date(2024, 6, 1) and v.pending.due_on == date(2024, 6, 4)
        [clue] = [c for c in ctx.read(workflow.clues) if c.case_id == cid]
        assert clue.reported_on == date(2024, 6, 1)
        rows = ctx.read(corrections.case_corrections, cid)
        assert {(r.what, r.old, r.new) for r in rows} == {("发起日期", "2024-06-10", "2024-06-01"),
                                                          ("线索日期", "2024-06-10", "2024-06-01")}

    def test_the_clue_date_is_corrected_from_the_clue_too(self, ctx, hid):
        cid = open_identify(ctx, hid, date(2024, 6, 10))
        [clue] = [c for c in ctx.read(workflow.clues) if c.case_id == cid]
        ctx.run(corrections.correct_clue_date, clue.id, date(2024, 6, 9), "笔误", as_of=TODAY)
        assert ctx.read(workflow.view, cid, LATE).opened_on == date(2024, 6, 9)

    def test_the_opening_date_cannot_pass_a_recorded_step(self, ctx, hid):
        cid = open_identify(ctx, hid, date(2024, 6, 10))
        step(ctx, cid, "verify", date(2024, 6, 11), data={"authorized": True})
        with pytest.raises(CorrectionError, match="晚于已办理步骤的日期 2024-06-11"):
            ctx.run(corrections.correct_case_date, cid, date(2024, 6, 12), "x", as_of=TODAY)


class TestVoid:
    def test_a_duplicate_case_is_voided_kept_and_out_of_every_list_count_and_deadline(self, ctx, hid):
        cid = open_identify(ctx, hid, date(2024, 6, 3))  # D+3 passed long ago: overdue
        assert ctx.read(workflow.cases, TODAY, overdue_only=True)
        counts_before = ctx.read(warnings.dashboard, YEAR, TODAY).counts
        assert counts_before.get("overdue", 0) == 1
        assert any(f.code == "STEP_OVERDUE" for f in ctx.read(checks.run_checks, YEAR, TODAY))
        ctx.run(corrections.void_case, cid, "与纸质台账重复登记", as_of=TODAY)
        v = ctx.read(workflow.view, cid, LATE)
        assert v.state == "void" and v.state_name == "已作废" and v.voided and not v.is_open
        assert "作废：与纸质台账重复登记" in v.end_reason
        assert ctx.read(workflow.cases, TODAY) == []
        assert [c.id for c in ctx.read(workflow.cases, TODAY, include_void=True)] == [cid]
        assert [c.id for c in ctx.read(workflow.cases, TODAY, state="void")] == [cid]
        assert ctx.read(warnings.dashboard, YEAR, TODAY).counts.get("overdue", 0) == 0
        assert not any(f.code == "STEP_OVERDUE" for f in ctx.read(checks.run_checks, YEAR, TODAY))
        o = ctx.read(overview.overview, YEAR, TODAY, with_quality=False)
        assert o.clues_year == 0 and o.overdue_steps == 0
        # the household is back where it was, and a new case may be opened
        assert ctx.read(register.get_household, hid)[0].monitoring_status == "none"
        open_identify(ctx, hid, date(2024, 7, 1))
        [row] = ctx.read(corrections.case_corrections, cid)
        assert row.kind_name == "作废" and row.reason == "与纸质台账重复登记"

    def test_a_decided_case_is_not_voided(self, ctx, hid):
        cid = walk_to_approval(ctx, hid)
        step(ctx, cid, "county_approve", date(2024, 6, 16), data={"category": "02"})
        assert "清退" in ctx.read(corrections.void_problem, cid)
        with pytest.raises(CorrectionError, match="清退"):
            ctx.run(corrections.void_case, cid, "重复", as_of=TODAY)

    def test_a_village_clerk_may_not_void(self, db, ctx, township):
        data, members = family(township["villages"]["西村"], no="W1", serial=40)
        h = ctx.run(register.save_household, data, members, TODAY)
        cid = open_identify(ctx, h)
        clerk_ctx = AppContext(db, login(db, "clerk", CLERK_PASSWORD), year=YEAR, today=lambda: TODAY)
        with pytest.raises(AccessDenied):
            clerk_ctx.run(corrections.void_case, cid, "重复", as_of=TODAY)
        assert ctx.read(workflow.view, cid, LATE).is_open


class TestCloseHousehold:
    def test_a_closed_household_is_out_of_the_working_lists_but_found_and_printable(self, ctx, hid, township):
        data, members = family(township["villages"]["东村"], no="H2", serial=10)
        other = ctx.run(register.save_household, data, members, TODAY)
        ctx.run(corrections.close_household, hid, date(2024, 10, 1), "全户迁出本乡镇", as_of=TODAY)
        assert ctx.read(register.household_ids, register.HouseholdFilter()) == [other]
        assert ctx.read(register.household_ids, register.HouseholdFilter(closed=True)) == [hid]
        assert sorted(ctx.read(register.household_ids, register.HouseholdFilter(text="H", closed=None))) \
            == sorted([hid, other])
        [row] = ctx.read(register.household_rows, [hid])
        assert row.status == "已注销" and row.closed
        assert ctx.read(register.count_households) == 1
        assert [a.household_id for a in ctx.read(assess.assess, YEAR, TODAY)] == [other]
        assert {f.household_no for f in ctx.read(checks.run_checks, YEAR, TODAY)} <= {"H2"}
        assert hid not in {k.household_id for k in ctx.read(screening.key_checks, YEAR, TODAY)}
        o = ctx.read(overview.overview, YEAR, TODAY, with_quality=False)
        assert o.households == 1
        # still readable by itself, and printable
        assert ctx.read(register.get_household, hid)[0].closed_on == date(2024, 10, 1)
        assert [a.household_id for a in ctx.read(assess.assess, YEAR, TODAY, household_ids=[hid])] == [hid]
        # no new clue, case or edit on it
        with pytest.raises(WorkflowError, match="注销"):
            ctx.run(workflow.record_clue, "01", TODAY, household_id=hid, as_of=TODAY)
        loaded = ctx.read(register.get_household, hid)
        with pytest.raises(register.RegisterError, match="注销"):
            ctx.run(register.save_household, *loaded, TODAY)
        [c] = ctx.read(corrections.household_corrections, hid)
        assert c.kind_name == "户注销" and c.reason == "全户迁出本乡镇" and c.new == "2024-10-01"
        # the household's history names it, with who did it
        history = ctx.read(audit.history, hid)
        assert any(h.what == "更正记录 户注销" and h.user == "管理员" for h in history)
        assert any(h.field == "注销日期" and h.new == "2024-10-01" for h in history)

    def test_a_closed_household_is_not_exported_in_either_layout_and_the_summary_says_so(self, ctx, hid, township,
                                                                                          tmp_path):
        from python_calamine import CalamineWorkbook
        data, members = family(township["villages"]["东村"], no="H2", serial=10)
        ctx.run(register.save_household, data, members, TODAY)
        ctx.run(corrections.close_household, hid, date(2024, 10, 1), "全户迁出本乡镇", as_of=TODAY)
        ours = ctx.read(exchange.export_workbook, tmp_path / "ours.xlsx", YEAR)
        national = ctx.read(exchange.export_national, tmp_path / "national.xlsx", YEAR)
        for result in (ours, national):
            assert result.households == 1 and result.closed == 1
            assert "已注销的 1 户不导出" in result.summary()
            cells = [c for sheet in CalamineWorkbook.from_path(str(result.path)).sheet_names
                     for row in CalamineWorkbook.from_path(str(result.path)).get_sheet_by_name(sheet).to_python()
                     for c in row]
            assert "H2" in cells and "H1" not in cells

    def test_an_id_shared_with_a_closed_duplicate_household_is_no_longer_a_finding(self, db, ctx, hid, township):
        data, members = family(township["villages"]["西村"], no="DUP", serial=30)
        dup = ctx.run(register.save_household, data, members, TODAY)
        with db.session(ctx.user) as s:  # the head entered twice (as an import of two lists does)
            head = s.scalars(select(Member).where(Member.household_id == hid, Member.relation == "01")).one()
            s.scalars(select(Member).where(Member.household_id == dup, Member.relation == "01")).one().id_number \
                = head.id_number
            s.commit()
        assert any(f.code == "ID_DUPLICATE" for f in ctx.read(checks.run_checks, YEAR, TODAY))
        ctx.run(corrections.close_household, dup, TODAY, "重复登记（与 H1 同一户）", as_of=TODAY)
        assert not any(f.code == "ID_DUPLICATE" for f in ctx.read(checks.run_checks, YEAR, TODAY))

    def test_closing_needs_a_reason_a_date_and_no_open_case_or_monitoring(self, ctx, hid):
        problems = ctx.read(corrections.close_problems, hid, None, "", TODAY)
        assert any("注销原因" in p for p in problems) and any("注销日期" in p for p in problems)
        open_identify(ctx, hid)
        problems = ctx.read(corrections.close_problems, hid, TODAY, "全户死亡", TODAY)
        assert any("进行中的流程" in p for p in problems) and any("认定中" in p for p in problems)

    def test_only_an_administrator_reopens_and_the_reopening_is_kept(self, db, ctx, hid):
        ctx.run(corrections.close_household, hid, date(2024, 10, 1), "误以为迁出", as_of=TODAY)
        from desktop.services import auth
        with db.session(ctx.user) as s:
            auth.create_user(s, "shen", "审核员", "auditor", "Audit-or-2024")
            s.commit()
        auditor = AppContext(db, login(db, "shen", "Audit-or-2024"), year=YEAR, today=lambda: TODAY)
        with pytest.raises(AccessDenied, match="管理员"):
            auditor.run(corrections.reopen_household, hid, "核实未迁出", as_of=TODAY)
        ctx.run(corrections.reopen_household, hid, "核实未迁出", as_of=TODAY)
        assert ctx.read(register.get_household, hid)[0].closed_on is None
        assert ctx.read(register.count_households) == 1
        kinds = [c.kind_name for c in ctx.read(corrections.household_corrections, hid)]
        assert kinds == ["户注销", "恢复"]
