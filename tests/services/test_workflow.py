"""SPEC §7: every procedure, transition, deadline (calendar days and months), refusal,
send-back and frozen snapshot."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from desktop.models import Household, Measure
from desktop.services import auth, income, measures, register, warnings, workflow
from desktop.services.assess import read_snapshot
from desktop.services.context import AppContext
from desktop.services.income import LineData, RecordData
from desktop.services.workflow import WorkflowError
from tests.conftest import TODAY, family

LATE = date(2026, 1, 31)  # a generous "today" for walking long procedures


@pytest.fixture
def hid(ctx, township):
    data, members = family(township["villages"]["东村"], no="H1")
    data.a27_risk_types = ["01"]
    h = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    ctx.run(income.save_record, RecordData(h, 2024, collected_on=date(2024, 3, 1),
                                           lines=[LineData("A28", "务工收入", D("12000"))],
                                           collected_by="采集员"), TODAY)
    return h


def status(ctx, hid):
    return ctx.read(register.get_household, hid)[0]


def run(ctx, fn, *args, **kw):
    return ctx.run(fn, *args, **kw)


def open_identify(ctx, hid, d=date(2024, 6, 3)):
    clue = run(ctx, workflow.record_clue, "01", d, household_id=hid, description="户主住院", as_of=LATE)
    return run(ctx, workflow.open_identification, clue, user=ctx.user, as_of=LATE)


def walk_identify(ctx, hid, d=date(2024, 6, 3), approve=None, announce=True):
    cid = open_identify(ctx, hid, d)

    def step(key, on, **kw):
        return run(ctx, workflow.complete_step, cid, key, on, year=2024, user=ctx.user, as_of=LATE, **kw)

    step("verify", d + timedelta(days=2), data={"authorized": True})
    step("county_compare", d + timedelta(days=3))
    step("village_review", d + timedelta(days=4), data={"meeting_form": "村民代表会议"})
    step("township_review", d + timedelta(days=5))
    step("publicity", d + timedelta(days=11), data={"publicity_start": (d + timedelta(days=6)).isoformat(),
                                                     "objections": "无异议"})
    step("county_approve", approve or d + timedelta(days=12), data={"category": "02"})
    if announce:
        step("announce", (approve or d + timedelta(days=12)) + timedelta(days=1))
    return cid


class TestIdentification:
    def test_clue_opens_case_and_household_is_identifying(self, ctx, hid):
        cid = open_identify(ctx, hid)
        v = ctx.read(workflow.view, cid, TODAY)
        assert v.kind_name == "监测对象认定" and v.state == "open"
        assert v.pending.key == "verify" and v.pending.due_on == date(2024, 6, 6)  # D+3
        assert status(ctx, hid).monitoring_status == "identifying"

    def test_full_walk_to_monitoring_with_dates(self, ctx, hid):
        cid = walk_identify(ctx, hid, announce=False)
        h = status(ctx, hid)
        assert h.monitoring_status == "monitoring" and h.identified_on == date(2024, 6, 15)
        assert h.a3_category == "02"
        v = ctx.read(workflow.view, cid, TODAY)
        assert v.pending.key == "announce" and v.pending.due_on == date(2024, 6, 25)  # A+10
        run(ctx, workflow.complete_step, cid, "announce", date(2024, 6, 20), user=ctx.user, as_of=LATE)
        assert ctx.read(workflow.view, cid, TODAY).state == "done"

    def test_county_approval_due_at_d_plus_15_and_overdue_shown(self, ctx, hid):
        cid = walk_identify(ctx, hid, approve=date(2024, 6, 19), announce=False)
        v = ctx.read(workflow.view, cid, TODAY)
        approve = [s for s in v.steps if s.key == "county_approve"][0]
        assert approve.due_on == date(2024, 6, 18) and approve.overdue  # done a day late

    def test_steps_cannot_be_skipped(self, ctx, hid):
        cid = open_identify(ctx, hid)
        with pytest.raises(WorkflowError, match="不能跳到“县级批准”"):
            run(ctx, workflow.complete_step, cid, "county_approve", date(2024, 6, 4), data={"category": "02"},
                as_of=LATE)

    def test_verify_requires_authorization(self, ctx, hid):
        cid = open_identify(ctx, hid)
        with pytest.raises(WorkflowError, match="授权承诺"):
            run(ctx, workflow.complete_step, cid, "verify", date(2024, 6, 4), as_of=LATE)

    def test_meeting_form_must_be_one_of_the_three(self, ctx, hid):
        cid = open_identify(ctx, hid)
        run(ctx, workflow.complete_step, cid, "verify", date(2024, 6, 4), data={"authorized": True}, as_of=LATE)
        run(ctx, workflow.complete_step, cid, "county_compare", date(2024, 6, 4), as_of=LATE)
        with pytest.raises(WorkflowError, match="民主评议形式"):
            run(ctx, workflow.complete_step, cid, "village_review", date(2024, 6, 5), data={"meeting_form": "座谈"},
                as_of=LATE)

    def test_publicity_lasts_five_days(self, ctx, hid):
        cid = open_identify(ctx, hid)
        for key, data in (("verify", {"authorized": True}), ("county_compare", {}),
                          ("village_review", {"meeting_form": "村民会议"}), ("township_review", {})):
            run(ctx, workflow.complete_step, cid, key, date(2024, 6, 4), data=data, as_of=LATE)
        first_day = run(ctx, workflow.start_publicity, cid, date(2024, 6, 5))
        assert first_day == date(2024, 6, 10)  # 06-05 … 06-09 is five days
        with pytest.raises(WorkflowError, match="公示期 2024-06-05 至 2024-06-09"):
            run(ctx, workflow.complete_step, cid, "publicity", date(2024, 6, 9), as_of=LATE)
        run(ctx, workflow.complete_step, cid, "publicity", date(2024, 6, 10), as_of=LATE)
        v = ctx.read(workflow.view, cid, TODAY)
        assert v.steps[-2].data["publicity_end"] == "2024-06-09"

    def test_failed_step_ends_case_and_restores_status(self, ctx, hid):
        cid = open_identify(ctx, hid)
        with pytest.raises(WorkflowError, match="须填写原因"):
            run(ctx, workflow.complete_step, cid, "verify", date(2024, 6, 4), passed=False, as_of=LATE)
        run(ctx, workflow.complete_step, cid, "verify", date(2024, 6, 4), passed=False, notes="收入稳定，无风险",
            as_of=LATE)
        v = ctx.read(workflow.view, cid, TODAY)
        assert v.state == "failed" and "收入稳定" in v.end_reason
        assert status(ctx, hid).monitoring_status == "none"
        with pytest.raises(WorkflowError, match="已已终止|已终止"):
            run(ctx, workflow.complete_step, cid, "county_compare", date(2024, 6, 5), as_of=LATE)

    def test_send_back_returns_to_previous_step_with_comments(self, ctx, hid):
        cid = open_identify(ctx, hid)
        run(ctx, workflow.complete_step, cid, "verify", date(2024, 6, 4), data={"authorized": True}, as_of=LATE)
        run(ctx, workflow.complete_step, cid, "county_compare", date(2024, 6, 5), as_of=LATE)
        run(ctx, workflow.send_back, cid, date(2024, 6, 6), "比对结果缺少车辆信息", as_of=LATE)
        v = ctx.read(workflow.view, cid, TODAY)
        assert [s.result for s in v.steps] == ["passed", "passed", "sent_back", None]
        assert v.steps[2].notes == "比对结果缺少车辆信息" and v.pending.key == "county_compare"

    def test_dates_must_not_go_backwards_or_into_the_future(self, ctx, hid):
        cid = open_identify(ctx, hid)
        with pytest.raises(WorkflowError, match="早于上一步骤"):
            run(ctx, workflow.complete_step, cid, "verify", date(2024, 6, 1), data={"authorized": True}, as_of=LATE)
        with pytest.raises(WorkflowError, match="晚于今天"):
            run(ctx, workflow.complete_step, cid, "verify", date(2024, 12, 1), data={"authorized": True},
                as_of=TODAY)

    def test_removal_waits_until_the_identification_is_entered(self, ctx, hid):
        cid = walk_identify(ctx, hid, announce=False)
        lift(ctx, hid)
        with pytest.raises(WorkflowError, match=f"已有进行中的流程 #{cid}"):
            run(ctx, workflow.open_removal, hid, date(2024, 7, 1), "02", 2024, as_of=LATE)

    def test_one_open_case_per_household(self, ctx, hid):
        open_identify(ctx, hid)
        clue = run(ctx, workflow.record_clue, "02", date(2024, 6, 4), household_id=hid, as_of=LATE)
        with pytest.raises(WorkflowError, match="认定中|进行中的流程"):
            run(ctx, workflow.open_identification, clue, as_of=LATE)

    def test_clerk_cannot_record_township_steps(self, db, ctx, hid):
        cid = open_identify(ctx, hid)
        with db.session(ctx.user) as s:
            vid = s.get(Household, hid).village_id
            auth.create_user(s, "c2", "东村录入员", "clerk", "Dong-cun-2024", village_ids=[vid])
            s.commit()
            clerk = auth.authenticate(s, "c2", "Dong-cun-2024")
            s.commit()
        cctx = AppContext(db=db, user=clerk, year=2024, today=lambda: TODAY)
        cctx.run(workflow.complete_step, cid, "verify", date(2024, 6, 4), data={"authorized": True}, user=clerk,
                 as_of=LATE)
        with pytest.raises(WorkflowError, match="须由管理员、乡镇审核员办理"):
            cctx.run(workflow.complete_step, cid, "county_compare", date(2024, 6, 5), user=clerk, as_of=LATE)

    def test_decision_freezes_the_assessment(self, ctx, hid):
        cid = walk_identify(ctx, hid)
        # Later the income changes: the frozen copy does not.
        ctx.run(income.save_record, RecordData(hid, 2024, collected_on=date(2024, 10, 1),
                                               lines=[LineData("A28", "务工收入", D("90000"))],
                                               collected_by="采集员"), TODAY)
        v = ctx.read(workflow.view, cid, TODAY)
        snap = [s for s in v.steps if s.key == "county_approve"][0].snapshot
        assert snap["version"] == 2 and snap["A34"] == "4000.00" and snap["category"] == "02"
        assert snap["monitoring_line"] == "7100.00" and snap["totals"]["A28"] == "12000.00"
        assert any("4,000.00" in r for r in snap["reasons"])
        assert "边缘易致贫户" not in str({k: v for k, v in snap.items() if k != "reasons"})  # codes, not names
        assert read_snapshot(snap).category_name == "边缘易致贫户"


class TestGreenChannel:
    def test_needs_confirmation_and_reason(self, ctx, hid):
        with pytest.raises(WorkflowError, match="镇村两级确认"):
            run(ctx, workflow.open_green_channel, hid, date(2024, 6, 1), confirmed=False, reason="火灾")

    def test_verification_due_within_one_calendar_month(self, ctx, hid):
        cid = run(ctx, workflow.open_green_channel, hid, date(2024, 1, 31), confirmed=True, reason="房屋火灾")
        v = ctx.read(workflow.view, cid, TODAY)
        assert v.pending.due_on == date(2024, 2, 29)
        assert status(ctx, hid).monitoring_status == "green"

    def test_verified_green_channel_identifies_with_entry_date(self, ctx, hid):
        gid = run(ctx, workflow.open_green_channel, hid, date(2024, 6, 1), confirmed=True, reason="房屋火灾")
        run(ctx, workflow.complete_step, gid, "verify", date(2024, 6, 20), year=2024, as_of=LATE)
        [case] = [c for c in ctx.read(workflow.cases, LATE, household_id=hid) if c.kind == "identify"]
        assert status(ctx, hid).monitoring_status == "green"
        d = date(2024, 6, 20)
        for key, on, data in (("verify", d, {"authorized": True}), ("county_compare", d, {}),
                              ("village_review", d, {"meeting_form": "村民会议"}), ("township_review", d, {}),
                              ("publicity", d + timedelta(days=6), {"publicity_start": "2024-06-21"}),
                              ("county_approve", d + timedelta(days=7), {"category": "03"})):
            run(ctx, workflow.complete_step, case.id, key, on, data=data, year=2024, as_of=LATE)
        h = status(ctx, hid)
        assert h.monitoring_status == "monitoring" and h.identified_on == date(2024, 6, 1)

    def test_exit_ends_its_measures(self, ctx, hid):
        gid = run(ctx, workflow.open_green_channel, hid, date(2024, 6, 1), confirmed=True, reason="房屋火灾")
        mid = run(ctx, measures.save_measure, measures.MeasureData(hid, "A48", "临时救助", start_date=date(2024, 6, 2),
                                                                  case_id=gid))
        run(ctx, workflow.complete_step, gid, "verify", date(2024, 6, 25), passed=False,
            notes="已获保险理赔，不符合条件", as_of=LATE)
        assert status(ctx, hid).monitoring_status == "none"
        with ctx.db.session(ctx.user) as s:
            m = s.get(Measure, mid)
            assert m.ended_on == date(2024, 6, 25) and "绿色通道" in m.ended_reason


def lift(ctx, hid, on=date(2024, 6, 20)):
    """An annual record of the year above the line (10,000 a head): the income test both ways of removal need."""
    ctx.run(income.save_record, RecordData(hid, 2024, collected_on=on, lines=[LineData("A28", "务工收入", D("30000"))],
                                           collected_by="采集员"), LATE)


def stable_income(ctx, hid):
    for on in (date(2024, 7, 1), date(2024, 10, 1), date(2025, 1, 5)):
        ctx.run(income.save_record, RecordData(hid, 2024, collected_on=on,
                                               lines=[LineData("A28", "务工收入", D("30000"))],
                                               collected_by="采集员"), LATE)


class TestRiskRemoval:
    def test_eligibility_explains_each_problem(self, ctx, hid):
        walk_identify(ctx, hid)  # approved 2024-06-15
        e = ctx.read(workflow.removal_eligibility, hid, 2024, date(2024, 12, 15))
        assert not e.eligible and any("监测线" in p for p in e.problems)
        stable_income(ctx, hid)
        e = ctx.read(workflow.removal_eligibility, hid, 2024, date(2024, 12, 14))
        assert not e.eligible and any("不足 6 个月" in p for p in e.problems)
        e = ctx.read(workflow.removal_eligibility, hid, 2024, date(2024, 12, 15))
        assert e.eligible and any("2024-06-15 识别，已满 6 个月" in f for f in e.facts)

    def test_natural_removal_needs_no_income_period_but_secure_guarantees(self, ctx, hid):
        walk_identify(ctx, hid)
        lift(ctx, hid)
        assert ctx.read(workflow.removal_eligibility, hid, 2024, date(2024, 7, 1), "02").eligible
        data, members = ctx.read(register.get_household, hid)
        data.a25_water_unsafe = True
        ctx.run(register.save_household, data, members, TODAY, ctx.user)
        e = ctx.read(workflow.removal_eligibility, hid, 2024, date(2024, 7, 1), "02")
        assert not e.eligible and any("饮水安全" in p for p in e.problems)

    def test_whole_no_labor_household_is_not_removed(self, ctx, hid):
        walk_identify(ctx, hid)
        with ctx.db.session(ctx.user) as s:
            s.get(Household, hid).whole_no_labor_guarantee = True
            s.commit()
        e = ctx.read(workflow.removal_eligibility, hid, 2024, date(2024, 7, 1), "02")
        assert any("整户无劳动能力" in p for p in e.problems)
        with pytest.raises(WorkflowError, match="不符合风险消除条件"):
            run(ctx, workflow.open_removal, hid, date(2024, 7, 1), "02", 2024, as_of=LATE)

    def test_removal_walk_sets_a53_a54_and_schedules_revisit(self, ctx, hid):
        walk_identify(ctx, hid)
        stable_income(ctx, hid)
        cid = run(ctx, workflow.open_removal, hid, date(2025, 1, 10), "01", 2024, as_of=LATE)
        assert status(ctx, hid).monitoring_status == "removing"
        d = date(2025, 1, 10)
        for key, on, data in (("verify", d, {}), ("village_review", d, {"meeting_form": "村“两委”扩大会议"}),
                              ("township_review", d, {}),
                              ("publicity", d + timedelta(days=6), {"publicity_start": "2025-01-11"}),
                              ("county_approve", d + timedelta(days=7), {})):
            run(ctx, workflow.complete_step, cid, key, on, data=data, year=2024, as_of=LATE)
        h = status(ctx, hid)
        assert (h.monitoring_status, h.a53_removal_way, h.a54_removed_on) == ("removed", "01", date(2025, 1, 17))
        [revisit] = [c for c in ctx.read(workflow.cases, LATE, household_id=hid) if c.kind == "revisit"]
        assert revisit.due_on == date(2025, 7, 17)  # half a year after removal
        dash = ctx.read(warnings.dashboard, 2024, date(2025, 7, 17))
        assert [r.household_id for r in dash.of("revisit_due")] == [hid]

    def test_failed_removal_returns_to_monitoring(self, ctx, hid):
        walk_identify(ctx, hid)
        lift(ctx, hid)
        cid = run(ctx, workflow.open_removal, hid, date(2024, 7, 1), "02", 2024, as_of=LATE)
        run(ctx, workflow.complete_step, cid, "verify", date(2024, 7, 2), passed=False, notes="新增因病风险",
            as_of=LATE)
        assert status(ctx, hid).monitoring_status == "monitoring"

    def test_new_risk_after_removal_starts_a_new_identification(self, ctx, hid):
        walk_identify(ctx, hid)
        lift(ctx, hid)
        cid = run(ctx, workflow.open_removal, hid, date(2024, 7, 1), "02", 2024, as_of=LATE)
        d = date(2024, 7, 1)
        for key, on, data in (("verify", d, {}), ("village_review", d, {"meeting_form": "村民会议"}),
                              ("township_review", d, {}), ("publicity", d + timedelta(days=6),
                                                           {"publicity_start": "2024-07-02"}),
                              ("county_approve", d + timedelta(days=7), {}), ("announce", d + timedelta(days=8), {})):
            run(ctx, workflow.complete_step, cid, key, on, data=data, year=2024, as_of=LATE)
        assert status(ctx, hid).monitoring_status == "removed"
        open_identify(ctx, hid, date(2024, 9, 1))
        assert status(ctx, hid).monitoring_status == "identifying"


class TestRollbackAndClearout:
    def test_rollback_needs_reason_and_document_number(self, ctx, hid):
        walk_identify(ctx, hid)
        with ctx.db.session(ctx.user) as s:
            h = s.get(Household, hid)
            h.monitoring_status, h.a53_removal_way, h.a54_removed_on = "removed", "01", date(2024, 12, 20)
            s.commit()
        with pytest.raises(WorkflowError, match="申请理由"):
            run(ctx, workflow.apply_for, hid, "rollback", date(2025, 1, 3), " ", as_of=LATE)
        cid = run(ctx, workflow.apply_for, hid, "rollback", date(2025, 1, 3), "消除时收入核算有误", as_of=LATE)
        assert status(ctx, hid).monitoring_status == "removed"  # an application changes nothing yet
        with pytest.raises(WorkflowError, match="批准文号"):
            run(ctx, workflow.complete_step, cid, "approval", date(2025, 1, 10), as_of=LATE)
        run(ctx, workflow.complete_step, cid, "approval", date(2025, 1, 10),
            data={"document_no": "鲁乡振字〔2025〕3号"}, as_of=LATE)
        assert status(ctx, hid).monitoring_status == "removed"
        run(ctx, workflow.complete_step, cid, "apply", date(2025, 1, 11), as_of=LATE)
        h = status(ctx, hid)
        assert (h.monitoring_status, h.a53_removal_way, h.a54_removed_on) == ("monitoring", None, None)

    def test_clearout_after_approval(self, ctx, hid):
        walk_identify(ctx, hid)
        cid = run(ctx, workflow.apply_for, hid, "clearout", date(2024, 7, 1), "户籍已迁往城镇，识别错误", as_of=LATE)
        run(ctx, workflow.complete_step, cid, "approval", date(2024, 7, 5), data={"document_no": "文号1"}, as_of=LATE)
        run(ctx, workflow.complete_step, cid, "apply", date(2024, 7, 6), as_of=LATE)
        assert status(ctx, hid).monitoring_status == "cleared"

    def test_rollback_only_for_removed(self, ctx, hid):
        with pytest.raises(WorkflowError, match="不能发起风险消除回退"):
            run(ctx, workflow.apply_for, hid, "rollback", date(2024, 7, 1), "理由", as_of=LATE)


class TestWarnings:
    def test_overdue_and_due_soon_steps(self, ctx, hid):
        open_identify(ctx, hid, date(2024, 6, 3))
        soon = ctx.read(warnings.dashboard, 2024, date(2024, 6, 4))
        assert [r.what for r in soon.of("due_soon")] == ["监测对象认定：入户核实和农户授权承诺"]
        late = ctx.read(warnings.dashboard, 2024, date(2024, 6, 7))
        [row] = late.of("overdue")
        assert row.days == 1 and row.due_on == date(2024, 6, 6)

    def test_plan_overdue_after_ten_days_without_measures(self, ctx, hid):
        walk_identify(ctx, hid)  # identified 2024-06-15
        assert not ctx.read(warnings.dashboard, 2024, date(2024, 6, 21)).of("due_soon")
        soon = ctx.read(warnings.dashboard, 2024, date(2024, 6, 22)).of("due_soon")  # 3 days before 06-25
        assert [r.what for r in soon] == ["帮扶计划（帮扶措施）待制定"]
        assert not ctx.read(warnings.dashboard, 2024, date(2024, 6, 25)).of("plan_overdue")
        assert ctx.read(warnings.dashboard, 2024, date(2024, 6, 26)).of("plan_overdue")
        ps = ctx.read(measures.plan_status, hid, 2024, date(2024, 6, 26))
        assert ps.overdue and "2024-06-25" in ps.message
        run(ctx, measures.save_measure, measures.MeasureData(hid, "A40", "劳务输出", start_date=date(2024, 6, 26)))
        assert not ctx.read(warnings.dashboard, 2024, date(2024, 6, 26)).of("plan_overdue")

    def test_green_channel_near_its_month(self, ctx, hid):
        run(ctx, workflow.open_green_channel, hid, date(2024, 6, 1), confirmed=True, reason="车祸")
        assert not ctx.read(warnings.dashboard, 2024, date(2024, 6, 23)).of("green_near")
        assert ctx.read(warnings.dashboard, 2024, date(2024, 6, 24)).of("green_near")  # 7 days before 07-01

    def test_village_over_two_percent(self, ctx, hid, township):
        walk_identify(ctx, hid)
        ratios = {v.village: v for v in ctx.read(warnings.village_ratios, TODAY)}
        assert ratios["东村"].persons == 3 and not ratios["东村"].flagged  # 3 / 1200
        from desktop.services import regions
        ctx.run(regions.update_region, township["villages"]["东村"], rural_population=100)
        assert {v.village: v for v in ctx.read(warnings.village_ratios, TODAY)}["东村"].flagged


class TestMeasures:
    def test_override_of_developmental_needs_a_note(self, ctx, hid):
        with pytest.raises(measures.MeasureError, match="写明理由"):
            run(ctx, measures.save_measure, measures.MeasureData(hid, "A48", "低保", developmental_override=True))

    def test_item_must_belong_to_category_and_dates_in_order(self, ctx, hid):
        with pytest.raises(measures.MeasureError, match="措施项目应为"):
            run(ctx, measures.save_measure, measures.MeasureData(hid, "A41", "种植业"))
        with pytest.raises(measures.MeasureError, match="早于开始日期"):
            run(ctx, measures.save_measure, measures.MeasureData(hid, "A39", "种植业", start_date=date(2024, 5, 1),
                                                                 end_date=date(2024, 4, 1)))

    def test_rows_show_developmental_and_term(self, ctx, hid):
        run(ctx, measures.save_measure, measures.MeasureData(hid, "A40", "技能培训", raises_working_ability=True,
                                                             start_date=date(2024, 5, 1)))
        run(ctx, measures.save_measure, measures.MeasureData(hid, "A41", "小额信贷", start_date=date(2024, 5, 1),
                                                             end_date=date(2026, 5, 1), amount="50,000元"))
        rows = ctx.read(measures.measures, hid, TODAY)
        assert [r.developmental for r in rows] == [True, True]
        assert rows[1].amount == D("50000.00") and rows[1].continues_after_removal


def test_step_overdue_finding_names_the_step(ctx, hid):
    from desktop.services import checks
    open_identify(ctx, hid, date(2024, 6, 3))
    found = [f for f in ctx.read(checks.run_checks, 2024, date(2024, 6, 8)) if f.code == "STEP_OVERDUE"]
    assert [f.message for f in found] == [
        "流程步骤“监测对象认定：入户核实和农户授权承诺”应于 2024-06-06 前完成，已逾期 2 天"]


def test_a_checked_clue_is_closed_and_no_longer_blocks_removal(ctx, hid):
    walk_identify(ctx, hid)
    lift(ctx, hid)
    clue = run(ctx, workflow.record_clue, "02", date(2024, 7, 1), household_id=hid, as_of=LATE)
    e = ctx.read(workflow.removal_eligibility, hid, 2024, date(2024, 7, 2), "02")
    assert any("新的风险线索" in p for p in e.problems)
    with pytest.raises(WorkflowError, match="核实结果"):
        run(ctx, workflow.close_clue, clue, " ")
    run(ctx, workflow.close_clue, clue, "经核实无新增风险")
    assert ctx.read(workflow.removal_eligibility, hid, 2024, date(2024, 7, 2), "02").eligible
    assert ctx.read(workflow.clues, pending_only=True) == []


def test_removal_eligibility_requires_monitoring_status(ctx, hid):
    e = ctx.read(workflow.removal_eligibility, hid, 2024, date(2024, 7, 2), "02")
    assert not e.eligible and any("只有“监测中”的户" in p for p in e.problems)
