"""Issue 19, problem 11: histories and logs name people, not log-in names or numbers: the 操作日志's and a
household's history's "who", a case step's 办理人, a member change's 登记人 are the user's name (用户管理's 姓名)."""

from datetime import date

from desktop.services import audit, auth, register, workflow
from desktop.services.context import AppContext
from desktop.services.idnumber import make_id
from desktop.services.register import MemberData
from tests.conftest import TODAY, YEAR, family, login


def test_who_is_the_users_name_in_every_history(db, township, admin):
    with db.session(admin) as s:
        auth.create_user(s, "wangkj", "王会计", "auditor", "Wang-kj-2024")
        s.commit()
    ctx = AppContext(db, login(db, "wangkj", "Wang-kj-2024"), year=YEAR, today=lambda: TODAY)
    data, members = family(township["villages"]["东村"], no="H1")
    hid = ctx.run(register.save_household, data, members, TODAY)
    ctx.run(register.record_event, hid, "birth", date(2024, 10, 1),
            new_member=MemberData(name="张小宝", sex="1", id_number=make_id("370305", date(2024, 10, 1), 7, "1"),
                                  relation="03"),
            as_of=TODAY)
    clue = ctx.run(workflow.record_clue, "01", date(2024, 11, 1), household_id=hid, as_of=TODAY)
    cid = ctx.run(workflow.open_identification, clue, as_of=TODAY)
    ctx.run(workflow.complete_step, cid, "verify", date(2024, 11, 2), data={"authorized": True}, as_of=TODAY)

    recent = ctx.read(audit.recent)
    assert {r.user for r in recent} == {"王会计", "管理员", "系统"}  # the clerk's work, the admin's, the set-up
    assert not any(u in (r.user + r.what) for r in recent for u in ("wangkj", "admin", "test"))
    assert {r.user for r in ctx.read(audit.history, hid)} == {"王会计"}
    # a step, a case and a clue are named as the window shows them, never by a row number
    whats = {r.what for r in ctx.read(audit.history, hid)} | {r.what for r in recent}
    step = workflow.step_name("identify", "verify")
    assert f"流程步骤 #{cid} {step}" in whats
    assert f"流程 #{cid} 监测对象认定" in whats and "线索 2024-11-01（农户申报）" in whats
    assert "成员变更 张小宝 新生儿" in whats
    assert not [w for w in whats if "#" in w and not w.startswith(("流程 #", "流程步骤 #"))]
    assert ctx.read(workflow.view, cid, TODAY).steps[0].actor == "王会计"
    assert [e.recorded_by for e in ctx.read(register.events, hid)] == ["王会计"]
    assert not any("wangkj" in (r.user + r.what) for r in recent)
