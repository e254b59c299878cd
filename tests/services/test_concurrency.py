"""Two clerks at once on one database (issue 21): each scenario of the issue, interleaved deterministically through
the services, on the database the suite runs on (SQLite files, or PostgreSQL with FANPIN_TEST_DB_URL: CI runs
both). Nothing is lost, nothing is duplicated, and the seat that loses is told in Chinese who changed what.

Seat A is the township's 管理员, seat B a 乡镇审核员: two people, two AppContexts (each action its own
transaction, as in two windows)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from desktop.models import Case, CaseStep, Household, Measure, Member
from desktop.services import auth, corrections, income, measures, register, settings, workflow
from desktop.services import db as dbmod
from desktop.services.access import AccountDisabled
from desktop.services.concurrency import Conflict
from desktop.services.context import AppContext
from desktop.services.corrections import StepCorrection
from desktop.services.income import LineData, RecordData
from desktop.services.measures import MeasureData
from desktop.services.workflow import WorkflowError
from tests.conftest import TODAY, YEAR, family, login, person

LATE = date(2026, 1, 31)


@pytest.fixture
def seats(db, township, admin):
    with db.session(admin) as s:
        auth.create_user(s, "wang", "王审核", "auditor", "Shen-he-2024x")
        s.commit()
    a = AppContext(db=db, user=admin, year=YEAR, today=lambda: TODAY)
    b = AppContext(db=db, user=login(db, "wang", "Shen-he-2024x"), year=YEAR, today=lambda: TODAY)
    return a, b


@pytest.fixture
def hid(seats, township):
    a, _b = seats
    data, members = family(township["villages"]["东村"], no="3703050010010001")
    return a.run(register.save_household, data, members, TODAY)


def stored(ctx, hid):
    return ctx.read(register.get_household, hid)


# ---------------------------------------------------------------- the household editor open in both


def test_household_editor_in_both_b_is_refused_and_told_who_changed_what(seats, hid):
    a, b = seats
    data_a, members_a = stored(a, hid)
    data_b, members_b = stored(b, hid)
    data_a.phone = "13911112222"
    a.run(register.save_household, data_a, members_a, TODAY)
    data_b.address = "东村 18 号"
    with pytest.raises(Conflict) as refused:
        b.run(register.save_household, data_b, members_b, TODAY)
    message = str(refused.value)
    assert "admin" in message and "电话" in message and "重新载入" in message
    # nothing of B's was written, A's phone is there
    now, _m = stored(a, hid)
    assert now.phone == "13911112222" and now.address is None
    # B reloads, makes the change again on the newest data: both changes stand, each audited as its author's
    data_b, members_b = stored(b, hid)
    data_b.address = "东村 18 号"
    b.run(register.save_household, data_b, members_b, TODAY)
    now, _m = stored(a, hid)
    assert (now.phone, now.address) == ("13911112222", "东村 18 号")
    from desktop.models import AuditEntry

    def who_changed(s, field):
        return list(s.scalars(select(AuditEntry.user).where(AuditEntry.table_name == "household",
                                                            AuditEntry.field == field)))
    assert a.read(who_changed, "phone") == ["admin"]
    assert a.read(who_changed, "address") == ["wang"]


def test_a_member_edited_in_both_is_not_overwritten(seats, hid):
    a, b = seats
    data_a, members_a = stored(a, hid)
    data_b, members_b = stored(b, hid)
    members_a[1].phone = "13700000001"
    a.run(register.save_household, data_a, members_a, TODAY)
    members_b[1].note = "B 的备注"
    with pytest.raises(Conflict, match="家庭成员 李四"):
        b.run(register.save_household, data_b, members_b, TODAY)
    assert stored(a, hid)[1][1].phone == "13700000001"


def test_a_birth_registered_on_one_seat_refuses_the_other_seats_stale_editor(seats, hid):
    a, b = seats
    data_b, members_b = stored(b, hid)
    baby = person("张小宝", date(2024, 10, 1), "1", "03", serial=9)
    a.run(register.record_event, hid, "birth", date(2024, 10, 2), new_member=baby, as_of=TODAY)
    data_b.phone = "13800000009"
    with pytest.raises(Conflict):
        b.run(register.save_household, data_b, members_b, TODAY)
    assert len(stored(a, hid)[1]) == 4


def test_the_same_birth_registered_on_both_seats_is_stored_once(seats, hid):
    a, b = seats
    baby = person("张小宝", date(2024, 10, 1), "1", "03", serial=9)
    a.run(register.record_event, hid, "birth", date(2024, 10, 2), new_member=baby, as_of=TODAY)
    with pytest.raises(register.ValidationError, match="证件号码"):
        b.run(register.record_event, hid, "birth", date(2024, 10, 2), new_member=baby, as_of=TODAY)
    assert a.read(lambda s: s.scalar(select(func.count()).select_from(Member).where(
        Member.household_id == hid))) == 4


# ---------------------------------------------------------------- the income page open in both


def _record(hid, lines, **kw):
    return RecordData(hid, YEAR, collected_on=date(2024, 10, 8), collected_by="采集员", lines=lines, **kw)


def lines_of(ctx, hid):
    return sorted((r.id, ln.line, ln.amount) for r in ctx.read(income.records, hid, YEAR) for ln in r.lines)


def test_income_page_in_both_b_does_not_drop_a_line(seats, hid):
    a, b = seats
    rid = a.run(income.save_record, _record(hid, [LineData("A28", "务工", D("10000"))]), TODAY)
    rec_a = a.read(income.records, hid, YEAR)[0]
    rec_b = b.read(income.records, hid, YEAR)[0]
    rec_a.lines.append(LineData("A29", "养殖", D("3000")))
    a.run(income.save_record, rec_a, TODAY)
    rec_b.lines.append(LineData("A31", "低保金", D("1200")))
    with pytest.raises(Conflict) as refused:
        b.run(income.save_record, rec_b, TODAY)
    assert "admin" in str(refused.value) and "收入" in str(refused.value)
    assert sorted(x[1] for x in lines_of(a, hid)) == ["养殖", "务工"]
    # B reloads and adds its line to A's
    rec_b = b.read(income.records, hid, YEAR)[0]
    rec_b.lines.append(LineData("A31", "低保金", D("1200")))
    b.run(income.save_record, rec_b, TODAY)
    assert sorted(x[1] for x in lines_of(a, hid)) == ["低保金", "养殖", "务工"]
    assert {x[0] for x in lines_of(a, hid)} == {rid}


def test_two_new_records_of_the_same_collection_are_not_doubled(seats, hid):
    a, b = seats
    a.run(income.save_record, _record(hid, [LineData("A28", "务工", D("10000")),
                                            LineData("A29", "养殖", D("3000"))]), TODAY)
    with pytest.raises(Conflict, match="已由“admin”"):
        b.run(income.save_record, _record(hid, [LineData("A28", "务工", D("10000")),
                                                LineData("A29", "养殖", D("3000"))]), TODAY)
    assert len(lines_of(a, hid)) == 2
    totals = a.read(income.totals_for_year, YEAR, [hid])[hid]
    assert (totals.A28, totals.A29) == (D("10000.00"), D("3000.00"))


# ---------------------------------------------------------------- measures


def test_the_same_measure_added_on_both_seats_is_stored_once(seats, hid):
    a, b = seats
    m = MeasureData(hid, "A40", "技能培训", start_date=date(2024, 5, 1))
    a.run(measures.save_measure, m)
    with pytest.raises(Conflict, match="不再重复登记"):
        b.run(measures.save_measure, MeasureData(hid, "A40", "技能培训", start_date=date(2024, 5, 1)))
    assert a.read(lambda s: s.scalar(select(func.count()).select_from(Measure))) == 1


def test_a_measure_edited_on_both_seats_is_not_overwritten(seats, hid):
    a, b = seats
    mid = a.run(measures.save_measure, MeasureData(hid, "A40", "技能培训", start_date=date(2024, 5, 1)))
    ma, mb = a.read(measures.get_measure, mid), b.read(measures.get_measure, mid)
    ma.responsible_unit = "区人社局"
    a.run(measures.save_measure, ma)
    mb.amount = D("500")
    with pytest.raises(Conflict, match="帮扶措施"):
        b.run(measures.save_measure, mb)
    got = a.read(measures.get_measure, mid)
    assert (got.responsible_unit, got.amount) == ("区人社局", None)


# ---------------------------------------------------------------- cases


def _open(ctx, hid):
    clue = ctx.run(workflow.record_clue, "01", date(2024, 6, 3), household_id=hid, description="户主住院", as_of=LATE)
    return ctx.run(workflow.open_identification, clue, user=ctx.user, as_of=LATE)


def pending_steps(ctx, cid):
    return ctx.read(lambda s: list(s.scalars(select(CaseStep.step).where(CaseStep.case_id == cid,
                                                                         CaseStep.done_on.is_(None)))))


def test_the_same_step_completed_on_both_seats_is_done_once(seats, hid):
    a, b = seats
    cid = _open(a, hid)
    a.run(workflow.complete_step, cid, "verify", date(2024, 6, 5), data={"authorized": True}, as_of=LATE)
    with pytest.raises(Conflict, match="已由“admin”办理"):
        b.run(workflow.complete_step, cid, "verify", date(2024, 6, 5), data={"authorized": True}, as_of=LATE)
    assert pending_steps(a, cid) == ["county_compare"]


def test_a_step_completed_from_a_stale_read_in_one_transaction_loses_cleanly(seats, hid, db):
    """B read the step inside its transaction before A completed it: B's write names the old version and is
    refused; B's half-made next step goes with the rollback."""
    a, b = seats
    cid = _open(a, hid)
    with db.session(b.user) as sb:
        sb.scalars(select(CaseStep).where(CaseStep.case_id == cid)).all()  # B's view, in its identity map
        sb.scalars(select(Case).where(Case.id == cid)).all()
        sb.commit()  # SQLite: B holds no lock between; the rows stay in B's identity map (expire_on_commit off)
        a.run(workflow.complete_step, cid, "verify", date(2024, 6, 5), data={"authorized": True}, as_of=LATE)
        with pytest.raises(Conflict) as refused:
            workflow.complete_step(sb, cid, "verify", date(2024, 6, 5), data={"authorized": True}, as_of=LATE)
        sb.rollback()
    assert "已由“admin”办理" in str(refused.value)
    assert pending_steps(a, cid) == ["county_compare"]


def test_two_identification_cases_on_one_household_at_once_only_one_exists(seats, hid):
    a, b = seats
    _open(a, hid)
    with pytest.raises(WorkflowError, match="认定中|已有进行中的流程"):
        _open(b, hid)
    assert a.read(lambda s: s.scalar(select(func.count()).select_from(Case).where(
        Case.household_id == hid, Case.state == "open"))) == 1


def test_the_database_itself_refuses_a_second_open_case(seats, hid, db):
    """The constraint behind the check above (a seat whose check ran before the other's commit): one open case
    per household, said in Chinese."""
    a, _b = seats
    _open(a, hid)
    from sqlalchemy.exc import IntegrityError

    from desktop.services import concurrency
    with db.session(a.user) as s:
        s.add(Case(household_id=hid, kind="identify", state="open", opened_on=date(2024, 6, 4), data={}))
        with pytest.raises(IntegrityError) as broken:
            s.flush()
        s.rollback()
    said = concurrency.translate(db, broken.value, "admin")
    assert isinstance(said, Conflict) and "进行中的流程" in str(said)


# ---------------------------------------------------------------- imports


def test_a_second_import_waits_then_is_refused_in_chinese(seats, db, township, monkeypatch, tmp_path):
    """A holds the import lock (its import is writing); B's import waits, then is refused in Chinese with nothing
    changed. After A, B's import goes through with ids of its own."""
    a, b = seats
    monkeypatch.setattr(dbmod, "LOCK_WAIT_SECONDS", 1)
    monkeypatch.setattr(dbmod, "BUSY_TIMEOUT_MS", 1000)
    other = dbmod.init_db(db.url)  # seat B's own engine (another process's connection, as far as locks go)
    try:
        with db.session(a.user) as sa:
            dbmod.exclusive(sa, dbmod.IMPORT_LOCK, "导入")
            sa.add(Household(household_no="A-IMPORT", village_id=township["villages"]["东村"],
                             monitoring_status="none"))
            sa.flush()
            with other.session(b.user) as sb:
                with pytest.raises(Exception) as refused:
                    dbmod.exclusive(sb, dbmod.IMPORT_LOCK, "导入", wait_seconds=1)
                    sb.add(Household(household_no="B-IMPORT", village_id=township["villages"]["东村"],
                                     monitoring_status="none"))
                    sb.flush()
                sb.rollback()
            sa.commit()
        from desktop.services import failures
        said = refused.value if isinstance(refused.value, dbmod.Busy) \
            else failures.translate(refused.value, db.sqlite_path)
        assert said is not None and any(w in str(said) for w in ("正在导入", "正被另一个窗口或程序使用")), said
        with other.session(b.user) as sb:  # A is done: B goes through
            dbmod.exclusive(sb, dbmod.IMPORT_LOCK, "导入", wait_seconds=1)
            ids = list(dbmod.reserve_ids(sb, Household, 3))
            sb.commit()
        assert len(set(ids)) == 3 and min(ids) > a.read(lambda s: s.scalar(select(func.max(Household.id))))
    finally:
        other.dispose()


def test_ids_reserved_by_two_seats_never_collide(seats, db, township):
    """Each seat inserts the rows it reserved ids for (the importer's and the demo's way), one after the other and,
    on PostgreSQL, with both transactions open at once."""
    a, b = seats
    village = township["villages"]["东村"]

    def insert(session, ids, tag):
        for i in ids:
            session.add(Household(id=i, household_no=f"{tag}{i}", village_id=village, monitoring_status="none"))
        session.flush()

    with db.session(a.user) as sa:
        first = list(dbmod.reserve_ids(sa, Household, 5))
        insert(sa, first, "A")
        sa.commit()
    with db.session(b.user) as sb:
        second = list(dbmod.reserve_ids(sb, Household, 5))
        insert(sb, second, "B")
        sb.commit()
    assert len(set(first) | set(second)) == 10
    if db.engine.dialect.name == "postgresql":  # SQLite has one writer: the second would wait for the first
        with db.session(a.user) as sa, db.session(b.user) as sb:
            third, fourth = list(dbmod.reserve_ids(sa, Household, 5)), list(dbmod.reserve_ids(sb, Household, 5))
            insert(sa, third, "C")
            insert(sb, fourth, "D")
            sa.commit()
            sb.commit()
        assert len(set(first) | set(second) | set(third) | set(fourth)) == 20
    # and a household saved through the register afterwards gets an id of its own
    data, members = family(village, no="3703050010019999", serial=50)
    assert a.run(register.save_household, data, members, TODAY) not in set(first) | set(second)


# ---------------------------------------------------------------- the user and the year


def test_a_user_disabled_by_the_administrator_cannot_save_from_an_open_seat(seats, hid, db):
    a, b = seats
    data_b, members_b = stored(b, hid)
    wang = b.user.id
    a.run(auth.set_user_active, wang, False)
    data_b.phone = "13900000000"
    with pytest.raises(AccountDisabled, match="停用"):
        b.run(register.save_household, data_b, members_b, TODAY)
    assert stored(a, hid)[0].phone == "13800000000"


def test_a_new_current_year_on_one_seat_is_seen_by_the_other(seats):
    a, b = seats
    told = []
    b.year_listeners.append(told.append)
    b.read(settings.current_year)  # B has looked once
    a.run(settings.set_year, YEAR + 1, monitoring_line="7300")
    a.run(settings.set_current_year, YEAR + 1)
    assert b.read(settings.current_year) == YEAR + 1
    assert b.year == YEAR + 1 and told == [YEAR + 1]


# ---------------------------------------------------------------- long id lists


def test_an_id_list_longer_than_any_driver_allows_is_one_parameter(seats, hid):
    a, _b = seats
    ids = list(range(1, 70_001)) + [hid]  # beyond psycopg's 65,535 parameters and SQLite's 32,766
    got = a.read(lambda s: list(s.scalars(select(Household.id).where(dbmod.among(Household.id, ids)))))
    assert got == [hid]
    nos = [f"{i:016d}" for i in range(70_000)] + ["3703050010010001"]
    got = a.read(lambda s: list(s.scalars(select(Household.id).where(dbmod.among(Household.household_no, nos)))))
    assert got == [hid]


def test_assess_of_more_households_than_the_parameter_limit(seats, hid):
    from desktop.services import assess
    a, _b = seats
    rows = a.read(lambda s: assess.assess(s, YEAR, TODAY, household_ids=list(range(1, 70_001)) + [hid]))
    assert [r.household_no for r in rows] == ["3703050010010001"]


# ---------------------------------------------------------------- corrections (更正, 作废, 户注销) are saves too


def _case_view(ctx, cid):
    return ctx.read(workflow.view, cid, LATE)


def _done(view, key):
    return next(s for s in view.steps if s.key == key and s.done_on is not None)


def test_a_step_corrected_on_both_seats_b_is_refused_and_a_s_correction_stands(seats, hid):
    a, b = seats
    cid = _open(a, hid)
    a.run(workflow.complete_step, cid, "verify", date(2024, 6, 6), data={"authorized": True}, as_of=LATE)
    seen_a, seen_b = _done(_case_view(a, cid), "verify"), _done(_case_view(b, cid), "verify")
    a.run(corrections.correct_step, StepCorrection(cid, seen_a.seq, "入户记录上为 6 月 5 日", done_on=date(2024, 6, 5),
                                                   version=seen_a.version), as_of=TODAY)
    with pytest.raises(Conflict) as refused:
        b.run(corrections.correct_step, StepCorrection(cid, seen_b.seq, "补充说明", notes="户主本人签字",
                                                       version=seen_b.version), as_of=TODAY)
    assert "admin" in str(refused.value) and "重新载入" in str(refused.value)
    now = _done(_case_view(a, cid), "verify")
    assert (now.done_on, now.notes) == (date(2024, 6, 5), None)
    assert [r.reason for r in a.read(corrections.case_corrections, cid)] == ["入户记录上为 6 月 5 日"]
    # B reloads: its correction goes through on A's
    seen_b = _done(_case_view(b, cid), "verify")
    b.run(corrections.correct_step, StepCorrection(cid, seen_b.seq, "补充说明", notes="户主本人签字",
                                                   version=seen_b.version), as_of=TODAY)
    now = _done(_case_view(a, cid), "verify")
    assert (now.done_on, now.notes) == (date(2024, 6, 5), "户主本人签字")


def test_a_case_date_corrected_after_another_seat_did_a_step_is_refused(seats, hid):
    a, b = seats
    cid = _open(a, hid)
    seen_b = _case_view(b, cid)
    a.run(workflow.complete_step, cid, "verify", date(2024, 6, 5), data={"authorized": True}, as_of=LATE)
    with pytest.raises(Conflict, match="重新载入"):
        b.run(corrections.correct_case_date, cid, date(2024, 6, 1), "线索登记簿上为 6 月 1 日", as_of=TODAY,
              version=seen_b.version)
    assert _case_view(a, cid).opened_on == date(2024, 6, 3)
    assert a.read(corrections.case_corrections, cid) == []


def test_a_case_voided_from_a_stale_view_is_not_voided(seats, hid):
    """B's 作废 dialog shows the case as it was; A has done a step since: B is refused and the case stays open."""
    a, b = seats
    cid = _open(a, hid)
    seen_b = _case_view(b, cid)
    a.run(workflow.complete_step, cid, "verify", date(2024, 6, 5), data={"authorized": True}, as_of=LATE)
    with pytest.raises(Conflict) as refused:
        b.run(corrections.void_case, cid, "与流程 #1 重复", as_of=TODAY, version=seen_b.version)
    assert "“admin”" in str(refused.value) and "办理日期" in str(refused.value) and "重新载入" in str(refused.value)
    now = _case_view(a, cid)
    assert now.state == "open" and now.pending.key == "county_compare"
    from desktop.models import AuditEntry  # the step raised the case's version, and the history says nothing of it
    assert a.read(lambda s: list(s.scalars(select(AuditEntry.field).where(AuditEntry.table_name == "case_",
                                                                          AuditEntry.action == "update")))) == []
    # read again, B may void it (nothing decided yet)
    b.run(corrections.void_case, cid, "与纸质台账重复", as_of=TODAY, version=_case_view(b, cid).version)
    assert _case_view(a, cid).voided


def test_two_corrections_of_one_case_date_at_once_only_one_is_kept(seats, hid):
    a, b = seats
    cid = _open(a, hid)
    seen_a, seen_b = _case_view(a, cid), _case_view(b, cid)
    a.run(corrections.correct_case_date, cid, date(2024, 6, 1), "登记簿为 6 月 1 日", as_of=TODAY,
          version=seen_a.version)
    with pytest.raises(Conflict, match="admin"):
        b.run(corrections.correct_case_date, cid, date(2024, 6, 2), "登记簿为 6 月 2 日", as_of=TODAY,
              version=seen_b.version)
    assert _case_view(a, cid).opened_on == date(2024, 6, 1)
    assert len(a.read(corrections.case_corrections, cid)) == 2  # the case date and its clue's, both A's
    assert {r.made_by for r in a.read(corrections.case_corrections, cid)} == {"管理员"}


def test_a_household_closed_over_a_newer_change_is_refused(seats, hid):
    a, b = seats
    seen_b = stored(b, hid)[0]
    data_a, members_a = stored(a, hid)
    data_a.phone = "13911112222"  # A learns the family has a new phone: they have not moved away
    a.run(register.save_household, data_a, members_a, TODAY)
    with pytest.raises(Conflict, match="电话"):
        b.run(corrections.close_household, hid, date(2024, 11, 1), "整户迁出本乡镇", as_of=TODAY,
              version=seen_b.version)
    assert stored(a, hid)[0].closed_on is None
    assert a.read(corrections.household_corrections, hid) == []


def test_the_same_household_closed_on_both_seats_is_closed_once(seats, hid):
    a, b = seats
    seen_a, seen_b = stored(a, hid)[0], stored(b, hid)[0]
    a.run(corrections.close_household, hid, date(2024, 11, 1), "整户迁出本乡镇", as_of=TODAY, version=seen_a.version)
    with pytest.raises(Conflict, match="admin"):
        b.run(corrections.close_household, hid, date(2024, 11, 2), "全户死亡", as_of=TODAY, version=seen_b.version)
    assert stored(a, hid)[0].closed_on == date(2024, 11, 1)
    assert [r.reason for r in a.read(corrections.household_corrections, hid)] == ["整户迁出本乡镇"]
    # and the administrator's reopening from a view read before the closing is refused the same way
    with pytest.raises(Conflict):
        a.run(corrections.reopen_household, hid, "经核实并未迁出", as_of=TODAY, version=seen_a.version)
    a.run(corrections.reopen_household, hid, "经核实并未迁出", as_of=TODAY, version=stored(a, hid)[0].version)
    assert stored(b, hid)[0].closed_on is None
