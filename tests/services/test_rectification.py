"""整改台账 (issue 17): each finding's state kept across check runs — a new finding opens, one no longer found
after the data is corrected becomes 已整改 by itself, one found again is reopened, 无需整改 needs a reason and
holds while the finding is still found; a 村级录入员 sees and answers only their villages."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from desktop.services import checks, corrections, national_rules, rectification, register, settings
from desktop.services.access import AccessDenied
from desktop.services.rectification import DISABLED, FIXED, OPEN, WAIVED, RectificationError

from ..conftest import TODAY, YEAR, family

LATER = date(2024, 11, 27)
EAST_NO, WEST_NO = "3703050010010001", "3703050020010001"
MEDICAL = "MEDICAL_INSURANCE_MISSING"


@pytest.fixture
def world(ctx, township):
    """东村: 李四 without basic medical insurance (A17 否); 西村: everyone insured. A23–A25 are left blank in both
    (GUARANTEE_MISSING on each household)."""
    data, members = family(township["villages"]["东村"], no=EAST_NO)
    members[1].a17_medical = False
    east = ctx.run(register.save_household, data, members, TODAY)
    data, members = family(township["villages"]["西村"], no=WEST_NO, serial=11)
    west = ctx.run(register.save_household, data, members, TODAY)
    return {"east": east, "west": west}


def set_medical(ctx, household_id: int, insured: bool) -> str:
    data, members = ctx.read(register.get_household, household_id)
    members[1].a17_medical = insured
    ctx.run(register.save_household, data, members, TODAY)
    return members[1].id_number


def ledger(ctx, **kw) -> list[rectification.Entry]:
    return ctx.read(rectification.entries, YEAR, **kw)


def medical(ctx) -> rectification.Entry:
    (entry,) = [e for e in ledger(ctx) if e.code == MEDICAL]
    return entry


def test_a_run_opens_one_entry_per_finding_keyed_by_rule_household_and_member(ctx, world):
    checked = ctx.run(rectification.check, YEAR, TODAY)
    findings = ctx.read(checks.run_checks, YEAR, TODAY)
    assert len(checked.findings) == len(findings) > 0
    entries = ledger(ctx)
    assert sorted((e.rule_key, e.household_no, e.member_id_number or "") for e in entries) == sorted(
        (f.rule or f.code, f.household_no, f.member_id_number or "") for f in findings)
    assert {e.state for e in entries} == {OPEN}
    assert checked.sync.new == len(findings) and checked.sync.open == len(findings)
    e = medical(ctx)
    assert (e.household_no, e.village, e.member_name, e.title) == (EAST_NO, "东村", "李四", "未参加基本医疗保险")
    assert e.first_found_on == e.last_found_on == TODAY and e.decided_by is None
    assert "A17" in e.message and e.field == "a17_medical"
    # the same run again changes nothing but the date last found
    again = ctx.run(rectification.check, YEAR, LATER)
    assert (again.sync.new, again.sync.fixed, again.sync.reopened) == (0, 0, 0)
    assert [x.id for x in ledger(ctx)] == [x.id for x in entries]
    assert medical(ctx).last_found_on == LATER and medical(ctx).first_found_on == TODAY


def test_open_then_fixed_by_itself_then_reopened(ctx, world):
    ctx.run(rectification.check, YEAR, TODAY)
    entry_id = medical(ctx).id
    set_medical(ctx, world["east"], True)  # 李四 joins the basic medical insurance
    result = ctx.run(rectification.check, YEAR, LATER)
    assert result.sync.fixed == 1 and result.sync.new == 0
    e = medical(ctx)
    assert (e.id, e.state, e.state_name, e.fixed_on, e.decided_by) == (entry_id, FIXED, "已整改", LATER, None)
    assert e.decider == "系统（复查）"
    assert MEDICAL not in {x.code for x in ledger(ctx, states=[OPEN])}
    set_medical(ctx, world["east"], False)  # the next collection records him uninsured again
    result = ctx.run(rectification.check, YEAR, date(2024, 12, 2))
    assert result.sync.reopened == 1
    e = medical(ctx)
    assert (e.id, e.state, e.reopened, e.fixed_on) == (entry_id, OPEN, 1, None)


def test_waived_needs_a_reason_and_holds_while_the_finding_is_still_found(ctx, world):
    ctx.run(rectification.check, YEAR, TODAY)
    entry_id = medical(ctx).id
    with pytest.raises(RectificationError, match="无需整改.*理由"):
        ctx.run(rectification.decide, [entry_id], WAIVED, "  ", TODAY)
    assert medical(ctx).state == OPEN
    ctx.run(rectification.decide, [entry_id], WAIVED, "在外地参加职工医保，已核实", TODAY)
    e = medical(ctx)
    assert (e.state, e.reason, e.decided_by, e.decided_on) == (WAIVED, "在外地参加职工医保，已核实", "admin", TODAY)
    assert not e.changed
    result = ctx.run(rectification.check, YEAR, LATER)
    e = medical(ctx)
    assert (e.state, e.reason) == (WAIVED, "在外地参加职工医保，已核实") and result.sync.reopened == 0
    assert result.sync.waived == 1
    # once no longer found, a waived finding is 已整改 like any other
    set_medical(ctx, world["east"], True)
    ctx.run(rectification.check, YEAR, date(2024, 12, 2))
    assert medical(ctx).state == FIXED


def test_a_waived_finding_whose_facts_are_reworded_is_marked_changed_not_reopened(ctx, world):
    ctx.run(rectification.check, YEAR, TODAY)
    entry_id = medical(ctx).id
    ctx.run(rectification.decide, [entry_id], WAIVED, "已核实", TODAY)
    set_medical(ctx, world["east"], None)  # 否 → 未填: the message says something else now
    ctx.run(rectification.check, YEAR, LATER)
    e = medical(ctx)
    assert e.state == WAIVED and e.changed and "未填" in e.message and "否" in e.decided_message


def test_a_person_may_report_fixed_and_the_next_run_reopens_what_is_still_wrong(ctx, world):
    ctx.run(rectification.check, YEAR, TODAY)
    entry_id = medical(ctx).id
    assert ctx.run(rectification.decide, [entry_id], FIXED, "已补录", TODAY) == 1
    assert (medical(ctx).state, medical(ctx).decided_by) == (FIXED, "admin")
    result = ctx.run(rectification.check, YEAR, LATER)
    assert result.sync.reopened == 1 and medical(ctx).state == OPEN and medical(ctx).reason is None


def test_a_run_over_one_village_leaves_the_other_villages_entries_alone(ctx, world, township):
    ctx.run(rectification.check, YEAR, TODAY)
    west_before = [(e.id, e.state) for e in ledger(ctx) if e.household_no == WEST_NO]
    assert west_before
    # only 东村 is checked, with nothing found there (the finding list is empty): 西村's entries stay open
    ctx.run(rectification.sync, YEAR, LATER, [], [world["east"]], active_rules=ctx.read(rectification.active_rules))
    assert [(e.id, e.state) for e in ledger(ctx) if e.household_no == WEST_NO] == west_before
    assert {e.state for e in ledger(ctx) if e.household_no == EAST_NO} == {FIXED}


def test_unknown_state_and_unknown_entry_are_refused_in_chinese(ctx, world):
    ctx.run(rectification.check, YEAR, TODAY)
    with pytest.raises(RectificationError, match="未知的整改状态"):
        ctx.run(rectification.decide, [medical(ctx).id], "done", None, TODAY)
    with pytest.raises(RectificationError, match="没有编号为 99999"):
        ctx.run(rectification.decide, [99999], FIXED, None, TODAY)


def test_a_clerk_sees_and_answers_only_their_villages(db, ctx, world, clerk):
    from desktop.services.context import AppContext
    ctx.run(rectification.check, YEAR, TODAY)
    clerk_ctx = AppContext(db, clerk, year=YEAR, today=lambda: TODAY)
    mine = clerk_ctx.read(rectification.entries, YEAR)
    assert mine and {e.household_no for e in mine} == {WEST_NO}
    east = [e.id for e in ledger(ctx) if e.household_no == EAST_NO]
    with pytest.raises(AccessDenied, match="东村"):
        clerk_ctx.run(rectification.decide, east, WAIVED, "不是我村的", TODAY)
    assert {e.state for e in ledger(ctx) if e.household_no == EAST_NO} == {OPEN}
    west = [e.id for e in mine]
    assert clerk_ctx.run(rectification.decide, west, FIXED, "已补填三保障", TODAY) == len(west)
    # the clerk's own run checks only 西村: 东村's entries are not closed by it
    clerk_ctx.run(rectification.check, YEAR, LATER)
    assert {e.state for e in ledger(ctx) if e.household_no == EAST_NO} == {OPEN}
    counts = clerk_ctx.read(rectification.open_counts, YEAR)
    assert {c.village for c in counts} == {"西村"}


def test_decisions_are_audited_with_who_and_the_state_in_chinese(ctx, world):
    from desktop.services import audit
    ctx.run(rectification.check, YEAR, TODAY)
    ctx.run(rectification.decide, [medical(ctx).id], WAIVED, "已核实", TODAY)
    rows = ctx.read(audit.history, world["east"])
    states = [r for r in rows if r.what.startswith("整改台账") and r.field == "整改状态"]
    assert states and states[0].old == "待整改" and states[0].new == "无需整改" and states[0].user == "管理员"


def test_open_counts_by_rule_and_village(ctx, world):
    ctx.run(rectification.check, YEAR, TODAY)
    counts = ctx.read(rectification.open_counts, YEAR)
    guarantee = {c.village: c for c in counts if c.rule_key == "GUARANTEE_MISSING"}
    assert set(guarantee) == {"东村", "西村"} and all(c.open == 1 and c.households == 1 for c in guarantee.values())
    ctx.run(rectification.decide, [e.id for e in ledger(ctx) if e.rule_key == "GUARANTEE_MISSING"
                                   and e.village == "西村"], WAIVED, "已入户核实", TODAY)
    counts = ctx.read(rectification.open_counts, YEAR)
    assert {c.village for c in counts if c.rule_key == "GUARANTEE_MISSING"} == {"东村"}


def test_the_dashboard_counts_open_findings_by_rule_and_village(ctx, world):
    from desktop.services import warnings
    assert ctx.read(warnings.dashboard, YEAR, TODAY).quality == []  # no check recorded yet
    ctx.run(rectification.check, YEAR, TODAY)
    d = ctx.read(warnings.dashboard, YEAR, TODAY)
    assert d.quality == ctx.read(rectification.open_counts, YEAR)
    assert d.quality_open == len([e for e in ledger(ctx) if e.is_open])
    east = ctx.read(warnings.dashboard, YEAR, TODAY, village_ids=frozenset({world_village(ctx, EAST_NO)}))
    assert {c.village for c in east.quality} == {"东村"}


def world_village(ctx, no: str) -> int:
    return next(e.village_id for e in ledger(ctx) if e.household_no == no)



@pytest.fixture
def poor(ctx, township):
    """A 脱贫户 in 东村 whose 李四 has no basic medical insurance (A17 否): our MEDICAL_INSURANCE_MISSING, and the
    national 2_01_008 (城乡居民/职工医保同时为空或否) and 2_01_016 (医疗未保障) for 脱贫人口 on the same member."""
    data, members = family(township["villages"]["东村"], no=EAST_NO)
    data.a4_poverty_alleviated = True
    members[1].a17_medical = False
    return ctx.run(register.save_household, data, members, TODAY)


def medical_entries(ctx) -> dict[str, rectification.Entry]:
    return {e.rule_key: e for e in ledger(ctx) if e.code == MEDICAL}


def test_entries_recorded_under_our_code_follow_their_finding_to_its_national_number_once(ctx, poor):
    """A ledger written before the national rules keyed 李四's finding by our code. The first run that finds it with a
    national number moves that entry (its state, reason and history) to the number: not a second entry, and the old
    one is not marked 已整改."""
    old = [replace(f, rule=None) for f in ctx.read(checks.run_checks, YEAR, TODAY)]  # as main recorded them
    first = ctx.run(rectification.sync, YEAR, TODAY, old, active_rules=ctx.read(rectification.active_rules))
    assert set(medical_entries(ctx)) == {MEDICAL} and first.new == len({(f.code, f.member_id_number) for f in old})
    before = medical_entries(ctx)[MEDICAL]
    ctx.run(rectification.decide, [before.id], WAIVED, "已在外地参保，村里核实", TODAY)
    again = ctx.run(rectification.check, YEAR, LATER)
    now = medical_entries(ctx)
    assert set(now) == {"2_01_008", "2_01_016"}  # both national rules fit 李四; one of them took the old entry
    moved = next(e for e in now.values() if e.id == before.id)
    assert (moved.state, moved.reason, moved.first_found_on, moved.rule) == (WAIVED, "已在外地参保，村里核实", TODAY,
                                                                              moved.rule_key)
    assert moved.title == national_rules.by_number()[moved.rule].title
    other = next(e for e in now.values() if e.id != before.id)
    assert other.state == OPEN and other.first_found_on == LATER
    assert again.sync.fixed == 0 and again.sync.new == len(ledger(ctx)) - first.new
    # later runs find it under the number: nothing moves any more
    ids = sorted(e.id for e in ledger(ctx))
    third = ctx.run(rectification.check, YEAR, LATER)
    assert (third.sync.new, third.sync.fixed, third.sync.reopened) == (0, 0, 0)
    assert sorted(e.id for e in ledger(ctx)) == ids and third.sync.waived == 1


def test_a_rule_switched_off_shows_its_open_findings_as_disabled_not_open(ctx, poor):
    """Switching 3_02_009 off makes its 待整改 entry 已停用 at once: not counted as open (预警中心, reports), not
    sent down; a run while it is off neither fixes nor reopens it. Switched on, it is 待整改 until a run moves it."""
    ctx.run(rectification.check, YEAR, TODAY)
    guarantee = {e.rule_key: e for e in ledger(ctx) if e.code == "GUARANTEE_MISSING"}
    assert {"3_02_002", "3_02_009"} <= set(guarantee) and guarantee["3_02_009"].state == OPEN
    ctx.run(national_rules.set_rule_enabled, "3_02_009", False)
    off = next(e for e in ledger(ctx) if e.rule_key == "3_02_009")
    assert (off.state, off.state_name, off.is_open) == (DISABLED, "已停用", False)
    assert "3_02_009" not in {c.rule_key for c in ctx.read(rectification.open_counts, YEAR)}
    assert "3_02_002" in {c.rule_key for c in ctx.read(rectification.open_counts, YEAR)}
    result = ctx.run(rectification.check, YEAR, LATER)
    assert result.sync.fixed == 0 and result.sync.new == 0 and result.sync.disabled == 1
    assert "已停用 1 条" in result.sync.summary()
    still = next(e for e in ledger(ctx) if e.rule_key == "3_02_009")
    assert (still.id, still.state, still.fixed_on, still.last_found_on) == (guarantee["3_02_009"].id, DISABLED, None,
                                                                            TODAY)
    # switched on again: 待整改 at once; the data corrected meanwhile, the next run closes it as usual
    ctx.run(national_rules.set_rule_enabled, "3_02_009", True)
    assert next(e for e in ledger(ctx) if e.rule_key == "3_02_009").state == OPEN
    data, members = ctx.read(register.get_household, poor)
    data.a23_housing_unsafe, data.a24_school_dropout, data.a25_water_unsafe = False, False, False
    ctx.run(register.save_household, data, members, TODAY)
    ctx.run(rectification.check, YEAR, LATER)
    closed = {e.rule_key: e for e in ledger(ctx) if e.code == "GUARANTEE_MISSING"}
    assert closed["3_02_009"].state == FIXED and closed["3_02_002"].state == FIXED


def test_a_run_while_a_rule_is_off_disables_entries_left_open_and_a_run_after_reopens_them(ctx, poor):
    """A ledger whose rule was turned off without the switch moving it (a database from before 已停用): the next run
    shows its 待整改 entry as 已停用; once the rule is on again and still finds it, the entry is 待整改 (not counted
    as reopened)."""
    ctx.run(rectification.check, YEAR, TODAY)
    with ctx.db.session(ctx.user) as s:
        settings.set_app(s, national_rules.OFF_KEY, '["3_02_009"]')
        s.commit()
    assert next(e for e in ledger(ctx) if e.rule_key == "3_02_009").state == OPEN
    ctx.run(rectification.check, YEAR, LATER)
    assert next(e for e in ledger(ctx) if e.rule_key == "3_02_009").state == DISABLED
    with ctx.db.session(ctx.user) as s:
        settings.set_app(s, national_rules.OFF_KEY, None)
        s.commit()
    again = ctx.run(rectification.check, YEAR, LATER)
    assert next(e for e in ledger(ctx) if e.rule_key == "3_02_009").state == OPEN
    assert (again.sync.reopened, again.sync.disabled) == (0, 0)


def test_a_code_whose_rules_are_all_switched_off_keeps_its_entry(ctx, poor):
    """With both national rules on 李四 off, our own code still finds him (no number now): the entry of the first rule
    follows the finding instead of a new entry opening beside it; the other rule's entry stays as it was."""
    ctx.run(rectification.check, YEAR, TODAY)
    before = medical_entries(ctx)
    for number in ("2_01_008", "2_01_016"):
        ctx.run(national_rules.set_rule_enabled, number, False)
    result = ctx.run(rectification.check, YEAR, LATER)
    now = medical_entries(ctx)
    assert result.sync.new == 0 and result.sync.fixed == 0
    assert now[MEDICAL].id == before["2_01_008"].id and now[MEDICAL].rule is None and now[MEDICAL].state == OPEN
    assert now["2_01_016"].id == before["2_01_016"].id and now["2_01_016"].state == DISABLED


def test_a_closed_household_is_skipped_by_the_ledger_not_marked_fixed(ctx, world):
    ctx.run(rectification.check, YEAR, TODAY)
    east = {e.id: e.state for e in ledger(ctx) if e.household_no == EAST_NO}
    assert east and set(east.values()) == {OPEN}
    ctx.run(corrections.close_household, world["east"], TODAY, "整户迁出", as_of=TODAY)
    result = ctx.run(rectification.check, YEAR, LATER)
    assert result.sync.fixed == 0
    assert {e.id: e.state for e in ledger(ctx) if e.household_no == EAST_NO} == east
    # even a finding handed to sync for it (a named run) does not move its entries
    later = ctx.run(rectification.sync, YEAR, LATER, [], [world["east"]], active_rules=())
    assert (later.new, later.fixed, later.open) == (0, 0, 0)
    assert {e.id: e.state for e in ledger(ctx) if e.household_no == EAST_NO} == east


def test_a_check_tells_its_stages_as_they_start(ctx, world):
    heard = []
    ctx.run(rectification.check, YEAR, TODAY, progress=lambda done, total, stage: heard.append((done, total, stage)))
    assert heard == [(0, 5, "读取户、成员和帮扶措施"), (1, 5, "测算收入"), (2, 5, "本程序的检查"),
                     (3, 5, "全国疑点规则"), (4, 5, "记入整改台账")]


def test_the_check_after_the_home_pages_count_on_unchanged_data_is_that_run_and_a_write_runs_it_again(
        ctx, world, clerk, monkeypatch):
    """首页 counts the findings (overview) and 数据质量 records them (check): each a run of every check over the
    register, seconds at county scale. On unchanged data, as of the same date and for the same scope, the second is
    the first one's answer; after any write, another user's scope or another date, the checks run again."""
    from desktop.services import overview
    runs = []
    run_checks = checks.run_checks

    def counted(session, year, as_of, household_ids=None, progress=None):
        runs.append((as_of, household_ids))
        return run_checks(session, year, as_of, household_ids, progress=progress)

    monkeypatch.setattr(checks, "run_checks", counted)
    home = ctx.read(overview.overview, YEAR, TODAY)
    assert len(runs) == 1
    checked = ctx.run(rectification.check, YEAR, TODAY)
    assert len(runs) == 1 and home.quality_findings == len(checked.findings) > 0
    assert checked.findings == ctx.read(run_checks, YEAR, TODAY)  # what a run of its own finds (not counted)
    assert {e.state for e in ledger(ctx)} == {OPEN} and checked.sync.new == len(checked.findings)

    # the ledger's own write changes no data the checks read (dataversion.RECORDS): the home page's next count is
    # the same run (on SQLite; PostgreSQL runs them again)
    after_ledger = ctx.read(overview.overview, YEAR, TODAY)
    assert len(runs) == (1 if ctx.db.sqlite_path is not None else 2)
    assert after_ledger.quality_findings == home.quality_findings
    n = len(runs)
    number = set_medical(ctx, world["east"], True)  # the finding is corrected: a write of the data
    again = ctx.run(rectification.check, YEAR, TODAY)
    assert len(runs) == n + 1 and all(f.member_id_number != number or f.code != MEDICAL for f in again.findings)
    assert again.sync.fixed == 1 and medical(ctx).state == FIXED
    ctx.run(rectification.check, YEAR, LATER)  # another date
    assert len(runs) == n + 2
    clerks = replace(ctx, user=clerk)  # 西村 only: not the administrator's answer
    ctx.read(overview.overview, YEAR, LATER)
    n = len(runs)
    clerks.read(overview.overview, YEAR, LATER)
    assert len(runs) == n + 1

